using System.Text.Json;
using Caudal.Serve;
using Caudal.Spec;
using Caudal.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Routing;
using Microsoft.AspNetCore.Routing.Patterns;
using Microsoft.Extensions.Logging;

namespace Caudal.Tests.Serve;

/// <summary>The OpenAPI document describes every route the server maps, with its parameters.</summary>
public sealed class OpenApiTests : IDisposable
{
    private readonly Quickstart _qs = new(scale: 0.01);

    /// <summary>Routes that are not part of the API: the dashboard's files, the document itself, its viewer, and
    /// Prometheus' scrape endpoint.</summary>
    private static readonly string[] NotApi = ["/", "/dashboard/{file}", "/openapi/{documentName}.json", "/metrics"];

    [Fact]
    public async Task Every_route_and_its_parameters_are_in_the_document()
    {
        var spec = SpecLoader.Load(_qs.SpecPath);
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Services.AddLakeServing(spec);
        await using var app = builder.Build();
        await app.PrepareLakeServingAsync(spec, default);
        app.MapLakeServing(spec);
        await app.StartAsync();
        using var http = new HttpClient();
        var document = JsonDocument.Parse(await http.GetStringAsync(app.Urls.First() + "/openapi/v1.json")).RootElement;
        var paths = document.GetProperty("paths");

        var routes = ((IEndpointRouteBuilder)app).DataSources.SelectMany(s => s.Endpoints).OfType<RouteEndpoint>()
            .Where(e => e.Metadata.GetMetadata<IHttpMethodMetadata>() != null)
            .Select(e => (Pattern: "/" + e.RoutePattern.RawText!.TrimStart('/'), e.RoutePattern, Methods: e.Metadata.GetMetadata<IHttpMethodMetadata>()!.HttpMethods))
            .Where(r => !NotApi.Contains(r.Pattern) && !r.Pattern.StartsWith("/scalar", StringComparison.Ordinal))
            .ToList();
        Assert.True(routes.Count >= 12, $"only {routes.Count} routes found");
        foreach (var (pattern, route, methods) in routes)
        {
            Assert.True(paths.TryGetProperty(pattern, out var path), $"{pattern} is not in the OpenAPI document");
            foreach (var method in methods)
            {
                Assert.True(path.TryGetProperty(method.ToLowerInvariant(), out var operation), $"{method} {pattern} is not in the document");
                Assert.True(operation.TryGetProperty("summary", out _), $"{method} {pattern} has no summary");
                var documented = operation.TryGetProperty("parameters", out var ps) ? ps.EnumerateArray().Select(p => p.GetProperty("name").GetString()).ToHashSet() : [];
                foreach (var parameter in route.Parameters)
                    Assert.True(documented.Contains(parameter.Name), $"{method} {pattern}: route parameter '{parameter.Name}' is not documented");
            }
        }
        var rows = paths.GetProperty("/v1/tables/{zone}/{name}").GetProperty("get").GetProperty("parameters").EnumerateArray()
            .Select(p => p.GetProperty("name").GetString()).ToHashSet();
        Assert.Superset(new HashSet<string?> { "columns", "order", "limit", "next", "version", "as_of", "format" }, rows);
        Assert.True(paths.GetProperty("/v1/sql").GetProperty("post").TryGetProperty("requestBody", out _), "POST /v1/sql has no request body");
        Assert.True(paths.GetProperty("/metrics").GetProperty("get").TryGetProperty("summary", out _), "/metrics is not in the document");
        // Placeholders that an HTML viewer would read as tags are not used: the Scalar page shows the text as written.
        var description = document.GetProperty("info").GetProperty("description").GetString()!;
        Assert.DoesNotContain("<", description);
        Assert.Contains("Authorization: Bearer KEY", description);

        // The interactive docs are served from the process itself (no CDN: it must work offline).
        var scalar = await http.GetStringAsync(app.Urls.First() + "/scalar/");
        Assert.DoesNotContain("cdn.", scalar);
        Assert.Contains("scalar.js", scalar);
        Assert.Contains("\"withDefaultFonts\":false", scalar); // no fonts fetched from the internet either
        await app.StopAsync();
    }

    public void Dispose() => _qs.Dispose();
}
