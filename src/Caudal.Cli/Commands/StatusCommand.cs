using System.Globalization;
using Caudal.Lake;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

public sealed class StatusCommand : AsyncCommand<SpecSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, SpecSettings settings, CancellationToken ct)
    {
        var spec = settings.LoadForReading();
        var lake = DataLake.Open(spec.Lake);
        var tables = await lake.ListTablesAsync(ct);
        if (tables.Count == 0)
        {
            Console.WriteLine($"the lake at {spec.Lake.Uri} has no tables yet; run 'caudal run'.");
            return ExitCodes.Ok;
        }
        var grid = new TextTable("table", "version", "rows", "files", "size", "last commit (UTC)", "last run").Drop(6).Shrink(0);
        foreach (var id in tables)
        {
            var snapshot = await lake.Table(id).SnapshotAsync(ct: ct);
            if (snapshot == null) continue;
            grid.Add(
                id.ToString(),
                snapshot.Version.ToString(CultureInfo.InvariantCulture),
                snapshot.NumRecords?.ToString("N0", CultureInfo.InvariantCulture) ?? "?",
                snapshot.Files.Count.ToString(CultureInfo.InvariantCulture),
                Report.Bytes(snapshot.SizeInBytes),
                snapshot.LastCommitTime?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "-",
                snapshot.LastCommit?.RunId ?? "-");
        }
        grid.Write();
        return ExitCodes.Ok;
    }
}
