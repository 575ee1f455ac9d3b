using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Spec;
using Microsoft.Extensions.Logging;

namespace Caudal.Schedule;

/// <summary>
/// Runs the pipeline on its schedule until stopped: one slot at a time, each under the lake's lease (so schedulers on
/// several machines never overlap and each slot runs once: a slot another scheduler already ran is skipped), bounded by
/// <c>max_runtime</c>, retried with backoff when it fails, reported to the webhooks. Stopping cancels the run in flight:
/// its current stage is abandoned before its commit (commits are atomic), the lease is released.
/// </summary>
public sealed class Scheduler(PipelineSpec spec, ILogger logger, HttpClient? http = null, TimeProvider? time = null,
    Func<string?>? serverRoot = null)
{
    private readonly ScheduleSpec _schedule = spec.Schedule ?? throw new ArgumentException($"The spec {spec.File} has no 'schedule' section.");
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly Webhook _webhook = new(http ?? new HttpClient(), logger, serverRoot);
    private readonly DataLake _lake = DataLake.Open(spec.Lake);

    /// <summary>A slot's time in log messages: ISO 8601 in UTC, the same in text and JSON logs (a structured value would
    /// be written in the machine's culture).</summary>
    private static string Iso(DateTimeOffset at) => at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private IEnumerable<ScheduledJob> Jobs => _schedule.Maintenance is { } m ? [.. _schedule.Jobs, m] : _schedule.Jobs;

    public async Task RunAsync(CancellationToken stopping)
    {
        try
        {
            await LoopAsync(stopping);
        }
        catch (OperationCanceledException) when (stopping.IsCancellationRequested)
        {
        }
        logger.LogInformation("Scheduler for pipeline {Pipeline} stopped.", spec.Name);
    }

    private async Task LoopAsync(CancellationToken stopping)
    {
        var runs = new RunStore(_lake.Store);
        Dictionary<string, DateTimeOffset> history;
        while (true)
        {
            try
            {
                history = await HistoryAsync(runs, stopping);
                break;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogError("Cannot read the run history from the lake, retrying in 30s: {Error}", Secrets.Redact(e.Message));
                await Task.Delay(TimeSpan.FromSeconds(30), _time, stopping);
            }
        }
        var state = new ScheduleState(Jobs.ToList(), _schedule.CatchUp, history, _time.GetUtcNow());
        logger.LogInformation("Scheduler for pipeline {Pipeline} started: {Jobs}", spec.Name,
            string.Join("; ", Jobs.Select(j => $"{j.Name} '{j.CronText}' {j.TimeZone.Id}, next {j.Next(_time.GetUtcNow()):u}")));
        while (!stopping.IsCancellationRequested)
        {
            if (state.Next(_time.GetUtcNow()) is { } slot)
            {
                try
                {
                    if (slot.Job == _schedule.Maintenance) await MaintainAsync(stopping);
                    else if (await RunSlotAsync(slot, state.LastHandled(slot.Job), runs, stopping) is { } handled) state.Done(handled);
                    state.Done(slot);
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The lake or a webhook failed outside a run (lease, history, records): keep scheduling; this
                    // slot stays open and is decided again by catch_up.
                    logger.LogError("Job {Job} slot {Slot} could not be handled, trying again in 30s: {Error}", slot.Job.Name, Iso(slot.At), Secrets.Redact(e.Message));
                    await Task.Delay(TimeSpan.FromSeconds(30), _time, stopping);
                }
                continue;
            }
            var wake = state.NextWake(_time.GetUtcNow());
            if (wake == null)
            {
                logger.LogWarning("No schedule job will ever fire again; the scheduler stops.");
                return;
            }
            try
            {
                // Timers may fire a little early: wait until the slot's time has really come.
                for (var wait = wake.Value - _time.GetUtcNow(); wait > TimeSpan.Zero; wait = wake.Value - _time.GetUtcNow())
                    await Task.Delay(wait + TimeSpan.FromMilliseconds(1), _time, stopping);
            }
            catch (OperationCanceledException)
            {
                break;
            }
        }
    }

    /// <summary>The latest slot each job handled in earlier processes, from the run records (see <see cref="Handled"/>).</summary>
    private async Task<Dictionary<string, DateTimeOffset>> HistoryAsync(RunStore runs, CancellationToken ct)
    {
        var last = new Dictionary<string, DateTimeOffset>(StringComparer.Ordinal);
        foreach (var run in await runs.ListAsync(500, ct))
            if (Handled(run) && run is { Job: { } job, ScheduledFor: { } at } && (!last.TryGetValue(job, out var seen) || at > seen)) last[job] = at;
        return last;
    }

    /// <summary>Whether a run record closes its slot: it succeeded, or failed on its last attempt. A run still marked
    /// running (its process was killed) or stopped with the scheduler ("cancelled") leaves the slot open, so it is run
    /// again (by the scheduler that takes over, or after a restart according to catch_up).</summary>
    private bool Handled(RunRecord run) =>
        run.Status == RunStatus.Succeeded ||
        (run.Status is RunStatus.Failed or RunStatus.Cancelled && run.Error is not ("cancelled" or Stopped) && run.Attempt >= 1 + _schedule.Retries.Count);

    /// <summary>The record of a run the scheduler's own stop (SIGTERM/SIGINT) cancelled: its slot stays open.</summary>
    private const string Stopped = "cancelled: the scheduler was stopped";

    /// <summary>Runs a slot of a job (retried as the schedule says) and returns the latest slot of that job now handled
    /// (it may be a later one than <paramref name="chosen"/>: see <see cref="RechooseAsync"/>).</summary>
    private async Task<Slot?> RunSlotAsync(Slot chosen, DateTimeOffset previous, RunStore runs, CancellationToken stopping)
    {
        RunRecord? run = null;
        var slot = chosen;
        for (var attempt = 1; attempt <= 1 + _schedule.Retries.Count && !stopping.IsCancellationRequested; attempt++)
        {
            if (attempt > 1)
            {
                var backoff = _schedule.Retries.Delay(attempt - 1);
                logger.LogInformation("Retrying job {Job} slot {Slot} in {Backoff} (attempt {Attempt})", slot.Job.Name, Iso(slot.At), backoff, attempt);
                try
                {
                    await Task.Delay(backoff, _time, stopping);
                }
                catch (OperationCanceledException)
                {
                    return null;
                }
            }
            await using var lease = await AcquireAsync(slot, stopping);
            if (lease == null) return null; // stopping
            if (attempt == 1)
            {
                // The slot was chosen before waiting for the lease: what ran meanwhile decides what is due now.
                var (due, handledUpTo) = await RechooseAsync(slot, runs, stopping);
                if (due == null)
                {
                    if (handledUpTo is { } ran && ran >= slot.At)
                        logger.LogInformation("Job {Job} slot {Slot} already ran (another scheduler); skipped", slot.Job.Name, Iso(slot.At));
                    else
                        logger.LogInformation("Job {Job} slot {Slot} is no longer due after waiting for the lease (catch_up: {CatchUp}); skipped",
                            slot.Job.Name, Iso(slot.At), _schedule.CatchUp.ToString().ToLowerInvariant());
                    return handledUpTo is { } h ? slot with { At = h } : slot;
                }
                if (due.Value.At != slot.At)
                    logger.LogInformation("Job {Job}: slot {Slot} is due instead of {Chosen} (other runners handled the slots before it)",
                        slot.Job.Name, Iso(due.Value.At), Iso(slot.At));
                slot = due.Value;
                if (handledUpTo is { } since && since > previous) previous = since;
            }
            run = await RunOnceAsync(slot, previous, attempt, lease, runs, stopping);
            if (run == null) return null; // stopped mid-run: nothing to report, the next start decides by catch_up
            if (run.Status == RunStatus.Succeeded)
            {
                if (_schedule.OnSuccess is { } url) await _webhook.PostAsync(url, run, stopping);
                return slot;
            }
        }
        if (run != null && _schedule.OnFailure is { } failure) await _webhook.PostAsync(failure, run, stopping);
        return slot;
    }

    /// <summary>The slot of <paramref name="slot"/>'s job that is due now, from the run records as they are once the
    /// lease is held (null when none is: another runner handled it), and the latest slot of the job handled so far.</summary>
    private async Task<(Slot? Due, DateTimeOffset? HandledUpTo)> RechooseAsync(Slot slot, RunStore runs, CancellationToken stopping)
    {
        var history = await HistoryAsync(runs, stopping);
        if (!history.TryGetValue(slot.Job.Name, out var last)) return (slot, null);
        if (last >= slot.At && _schedule.CatchUp != CatchUp.Latest) return (null, last);
        var state = new ScheduleState([slot.Job], _schedule.CatchUp, history, _time.GetUtcNow());
        return (state.Next(_time.GetUtcNow()), last);
    }

    /// <summary>Waits for the lease (another runner may hold it); null when stopping first.</summary>
    private async Task<RunLease?> AcquireAsync(Slot slot, CancellationToken stopping)
    {
        var logged = false;
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                var (lease, heldBy) = await RunLease.TryAcquireAsync(_lake.Store, $"job {slot.Job.Name} slot {slot.At:u}", _schedule.LeaseTtl, _time, stopping);
                if (lease != null) return lease;
                if (!logged) logger.LogInformation("Job {Job} slot {Slot} waits for the lease: {Holder}", slot.Job.Name, Iso(slot.At), heldBy);
                logged = true;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogWarning("Cannot reach the lake to take the lease: {Error}", Secrets.Redact(e.Message));
            }
            try
            {
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Clamp(_schedule.LeaseTtl.TotalMilliseconds / 4, 250, 5_000)), _time, stopping);
            }
            catch (OperationCanceledException)
            {
                return null;
            }
        }
        return null;
    }

    private async Task<RunRecord?> RunOnceAsync(Slot slot, DateTimeOffset previous, int attempt, RunLease lease, RunStore runs, CancellationToken stopping)
    {
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(stopping, lease.Lost);
        if (_schedule.MaxRuntime is { } max) limit.CancelAfter(max);
        var runner = new PipelineRunner(spec, new LogObserver(logger), new RunOptions
        {
            Capture = !slot.Job.ModelsOnly,
            Sources = slot.Job.Sources,
            Trigger = attempt == 1 ? Triggers.Schedule : Triggers.Retry,
            Job = slot.Job.Name,
            ScheduledFor = slot.At,
            Attempt = attempt,
            // Templated sources ({from}, {to} in a url or path) read the span since the last slot handled.
            Window = new Capture.CaptureWindow(previous < slot.At ? previous : slot.At, slot.At, $"{slot.At:yyyy-MM-ddTHH:mm:ss}Z", Backfill: false),
            CancelReason = () => stopping.IsCancellationRequested ? Stopped
                : lease.Lost.IsCancellationRequested ? RunLease.TakenOver
                : $"cancelled: ran past max_runtime ({_schedule.MaxRuntime})",
        });
        logger.LogInformation("Job {Job} slot {Slot}: run starts (attempt {Attempt})", slot.Job.Name, Iso(slot.At), attempt);
        try
        {
            var run = await runner.RunAsync(limit.Token);
            Runs.NativeHeap.Trim();
            // With the process's memory after it: what a process that runs for weeks must watch (a leak shows here first).
            logger.LogInformation("Job {Job} slot {Slot}: run {RunId} {Status} in {Seconds:F1}s{Error} (memory: {ResidentMb} MB resident, {ManagedMb} MB managed heap)",
                slot.Job.Name, Iso(slot.At), run.RunId, run.Status.ToString().ToLowerInvariant(), run.Seconds, run.Error == null ? "" : ": " + run.Error,
                Environment.WorkingSet >> 20, GC.GetGCMemoryInfo().HeapSizeBytes >> 20);
            return run;
        }
        catch (OperationCanceledException) when (!stopping.IsCancellationRequested && runner.Run is { } cancelled)
        {
            // max_runtime or a lost lease: the run stopped before its next commit; its record (and history row) say why.
            logger.LogWarning("Job {Job} slot {Slot}: run {RunId} {Error}", slot.Job.Name, Iso(slot.At), cancelled.RunId, cancelled.Error);
            return cancelled;
        }
        catch (OperationCanceledException)
        {
            logger.LogInformation("Job {Job} slot {Slot}: run stopped (the scheduler is stopping)", slot.Job.Name, Iso(slot.At));
            return null;
        }
        catch (Exception e) when (runner.Run is { } failed)
        {
            logger.LogError("Job {Job} slot {Slot}: run {RunId} failed: {Error}", slot.Job.Name, Iso(slot.At), failed.RunId, Secrets.Redact(e.Message));
            return failed;
        }
    }

    /// <summary>The maintenance job: vacuum every table with run.vacuum_retention, clean old log entries (the tables' log
    /// retention, 30 days by default), and remove what dead runs left.</summary>
    private async Task MaintainAsync(CancellationToken stopping)
    {
        try
        {
            await using var lease = await AcquireAsync(new Slot(_schedule.Maintenance!, _time.GetUtcNow()), stopping);
            if (lease == null) return;
            var retention = spec.Run.VacuumRetentionOrDefault;
            long files = 0, bytes = 0;
            foreach (var id in await _lake.ListTablesAsync(stopping))
            {
                var result = await Vacuum.RunAsync(_lake.Table(id), retention, ct: stopping,
                    keepSince: RunWorkspace.KeepSince(spec.BaseDirectory));
                files += result.Deleted.Count + (await LogCleanup.RunAsync(_lake.Table(id), ct: stopping)).Count;
                bytes += result.BytesFreed;
            }
            var leftovers = await Leftovers.CleanAsync(_lake, spec.BaseDirectory, retention, dryRun: false, stopping);
            logger.LogInformation("Maintenance: vacuum freed {Bytes} bytes in {Files} files; removed {Payloads} orphan payloads and {Workspaces} dead workspaces",
                bytes + leftovers.Bytes, files, leftovers.Payloads.Count + leftovers.Staged.Count, leftovers.Workspaces.Count);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            logger.LogError("Maintenance failed: {Error}", Secrets.Redact(e.Message));
        }
    }

    private sealed class LogObserver(ILogger logger) : IRunObserver
    {
        public void StageMessage(StageRecord stage, string message) =>
            logger.LogInformation("{Stage} {Table}: {Message}", stage.Stage, stage.Table, Secrets.Redact(message));

        public void StageFinished(StageRecord stage)
        {
            if (stage.Status == RunStatus.Succeeded)
                logger.LogInformation("{Stage} {Table}: {Rows} rows, {Written}, {Seconds:F2}s", stage.Stage, stage.Table, stage.Rows,
                    stage.Version is { } v ? $"v{v}" : $"{stage.Images.Count} images", stage.Seconds);
            else
                logger.LogWarning("{Stage} {Table}: {Status}: {Error}", stage.Stage, stage.Table, stage.Status.ToString().ToLowerInvariant(), stage.Error);
        }
    }
}
