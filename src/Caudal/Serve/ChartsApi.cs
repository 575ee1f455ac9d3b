using Caudal.Lake;
using Caudal.Processing.Charts;
using Caudal.Spec;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Caudal.Serve;

/// <summary>The charts the last runs drew (<c>refined/_charts/{chart}/{image}.png</c>): <c>GET /v1/charts</c> lists
/// them with their titles, <c>GET /v1/charts/{chart}/{image}</c> sends one PNG.</summary>
public static class ChartsApi
{
    public static void Map(IEndpointRouteBuilder app, PipelineSpec spec, DataLake lake)
    {
        app.MapGet("/v1/charts", async (CancellationToken ct) =>
        {
            var charts = new List<object>();
            foreach (var chart in spec.Charts)
            {
                var images = new List<object>();
                await foreach (var o in lake.Store.ListAsync($"{ChartSpec.Folder}/{chart.Name}/", ct: ct))
                {
                    var file = o.Key[(o.Key.LastIndexOf('/') + 1)..];
                    if (!file.EndsWith(".png", StringComparison.Ordinal)) continue;
                    var image = file[..^4];
                    images.Add(new { name = image, url = $"/v1/charts/{chart.Name}/{image}", bytes = o.Size });
                }
                charts.Add(new { name = chart.Name, title = chart.Title, kind = chart.Kind.ToString().ToLowerInvariant(), each = chart.Each, images });
            }
            return Results.Json(new { charts });
        }).WithSummary("The charts of the spec and the images the last runs drew").WithTags("charts");

        app.MapGet("/v1/charts/{chart}/{image}", async (string chart, string image, CancellationToken ct) =>
        {
            if (spec.Charts.All(c => c.Name != chart)) return Problems.Of(404, $"no chart '{chart}' (see /v1/charts).");
            if (image.Length == 0 || image.Contains('/') || image.Contains('\\') || image.StartsWith('.') || image != ChartSlug(image))
                return Problems.Of(404, $"no image '{image}' in chart '{chart}' (see /v1/charts).");
            var png = await lake.Store.GetAsync($"{ChartSpec.Folder}/{chart}/{image}.png", ct);
            return png == null ? Problems.Of(404, $"no image '{image}' in chart '{chart}' (see /v1/charts).") : Results.File(png, "image/png");
        }).WithSummary("One chart image (PNG)").WithTags("charts");
    }

    /// <summary>Image names are slugs (lowercase letters, digits, '_', '.', '-'): anything else is not one of ours.</summary>
    private static string ChartSlug(string image) =>
        new(image.Where(c => c is (>= 'a' and <= 'z') or (>= '0' and <= '9') or '_' or '.' or '-').ToArray());
}
