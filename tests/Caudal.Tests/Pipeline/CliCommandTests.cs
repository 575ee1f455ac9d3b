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
        Assert.Contains("1. trusted.wb_observations [overwrite] models/trusted/wb_observations.sql", plan.Stdout);
        Assert.Contains("2. trusted.customers [overwrite] models/trusted/customers.sql", plan.Stdout);
        Assert.Contains("4. refined.revenue_by_country_month [overwrite, partition_by: year]", plan.Stdout);
        Assert.Contains("worldbank (data360, base_url: file:recordings/data360, databases: WB_MPM, metadata: false)", plan.Stdout);
        Assert.Contains("<- trusted.rentals", plan.Stdout);
        Assert.False(Directory.Exists(_qs.LakePath));
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
        var query = await CliProcess.RunAsync(_qs.Folder, "query", "--csv", "SELECT count(*) AS n FROM trusted.rentals");
        Assert.Equal("n\n802\n", query.Stdout.Replace("\r", ""));
    }

    public void Dispose() => _qs.Dispose();
}
