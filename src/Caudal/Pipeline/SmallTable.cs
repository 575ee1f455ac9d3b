using Caudal.Capture;
using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using Caudal.Runs;

namespace Caudal.Pipeline;

/// <summary>Appends a few rows Caudal produced itself (quarantined rows, check results) to a lake table, in one commit,
/// with the raw zone's lineage columns and ingest-date partition.</summary>
internal static class SmallTable
{
    public static async Task AppendAsync(DeltaTable table, IReadOnlyList<CaptureColumn> columns, Action<RawBatchWriter> writeRows,
        EngineSettings engine, RunRecord run, bool appendOnly, CancellationToken ct)
    {
        var existing = await table.SnapshotAsync(ct: ct);
        using var writer = new RawBatchWriter(engine, columns, run.RunId, run.StartedAt, 100_000, existing?.Schema);
        writeRows(writer);
        await table.PublishAsync(writer.Finish(), new TableWrite
        {
            Mode = WriteMode.Append,
            Schema = writer.Schema!,
            PartitionColumns = [RawBatchWriter.IngestDateColumn],
            RunId = run.RunId,
            CreateConfiguration = appendOnly ? new Dictionary<string, string> { ["delta.appendOnly"] = "true" } : new Dictionary<string, string>(),
        }, existing, ct: ct);
    }
}
