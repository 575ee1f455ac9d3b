using Caudal.Capture;
using Caudal.Lake;
using Caudal.Lake.Files;
using Caudal.Runs;

namespace Caudal.Pipeline;

/// <summary>Run history as a table: <c>refined.caudal_runs</c>, one row per stage of every finished run (appended when
/// the run ends), so SQL, Athena and dashboards can query it. A run killed before its end has no rows; its JSON
/// record under <c>_caudal/runs/</c> still shows it.</summary>
internal static class RunHistoryTable
{
    public static readonly TableId Id = new(Zone.Refined, "caudal_runs");

    private static readonly IReadOnlyList<CaptureColumn> Columns =
    [
        new("run_id", "VARCHAR"), new("pipeline", "VARCHAR"), new("trigger", "VARCHAR"), new("job", "VARCHAR"),
        new("scheduled_for", "TIMESTAMP"), new("attempt", "INTEGER"), new("run_started_at", "TIMESTAMP"), new("run_finished_at", "TIMESTAMP"),
        new("run_status", "VARCHAR"), new("stage", "VARCHAR"), new("table_name", "VARCHAR"), new("stage_status", "VARCHAR"),
        new("rows", "BIGINT"), new("seconds", "DOUBLE"), new("error", "VARCHAR"), new("host", "VARCHAR"),
    ];

    public static async Task AppendAsync(DataLake lake, EngineSettings engine, RunRecord run, CancellationToken ct)
    {
        await SmallTable.AppendAsync(lake.Table(Id), Columns, writer =>
        {
            foreach (var s in run.Stages)
            {
                var row = writer.BeginRow().AppendValue(run.RunId).AppendValue(run.Pipeline).AppendValue(run.Trigger).AppendValue(run.Job);
                row = run.ScheduledFor is { } at ? row.AppendValue(at.UtcDateTime) : row.AppendNullValue();
                row = row.AppendValue(run.Attempt).AppendValue(run.StartedAt.UtcDateTime);
                row = run.FinishedAt is { } end ? row.AppendValue(end.UtcDateTime) : row.AppendNullValue();
                row.AppendValue(run.Status.ToString().ToLowerInvariant()).AppendValue(s.Stage.Name).AppendValue(s.Table)
                    .AppendValue(s.Status.ToString().ToLowerInvariant()).AppendValue(s.Rows).AppendValue(s.Seconds).AppendValue(s.Error).AppendValue(run.Host);
                writer.EndRow(row);
            }
        }, engine, run, appendOnly: true, ct);
    }
}
