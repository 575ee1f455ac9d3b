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

/// <summary>A scheduled run whose source fails is retried with backoff, then exactly one failure report is POSTed
/// (naming the stage and its error) to a real HTTP receiver; once the source is fixed, one success report.</summary>
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

    public async ValueTask DisposeAsync()
    {
        await _receiver.DisposeAsync();
        _dir.Dispose();
    }
}
