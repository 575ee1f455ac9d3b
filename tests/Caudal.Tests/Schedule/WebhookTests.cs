using System.Text.Json;
using Caudal.Lake;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;

namespace Caudal.Tests.Schedule;

/// <summary>Scheduled runs with a real HTTP receiver for their webhooks: a failing source is retried with backoff, then
/// exactly one failure report names the stage and its error, and once the source is fixed one success report; a run
/// past max_runtime is cancelled before its commit and reported; the maintenance job vacuums on its own cron.</summary>
public sealed class WebhookTests : IAsyncDisposable
{
    private readonly TempDir _dir = new("webhook");
    private readonly WebApplication _receiver;
    private readonly List<(string Path, JsonDocument Body, DateTimeOffset At)> _received = [];

    public WebhookTests()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _receiver = builder.Build();
        _receiver.MapPost("/hooks/{kind}", async (HttpContext ctx, string kind) =>
        {
            var body = await JsonDocument.ParseAsync(ctx.Request.Body);
            lock (_received) _received.Add((kind, body, DateTimeOffset.UtcNow));
            return Results.Ok();
        });
        _receiver.StartAsync().GetAwaiter().GetResult();
        Url = _receiver.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    private string Url { get; }

    private List<(string Path, JsonDocument Body, DateTimeOffset At)> Received()
    {
        lock (_received) return [.. _received];
    }

    [Fact]
    public async Task A_failing_run_is_retried_then_reported_once_and_a_recovered_run_reports_success()
    {
        var spec = SpecLoader.Parse($$"""
            version: 1
            lake: ./lake
            sources:
              drops: {kind: files, path: in/orders.csv}
            schedule:
              cron: "*/3 * * * * *"
              catch_up: none
              retries: {count: 2, backoff: 1s}
              on_failure: {{Url}}/hooks/failure
              on_success: {{Url}}/hooks/success
            """, "caudal.yaml", _dir.Path);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        var scheduler = new Caudal.Schedule.Scheduler(spec, NullLogger.Instance).RunAsync(stop.Token);

        while (Received().Count == 0 && !stop.IsCancellationRequested) await Task.Delay(100);
        Directory.CreateDirectory(_dir.File("in"));
        File.WriteAllText(_dir.File("in/orders.csv"), "id,amount\n1,9.5\n");
        while (!Received().Any(r => r.Path == "success") && !stop.IsCancellationRequested) await Task.Delay(100);
        await Task.Delay(1500); // nothing more may arrive for the same slots
        await stop.CancelAsync();
        await scheduler;

        var failures = Received().Where(r => r.Path == "failure").ToList();
        var failure = Assert.Single(failures).Body.RootElement;
        Assert.Equal("failed", failure.GetProperty("status").GetString());
        Assert.Equal("retry", failure.GetProperty("trigger").GetString());
        Assert.Equal(3, failure.GetProperty("attempt").GetInt32()); // the first attempt and two retries
        var stage = failure.GetProperty("failed_stages")[0];
        Assert.Equal("raw.drops_files", stage.GetProperty("table").GetString());
        Assert.Contains("in/orders.csv' does not exist", stage.GetProperty("error").GetString());
        Assert.StartsWith("raw.drops_files", failure.GetProperty("error").GetString()!.Split(": ")[1]);

        var success = Received().First(r => r.Path == "success").Body.RootElement;
        Assert.Equal("succeeded", success.GetProperty("status").GetString());
        Assert.Equal(0, success.GetProperty("failed_stages").GetArrayLength());

        var runs = await new RunStore(DataLake.Open(spec.Lake).Store).ListAsync(100);
        var failedSlot = runs.Where(r => r.ScheduledFor == DateTimeOffset.Parse(failure.GetProperty("scheduled_for").GetString()!)).OrderBy(r => r.Attempt).ToList();
        Assert.Equal([1, 2, 3], failedSlot.Select(r => r.Attempt));
        Assert.Equal([Triggers.Schedule, Triggers.Retry, Triggers.Retry], failedSlot.Select(r => r.Trigger));
        // The run history is a table too: one row per stage of each finished run, with its trigger, job and slot.
        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        var history = session.Query($"""
            SELECT attempt, trigger, job, run_status, stage, table_name, stage_status, error LIKE '%does not exist%'
            FROM refined.caudal_runs WHERE scheduled_for = TIMESTAMP '{failedSlot[0].ScheduledFor!.Value.UtcDateTime:yyyy-MM-dd HH:mm:ss}' ORDER BY attempt
            """).Rows.Select(LakeReader.Flat);
        Assert.Equal(["1|schedule|pipeline|failed|capture|raw.drops_files|failed|True", "2|retry|pipeline|failed|capture|raw.drops_files|failed|True",
            "3|retry|pipeline|failed|capture|raw.drops_files|failed|True"], history);
        // Backoff: 1s before the first retry, 2s before the second.
        Assert.True(failedSlot[1].StartedAt - failedSlot[0].FinishedAt!.Value >= TimeSpan.FromSeconds(0.9));
        Assert.True(failedSlot[2].StartedAt - failedSlot[1].FinishedAt!.Value >= TimeSpan.FromSeconds(1.9));
    }

