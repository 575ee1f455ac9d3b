using System.Diagnostics;
using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using Caudal.Pipeline;
using Caudal.Processing;
using Caudal.Processing.Engine;
using Caudal.Runs;
using Caudal.Spec;
using DuckDB.NET.Data;

namespace Caudal.Bench;

/// <summary>
/// Incremental models (<c>materialized: incremental</c>) against the same SQL rebuilt whole. A raw table is written
/// straight through Caudal's Delta writer, capture by capture: the first holds every row, each later one 1% of the
/// keys changed (updates, and 0.1% of the keys deleted). Measured with <c>caudal run --models-only</c> (library), one
/// model at a time:
/// <list type="bullet">
/// <item><c>--rows</c> (1M) and <c>--captures</c> (1,000): the incremental run after the second capture and after the
/// last, and the model rebuilt whole (materialized: table) after the first and after the last.</item>
/// <item><c>--big-rows</c> (10M): a 1% change merged, against the full refresh of the same table, and the full refresh
/// against the same SQL written to Parquet by DuckDB alone; <c>--rounds</c> (3) of each, medians. Changes are to
/// random keys (merged by rewriting the files that hold them, and with <c>deletion_vectors: true</c>), or to the newest
/// keys.</item>
/// </list>
/// </summary>
internal static class IncrementalBench
{
    private const string Newest = """
        SELECT id, name, amount, updated, _caudal_op FROM (
            SELECT *, row_number() OVER (PARTITION BY id ORDER BY _caudal_ingested_at DESC, _caudal_op = 'delete' DESC) AS newest
            FROM raw.src_item{0}) AS rows_1
        WHERE newest = 1{1}
        """;

    private static readonly string[] Scenarios = ["all", "growth", "random", "random-dv", "newest"];

    public static async Task RunAsync(string work, int rows, int captures, int bigRows, int rounds, string scenario)
    {
        if (!Scenarios.Contains(scenario)) throw new ArgumentException($"--scenario {scenario}: use one of {string.Join(", ", Scenarios)}.");
        bool Runs(string s) => scenario == "all" || scenario == s;
        if (Runs("growth")) await GrowthAsync(Path.Combine(work, "incremental-growth"), rows, captures);
        if (Runs("random")) await MergeAsync(Path.Combine(work, "incremental-merge"), bigRows, "random", rounds, deletionVectors: false);
        if (Runs("random-dv")) await MergeAsync(Path.Combine(work, "incremental-merge"), bigRows, "random", rounds, deletionVectors: true);
        if (Runs("newest")) await MergeAsync(Path.Combine(work, "incremental-merge"), bigRows, "newest", rounds, deletionVectors: false);
    }

    private static async Task GrowthAsync(string folder, int rows, int captures)
    {
        var (incremental, table) = Specs(folder);
        await AppendAsync(incremental, $"SELECT i AS id FROM range(1, {rows} + 1) t(i)", 0);
        var first = await TimeAsync(incremental);
        var tableFirst = await TimeAsync(table);
        await AppendAsync(incremental, Changed(rows, 1), 1);
        var second = await TimeAsync(incremental);
        var clock = Stopwatch.StartNew();
        for (var c = 2; c < captures - 1; c++) await AppendAsync(incremental, Changed(rows, c), c);
        await TimeAsync(incremental); // consumes captures 3 .. n-1 (not measured)
        await AppendAsync(incremental, Changed(rows, captures - 1), captures - 1);
        Console.WriteLine($"incremental: wrote {captures:N0} captures of {rows:N0} keys (1% changed each) in {clock.Elapsed.TotalSeconds:F0}s (setup)");
        var last = await TimeAsync(incremental);
        var tableLast = await TimeAsync(table);
        Console.WriteLine($"incremental: first build {first:F2}s; merge after capture 2 {second:F2}s, after capture {captures:N0} {last:F2}s: ratio {last / second:F2} (target <= 1.2)");
        Console.WriteLine($"incremental: rebuilt whole (materialized: table) after capture 1 {tableFirst:F2}s, after capture {captures:N0} {tableLast:F2}s: ratio {tableLast / tableFirst:F2}; " +
                          $"incremental after capture {captures:N0} / rebuilt whole then: {last / tableLast:F3}");
    }

