using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Caudal.Spec;

/// <summary>The spec's <c>run:</c> section: the engine and its resources, file sizes and formats, retention.</summary>
/// <param name="RawParquetVersion">The Parquet format version of raw-zone files: 2 (the default) writes integers and
/// timestamps delta-encoded and doubles byte-stream-split — less to compress, so a capture spends less CPU per row —
/// which DuckDB, Spark 3.3+, Trino/Athena v3, pyarrow and delta-rs read; 1 for readers that know only the first
/// encodings. Trusted and refined files, the ones BI tools read, are version 1 (2 in a table with deletion vectors,
/// which only readers that know version 2 can read anyway).</param>
public sealed record RunSettings(
    Processing.Engine.EngineKind Engine = Processing.Engine.EngineKind.DuckDb,
    int Threads = 2,
    string MemoryLimit = "1GB",
    TimeSpan VacuumRetention = default,
    int RowsPerFile = 1_000_000,
    int RawParquetVersion = 2)
{
    public static readonly string[] Keys = ["engine", "threads", "memory_limit", "vacuum_retention", "rows_per_file", "raw_parquet_version"];

    public TimeSpan VacuumRetentionOrDefault => VacuumRetention == default ? TimeSpan.FromDays(7) : VacuumRetention;

    internal static RunSettings Parse(YamlMappingNode root, SpecContext ctx)
    {
        var settings = new RunSettings();
        if (ctx.Mapping(root, "run", "'run' must be a mapping.", "write 'run: {threads: 2}'.") is not { } map) return settings;
        ctx.CheckKeys(map, Keys, "run");
        var engine = ctx.Scalar(map, "engine");
        var engineKind = settings.Engine;
        if (engine != null && !Processing.Engine.EngineKinds.TryParse(engine.Value, out engineKind))
            ctx.Error(engine.Start, $"Unknown engine '{engine.Value}'.", "use 'engine: duckdb' (embedded, the default) or 'engine: spark' (with a spark: section).");
        var threads = ctx.Int(map, "threads", 1, 256);
        var rowsPerFile = ctx.Int(map, "rows_per_file", 1000, 100_000_000);
        var parquetVersion = ctx.Int(map, "raw_parquet_version", 1, 2);
        var memory = ctx.Scalar(map, "memory_limit");
        if (memory != null && !Regex.IsMatch(memory.Value ?? "", @"^\d+(\.\d+)?\s*(KB|MB|GB|TB|KiB|MiB|GiB|TiB)$", RegexOptions.IgnoreCase))
            ctx.Error(memory.Start, $"memory_limit '{memory.Value}' is not a size.", "write a size such as 512MB or 2GB.");
        var retention = ctx.Scalar(map, "vacuum_retention");
        TimeSpan? retentionSpan = null;
        if (retention != null)
        {
            retentionSpan = Values.Duration.Parse(retention.Value ?? "")?.Span;
            if (retentionSpan == null)
                ctx.Error(retention.Start, $"vacuum_retention '{retention.Value}' is not a duration.", "write a duration such as 7d, 12h or 30m.");
        }
        return settings with
        {
            Engine = engineKind,
            Threads = threads ?? settings.Threads,
            RowsPerFile = rowsPerFile ?? settings.RowsPerFile,
            RawParquetVersion = parquetVersion ?? settings.RawParquetVersion,
            MemoryLimit = memory?.Value ?? settings.MemoryLimit,
            VacuumRetention = retentionSpan ?? default,
        };
    }
}
