using Microsoft.AspNetCore.Http;

namespace Caudal.Serve.Formats;

/// <summary>The formats the rows route speaks, and the choice between them: <c>format=</c> if given, else the first
/// media type of <c>Accept</c> (by quality) that a format names, else JSON.</summary>
public static class RowFormats
{
    public static readonly IReadOnlyList<RowFormat> All = [new JsonRows(), new NdJsonRows(), new CsvRows(), new ParquetRows(), new ArrowRows()];

    public static RowFormat Json => All[0];

    public static RowFormat Negotiate(HttpContext http)
    {
        if (http.Request.Query["format"].FirstOrDefault() is { } name)
            return All.FirstOrDefault(f => f.Name == name)
                   ?? throw new BadRequestException($"format '{name}': {string.Join(", ", All.SkipLast(1).Select(f => f.Name))} or {All[^1].Name}.");
        var accept = http.Request.GetTypedHeaders().Accept.OrderByDescending(a => a.Quality ?? 1).Select(a => a.MediaType.Value).ToList();
        foreach (var type in accept)
        {
            if (type == "*/*") return Json;
            if (All.FirstOrDefault(f => f.MediaTypes.Contains(type)) is { } format) return format;
        }
        return Json;
    }
}
