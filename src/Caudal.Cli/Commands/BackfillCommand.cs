using System.ComponentModel;
using System.Globalization;
using Caudal.Capture;
using Caudal.Pipeline;
using Caudal.Runs;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

public sealed class BackfillCommand : AsyncCommand<BackfillCommand.Settings>
{
    public sealed class Settings : SpecSettings
    {
        [CommandOption("--from <DATE>")]
        [Description("First day of the backfill (yyyy-MM-dd).")]
        public string? From { get; init; }

        [CommandOption("--to <DATE>")]
        [Description("Last day of the backfill, included (yyyy-MM-dd).")]
        public string? To { get; init; }

        [CommandOption("--step <STEP>")]
        [Description("Window size: Nd (days) or Nmo (calendar months); default 1d.")]
        public string Step { get; init; } = "1d";

        [CommandOption("--sources <NAMES>")]
        [Description("Comma-separated sources to capture (default: all).")]
        public string? Sources { get; init; }

        [CommandOption("--force")]
        [Description("Run even while another runner holds the lake's lease.")]
        public bool Force { get; init; }

        public IReadOnlyList<CaptureWindow> Windows() => CaptureWindow.Split(Day(From, "--from"), Day(To, "--to"), Step);

        private static DateOnly Day(string? text, string option) =>
            DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var day)
                ? day
                : throw new ArgumentException($"{option} '{text}' is not a date: write yyyy-MM-dd.");

        public override ValidationResult Validate()
        {
            try
            {
                Windows();
                return ValidationResult.Success();
            }
            catch (ArgumentException e)
            {
                return ValidationResult.Error(e.Message);
            }
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken ct)
    {
        var spec = settings.Load();
        var sources = settings.Sources?.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        var unknown = sources?.Except(spec.Sources.Select(s => s.Name)).ToList();
        if (unknown is { Count: > 0 })
        {
            Console.Error.WriteLine($"caudal: --sources names {string.Join(", ", unknown)}, which {spec.File} does not declare.");
            return ExitCodes.InvalidSpec;
        }
        var windows = settings.Windows();
        using var signals = new StopSignals();
        var (lease, proceed) = await LakeLease.TakeAsync(spec, $"backfill {windows[0].Name}..{windows[^1].Name}", settings.Force, ct);
        if (!proceed) return ExitCodes.Failed;
        await using var held = lease;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct, signals.Token, lease?.Lost ?? CancellationToken.None);
        Console.WriteLine($"backfill of {spec.Name}: {windows.Count} window(s) from {windows[0].From:yyyy-MM-dd} to {windows[^1].To.AddDays(-1):yyyy-MM-dd}, one run each");
        // Sources a window does not bound are captured whole in every window (more raw batches, the same data).
        foreach (var source in spec.Sources.Where(s => sources == null || sources.Contains(s.Name)))
            if (SourceKinds.All[source.Kind].Unbounded?.Invoke(source) is { } why)
                Console.Error.WriteLine($"caudal: warning: source '{source.Name}' {why}: it is captured in every window; leave it out with --sources.");
        var failed = 0;
        foreach (var window in windows)
        {
            RunRecord run;
            try
            {
                run = await new PipelineRunner(spec, null, new RunOptions
                {
                    Trigger = Triggers.Backfill,
                    Sources = sources,
                    Window = window,
                    CancelReason = () => signals.Token.IsCancellationRequested ? signals.Reason
                        : lease?.Lost.IsCancellationRequested == true ? RunLease.TakenOver : "cancelled",
                })
                    .RunAsync(stop.Token);
            }
            catch (OperationCanceledException) when (signals.Token.IsCancellationRequested)
            {
                Console.Error.WriteLine($"caudal: backfill {signals.Reason} in window {window.Name}: nothing of its stage in flight was committed; " +
                                        "windows before it stay committed (rerun the rest with --from).");
                return ExitCodes.Interrupted;
            }
            catch (OperationCanceledException) when (lease?.Lost.IsCancellationRequested == true)
            {
                Console.Error.WriteLine($"caudal: backfill {RunLease.TakenOver} in window {window.Name}: nothing of its stage in flight was committed; " +
                                        "windows before it stay committed (rerun the rest with --from).");
                return ExitCodes.Failed;
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"  {window.Name,-23} run {run.RunId} {run.Status.ToString().ToLowerInvariant(),-9} {run.Stages.Where(s => s.Stage == "capture").Sum(s => s.Rows),10:N0} rows captured  {run.Seconds,6:F1}s"));
            foreach (var s in run.Stages)
                foreach (var warning in s.Warnings) Console.WriteLine($"    {s.Table}: warning: {warning}");
            if (run.Status != RunStatus.Succeeded)
            {
                failed++;
                foreach (var s in run.Stages.Where(s => s.Status != RunStatus.Succeeded)) Console.Error.WriteLine($"    {s.Table}: {s.Error}");
            }
        }
        Console.WriteLine(failed == 0 ? "backfill succeeded" : $"backfill: {failed} of {windows.Count} window(s) failed (rerun them with --from/--to)");
        return failed == 0 ? ExitCodes.Ok : ExitCodes.Failed;
    }
}
