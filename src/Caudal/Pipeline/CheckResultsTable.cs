using Caudal.Capture;
using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Processing.Checks;
using Caudal.Processing.Engine;
using Caudal.Runs;

namespace Caudal.Pipeline;

/// <summary>Check results are a table too: <c>refined.caudal_checks</c>, one row per check per run (appended).</summary>
internal static class CheckResultsTable
{
    public static readonly TableId Id = new(Zone.Refined, "caudal_checks");

    private static readonly IReadOnlyList<CaptureColumn> Columns =
    [
        new("model", "VARCHAR"), new("check_name", "VARCHAR"), new("kind", "VARCHAR"), new("severity", "VARCHAR"),
        new("passed", "BOOLEAN"), new("failing_rows", "BIGINT"), new("message", "VARCHAR"),
    ];

    public static async Task AppendAsync(DataLake lake, EngineSettings engine, RunRecord run, IReadOnlyList<(TableId Model, CheckResult Result)> results,
        CancellationToken ct)
    {
        if (results.Count == 0) return;
        var table = lake.Table(Id);
        var existing = await table.SnapshotAsync(ct: ct);
        using var writer = new RawBatchWriter(engine, Columns, run.RunId, run.StartedAt, 100_000, existing?.Schema);
        foreach (var (model, r) in results)
        {
            var row = writer.BeginRow().AppendValue(model.ToString()).AppendValue(r.Name).AppendValue(r.Kind)
                .AppendValue(r.Severity.ToString().ToLowerInvariant()).AppendValue(r.Passed).AppendValue(r.FailingRows).AppendValue(r.Message);
            writer.EndRow(row);
        }
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
        }, existing, readGiven: true, ct);
    }
}
