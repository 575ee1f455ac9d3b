using System.ComponentModel;
using System.Globalization;
using Caudal.Lake;
using Caudal.Runs;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

public sealed class RunsCommand : AsyncCommand<RunsCommand.Settings>
{
    public sealed class Settings : SpecSettings
    {
        [CommandOption("-n|--limit <N>")]
        [Description("How many runs to list, newest first (default 20).")]
        public int Limit { get; init; } = 20;

        [CommandOption("--run <ID>")]
        [Description("Show every stage of one run.")]
        public string? RunId { get; init; }

        [CommandOption("--trigger <TRIGGER>")]
        [Description("Only runs started by: manual, schedule, retry or backfill.")]
        public string? Trigger { get; init; }

        public override ValidationResult Validate() =>
            Trigger == null || Triggers.All.Contains(Trigger)
                ? ValidationResult.Success()
                : ValidationResult.Error($"--trigger must be one of {string.Join(", ", Triggers.All)}, not '{Trigger}'.");
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken ct)
    {
        var spec = settings.LoadForReading();
        var runs = await new RunStore(DataLake.Open(spec.Lake).Store).ListAsync(settings.RunId == null && settings.Trigger == null ? settings.Limit : int.MaxValue, ct);
        if (settings.Trigger != null) runs = runs.Where(r => r.Trigger == settings.Trigger).Take(settings.Limit).ToList();
        if (settings.RunId != null)
        {
            var run = runs.FirstOrDefault(r => r.RunId == settings.RunId);
            if (run == null)
            {
                Console.Error.WriteLine($"caudal: no run '{settings.RunId}' in {spec.Lake.Uri}.");
                return ExitCodes.Failed;
            }
            Console.WriteLine($"run {run.RunId} {run.Status.ToString().ToLowerInvariant()} started {run.StartedAt:u} ({run.Trigger}" +
                (run.Job == null ? "" : $", job {run.Job} slot {run.ScheduledFor:u}, attempt {run.Attempt}") +
                (run.Window == null ? "" : $", window {run.Window.Name} [{run.Window.From:yyyy-MM-dd HH:mm}, {run.Window.To:yyyy-MM-dd HH:mm})") +
                (run.Host == null ? "" : $", on {run.Host}") + ")");
            foreach (var s in run.Stages) Console.WriteLine("  " + Report.StageLine(s));
            return ExitCodes.Ok;
        }
        if (runs.Count == 0)
        {
            Console.WriteLine($"no runs recorded in {spec.Lake.Uri} yet; start one with 'caudal run'.");
            return ExitCodes.Ok;
        }
        var table = new TextTable("run", "status", "trigger", "started (UTC)", "duration", "stages ok", "rows", "error").Drop(3).Shrink(7, 2);
        foreach (var r in runs)
        {
            var status = r.Status == RunStatus.Running && r.FinishedAt == null ? "running or interrupted" : r.Status.ToString().ToLowerInvariant();
            table.Add(
                r.RunId, status, r.Job == null ? r.Trigger : $"{r.Trigger}:{r.Job}", r.StartedAt.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture),
                r.FinishedAt == null ? "-" : string.Create(CultureInfo.InvariantCulture, $"{r.Seconds:F1}s"),
                $"{r.Stages.Count(s => s.Status == RunStatus.Succeeded)}/{r.Stages.Count}",
                r.Stages.Sum(s => s.Rows).ToString("N0", CultureInfo.InvariantCulture),
                r.Error ?? "");
        }
        table.Write();
        return ExitCodes.Ok;
    }
}
