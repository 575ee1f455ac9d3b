using System.Globalization;
using Caudal.Capture;
using Caudal.Capture.Postgres;
using Caudal.Lake;
using Caudal.Spec;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

/// <summary><c>caudal cdc status</c>: each change-capture source's replication slot — its state, the position it
/// confirmed, the WAL the server keeps for it (bytes), and how long ago its tables last committed a read of the log.</summary>
public sealed class CdcStatusCommand : AsyncCommand<SpecSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, SpecSettings settings, CancellationToken ct)
    {
        var spec = settings.Load();
        var sources = spec.Sources.Where(s => s.Datasets.Any(d => d.Mode == CaptureMode.Cdc)).ToList();
        if (sources.Count == 0)
        {
            Console.WriteLine("no source of this spec has a dataset with mode: cdc.");
            return ExitCodes.Ok;
        }
        var lake = DataLake.Open(spec.Lake);
        var grid = new TextTable("source", "slot", "state", "confirmed", "WAL kept", "last read of the log (UTC)", "ago");
        var failed = false;
        foreach (var source in sources)
        {
            using var opened = SourceKinds.All[source.Kind].Open(source, spec.BaseDirectory);
            var last = await LastReadAsync(lake, source, opened, ct);
            var ago = last is { } at ? DateTimeOffset.UtcNow - at : (TimeSpan?)null;
            try
            {
                var slot = await ((PostgresSource)opened).SlotStatusAsync(ct);
                grid.Add(source.Name, slot.Slot, !slot.Exists ? "missing" : (slot.WalStatus ?? "?") + (slot.Active ? ", active" : ""), slot.Confirmed ?? "-",
                    slot.LagBytes is { } bytes ? Report.Bytes(bytes) : "-", last?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "-",
                    ago is { } span ? Ago(span) : "-");
                failed |= !slot.Exists || slot.WalStatus == "lost";
            }
            catch (CaptureException e)
            {
                grid.Add(source.Name, "?", Secrets.Redact(e.Message), "-", "-", "-", "-");
                failed = true;
            }
        }
        grid.Write();
        return failed ? ExitCodes.Failed : ExitCodes.Ok;
    }

    /// <summary>When the source's change-capture tables last committed (each commit holds a read of the log up to its fence).</summary>
    private static async Task<DateTimeOffset?> LastReadAsync(DataLake lake, SourceSpec source, ISource opened, CancellationToken ct)
    {
        DateTimeOffset? last = null;
        foreach (var dataset in await opened.ResolveDatasetsAsync(ct))
        {
            if (dataset.Mode != CaptureMode.Cdc) continue;
            var snapshot = await lake.Table(source.RawTable(dataset.Name)).SnapshotAsync(ct: ct);
            if (snapshot?.LastCommitTime is { } at && (last == null || at > last)) last = at;
        }
        return last;
    }

    private static string Ago(TimeSpan span) => span.TotalMinutes < 1 ? $"{span.TotalSeconds:F0} s"
        : span.TotalHours < 1 ? $"{span.TotalMinutes:F0} min"
        : span.TotalDays < 1 ? $"{span.TotalHours:F1} h" : $"{span.TotalDays:F1} d";
}
