using System.Diagnostics;
using System.Text.Json;
using Caudal.Lake;
using Caudal.Pipeline;
using Caudal.Processing.Engine;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;
using DuckDB.NET.Data;

namespace Caudal.Tests.Pipeline;

/// <summary>The quickstart pipeline end to end through the library: SQLite → raw → trusted → refined.</summary>
public sealed class QuickstartTests : IDisposable
{
    private readonly Quickstart _qs = new(scale: 0.2);

    [Fact]
    public async Task Run_produces_raw_trusted_and_refined_tables_with_exact_rows()
    {
        var spec = SpecLoader.Load(_qs.SpecPath);
        var run = await new PipelineRunner(spec).RunAsync();

        Assert.Equal(RunStatus.Succeeded, run.Status);
        // 16 Sakila tables, Data360 observations, the country reference; 11 incremental Sakila tables and 12 models (the
        // ML step writes 2 tables); 5 charts.
        Assert.Equal(16 + 1 + 1 + 11 + 13 + 5, run.Stages.Count);
        var lake = DataLake.Open(spec.Lake);
        foreach (var (table, rows) in _qs.Counts)
            Assert.Equal(rows, (await lake.Table(new TableId(Zone.Raw, "sakila_" + table)).SnapshotAsync())!.NumRecords);

        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        var rentals = session.Query("SELECT count(*), count(DISTINCT rental_id), sum(amount_paid) FROM trusted.rentals").Rows[0];
        Assert.Equal(_qs.Counts["rental"].ToString(), rentals[0]);
        Assert.Equal(rentals[0], rentals[1]);
        var source = SourceTotals(_qs.Folder);
        Assert.Equal(source.Revenue, decimal.Parse(rentals[2]!));
        var refined = session.Query("SELECT sum(revenue), sum(rentals), count(DISTINCT year) FROM refined.revenue_by_country_month").Rows[0];
        Assert.Equal(source.Revenue, decimal.Parse(refined[0]!));
        Assert.Equal(_qs.Counts["rental"].ToString(), refined[1]);
        var wb = session.Query("SELECT count(*), count(obs_value), count(DISTINCT indicator) FROM trusted.wb_observations").Rows[0];
        Assert.Equal("1000|1000|2", LakeReader.Flat(wb)); // the recorded real page: two indicators, no missing values
        // Every Sakila country conformed to an ISO code (Yugoslavia to the former code YUG); the warn check passed.
        Assert.Equal("109|109|YUG", LakeReader.Flat(session.Query(
            "SELECT count(*), count(iso3), max(iso3) FILTER (country = 'Yugoslavia') FROM trusted.countries").Rows[0]));
        // The join: rows for exactly the countries present in both sources, each beside both indicators.
        Assert.Equal("0|0", LakeReader.Flat(session.Query("""
            SELECT count(*) FILTER (iso3 NOT IN (SELECT iso3 FROM trusted.countries WHERE iso3 IS NOT NULL)),
                   count(*) FILTER (iso3 NOT IN (SELECT ref_area FROM trusted.wb_observations))
            FROM trusted.country_year_indicators
            """).Rows[0]));
        Assert.Equal(session.Query("""
            SELECT count(DISTINCT c.iso3) FROM trusted.countries c JOIN trusted.rentals r USING (country)
            WHERE c.iso3 IN (SELECT ref_area FROM trusted.wb_observations WHERE obs_value IS NOT NULL)
            """).Rows[0][0], session.Query("SELECT count(DISTINCT iso3) FROM trusted.country_year_indicators").Rows[0][0]);
        // ML: model and baseline figures for both indicators; charts drawn for every indicator.
        Assert.Equal(["WB_MPM_ELEC|ok|True|True", "WB_MPM_HEADCOUNT|ok|True|True"], session.Query("""
            SELECT indicator, status, model_rmse > 0 AND model_mae > 0 AND model_r2 IS NOT NULL, baseline_rmse > 0 AND baseline_mae > 0 AND baseline_r2 IS NOT NULL
            FROM refined.wb_forecast_metrics ORDER BY indicator
            """).Rows.Select(LakeReader.Flat));
        var charts = run.Stages.Where(s => s.Stage == "chart").ToList();
        Assert.Equal(5, charts.Count);
        Assert.All(charts.SelectMany(c => c.Images), key => Assert.True(new FileInfo(Path.Combine(_qs.LakePath, key)).Length > 10_000, key));
        Assert.Equal(9, charts.Sum(c => c.Images.Count));
        var partitions = (await lake.Table(TableId.Parse("refined.revenue_by_country_month")).SnapshotAsync())!;
        Assert.Equal(["2005", "2006"], partitions.Files.Values.Select(f => f.PartitionValues["year"]).Distinct().Order());
    }

