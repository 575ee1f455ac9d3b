using Caudal.Tests.Support;

namespace Caudal.Tests.Pipeline;

/// <summary>`caudal plan`, `runs`, `status`, `query` and `vacuum` on the quickstart lake, through the real CLI.</summary>
public sealed class CliCommandTests : IDisposable
{
    private readonly Quickstart _qs = new(scale: 0.05);

    [Fact]
    public async Task Plan_prints_the_graph_without_touching_the_lake()
    {
        var plan = await CliProcess.RunAsync(_qs.Folder, "plan");
        Assert.Equal(0, plan.ExitCode);
        Assert.Contains("sakila (sqlite, path: data/sakila.db)", plan.Stdout);
        Assert.Contains("-> raw.sakila_rental", plan.Stdout);
        Assert.Contains("1. trusted.sakila_rental [incremental, unique_key: rental_id, new rows of: raw.sakila_rental] models/trusted/sakila/rental.sql", plan.Stdout);
        Assert.Contains("12. trusted.wb_observations [incremental, unique_key: time_period, ref_area, indicator, database_id, sex, age, urbanisation, comp_breakdown_1, comp_breakdown_2, comp_breakdown_3, unit_measure, freq, new rows of: raw.worldbank_observations] models/trusted/wb_observations.sql", plan.Stdout);
        Assert.Contains("15. refined.revenue_by_country_month [overwrite, partition_by: year]", plan.Stdout);
        Assert.Contains("worldbank (data360, base_url: file:recordings/data360, databases: WB_MPM, metadata: false)", plan.Stdout);
        Assert.Contains("<- trusted.rentals", plan.Stdout);
        Assert.False(Directory.Exists(_qs.LakePath));
    }

    [Theory]
    [InlineData("unknown option '--dryrun' (did you mean '--dry-run'?)", "vacuum", "--retention", "0s", "--dryrun")]
    [InlineData("unknown option '--modelsonly' (did you mean '--models-only'?)", "run", "--modelsonly")]
    [InlineData("unknown option '--sepc' (did you mean '--spec'?)", "run", "--sepc", "caudal.yaml")]
    [InlineData("unknown option '--scope' (did you mean '--scopes'?)", "keys", "add", "bi", "--scope", "tables")]
    [InlineData("unknown option '-x'", "status", "-x")]
    [InlineData("--port: 'abc' is not a whole number", "serve", "--port", "abc")]
    public async Task A_typo_on_the_command_line_is_a_usage_error_and_changes_nothing(string message, params string[] args)
    {
        // First a lake with something vacuum could delete: a typo'd --dry-run must not delete it.
        Assert.Equal(0, (await CliProcess.RunAsync(_qs.Folder, "run")).ExitCode);
        Assert.Equal(0, (await CliProcess.RunAsync(_qs.Folder, "run", "--models-only")).ExitCode);
        var before = Directory.GetFiles(_qs.LakePath, "*", SearchOption.AllDirectories).Order().ToList();
        var result = await CliProcess.RunAsync(_qs.Folder, args);
        Assert.Equal(2, result.ExitCode);
        Assert.Contains(message, result.Stderr);
        Assert.DoesNotContain("   at ", result.Stderr);
        Assert.Equal(before, Directory.GetFiles(_qs.LakePath, "*", SearchOption.AllDirectories).Order().ToList());
    }

