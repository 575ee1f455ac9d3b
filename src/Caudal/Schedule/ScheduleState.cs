namespace Caudal.Schedule;

/// <summary>A slot of a job: the cron time it is for.</summary>
public readonly record struct Slot(ScheduledJob Job, DateTimeOffset At);

/// <summary>
/// Which slots are due, for each job, from the last slot it handled (ran or skipped) and the catch-up policy. Pure:
/// it reads no clock, so the same code decides in the scheduler and in simulations of days of time.
/// A slot counts as on time within <see cref="Grace"/> of its time; later it is missed (the scheduler was down, or a
/// run outlasted the interval) and <see cref="CatchUp"/> decides: latest (run the newest missed slot once), all (run
/// each, oldest first) or none (skip them and wait for the next).
/// </summary>
public sealed class ScheduleState
{
    public static readonly TimeSpan Grace = TimeSpan.FromMinutes(1);
    private const int MaxMissed = 10_000;

    private readonly CatchUp _catchUp;
    private readonly Dictionary<string, DateTimeOffset> _last = new(StringComparer.Ordinal);
    private readonly IReadOnlyList<ScheduledJob> _jobs;

    /// <param name="history">The latest slot each job ran in an earlier process (from the run records); a job never
    /// run starts from <paramref name="now"/>: nothing before the first start is "missed".</param>
    public ScheduleState(IReadOnlyList<ScheduledJob> jobs, CatchUp catchUp, IReadOnlyDictionary<string, DateTimeOffset> history, DateTimeOffset now)
    {
        _jobs = jobs;
        _catchUp = catchUp;
        foreach (var job in jobs) _last[job.Name] = history.TryGetValue(job.Name, out var at) ? at : now;
    }

    /// <summary>The last slot of <paramref name="job"/> that ran (or that catch_up none skipped): a run's window starts there.</summary>
    public DateTimeOffset LastHandled(ScheduledJob job) => _last[job.Name];

    /// <summary>The slot to run now, if any (the oldest due across jobs); slots the policy skips are marked handled.</summary>
    public Slot? Next(DateTimeOffset now)
    {
        Slot? best = null;
        foreach (var job in _jobs)
        {
            var missed = new List<DateTimeOffset>();
            for (var at = job.Next(_last[job.Name]); at is { } t && t <= now && missed.Count < MaxMissed; at = job.Next(t)) missed.Add(t);
            if (missed.Count == 0) continue;
            DateTimeOffset? run = _catchUp switch
            {
                CatchUp.All => missed[0],
                CatchUp.Latest => missed[^1],
                _ => now - missed[^1] <= Grace ? missed[^1] : null,
            };
            if (run is not { } slot)
            {
                _last[job.Name] = missed[^1]; // none: skipped
                continue;
            }
            if (best is not { } b || slot < b.At) best = new Slot(job, slot);
        }
        return best;
    }

    /// <summary>Records that <paramref name="slot"/> was handled (run, or run elsewhere); older missed slots of its job
    /// are then behind it (catch_up latest skips them).</summary>
    public void Done(Slot slot)
    {
        if (slot.At > _last[slot.Job.Name]) _last[slot.Job.Name] = slot.At;
    }

    /// <summary>When the next slot of any job comes, after <paramref name="now"/>.</summary>
    public DateTimeOffset? NextWake(DateTimeOffset now) =>
        _jobs.Select(j => j.Next(now > _last[j.Name] ? now : _last[j.Name])).Where(t => t != null).Min();
}
