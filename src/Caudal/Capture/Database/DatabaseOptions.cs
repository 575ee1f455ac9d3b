using Caudal.Spec;

namespace Caudal.Capture.Database;

/// <summary>A database source's settings (MySQL/MariaDB, PostgreSQL, SQLite), read once from its spec through the
/// declarations below: where the database is, how many connections and tables at once, when a table is split into
/// key ranges, and whether the source's tables commit only together.</summary>
public sealed record DatabaseOptions(string? Connection, string? Path, int Parallelism, int TablesAtOnce, long SplitRows, bool AllOrNothing)
{
    public static class Declared
    {
        public static readonly SourceOption Connection = SourceOption.Connection("connection");
        public static readonly SourceOption Path = SourceOption.Text("path", required: true);
        public static readonly SourceOption Parallelism = SourceOption.Integer("parallelism", 1, 256);
        public static readonly SourceOption TablesAtOnce = SourceOption.Integer("tables_at_once", 1, 256);
        public static readonly SourceOption SplitRows = SourceOption.Integer("split_rows", 1, long.MaxValue, "500000");
        public static readonly SourceOption AllOrNothing = SourceOption.Boolean("all_or_nothing", "false");

        /// <summary>How the source's datasets are captured unless a dataset says otherwise (read by <c>IncrementalSpec</c>).</summary>
        public static readonly SourceOption[] DatasetDefaults = [.. IncrementalSpec.Keys.Select(SourceOption.DatasetDefault)];

        /// <summary>A server database (MySQL/MariaDB, PostgreSQL): a connection string or URL.</summary>
        public static readonly SourceOption[] Server = [Connection, .. DatasetDefaults, Parallelism, TablesAtOnce, SplitRows, AllOrNothing];

        /// <summary>A SQLite file, relative to the spec's folder.</summary>
        public static readonly SourceOption[] File = [Path, .. DatasetDefaults, Parallelism, TablesAtOnce, SplitRows, AllOrNothing];
    }

    public static DatabaseOptions From(SourceSpec spec)
    {
        var o = spec.Options;
        return new DatabaseOptions(
            o.Text(Declared.Connection),
            o.Text(Declared.Path),
            // Each connection keeps two threads busy (decoding rows, encoding Parquet): one per two cores.
            o.Int(Declared.Parallelism, Math.Max(1, Environment.ProcessorCount / 2)),
            // Reading a table leaves the machine room to spare (round trips, per-table set-up and commit): two, or one
            // per two cores if more.
            o.Int(Declared.TablesAtOnce, Math.Max(2, Environment.ProcessorCount / 2)),
            o.Long(Declared.SplitRows, 500_000),
            o.Bool(Declared.AllOrNothing));
    }

    /// <summary>Why a window does not bound what a database source reads (no incremental dataset), or null.</summary>
    public static string? Unbounded(SourceSpec source) => source.Datasets.All(d => d.Mode != CaptureMode.Incremental)
        ? "has no incremental dataset (a window bounds a dataset by its cursor)"
        : null;
}
