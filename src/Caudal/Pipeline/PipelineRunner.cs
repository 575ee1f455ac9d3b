using Caudal.Lake;
using Caudal.Lake.Files;
using Caudal.Processing.Engine;
using Caudal.Runs;
using Caudal.Spec;

namespace Caudal.Pipeline;

/// <summary>Runs a pipeline once: capture → raw, then models → trusted/refined, and records the run in the lake.
/// Stages talk only through the lake: models read the snapshots that captures committed.</summary>
public sealed class PipelineRunner(PipelineSpec spec, IRunObserver? observer = null, RunOptions? options = null)
{
    private readonly IRunObserver _observer = observer ?? NullObserver.Instance;
    private readonly RunOptions _options = options ?? new RunOptions();

    /// <summary>The run's record once it has started (also when <see cref="RunAsync"/> ends in an exception).</summary>
    public RunRecord? Run { get; private set; }

    public async Task<RunRecord> RunAsync(CancellationToken ct = default)
    {
        var lake = DataLake.Open(spec.Lake);
        var runs = new RunStore(lake.Store);
        var now = DateTimeOffset.UtcNow;
        // What runs killed on this machine left (their scratch folders, payloads of captures never committed) goes
        // first, before this run is recorded; a cleanup that fails is tried again by the next run.
        try
        {
            await Leftovers.CleanDeadRunsAsync(lake, spec.BaseDirectory, ct);
        }
        catch (Exception e) when (e is IOException or Lake.Delta.DeltaException or HttpRequestException or UnauthorizedAccessException)
        {
        }
        var run = new RunRecord
        {
            RunId = RunRecord.NewId(now),
            Pipeline = spec.Name,
            StartedAt = now,
            Trigger = _options.Trigger,
            Job = _options.Job,
            ScheduledFor = _options.ScheduledFor,
            Attempt = _options.Attempt,
            Host = RunLease.ThisHost,
            Window = _options.Window is { } w ? new RunWindow(w.Name, w.From, w.To) : null,
        };
        Run = run;
        using var workspace = RunWorkspace.Create(spec.BaseDirectory, run.RunId);
        await runs.SaveAsync(run, ct);
        var settings = new EngineSettings(workspace.Path, spec.Run.Threads, spec.Run.MemoryLimit);
        try
        {
            if (_options.Capture) await new CaptureStage(spec, lake, settings, run, _observer, _options.Sources, _options.Window).RunAsync(ct);
            using (var engine = await OpenEngineAsync(spec, lake, settings, ct))
            {
                var mounts = new RunMounts(lake, engine);
                var models = new ModelStage(spec, lake, engine, mounts, run, _observer, _options.FullRefresh);
                await models.RunAsync(ct);
                await CheckResultsTable.AppendAsync(lake, settings, run, models.CheckResults, ct);
                await new ChartStage(spec, lake, engine, mounts, run, _observer).RunAsync(ct);
            }
            var failures = run.Stages.Where(s => s.Status is RunStatus.Failed or RunStatus.Skipped).ToList();
            run.Status = failures.Count == 0 ? RunStatus.Succeeded : RunStatus.Failed;
            if (failures.Count > 0) run.Error = $"{failures.Count} of {run.Stages.Count} stages did not succeed; first: {failures[0].Table}: {failures[0].Error}";
            run.FinishedAt = DateTimeOffset.UtcNow;
            try
            {
                await RunHistoryTable.AppendAsync(lake, settings, run, ct);
            }
            catch (Exception e) when (e is Lake.Delta.DeltaException or DuckDB.NET.Data.DuckDBException or IOException)
            {
                // The run's data is committed: a history row that could not be appended does not fail it.
                run.Error = $"{(run.Error == null ? "" : run.Error + "; ")}refined.caudal_runs not appended: {e.Message}";
            }
        }
        catch (Exception e)
        {
            // Cancelled is what this run's token asked for; any other cancellation (a timeout inside a library) is a failure.
            var cancelled = e is OperationCanceledException && ct.IsCancellationRequested;
            run.Status = cancelled ? RunStatus.Cancelled : RunStatus.Failed;
            run.Error = cancelled ? _options.CancelReason?.Invoke() ?? "cancelled" : e.Message;
            // The stage it stopped in never finished: the record says so rather than "running" forever.
            foreach (var stage in run.Stages.Where(s => s.Status == RunStatus.Running))
            {
                stage.Status = run.Status;
                stage.Error = run.Error;
            }
            // A cancelled or failed run is a finished run: it goes to the history table like any other (best effort:
            // the lake may be what failed).
            run.FinishedAt = DateTimeOffset.UtcNow;
            try
            {
                using var bounded = new CancellationTokenSource(TimeSpan.FromSeconds(30));
                await RunHistoryTable.AppendAsync(lake, settings, run, bounded.Token);
            }
            catch (Exception append) when (append is not OutOfMemoryException)
            {
            }
            throw;
        }
        finally
        {
            run.FinishedAt = DateTimeOffset.UtcNow;
            CrashPoint.Reach("run:before-record");
            await runs.SaveAsync(run, CancellationToken.None);
        }
        return run;
    }

    /// <summary>The embedded engine, or (when any model runs on Spark) a Spark session with the embedded engine beside it.</summary>
    private static async Task<IEngine> OpenEngineAsync(PipelineSpec spec, DataLake lake, EngineSettings settings, CancellationToken ct)
    {
        var local = new DuckDbEngine(settings);
        if (!Processing.Spark.SparkEngine.Wanted(spec)) return local;
        try
        {
            return await Processing.Spark.SparkEngine.ConnectAsync(spec, lake, local, settings, ct);
        }
        catch
        {
            local.Dispose();
            throw;
        }
    }
}

/// <summary>What a run does besides the defaults.</summary>
public sealed record RunOptions
{
    /// <summary>False to skip capture and rebuild trusted and refined from the raw zone as it is.</summary>
    public bool Capture { get; init; } = true;

    /// <summary>Incremental models to rebuild from everything their inputs hold rather than merge what changed.</summary>
    public IReadOnlySet<TableId>? FullRefresh { get; init; }

    /// <summary>The sources to capture (null: every source).</summary>
    public IReadOnlyList<string>? Sources { get; init; }

    /// <summary>What started the run, recorded with it (<see cref="Triggers"/>).</summary>
    public string Trigger { get; init; } = Triggers.Manual;

    public string? Job { get; init; }
    public DateTimeOffset? ScheduledFor { get; init; }
    public int Attempt { get; init; } = 1;

    /// <summary>What a cancelled run's record says stopped it (e.g. "cancelled: ran past max_runtime (02:00:00)");
    /// asked when the cancellation arrives. Null: "cancelled".</summary>
    public Func<string>? CancelReason { get; init; }

    /// <summary>The span of source time to capture (backfill, scheduled runs), recorded with the run.</summary>
    public Capture.CaptureWindow? Window { get; init; }
}
