using Caudal.Lake;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Time.Testing;

namespace Caudal.Tests.Schedule;

/// <summary>The scheduler's own loop on a fake clock (FakeTimeProvider): it sleeps until each slot, runs it (for real,
/// on a real lake), and after a stop and a restart from the run history catches up by its policy.</summary>
public sealed class FakeClockSchedulerTests : IDisposable
{
    private readonly TempDir _dir = new("fake-clock");

    [Fact]
    public async Task The_loop_runs_each_slot_when_the_clock_reaches_it_and_catches_up_after_a_restart()
    {
        File.WriteAllText(_dir.File("in.csv"), "id\n1\n");
        var spec = SpecLoader.Parse("""
            version: 1
            lake: ./lake
            sources:
              drops: {kind: files, path: in.csv}
            schedule:
              cron: "0 * * * *"
              time_zone: Europe/Madrid
              catch_up: latest
            """, "caudal.yaml", _dir.Path);
        var clock = new FakeTimeProvider(new DateTimeOffset(2026, 3, 28, 22, 30, 0, TimeSpan.Zero)); // the night summer time starts
        var runs = new RunStore(DataLake.Open(spec.Lake).Store);

        async Task<List<DateTimeOffset>> Slots() => (await runs.ListAsync(1000)).Select(r => r.ScheduledFor!.Value).Order().ToList();

        // Waits (real time) until the run of <slot> has finished.
        async Task RanAsync(DateTimeOffset slot)
        {
            for (var i = 0; i < 600; i++)
            {
                if ((await runs.ListAsync(1000)).Any(r => r.ScheduledFor == slot && r.Status != RunStatus.Running)) return;
                await Task.Delay(50);
            }
            throw new TimeoutException($"slot {slot:u} did not run; runs: {string.Join(", ", await Slots())}");
        }

        var hour = TimeSpan.FromHours(1);
        var first = new DateTimeOffset(2026, 3, 28, 23, 0, 0, TimeSpan.Zero);
        using (var stop = new CancellationTokenSource())
        {
            var loop = new Caudal.Schedule.Scheduler(spec, NullLogger.Instance, time: clock).RunAsync(stop.Token);
            await Task.Delay(500);
            Assert.Empty(await Slots()); // nothing before the first slot
            // 23:00 to 02:00 UTC, across 02:00 -> 03:00 in Madrid: the clock jumps to each slot, the loop wakes and runs it.
            for (var slot = first; slot <= first + 3 * hour; slot += hour)
            {
                clock.SetUtcNow(slot + TimeSpan.FromSeconds(1));
                await RanAsync(slot);
            }
            clock.Advance(TimeSpan.FromMinutes(30)); // half-way to the next slot: nothing runs
            await Task.Delay(300);
            await stop.CancelAsync();
            await loop;
        }
        Assert.Equal([first, first + hour, first + 2 * hour, first + 3 * hour], await Slots()); // every UTC hour, the DST night included

        // Down for three hours; restarted, it runs the latest missed slot once (catch_up: latest), then goes on.
        clock.SetUtcNow(first + 6 * hour + TimeSpan.FromMinutes(10));
        using (var stop = new CancellationTokenSource())
        {
            var loop = new Caudal.Schedule.Scheduler(spec, NullLogger.Instance, time: clock).RunAsync(stop.Token);
            await RanAsync(first + 6 * hour);
            clock.SetUtcNow(first + 7 * hour + TimeSpan.FromSeconds(1));
            await RanAsync(first + 7 * hour);
            await stop.CancelAsync();
            await loop;
        }
        Assert.Equal([first, first + hour, first + 2 * hour, first + 3 * hour, first + 6 * hour, first + 7 * hour], await Slots());
        Assert.All(await runs.ListAsync(1000), r => Assert.Equal(RunStatus.Succeeded, r.Status));
    }

    [Fact]
    public async Task A_scheduler_that_waited_for_the_lease_runs_what_is_due_then_not_the_slot_it_chose_before()
    {
        File.WriteAllText(_dir.File("in.csv"), "id\n1\n");
        var spec = SpecLoader.Parse("""
            version: 1
            lake: ./lake
            sources:
              drops: {kind: files, path: in.csv}
            schedule:
              cron: "0 * * * *"
              catch_up: latest
              lease_ttl: 1h
            """, "caudal.yaml", _dir.Path);
        var hour = TimeSpan.FromHours(1);
        var first = new DateTimeOffset(2026, 12, 1, 10, 0, 0, TimeSpan.Zero);
        var clock = new FakeTimeProvider(first - TimeSpan.FromMinutes(5));
        var lake = DataLake.Open(spec.Lake);
        var runs = new RunStore(lake.Store);
        var (held, _) = await Caudal.Runs.RunLease.TryAcquireAsync(lake.Store, "another runner", hour, clock);
        Assert.NotNull(held);

        using var stop = new CancellationTokenSource();
        var loop = new Caudal.Schedule.Scheduler(spec, NullLogger.Instance, time: clock).RunAsync(stop.Token);
        await Task.Delay(300);
        clock.SetUtcNow(first + TimeSpan.FromSeconds(1)); // slot 10:00 is due: the scheduler chooses it and waits for the lease
        await Task.Delay(500);
        // Meanwhile the holder ran 11:00, and 12:00 came due.
        await runs.SaveAsync(new RunRecord
        {
            RunId = RunRecord.NewId(first + hour),
            Pipeline = spec.Name,
            StartedAt = first + hour,
            FinishedAt = first + hour + TimeSpan.FromMinutes(1),
            Trigger = Triggers.Schedule,
            Job = "pipeline",
            ScheduledFor = first + hour,
            Status = RunStatus.Succeeded,
            Host = "elsewhere",
        });
        clock.SetUtcNow(first + 2 * hour + TimeSpan.FromSeconds(1));
        await held!.DisposeAsync();
        for (var i = 0; i < 200 && !(await runs.ListAsync(100)).Any(r => r.ScheduledFor == first + 2 * hour && r.Status != RunStatus.Running); i++)
        {
            clock.Advance(TimeSpan.FromSeconds(5)); // wakes the lease poll
            await Task.Delay(50);
        }
        await stop.CancelAsync();
        await loop;
        var slots = (await runs.ListAsync(100)).Select(r => r.ScheduledFor!.Value).Order().ToList();
        Assert.Equal([first + hour, first + 2 * hour], slots); // 12:00 ran; 10:00, behind a slot already run, did not
    }

    public void Dispose() => _dir.Dispose();
}