    /// <summary>The first build against DuckDB alone, then <paramref name="rounds"/> rounds of: a new 1% change, its merge,
    /// a full refresh and DuckDB alone again (which goes first alternates). Medians.</summary>
    private static async Task MergeAsync(string folder, int rows, string pattern, int rounds, bool deletionVectors)
    {
        var (incremental, _) = Specs(folder, deletionVectors);
        await AppendAsync(incremental, $"SELECT i AS id FROM range(1, {rows} + 1) t(i)", 0);
        var first = await TimeAsync(incremental);
        var references = new List<double> { await ReferenceAsync(incremental, folder) };
        var (merges, refreshes) = (new List<double>(), new List<double>());
        for (var round = 1; round <= rounds; round++)
        {
            var changed = pattern == "random" ? Changed(rows, round) : $"SELECT i AS id FROM range({rows - rows / 100 + 1}, {rows} + 1) t(i)";
            await AppendAsync(incremental, changed, round);
            merges.Add(await TimeAsync(incremental));
            if (round % 2 == 0) references.Add(await ReferenceAsync(incremental, folder));
            refreshes.Add(await TimeAsync(incremental, full: true));
            if (round % 2 == 1) references.Add(await ReferenceAsync(incremental, folder));
        }
        var (merge, refresh, reference) = (Rounds.Median(merges), Rounds.Median(refreshes), Rounds.Median(references));
        static string All(List<double> values) => string.Join(" ", values.Select(v => v.ToString("F2", System.Globalization.CultureInfo.InvariantCulture)));
        if (deletionVectors)
        {
            // Each round above merged into a freshly refreshed table; here vectors replace vectors and merges' files fold.
            var chained = new List<double>();
            for (var round = rounds + 1; round <= rounds + 5; round++)
            {
                await AppendAsync(incremental, Changed(rows, round), round);
                chained.Add(await TimeAsync(incremental));
            }
            var table = (await DataLake.Open(incremental.Lake).Table(TableId.Parse("trusted.items")).SnapshotAsync())!;
            Console.WriteLine($"incremental: then 5 merges in a row (vectors over vectors): median {Rounds.Median(chained):F2}s, ratio {Rounds.Median(chained) / refresh:F3} to the full refresh " +
                              $"(merges {All(chained)}); the table then has {table.Files.Count} files, {table.Files.Values.Count(f => f.DeletionVector != null)} with vectors hiding " +
                              $"{table.Files.Values.Sum(f => f.DeletionVector?.Cardinality ?? 0):N0} rows");
        }
        Console.WriteLine($"incremental: {rows:N0} rows, 1% of keys changed ({pattern}{(deletionVectors ? ", deletion vectors" : "")}), {rounds} rounds: merge {merge:F2}s, full refresh {refresh:F2}s: ratio {merge / refresh:F3} (target <= 0.1); " +
                          $"full refresh against the same SQL in DuckDB alone {reference:F2}s: ratio {refresh / reference:F2} (target <= 1.1); first build {first:F2}s " +
                          $"(merges {All(merges)}; refreshes {All(refreshes)}; DuckDB alone {All(references)})");
    }

    /// <summary>1% of the keys (a different 1% each capture), a tenth of them deleted.</summary>
    private static string Changed(int rows, int capture) =>
        $"SELECT DISTINCT CAST(hash(i, {capture}) % {rows} + 1 AS BIGINT) AS id FROM range(0, {rows / 100}) t(i)";

