using Caudal.Capture;
using Caudal.Lake;
using Caudal.Lake.Files;
using Caudal.Processing.Checks;
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
        await SmallTable.AppendAsync(lake.Table(Id), Columns, writer =>
        {
            foreach (var (model, r) in results)
            {
                var row = writer.BeginRow().AppendValue(model.ToString()).AppendValue(r.Name).AppendValue(r.Kind)
                    .AppendValue(r.Severity.ToString().ToLowerInvariant()).AppendValue(r.Passed).AppendValue(r.FailingRows).AppendValue(r.Message);
                writer.EndRow(row);
            }
        }, engine, run, appendOnly: false, ct);
    }
}
