using System.Globalization;
using Caudal.Capture;
using Caudal.Lake;
using Caudal.Spec;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

/// <summary><c>caudal cdc status</c>: each change-capture source's place in its log — PostgreSQL's replication slot or
/// MySQL/MariaDB's binlog — its state, the position it confirmed, the log the server keeps past it (bytes), and how long
/// ago its tables last committed a read of the log.</summary>
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
        var grid = new TextTable("source", "slot / log", "state", "confirmed", "log kept", "last read of the log (UTC)", "ago");
        var failed = false;
        foreach (var source in sources)
        {
            using var opened = SourceKinds.All[source.Kind].Open(source, spec.BaseDirectory);
            var (last, committed) = await LastReadAsync(lake, source, opened, ct);
            var ago = last is { } at ? DateTimeOffset.UtcNow - at : (TimeSpan?)null;
            try
            {
                var log = await ((ILogSource)opened).LogStatusAsync(committed, ct);
                grid.Add(source.Name, log.Log, log.State, log.Confirmed ?? "-", log.LagBytes is { } bytes ? Report.Bytes(bytes) : "-",
                    last?.ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture) ?? "-", ago is { } span ? Ago(span) : "-");
                failed |= log.Lost;
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

    /// <summary>When the source's change-capture tables last committed (each commit holds a read of the log up to its
    /// fence), and the position each committed.</summary>
    private static async Task<(DateTimeOffset? Last, IReadOnlyDictionary<string, long> Committed)> LastReadAsync(DataLake lake, SourceSpec source,
        ISource opened, CancellationToken ct)
    {
        DateTimeOffset? last = null;
        var committed = new Dictionary<string, long>();
        foreach (var dataset in await opened.ResolveDatasetsAsync(ct))
        {
            if (dataset.Mode != CaptureMode.Cdc) continue;
            var id = source.RawTable(dataset.Name);
            var snapshot = await lake.Table(id).SnapshotAsync(ct: ct);
            if (snapshot?.LastCommitTime is { } at && (last == null || at > last)) last = at;
            if (snapshot?.Txns.TryGetValue(Pipeline.RawCursor.App(id), out var position) == true) committed[dataset.Name] = position;
        }
        return (last, committed);
    }

    private static string Ago(TimeSpan span) => span.TotalMinutes < 1 ? $"{span.TotalSeconds:F0} s"
        : span.TotalHours < 1 ? $"{span.TotalMinutes:F0} min"
        : span.TotalDays < 1 ? $"{span.TotalHours:F1} h" : $"{span.TotalDays:F1} d";
}