    [Fact]
    public async Task A_second_run_appends_a_new_raw_batch_and_replaces_trusted_without_duplicates()
    {
        var spec = SpecLoader.Load(_qs.SpecPath);
        await new PipelineRunner(spec).RunAsync();
        var second = await new PipelineRunner(spec).RunAsync();
        Assert.Equal(RunStatus.Succeeded, second.Status);

        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        var raw = session.Query("SELECT count(*), count(DISTINCT _caudal_run_id) FROM raw.sakila_rental").Rows[0];
        Assert.Equal((_qs.Counts["rental"] * 2).ToString(), raw[0]);
        Assert.Equal("2", raw[1]);
        Assert.Equal(_qs.Counts["rental"].ToString(), session.Query("SELECT count(*) FROM trusted.rentals").Rows[0][0]);
        var runs = await new RunStore(DataLake.Open(spec.Lake).Store).ListAsync();
        Assert.Equal([second.RunId, runs[1].RunId], runs.Select(r => r.RunId));
        Assert.All(runs, r => Assert.Equal(RunStatus.Succeeded, r.Status));
    }

    [Fact]
    public async Task A_models_only_run_rebuilds_trusted_refined_and_charts_from_raw_without_capturing()
    {
        var spec = SpecLoader.Load(_qs.SpecPath);
        await new PipelineRunner(spec).RunAsync();
        File.Delete(Path.Combine(_qs.Folder, "data", "sakila.db")); // capture would fail now
        var run = await new PipelineRunner(spec, options: new RunOptions { Capture = false }).RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        Assert.DoesNotContain(run.Stages, s => s.Stage == "capture");
        Assert.Equal(11 + 13 + 5, run.Stages.Count);
        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        Assert.Equal(_qs.Counts["rental"].ToString(), session.Query("SELECT count(*) FROM trusted.rentals").Rows[0][0]);
        Assert.Equal("1", session.Query("SELECT count(DISTINCT _caudal_run_id) FROM raw.sakila_rental").Rows[0][0]);
    }

    [Fact]
    public async Task The_same_pipeline_runs_on_an_s3_lake()
    {
        var s3 = S3Server.Instance;
        var prefix = "qs-" + Guid.NewGuid().ToString("N")[..8];
        using var qs = new Quickstart(0.05, $"lake:\n  location: s3://{S3Server.Bucket}/{prefix}\n  endpoint: {s3.Endpoint}\n  region: us-east-1\n  path_style: true");
        var spec = SpecLoader.Load(qs.SpecPath);
        Assert.True(spec.Lake.IsS3);
        var first = await new PipelineRunner(spec).RunAsync();
        Assert.True(first.Status == RunStatus.Succeeded, first.Error);
        var second = await new PipelineRunner(spec).RunAsync();
        Assert.True(second.Status == RunStatus.Succeeded, second.Error);

        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        Assert.Equal(qs.Counts["rental"].ToString(), session.Query("SELECT count(*) FROM trusted.rentals").Rows[0][0]);
        Assert.Equal((qs.Counts["rental"] * 2).ToString(), session.Query("SELECT count(*) FROM raw.sakila_rental").Rows[0][0]);
        Assert.False(Directory.Exists(qs.LakePath)); // nothing went to local disk
        var lake = DataLake.Open(spec.Lake);
        Assert.Equal(44, (await lake.ListTablesAsync()).Count); // 18 raw, 17 trusted, 7 refined model outputs + refined.caudal_checks and caudal_runs
        Assert.Equal(9, await lake.Store.ListAsync("refined/_charts/").CountAsync());
        Assert.Equal(2, (await new RunStore(lake.Store).ListAsync()).Count);
    }

