using System.ComponentModel;
using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Spec;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

public sealed class VacuumCommand : AsyncCommand<VacuumCommand.Settings>
{
    public sealed class Settings : SpecSettings
    {
        [CommandOption("--retention <DURATION>")]
        [Description("Keep files removed less than this long ago, e.g. 7d, 12h (default: run.vacuum_retention, else 7d).")]
        public string? Retention { get; init; }

        [CommandOption("--dry-run")]
        [Description("List what would be deleted without deleting it.")]
        public bool DryRun { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken ct)
    {
        var spec = settings.LoadForReading();
        var retention = spec.Run.VacuumRetentionOrDefault;
        if (settings.Retention != null)
            retention = Values.Duration.Parse(settings.Retention)?.Span
                ?? throw new SpecException([new SpecError(new SpecPosition("--retention", 1, 1), $"'{settings.Retention}' is not a duration.", "write e.g. 7d, 12h or 30m.")]);
        var lake = DataLake.Open(spec.Lake);
        // Files staged by a run in flight on this machine are kept whatever the retention (a run on another machine
        // sharing the lake is protected by the retention alone).
        var keepSince = Caudal.Runs.RunWorkspace.KeepSince(spec.BaseDirectory);
        long files = 0, bytes = 0;
        foreach (var id in await lake.ListTablesAsync(ct))
        {
            var result = await Vacuum.RunAsync(lake.Table(id), retention, settings.DryRun, ct, keepSince);
            foreach (var f in result.Deleted) Console.WriteLine($"{(settings.DryRun ? "would delete" : "deleted")} {id.Path}/{f}");
            files += result.Deleted.Count;
            bytes += result.BytesFreed;
            // Log entries before the latest checkpoint, older than the table's log retention (30 days by default).
            foreach (var key in await LogCleanup.RunAsync(lake.Table(id), dryRun: settings.DryRun, ct: ct))
                Console.WriteLine($"{(settings.DryRun ? "would delete" : "deleted")} {key} (log entry before the latest checkpoint)");
        }
        // What killed runs left: local scratch folders, and payloads uploaded for commits that never happened.
        var leftovers = await Caudal.Runs.Leftovers.CleanAsync(lake, spec.BaseDirectory, retention, settings.DryRun, ct);
        foreach (var w in leftovers.Workspaces) Console.WriteLine($"{(settings.DryRun ? "would delete" : "deleted")} {Path.GetRelativePath(spec.BaseDirectory, w)}/ (left by a run that died)");
        foreach (var p in leftovers.Payloads) Console.WriteLine($"{(settings.DryRun ? "would delete" : "deleted")} {p} (payload of a capture never committed)");
        files += leftovers.Payloads.Count;
        foreach (var p in leftovers.Staged) Console.WriteLine($"{(settings.DryRun ? "would delete" : "deleted")} {p} (Spark output a killed run never collected)");
        files += leftovers.Staged.Count;
        bytes += leftovers.Bytes;
        Console.WriteLine($"{(settings.DryRun ? "would free" : "freed")} {Report.Bytes(bytes)} in {files} files (retention {retention.TotalHours:0.#}h)");
        return ExitCodes.Ok;
    }
}
