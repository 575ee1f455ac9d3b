using Caudal.Spec;

namespace Caudal.Capture.Files;

/// <summary>A files source's settings, read once from its spec through the option declarations
/// (<see cref="SourceOptions"/>: defaults and allowed values live there).</summary>
public sealed record FilesOptions(
    string Path,
    string Dataset,
    string? Format,
    string? Delimiter,
    bool Header,
    IReadOnlyDictionary<string, string> Columns,
    bool FailOnBadRows,
    bool WarnWhenEmpty)
{
    public static FilesOptions From(SourceSpec spec)
    {
        var o = spec.Options;
        return new FilesOptions(
            o["path"],
            o.GetValueOrDefault("dataset", "files"),
            SourceOptions.Get(o, "format"),
            o.GetValueOrDefault("delimiter"),
            SourceOptions.Bool(o, "header"),
            // A mapping option arrives as name=value pairs (column: type).
            o.TryGetValue("columns", out var c)
                ? c.Split(';', StringSplitOptions.RemoveEmptyEntries).Select(p => p.Split('=', 2)).ToDictionary(p => p[0].Trim(), p => p[1].Trim())
                : new Dictionary<string, string>(),
            SourceOptions.Get(o, "on_bad_rows") == "fail",
            SourceOptions.Get(o, "on_empty") == "warn");
    }
}