    [SkippableFact]
    public async Task Every_table_reads_the_same_through_an_independent_delta_reader()
    {
        Skip.If(!OnPath("python3"), "python3 is not installed: the independent Delta reader (tests/tools/delta_replay.py) cannot run.");
        var spec = SpecLoader.Load(_qs.SpecPath);
        await new PipelineRunner(spec).RunAsync();
        await new PipelineRunner(spec).RunAsync(); // two versions per table: overwrites leave tombstoned files on disk

        var lake = DataLake.Open(spec.Lake);
        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        using var duck = new DuckDBConnection("DataSource=:memory:");
        duck.Open();
        foreach (var id in await lake.ListTablesAsync())
        {
            var state = JsonDocument.Parse(await Python(Path.Combine(Quickstart.RepoRoot, "tests", "tools", "delta_replay.py"), Path.Combine(_qs.LakePath, id.Path))).RootElement;
            var snapshot = (await lake.Table(id).SnapshotAsync())!;
            var files = state.GetProperty("files").EnumerateArray().ToList();
            Assert.Equal(snapshot.Files.Values.Select(f => Caudal.Lake.Delta.PartitionPath.FromLogPath(f.Path)).Order(), files.Select(f => f.GetProperty("path").GetString()!).Order());
            Assert.Equal(snapshot.Version, state.GetProperty("version").GetInt64());

            // DuckDB on exactly the files the log lists, partition values taken from the log, not from folder names.
            var partitionColumns = state.GetProperty("partitionColumns").EnumerateArray().Select(p => p.GetString()!).ToList();
            var columns = state.GetProperty("schema").EnumerateArray().Select(f => f.GetProperty("name").GetString()!).Order().ToList();
            var parts = files.Select(f =>
            {
                var pv = f.GetProperty("partitionValues");
                var literals = partitionColumns.Select(p => pv.GetProperty(p).ValueKind == JsonValueKind.Null
                    ? $"NULL AS \"{p}\"" : $"'{pv.GetProperty(p).GetString()}' AS \"{p}\"");
                var path = Path.Combine(_qs.LakePath, id.Path, f.GetProperty("path").GetString()!);
                return $"SELECT *{string.Concat(literals.Select(l => ", " + l))} FROM read_parquet('{path}', hive_partitioning = false)";
            }).ToList();
            var checksum = $"SELECT count(*), sum(hash({string.Join(", ", columns.Select(c => $"CAST(\"{c}\" AS VARCHAR)"))})) FROM ({string.Join(" UNION ALL BY NAME ", parts)})";
            using var command = duck.CreateCommand();
            command.CommandText = checksum;
            using var reader = command.ExecuteReader();
            reader.Read();
            var independent = (reader.GetValue(0).ToString(), reader.IsDBNull(1) ? null : reader.GetValue(1).ToString());

            var ours = session.Query($"SELECT count(*), sum(hash({string.Join(", ", columns.Select(c => $"CAST(\"{c}\" AS VARCHAR)"))})) FROM {id}").Rows[0];
            Assert.Equal(independent, (ours[0], ours[1]));
            Assert.Equal(snapshot.NumRecords.ToString(), ours[0]);
        }
    }

    internal static (decimal Revenue, long Payments) SourceTotals(string folder)
    {
        using var sqlite = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={Path.Combine(folder, "data", "sakila.db")};Mode=ReadOnly;Pooling=False");
        sqlite.Open();
        using var command = sqlite.CreateCommand();
        command.CommandText = "SELECT amount FROM payment";
        using var reader = command.ExecuteReader();
        decimal total = 0;
        long n = 0;
        while (reader.Read())
        {
            total += Math.Round((decimal)reader.GetDouble(0), 2);
            n++;
        }
        return (total, n);
    }

    private static bool OnPath(string program) =>
        (Environment.GetEnvironmentVariable("PATH") ?? "").Split(':').Any(d => File.Exists(Path.Combine(d, program)));

    private static async Task<string> Python(string script, string argument)
    {
        using var process = Process.Start(new ProcessStartInfo("python3", [script, argument]) { RedirectStandardOutput = true, RedirectStandardError = true })!;
        var output = await process.StandardOutput.ReadToEndAsync();
        var error = await process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        Assert.True(process.ExitCode == 0, $"delta_replay.py failed: {error}");
        return output;
    }

    public void Dispose() => _qs.Dispose();
}
