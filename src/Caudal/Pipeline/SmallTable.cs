using Caudal.Capture;
using Caudal.Lake.Delta;
using Caudal.Processing.Engine;
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
        var files = writer.Finish();
        var adds = new List<AddFile>();
        for (var i = 0; i < files.Count; i++) adds.Add(await table.StageAsync(files[i], [RawBatchWriter.IngestDateColumn], i, ct));
        await table.CommitAsync(new TableWrite
        {
            Mode = WriteMode.Append,
            Schema = writer.Schema!,
            PartitionColumns = [RawBatchWriter.IngestDateColumn],
            Files = adds,
            RunId = run.RunId,
            CreateConfiguration = appendOnly ? new Dictionary<string, string> { ["delta.appendOnly"] = "true" } : new Dictionary<string, string>(),
        }, existing, readGiven: true, ct);
    }
}