    [Fact]
    public async Task No_output_log_record_or_lake_file_holds_a_secret_and_reading_the_lake_needs_none()
    {
        const string canary = "Canary-s3cret-7731";
        await using var api = new FakeData360(records: 150);
        File.WriteAllText(_qs.SpecPath, File.ReadAllText(_qs.SpecPath).Replace("sources:\n", $$"""
            sources:
              shop:
                kind: mysql
                connection: ${env:SHOP_DB}
                datasets: [orders]
              feed:
                kind: http
                base_url: {{api.BaseUrl}}
                url: "api/pages?api_key=${env:FEED_KEY}"
                records: items
                pagination: page
                page_size: 100
                auth_token: ${env:FEED_TOKEN}
              down:
                kind: http
                base_url: http://127.0.0.1:9
                url: "v1/orders?api_key=${env:FEED_KEY}"
                records: items
                auth_token: ${env:FEED_TOKEN}
                retries: 1

            """, StringComparison.Ordinal));
        var env = new Dictionary<string, string>
        {
            ["SHOP_DB"] = $"mysql://caudal:{canary}@127.0.0.1:9/shop",
            ["FEED_KEY"] = canary + "-key",
            ["FEED_TOKEN"] = "s3cret", // the stand-in API's token
        };
        var outputs = new List<string>();
        foreach (var args in new[] { new[] { "plan" }, ["validate"], ["run"], ["runs"], ["status"] })
        {
            var result = await CliProcess.RunAsync(_qs.Folder, env, args);
            outputs.Add(result.Stdout + result.Stderr);
        }
        Assert.Contains("connection: ${env:SHOP_DB}", outputs[0]); // plan shows the reference, not its value
        Assert.Contains("auth_token: ${env:FEED_TOKEN}", outputs[0]);
        var id = outputs[3].Split('\n')[1].Split(' ')[0];
        var detail = await CliProcess.RunAsync(_qs.Folder, env, "runs", "--run", id);
        outputs.Add(detail.Stdout + detail.Stderr);
        Assert.Contains("raw.shop_orders", detail.Stdout); // the failed capture is recorded...

        // The scheduler's logs (text and JSON) too: a scheduled run of the same failing sources.
        File.AppendAllText(_qs.SpecPath, "\nschedule:\n  cron: \"*/2 * * * * *\"\n  retries: {count: 0, backoff: 1s}\n");
        foreach (var format in new[] { "text", "json" })
        {
            using var scheduler = System.Diagnostics.Process.Start(CliProcess.StartInfo(_qs.Folder, env, "schedule", "--log-format", format))!;
            var logs = new System.Text.StringBuilder();
            scheduler.OutputDataReceived += (_, e) => { lock (logs) logs.AppendLine(e.Data); };
            scheduler.ErrorDataReceived += (_, e) => { lock (logs) logs.AppendLine(e.Data); };
            scheduler.BeginOutputReadLine();
            scheduler.BeginErrorReadLine();
            await Eventually.WaitUntilAsync(() => { lock (logs) return Task.FromResult(logs.ToString().Contains("raw.shop_orders")); }, TimeSpan.FromSeconds(60), "a scheduled run's failed capture in the logs");
            using (var kill = System.Diagnostics.Process.Start("kill", ["-TERM", scheduler.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])!) await kill.WaitForExitAsync();
            await scheduler.WaitForExitAsync();
            lock (logs) outputs.Add(logs.ToString());
        }
        foreach (var output in outputs) Assert.DoesNotContain("Canary", output, StringComparison.OrdinalIgnoreCase);
        // Every file of the lake, the kept API payloads (gzipped) decompressed first.
        Assert.NotEmpty(Directory.GetFiles(Path.Combine(_qs.LakePath, "raw", "feed_records", "_payloads"), "*.gz", SearchOption.AllDirectories));
        foreach (var file in Directory.GetFiles(_qs.LakePath, "*", SearchOption.AllDirectories))
        {
            using var stream = File.OpenRead(file);
            using var text = new StreamReader(file.EndsWith(".gz", StringComparison.Ordinal) ? new System.IO.Compression.GZipStream(stream, System.IO.Compression.CompressionMode.Decompress) : stream);
            Assert.False(text.ReadToEnd().Contains(canary, StringComparison.Ordinal), $"{file} holds the secret");
        }

        // Commands that only read the lake need none of the sources' secrets.
        foreach (var args in new[] { new[] { "status" }, ["runs"], ["query", "SELECT count(*) FROM trusted.rentals"], ["vacuum", "--dry-run"] })
        {
            var result = await CliProcess.RunAsync(_qs.Folder, args);
            Assert.True(result.ExitCode == 0, $"{string.Join(' ', args)}: {result.Stderr}");
        }
        var run = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.Equal(2, run.ExitCode);
        Assert.Contains("Environment variable 'SHOP_DB' is not set", run.Stderr);
    }

