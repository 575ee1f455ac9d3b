using System.Diagnostics;
using System.Text.RegularExpressions;
using Caudal.Lake;
using Caudal.Pipeline;
using Caudal.Processing;
using Caudal.Runs;
using Caudal.Sample;
using Caudal.Spec;
using DuckDB.NET.Data;

namespace Caudal.Bench;

/// <summary>
/// The trusted and refined stage of the quickstart's pipeline (its SQL models, as shipped) over Sakila at scale 100
/// plus 1,000,000 World Bank-shaped observations. Caudal: <c>run --models-only</c> (mount snapshots, materialize,
/// commit, record the run). Reference, in the same run: the same SQL files run directly in DuckDB over the same
/// Parquet files (the ones the raw tables' logs list), each model written with COPY … TO Parquet. Medians of 5
/// rounds, alternating which goes first. The ML step and charts have no DuckDB counterpart and are left out; the checks' cost is
/// reported apart.
/// </summary>
internal static class RefinedBench
{
    public static async Task RunAsync(string work, int scale, int observations, int rounds)
    {
        var db = Path.Combine(work, $"sakila-{scale}.db");
        if (!File.Exists(db)) SakilaGenerator.Generate(db, scale);
        var folder = Path.Combine(work, "refined");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        var parquet = Path.Combine(folder, "observations.parquet");
        var quickstart = Path.Combine(RepoRoot, "examples", "quickstart");
        GenerateObservations(parquet, Path.Combine(quickstart, "reference", "countries.csv"), observations);

        // The quickstart's spec with bench sources, without its ML step and charts; a copy without checks.
        var shipped = File.ReadAllText(Path.Combine(quickstart, "caudal.yaml"));
        var models = shipped[shipped.IndexOf("\nmodels:\n", StringComparison.Ordinal)..shipped.IndexOf("  refined.wb_forecast:", StringComparison.Ordinal)];
        var head = $$"""
            version: 1
            name: refined-bench
            lake: {{Path.Combine(folder, "lake")}}
            sources:
              sakila:
                kind: sqlite
                path: {{db}}
                datasets: "*"
              worldbank:
                kind: files
                path: {{parquet}}
                dataset: observations
              reference:
                kind: files
                path: {{Path.Combine(quickstart, "reference", "countries.csv")}}
                dataset: countries
                columns: {aliases: VARCHAR, iso2: VARCHAR}
            """;
        var run = "\nrun:\n  threads: 2\n  memory_limit: 4GB\n";
        var withChecks = SpecLoader.Parse(head + models + run, "bench.yaml", quickstart);
        var spec = SpecLoader.Parse(head + Regex.Replace(models, @"    checks:\n(      .*\n)+", "") + run, "bench.yaml", quickstart);

        var setup = Stopwatch.StartNew();
        var captured = await new PipelineRunner(spec).RunAsync();
        if (captured.Status != RunStatus.Succeeded) throw new InvalidOperationException(captured.Error);
        Console.WriteLine($"refined: captured Sakila scale {scale} ({captured.Stages.Single(s => s.Table == "raw.sakila_rental").Rows:N0} rentals) and " +
                          $"{observations:N0} observations in {setup.Elapsed.TotalSeconds:F1}s (setup, not measured)");

        var caudal = new List<double>();
        var perModel = new Dictionary<string, (double Caudal, double Reference)>();
        var reference = new List<double>();
        var checks = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            // Alternate which goes first, so neither always finds the other's files in the page cache.
            if (round % 2 == 1) reference.Add((await ReferenceAsync(spec, Path.Combine(folder, "reference"))).Seconds);
            var clock = Stopwatch.StartNew();
            var result = await new PipelineRunner(spec, null, new RunOptions { Capture = false }).RunAsync();
            caudal.Add(clock.Elapsed.TotalSeconds);
            if (result.Status != RunStatus.Succeeded) throw new InvalidOperationException(result.Error);
            if (round % 2 == 0)
            {
                var (seconds, timings) = await ReferenceAsync(spec, Path.Combine(folder, "reference"));
                reference.Add(seconds);
                foreach (var stage in result.Stages) perModel[stage.Table] = (stage.Seconds, timings[stage.Table]);
            }
            clock.Restart();
            result = await new PipelineRunner(withChecks, null, new RunOptions { Capture = false }).RunAsync();
            checks.Add(clock.Elapsed.TotalSeconds);
            if (result.Status != RunStatus.Succeeded) throw new InvalidOperationException(result.Error);
        }
        var (c, r, k) = (Rounds.Median(caudal), Rounds.Median(reference), Rounds.Median(checks));
        Console.WriteLine($"refined: {spec.Models.Count} SQL models; DuckDB directly {r:F2}s, caudal run --models-only {c:F2}s: ratio {c / r:F2} " +
                          $"(target <= 1.1); with the quickstart's checks (write-audit-publish) {k:F2}s");
        Console.WriteLine("refined: per model (a round where caudal went first), caudal stage / DuckDB directly (s): " +
                          string.Join(", ", perModel.Select(m => $"{m.Key} {m.Value.Caudal:F2}/{m.Value.Reference:F2}")));
        Console.WriteLine($"refined: rounds caudal [{string.Join(", ", caudal.Select(x => x.ToString("F2")))}], " +
                          $"reference [{string.Join(", ", reference.Select(x => x.ToString("F2")))}], with checks [{string.Join(", ", checks.Select(x => x.ToString("F2")))}]");
    }

    /// <summary>The same SQL in a plain DuckDB connection over the raw tables' current files; returns seconds.</summary>
    private static async Task<(double Seconds, Dictionary<string, double> Models)> ReferenceAsync(PipelineSpec spec, string output)
    {
        if (Directory.Exists(output)) Directory.Delete(output, recursive: true);
        Directory.CreateDirectory(output);
        var lake = DataLake.Open(spec.Lake);
        var raw = new Dictionary<TableId, List<string>>();
        foreach (var id in (await lake.ListTablesAsync()).Where(t => t.Zone == Zone.Raw))
        {
            var snapshot = (await lake.Table(id).SnapshotAsync())!;
            raw[id] = snapshot.Files.Values.Select(f => lake.Store.LocalPathOf($"{id.Path}/{Caudal.Lake.Delta.PartitionPath.FromLogPath(f.Path)}")!).ToList();
        }

        var clock = Stopwatch.StartNew();
        using var duck = new DuckDBConnection("DataSource=:memory:");
        duck.Open();
        void Execute(string sql)
        {
            using var command = duck.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }
        Execute($"SET threads = {spec.Run.Threads}; SET memory_limit = '{spec.Run.MemoryLimit}'; SET temp_directory = '{Path.Combine(output, "tmp")}'");
        foreach (var zone in TableId.ZoneNames) Execute($"CREATE SCHEMA {zone}");
        foreach (var (id, files) in raw)
            Execute($"CREATE VIEW {id.ZoneName}.{id.Name} AS SELECT * FROM read_parquet([{string.Join(", ", files.Select(Sql.Literal))}], union_by_name = true, hive_partitioning = false)");
        var models = new Dictionary<string, double>();
        foreach (var model in ModelStage.Order(spec.Models))
        {
            var started = clock.Elapsed.TotalSeconds;
            var target = Path.Combine(output, model.Output.ToString());
            var partition = model.PartitionBy.Count > 0 ? $", PARTITION_BY ({string.Join(", ", model.PartitionBy)})" : "";
            Execute($"COPY ({model.Sql}\n) TO {Sql.Literal(target)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 100000{partition})");
            var read = model.PartitionBy.Count > 0 ? Sql.Literal(target + "/**/*.parquet") + ", hive_partitioning = true" : Sql.Literal(target);
            Execute($"CREATE VIEW {model.Output.ZoneName}.{model.Output.Name} AS SELECT * FROM read_parquet({read})");
            models[model.Output.ToString()] = clock.Elapsed.TotalSeconds - started;
        }
        return (clock.Elapsed.TotalSeconds, models);
    }

    /// <summary>Data360-shaped observations: every reference area × indicators × years 1960-2023, 2% of values "null".</summary>
    private static void GenerateObservations(string path, string countries, int rows)
    {
        using var duck = new DuckDBConnection("DataSource=:memory:");
        duck.Open();
        using var command = duck.CreateCommand();
        command.CommandText = $"""
            COPY (
                SELECT 'WB_BENCH' AS DATABASE_ID, 'WB_BENCH_I' || lpad(i::VARCHAR, 3, '0') AS INDICATOR, c.iso3 AS REF_AREA,
                       '_T' AS SEX, '_T' AS AGE, '_T' AS URBANISATION, '_Z' AS COMP_BREAKDOWN_1, '_Z' AS COMP_BREAKDOWN_2,
                       '_Z' AS COMP_BREAKDOWN_3, y::VARCHAR AS TIME_PERIOD,
                       CASE WHEN hash(i, c.iso3, y) % 50 = 0 THEN 'null'
                            ELSE round(10 + i + (hash(c.iso3) % 500) / 10.0 + (y - 1960) * 0.3 + (hash(i, c.iso3, y) % 100) / 100.0, 4)::VARCHAR END AS OBS_VALUE,
                       'PT' AS UNIT_MEASURE, 0 AS UNIT_MULT, 'A' AS FREQ, 'A' AS OBS_STATUS, false AS LATEST_DATA, 'generated' AS _payload
                FROM read_csv({Sql.Literal(countries)}) c, range(1, 100) r(i), range(1960, 2024) t(y)
                ORDER BY i, c.iso3, y
                LIMIT {rows}
            ) TO {Sql.Literal(path)} (FORMAT parquet, COMPRESSION zstd)
            """;
        command.ExecuteNonQuery();
    }

    internal static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Caudal.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("Caudal.sln not found above the bench folder.");
        }
    }
}