    [Fact]
    public async Task A_run_the_stopping_scheduler_cancels_is_recorded_cancelled_in_its_record_and_history()
    {
        await using var api = new FakeData360(records: 5_000) { PageSize = 100, PageDelay = TimeSpan.FromMilliseconds(400) }; // ~20 s of pages
        var spec = SpecLoader.Parse($$"""
            version: 1
            lake: ./lake
            sources:
              wb: {kind: data360, base_url: "{{api.BaseUrl}}", databases: [WB_TEST], metadata: false, concurrency: 1}
            schedule:
              cron: "*/2 * * * * *"
              catch_up: latest
            """, "caudal.yaml", _dir.Path);
        var runs = new RunStore(DataLake.Open(spec.Lake).Store);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var scheduler = new Caudal.Schedule.Scheduler(spec, NullLogger.Instance).RunAsync(stop.Token);
        while (!(await runs.ListAsync()).Any() && !stop.IsCancellationRequested) await Task.Delay(100);
        await Task.Delay(500);
        await stop.CancelAsync(); // SIGTERM to `caudal schedule`
        await scheduler;

        var run = (await runs.ListAsync()).Single();
        Assert.Equal(RunStatus.Cancelled, run.Status);
        Assert.Equal("cancelled: the scheduler was stopped", run.Error);
        using (var session = await Caudal.Processing.QuerySession.OpenAsync(spec))
            Assert.Equal("cancelled", session.Query($"SELECT DISTINCT run_status FROM refined.caudal_runs WHERE run_id = '{run.RunId}'").Rows.Single()[0]);
    }

    [Fact]
    public async Task A_run_past_max_runtime_is_cancelled_before_its_commit_recorded_and_reported()
    {
        await using var api = new FakeData360(records: 5_000) { PageSize = 100, PageDelay = TimeSpan.FromMilliseconds(400) }; // ~20 s of pages
        var spec = SpecLoader.Parse($$"""
            version: 1
            lake: ./lake
            sources:
              wb: {kind: data360, base_url: "{{api.BaseUrl}}", databases: [WB_TEST], metadata: false, concurrency: 1}
            schedule:
              cron: "*/2 * * * * *"
              catch_up: none
              max_runtime: 2s
              on_failure: {{Url}}/hooks/failure
            """, "caudal.yaml", _dir.Path);
        using var stop = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        var scheduler = new Caudal.Schedule.Scheduler(spec, NullLogger.Instance).RunAsync(stop.Token);
        while (!Received().Any(r => r.Path == "failure") && !stop.IsCancellationRequested) await Task.Delay(100);
        await stop.CancelAsync();
        await scheduler;

        var report = Received().First(r => r.Path == "failure").Body.RootElement;
        Assert.Equal("cancelled: ran past max_runtime (00:00:02)", report.GetProperty("error").GetString());
        Assert.Equal("raw.wb_observations", report.GetProperty("failed_stages")[0].GetProperty("table").GetString());
        var run = (await new RunStore(DataLake.Open(spec.Lake).Store).ListAsync()).Single(r => r.RunId == report.GetProperty("run_id").GetString());
        Assert.Equal(RunStatus.Cancelled, run.Status);
        Assert.Equal("cancelled: ran past max_runtime (00:00:02)", run.Stages.Single(s => s.Status == RunStatus.Cancelled).Error);
        // A run killed by max_runtime is a finished run: refined.caudal_runs has it (and so /metrics counts it).
        using (var session = await Caudal.Processing.QuerySession.OpenAsync(spec))
            Assert.Equal("cancelled", session.Query($"SELECT DISTINCT run_status FROM refined.caudal_runs WHERE run_id = '{run.RunId}'").Rows.Single()[0]);
        Assert.InRange((run.FinishedAt!.Value - run.StartedAt).TotalSeconds, 1.5, 10); // stopped at the limit, not after 20 s
        Assert.Null(await DataLake.Open(spec.Lake).Table(TableId.Parse("raw.wb_observations")).SnapshotAsync()); // nothing committed
        Assert.Empty(Directory.GetDirectories(_dir.File(".caudal/tmp"))); // and nothing left behind
    }

    [Fact]
    public async Task The_maintenance_job_vacuums_on_its_own_cron()
    {
        Directory.CreateDirectory(_dir.File("in"));
        File.WriteAllText(_dir.File("in/orders.csv"), "id\n1\n");
        File.WriteAllText(_dir.File("orders.sql"), "SELECT * FROM raw.drops_files");
        var spec = SpecLoader.Parse($$"""
            version: 1
            lake: ./lake
            sources:
              drops: {kind: files, path: in/orders.csv}
            models:
              trusted.orders: {sql: orders.sql}
            run: {vacuum_retention: 1s}
            schedule:
              cron: "0 0 1 1 *"
              maintenance: {cron: "*/2 * * * * *"}
            """, "caudal.yaml", _dir.Path);
        await new Caudal.Pipeline.PipelineRunner(spec).RunAsync();
        await new Caudal.Pipeline.PipelineRunner(spec).RunAsync(); // trusted.orders overwritten: its first file is now unreferenced
        var parquet = () => Directory.GetFiles(_dir.File("lake/trusted/orders"), "*.parquet", SearchOption.AllDirectories).Length;
        Assert.Equal(2, parquet());
        await Task.Delay(1200); // past the retention
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var scheduler = new Caudal.Schedule.Scheduler(spec, NullLogger.Instance).RunAsync(stop.Token);
        while (parquet() > 1 && !stop.IsCancellationRequested) await Task.Delay(100);
        await stop.CancelAsync();
        await scheduler;
        Assert.Equal(1, parquet());
        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        Assert.Equal("2", session.Query("SELECT count(*) FROM trusted.orders").Rows[0][0]); // the live version intact: both raw batches
    }

    public async ValueTask DisposeAsync()
    {
        await _receiver.DisposeAsync();
        _dir.Dispose();
    }
}
