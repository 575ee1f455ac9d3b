using Caudal.Capture.Sqlite;
using Caudal.Spec;

namespace Caudal.Capture;

/// <summary>What the spec needs to know about a kind of source: its options, how to check them, how to list its
/// datasets without capturing (for validation), how to open it, and what it can do (incremental capture; whether a
/// window — backfill, a scheduled slot — bounds what it reads).</summary>
public sealed record SourceKind(
    string Name,
    string[] Required,
    string[] Optional,
    Func<SourceSpec, string, ISource> Open,
    Action<SourceSpec, string, Action<string, string>>? Validate = null,
    Func<SourceSpec, string, IReadOnlyList<string>?>? Discover = null,
    bool Incremental = false,
    Func<SourceSpec, string?>? Unbounded = null)
{
    /// <summary>Options every database source accepts: capture defaults for its datasets and read parallelism.</summary>
    public static readonly string[] DatabaseOptions = ["connection", "mode", "cursor", "lookback", "primary_key", "on_cursor_value_missing", "parallelism", "tables_at_once", "split_rows", "all_or_nothing"];

    /// <summary>Why a window does not bound what a database source reads (no incremental dataset), or null.</summary>
    public static string? DatabaseUnbounded(SourceSpec source) => source.Datasets.All(d => d.Mode != CaptureMode.Incremental)
        ? "has no incremental dataset (a window bounds a dataset by its cursor)"
        : null;
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
