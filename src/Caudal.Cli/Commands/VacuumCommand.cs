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
        var spec = settings.Load();
        var retention = spec.Run.VacuumRetentionOrDefault;
        if (settings.Retention != null)
            retention = SpecLoader.ParseDuration(settings.Retention)
                ?? throw new SpecException([new SpecError(new SpecPosition("--retention", 1, 1), $"'{settings.Retention}' is not a duration.", "write e.g. 7d, 12h or 30m.")]);
        var lake = DataLake.Open(spec.Lake);
        long files = 0, bytes = 0;
        foreach (var id in await lake.ListTablesAsync(ct))
        {
            var result = await Vacuum.RunAsync(lake.Table(id), retention, settings.DryRun, ct);
            foreach (var f in result.Deleted) Console.WriteLine($"{(settings.DryRun ? "would delete" : "deleted")} {id.Path}/{f}");
            files += result.Deleted.Count;
            bytes += result.BytesFreed;
        }
        Console.WriteLine($"{(settings.DryRun ? "would free" : "freed")} {Report.Bytes(bytes)} in {files} files (retention {retention.TotalHours:0.#}h)");
        return ExitCodes.Ok;
    }
}