    private static (PipelineSpec Incremental, PipelineSpec Table) Specs(string folder, bool deletionVectors = false)
    {
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        File.WriteAllText(Path.Combine(folder, "items.sql"), string.Format(Newest, "__new", ""));
        File.WriteAllText(Path.Combine(folder, "items_table.sql"), string.Format(Newest, "", " AND _caudal_op IS DISTINCT FROM 'delete'"));
        File.WriteAllText(Path.Combine(folder, "src.csv"), "id\n1\n");
        var head = $"version: 1\nname: incremental-bench\nlake: {Path.Combine(folder, "lake")}\nsources:\n  src:\n    kind: files\n    path: src.csv\n    dataset: item\n" +
                   "run:\n  threads: 2\n  memory_limit: 4GB\nmodels:\n";
        return (SpecLoader.Parse(head + "  trusted.items:\n    sql: items.sql\n    materialized: incremental\n    unique_key: [id]\n" +
                                 (deletionVectors ? "    deletion_vectors: true\n" : ""), "bench.yaml", folder),
                SpecLoader.Parse(head + "  trusted.items_table:\n    sql: items_table.sql\n", "bench.yaml", folder));
    }

    /// <summary>Commits one capture of the keys <paramref name="keys"/> selects to raw.src_item.</summary>
    private static async Task AppendAsync(PipelineSpec spec, string keys, int capture)
    {
        var lake = DataLake.Open(spec.Lake);
        var table = lake.Table(TableId.Parse("raw.src_item"));
        var scratch = Path.Combine(spec.BaseDirectory, "scratch");
        using var engine = new DuckDbEngine(new EngineSettings(scratch, 2, "2GB"));
        var at = new DateTime(2026, 1, 1, 0, 0, 0, DateTimeKind.Utc).AddMinutes(capture).ToString("yyyy-MM-dd HH:mm:ss");
        var output = await engine.MaterializeAsync($"""
            SELECT id, 'name ' || id || ' v{capture}' AS name, (id % 1000) / 10.0 AS amount, TIMESTAMP '{at}' AS updated,
                   TIMESTAMPTZ '{at}+00' AS _caudal_ingested_at, 'run-{capture}' AS _caudal_run_id,
                   CASE WHEN {capture} > 0 AND id % 10 = 0 THEN 'delete' WHEN {capture} > 0 THEN 'update' ELSE 'snapshot' END AS _caudal_op
            FROM ({keys})
            """, []);
        await table.PublishAsync(output.Files, new TableWrite { Mode = WriteMode.Append, Schema = output.Schema, RunId = $"run-{capture}" }, await table.SnapshotAsync());
    }

    private static async Task<double> TimeAsync(PipelineSpec spec, bool full = false)
    {
        var clock = Stopwatch.StartNew();
        var run = await new PipelineRunner(spec, null, new RunOptions { Capture = false, FullRefresh = full ? FullRefresh.Models(spec, null) : null }).RunAsync();
        if (run.Status != RunStatus.Succeeded) throw new InvalidOperationException(run.Error);
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>The model's SQL (all of raw as its new rows) written to Parquet by DuckDB alone, sorted by key as Caudal writes it.</summary>
    private static async Task<double> ReferenceAsync(PipelineSpec spec, string folder)
    {
        var lake = DataLake.Open(spec.Lake);
        var snapshot = (await lake.Table(TableId.Parse("raw.src_item")).SnapshotAsync())!;
        var files = snapshot.Files.Values.Select(f => lake.Store.LocalPathOf($"raw/src_item/{PartitionPath.FromLogPath(f.Path)}")!).ToList();
        var clock = Stopwatch.StartNew();
        using var duck = new DuckDBConnection("DataSource=:memory:");
        duck.Open();
        using var command = duck.CreateCommand();
        command.CommandText = $"""
            SET threads = 2; SET memory_limit = '4GB'; SET temp_directory = '{Path.Combine(folder, "tmp")}';
            CREATE SCHEMA raw;
            CREATE VIEW raw.src_item__new AS SELECT * FROM read_parquet([{string.Join(", ", files.Select(Sql.Literal))}]);
            COPY (SELECT * FROM ({string.Format(Newest, "__new", "")}) WHERE _caudal_op IS DISTINCT FROM 'delete' ORDER BY id) TO '{Path.Combine(folder, "reference.parquet")}' (FORMAT parquet, COMPRESSION zstd);
            """;
        command.ExecuteNonQuery();
        return clock.Elapsed.TotalSeconds;
    }
}
