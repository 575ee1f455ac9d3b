using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Caudal.Serve;

/// <summary>
/// The dashboard at <c>/</c>: one page, a script and a stylesheet kept in the assembly (no build step, no CDN, so it
/// works offline). It reads everything through the same API, with the API key the user gives it when auth is on.
/// </summary>
public static class Dashboard
{
    private static readonly Dictionary<string, (string Type, byte[] Bytes)> Assets = Load();
    private static readonly string Tag = $"\"{typeof(Dashboard).Assembly.ManifestModule.ModuleVersionId:N}\"";

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", (HttpContext http) => Send(http, "index.html")).ExcludeFromDescription();
        app.MapGet("/dashboard/{file}", (HttpContext http, string file) => Send(http, file)).ExcludeFromDescription();
        app.MapGet("/healthz", () => Results.Text("ok")).WithSummary("Liveness: answers ok while the server runs").WithTags("health");
    }

    private static IResult Send(HttpContext http, string file)
    {
        if (!Assets.TryGetValue(file, out var asset)) return Problems.Of(404, $"no dashboard file '{file}'.");
        http.Response.Headers.ETag = Tag;
        http.Response.Headers.CacheControl = "no-cache";
        http.Response.Headers["X-Content-Type-Options"] = "nosniff";
        if (file == "index.html")
            http.Response.Headers.ContentSecurityPolicy = "default-src 'self'; img-src 'self' blob: data:; style-src 'self'; script-src 'self'; connect-src 'self'";
        if (http.Request.Headers.IfNoneMatch == Tag) return Results.StatusCode(304);
        return Results.Bytes(asset.Bytes, asset.Type);
    }

    private static Dictionary<string, (string, byte[])> Load()
    {
        var assembly = Assembly.GetExecutingAssembly();
        var assets = new Dictionary<string, (string, byte[])>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith("dashboard/", StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            var file = name["dashboard/".Length..];
            var type = Path.GetExtension(file) switch
            {
                ".html" => "text/html; charset=utf-8",
                ".js" => "text/javascript; charset=utf-8",
                ".css" => "text/css; charset=utf-8",
                ".svg" => "image/svg+xml",
                _ => "application/octet-stream",
            };
            assets[file] = (type, copy.ToArray());
        }
        return assets;
    }
}