    [Fact]
    public async Task Run_then_status_runs_query_and_vacuum_describe_the_lake()
    {
        var empty = await CliProcess.RunAsync(_qs.Folder, "runs");
        Assert.Contains("no runs recorded", empty.Stdout);

        var run = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.True(run.ExitCode == 0, run.Stderr);
        Assert.Matches(@"capture raw\.sakila_rental\s+ok\s+802 rows", run.Stdout);
        Assert.Contains("succeeded", run.Stdout);
        Assert.Contains(Path.Combine("lake", "refined", "revenue_by_country_month"), run.Stdout);
        await CliProcess.RunAsync(_qs.Folder, "run");

        var status = await CliProcess.RunAsync(_qs.Folder, "status");
        Assert.Equal(0, status.ExitCode);
        Assert.Matches(@"raw\.sakila_rental\s+1\s+1,604\s+2", status.Stdout); // two appended batches, version 1
        Assert.Matches(@"trusted\.rentals\s+1\s+802\s+1", status.Stdout); // overwritten: still one batch of rows

        var runs = await CliProcess.RunAsync(_qs.Folder, "runs");
        Assert.Equal(2, runs.Stdout.Split('\n').Count(l => l.Contains("succeeded")));
        var id = runs.Stdout.Split('\n')[1].Split(' ')[0];
        var detail = await CliProcess.RunAsync(_qs.Folder, "runs", "--run", id);
        Assert.Contains("model   refined.revenue_by_country_month", detail.Stdout);

        var query = await CliProcess.RunAsync(_qs.Folder, "query", "--csv", "SELECT count(*) AS n FROM trusted.rentals");
        Assert.Equal("n\n802\n", query.Stdout.Replace("\r", ""));

        var dry = await CliProcess.RunAsync(_qs.Folder, "vacuum", "--retention", "0s", "--dry-run");
        Assert.Contains("would delete trusted/rentals/part-", dry.Stdout); // the first run's file, replaced by the second
        var vacuum = await CliProcess.RunAsync(_qs.Folder, "vacuum", "--retention", "0s");
        Assert.Equal(0, vacuum.ExitCode);
        var after = await CliProcess.RunAsync(_qs.Folder, "query", "--csv", "SELECT count(*) AS n FROM trusted.rentals");
        Assert.Equal("n\n802\n", after.Stdout.Replace("\r", ""));
    }

    [Fact]
    public async Task A_failed_run_exits_1_names_the_failure_and_keeps_the_published_tables()
    {
        Assert.Equal(0, (await CliProcess.RunAsync(_qs.Folder, "run")).ExitCode);
        File.WriteAllText(Path.Combine(_qs.Folder, "models", "trusted", "rentals.sql"), "SELECT no_such_column FROM raw.sakila_rental");
        var failed = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.Equal(1, failed.ExitCode);
        Assert.Contains("trusted.rentals: Model trusted.rentals (rentals.sql): Binder Error", failed.Stderr);
        Assert.Contains("refined.revenue_by_country_month: skipped: input trusted.rentals failed in this run", failed.Stderr);
        // What follows from a skip says so, and a stage line says "skipped" once.
        Assert.Contains("skipped: input trusted.country_year_indicators was skipped in this run", failed.Stderr);
        Assert.DoesNotContain("skipped skipped", failed.Stdout);
        // The summary lists only what this run wrote.
        Assert.DoesNotMatch(@"(?m)^  refined\.revenue_by_country_month +\S*lake", failed.Stdout);
        Assert.Matches(@"(?m)^  trusted\.customers +\S*lake", failed.Stdout);
        Assert.Matches(@"\d+ of \d+ model outputs were not written by this run", failed.Stdout);
        Assert.Matches(@"model\s+refined\.revenue_by_country_month\s+skipped\s+input trusted\.rentals failed in this run", failed.Stdout);
        var query = await CliProcess.RunAsync(_qs.Folder, "query", "--csv", "SELECT count(*) AS n FROM trusted.rentals");
        Assert.Equal("n\n802\n", query.Stdout.Replace("\r", ""));
    }

    public void Dispose() => _qs.Dispose();
}
