using Caudal.Capture.Sqlite;
using Caudal.Spec;

namespace Caudal.Capture;

/// <summary>What the spec needs to know about a kind of source: the options it takes (each declared once, beside the
/// code that reads it), how to check them against the machine, how to list its datasets without capturing (for
/// validation), how to open it, and what it can do (incremental capture; whether a window — backfill, a scheduled
/// slot — bounds what it reads).</summary>
public sealed record SourceKind(
    string Name,
    IReadOnlyList<SourceOption> Options,
    Func<SourceSpec, string, ISource> Open,
    Action<SourceSpec, string, Action<string, string>>? Validate = null,
    Func<SourceSpec, string, IReadOnlyList<string>?>? Discover = null,
    bool Incremental = false,
    Func<SourceSpec, string?>? Unbounded = null,
    bool Cdc = false)
{
    public IEnumerable<string> Required => Options.Where(o => o.Required).Select(o => o.Name);
    public IEnumerable<string> Optional => Options.Where(o => !o.Required).Select(o => o.Name);

    public SourceOption? Option(string name) => Options.FirstOrDefault(o => o.Name == name);
}

public static class SourceKinds
{
    public static readonly IReadOnlyDictionary<string, SourceKind> All = new Dictionary<string, SourceKind>
    {
        ["sqlite"] = SqliteSource.Kind,
        ["mysql"] = Mysql.MySqlSource.Kind,
        ["postgres"] = Postgres.PostgresSource.Kind,
        ["data360"] = Data360.Data360Source.Kind,
        ["http"] = Http.HttpSource.Kind,
        ["files"] = Files.FilesSource.Kind,
    };
}
