using Caudal.Spec;

namespace Caudal.Capture.Data360;

/// <summary>A Data360 source's settings, read once from its spec through the option declarations
/// (<see cref="SourceOptions"/>). A replay folder (<c>base_url: file:recordings</c>) is relative to the spec's folder.</summary>
public sealed record Data360Options(string BaseUrl, IReadOnlyList<string> Databases, IReadOnlyList<string> Indicators, string? TimeFrom, string? TimeTo,
    bool Metadata)
{
    public static Data360Options From(SourceSpec spec, string baseDir)
    {
        var o = spec.Options;
        var url = o.GetValueOrDefault("base_url", Data360Source.DefaultBaseUrl);
        if (url.StartsWith("file:", StringComparison.Ordinal)) url = "file:" + Path.GetFullPath(Path.Combine(baseDir, url[5..]));
        string[] List(string key) => o[key].Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        // Without databases, the seed project's choice; databases without indicators: every series of each database.
        var databases = o.ContainsKey("databases") ? List("databases") : Data360Source.DefaultDatabases;
        var indicators = o.ContainsKey("indicators") ? List("indicators") : o.ContainsKey("databases") ? [] : Data360Source.DefaultIndicators;
        return new Data360Options(url, databases, indicators, o.GetValueOrDefault("time_from"), o.GetValueOrDefault("time_to"), SourceOptions.Bool(o, "metadata"));
    }
}
