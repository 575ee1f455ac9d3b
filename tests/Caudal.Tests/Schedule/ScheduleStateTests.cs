using Caudal.Schedule;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Schedule;

/// <summary>
/// The scheduling decisions over 72 simulated hours, minute by minute on a fake clock: an hourly job and a daily job
/// at 02:30 Madrid time across the end of summer time (25 Oct 2026), a 3-hour outage of the scheduler (restarted from
/// the run history), and one run that lasts 2.5 hours — the exact runs started, for each catch_up policy.
/// </summary>
public sealed class ScheduleStateTests : IDisposable
{
    private readonly TempDir _dir = new("schedule");
    private static readonly DateTimeOffset T0 = new(2026, 10, 24, 0, 0, 0, TimeSpan.Zero);

    private ScheduleSpec Parse(string catchUp) => SpecLoader.Parse($$"""
        version: 1
        lake: ./lake
        sources:
          api: {kind: files, path: in.csv}
        schedule:
          time_zone: Europe/Madrid
          catch_up: {{catchUp}}
          jobs:
            - {name: hourly, cron: "0 * * * *"}
            - {name: daily, cron: "30 2 * * *"}
        """, "caudal.yaml", _dir.Path).Schedule!;

    /// <summary>Runs the simulation; returns "job slot@start" per run, times as hours:minutes after T0.</summary>
    private List<string> Simulate(ScheduleSpec schedule)
    {
        static string At(DateTimeOffset t) => $"{(int)(t - T0).TotalHours}:{(t - T0).Minutes:D2}";
        var started = new List<string>();
        var history = new Dictionary<string, DateTimeOffset>();
        ScheduleState? state = null;
        var busyUntil = T0;
        for (var t = T0; t < T0.AddHours(72); t = t.AddMinutes(1))
        {
            var down = t >= T0.AddHours(30) && t < T0.AddHours(33);
            if (down)
            {
                state = null; // the process is gone; a new one starts from the run history
                continue;
            }
            state ??= new ScheduleState(schedule.Jobs, schedule.CatchUp, history, t);
            if (t < busyUntil) continue;
            if (state.Next(t) is not { } slot) continue;
            started.Add($"{slot.Job.Name} {At(slot.At)}@{At(t)}");
            busyUntil = t.AddMinutes(slot.Job.Name == "hourly" && slot.At == T0.AddHours(50) ? 150 : 2);
            state.Done(slot);
            history[slot.Job.Name] = slot.At;
        }
        return started;
    }

    /// <summary>Hourly slots h run at h:00, except the ones listed; the daily job runs at 02:30 Madrid: 00:30 UTC in
    /// summer time, 01:30 UTC in winter time, once on the day the clock goes back (02:30 happens twice).</summary>
    private static List<string> Expected(IEnumerable<int> skipped, params string[] special)
    {
        var runs = Enumerable.Range(1, 71).Except(skipped).Select(h => (Sort: h * 60.0, Text: $"hourly {h}:00@{h}:00")).ToList();
        runs.AddRange(new[] { "daily 0:30@0:30", "daily 24:30@24:30", "daily 49:30@49:30" }
            .Select(d => (Sort: double.Parse(d.Split('@')[1].Split(':')[0]) * 60 + 30, Text: d)));
        runs.AddRange(special.Select(s => (Sort: Minutes(s.Split('@')[1]) + 0.5, Text: s)));
        return runs.OrderBy(r => r.Sort).Select(r => r.Text).ToList();
    }

    private static double Minutes(string hm) => int.Parse(hm.Split(':')[0]) * 60 + int.Parse(hm.Split(':')[1]);

    [Fact]
    public void Latest_runs_the_newest_missed_slot_once()
    {
        // Down 30:00-33:00: slots 30-32 missed, 33 runs on time. Slot 50 runs until 52:30: 51 and 52 missed, 52 runs late.
        var expected = Expected([30, 31, 32, 33, 51, 52], "hourly 33:00@33:00", "hourly 52:00@52:30");
        Assert.Equal(expected, Simulate(Parse("latest")));
    }

    [Fact]
    public void All_runs_every_missed_slot_oldest_first()
    {
        var expected = Expected([30, 31, 32, 33, 51, 52],
            "hourly 30:00@33:00", "hourly 31:00@33:02", "hourly 32:00@33:04", "hourly 33:00@33:06",
            "hourly 51:00@52:30", "hourly 52:00@52:32");
        Assert.Equal(expected, Simulate(Parse("all")));
    }

    [Fact]
    public void None_skips_what_was_missed_and_waits_for_the_next_slot()
    {
        var expected = Expected([30, 31, 32, 33, 51, 52], "hourly 33:00@33:00");
        Assert.Equal(expected, Simulate(Parse("none")));
    }

    [Fact]
    public void The_daily_slot_follows_madrid_time_across_the_change_from_summer_time()
    {
        var daily = Parse("latest").Jobs.Single(j => j.Name == "daily");
        Assert.Equal(new DateTimeOffset(2026, 10, 24, 0, 30, 0, TimeSpan.Zero), daily.Next(T0));
        Assert.Equal(new DateTimeOffset(2026, 10, 25, 0, 30, 0, TimeSpan.Zero), daily.Next(T0.AddHours(1))); // 02:30 CEST, once
        Assert.Equal(new DateTimeOffset(2026, 10, 26, 1, 30, 0, TimeSpan.Zero), daily.Next(T0.AddHours(25))); // 02:30 CET
    }

    public void Dispose() => _dir.Dispose();
}
