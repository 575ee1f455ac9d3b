using System.ComponentModel;
using Caudal.Pipeline;
using Caudal.Runs;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

public sealed class RunCommandSettings : SpecSettings
{
    [CommandOption("--models-only")]
    [Description("Skip capture: rebuild trusted and refined (models, checks, charts) from the raw zone as it is.")]
    public bool ModelsOnly { get; init; }

    [CommandOption("--full-refresh [MODELS]")]
    [Description("Rebuild incremental models from everything their inputs hold instead of merging what changed. Alone: every " +
                 "incremental model; with model names, comma-separated (--full-refresh trusted.rentals,trusted.payments): those.")]
    public FlagValue<string>? FullRefresh { get; init; }

    [CommandOption("--force")]
    [Description("Run even while another runner (a scheduler, another 'caudal run') holds the lake's lease.")]
    public bool Force { get; init; }
}

public sealed class RunCommand : AsyncCommand<RunCommandSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, RunCommandSettings settings, CancellationToken ct)
    {
        var spec = settings.Load();
        IReadOnlySet<Lake.TableId>? fullRefresh = null;
        if (settings.FullRefresh is { IsSet: true } refresh)
        {
            try
            {
                fullRefresh = FullRefresh.Models(spec, refresh.Value);
            }
            catch (ArgumentException e)
            {
                Console.Error.WriteLine($"caudal: {e.Message}");
                return ExitCodes.InvalidSpec;
            }
        }
        using var signals = new StopSignals();
        // One runner at a time: the lease a scheduler holds while it runs (caudal schedule) is honoured here too.
        using var taking = CancellationTokenSource.CreateLinkedTokenSource(ct, signals.Token);
        RunLease? lease;
        bool proceed;
        try
        {
            (lease, proceed) = await LakeLease.TakeAsync(spec, "manual run", settings.Force, taking.Token);
        }
        catch (OperationCanceledException) when (signals.Token.IsCancellationRequested)
        {
            Console.Error.WriteLine($"caudal: {signals.Reason} before the run started; nothing was done.");
            return ExitCodes.Interrupted;
        }
        if (!proceed) return ExitCodes.Failed;
        await using var held = lease;
        if (signals.Token.IsCancellationRequested)
        {
            // The signal came as the lease was taken: it is released (by the using above), nothing else was done.
            Console.Error.WriteLine($"caudal: {signals.Reason} before the run started; nothing was done.");
            return ExitCodes.Interrupted;
        }
        var options = new RunOptions
        {
            Capture = !settings.ModelsOnly,
            FullRefresh = fullRefresh,
            CancelReason = () => signals.Token.IsCancellationRequested ? signals.Reason
                : lease?.Lost.IsCancellationRequested == true ? RunLease.TakenOver
                : "cancelled",
        };
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, signals.Token, lease?.Lost ?? CancellationToken.None);
        ct = stop.Token;
        PipelineRunner? runner = null;
        RunRecord run;
        try
        {
            if (AnsiConsole.Profile.Capabilities.Interactive)
            {
                run = await AnsiConsole.Progress()
                    .AutoClear(false)
                    .Columns(new TaskDescriptionColumn(), new SpinnerColumn(), new ElapsedTimeColumn())
                    .StartAsync(async progress => await (runner = new PipelineRunner(spec, new LiveProgress(progress), options)).RunAsync(ct));
            }
            else
            {
                run = await (runner = new PipelineRunner(spec, new PlainProgress(), options)).RunAsync(ct);
            }
        }
        catch (OperationCanceledException) when (signals.Token.IsCancellationRequested)
        {
            Console.Out.Flush();
            var record = runner?.Run;
            var stages = record?.Stages.Where(s => s.Status == RunStatus.Cancelled).Select(s => s.Table).ToList() ?? [];
            Console.Error.WriteLine($"caudal: run {record?.RunId} {signals.Reason}{(stages.Count > 0 ? $" in {string.Join(", ", stages)}" : "")}: " +
                                    "nothing of it was committed; what earlier stages committed stays.");
            return ExitCodes.Interrupted;
        }
        catch (OperationCanceledException) when (lease?.Lost.IsCancellationRequested == true)
        {
            Console.Error.WriteLine($"caudal: run {runner?.Run?.RunId} cancelled: another runner took the lake's lease over (this one could not renew it); " +
                                    "nothing of the stage in flight was committed.");
            return ExitCodes.Failed;
        }
        Report.RunSummary(run, spec);
        return run.Status == RunStatus.Succeeded ? ExitCodes.Ok : ExitCodes.Failed;
    }

    /// <summary>One line per finished stage, for logs and redirected output.</summary>
    private sealed class PlainProgress : IRunObserver
    {
        public void StageFinished(StageRecord stage) => Console.WriteLine(Report.StageLine(stage));

        public void StageMessage(StageRecord stage, string message) => Console.WriteLine($"{stage.Stage} {stage.Table}: {message}");
    }

    /// <summary>One live line per stage. A stage may finish without having started (a model skipped because its input
    /// failed, an ML step's metrics table): its line is added when it finishes. Capture stages report from several threads.</summary>
    private sealed class LiveProgress(ProgressContext progress) : IRunObserver
    {
        private readonly Dictionary<StageRecord, ProgressTask> _tasks = [];
        private readonly Lock _lock = new();

        public void StageStarted(StageRecord stage)
        {
            lock (_lock) _tasks[stage] = progress.AddTask(Markup.Escape($"{stage.Stage} {stage.Table}"), maxValue: 1).IsIndeterminate();
        }

        /// <summary>The stage's live line says what it is doing (e.g. which request it retries) until it finishes.</summary>
        public void StageMessage(StageRecord stage, string message)
        {
            ProgressTask? task;
            lock (_lock)
                if (!_tasks.TryGetValue(stage, out task)) return;
            var width = Console.IsOutputRedirected ? (int?)null : Math.Max(20, Console.WindowWidth - 14);
            task.Description = Markup.Escape(Report.Fit($"{stage.Stage} {stage.Table}: {message}", width));
        }

        public void StageFinished(StageRecord stage)
        {
            ProgressTask? task;
            // The description column shares the line with the spinner and the elapsed time.
            var width = Console.IsOutputRedirected ? (int?)null : Math.Max(20, Console.WindowWidth - 14);
            lock (_lock)
            {
                if (!_tasks.TryGetValue(stage, out task))
                    task = _tasks[stage] = progress.AddTask(Report.StageMarkup(stage, width), maxValue: 1);
            }
            task.Description = Report.StageMarkup(stage, width);
            task.IsIndeterminate = false;
            task.Value = 1;
            task.StopTask();
        }
    }
}
