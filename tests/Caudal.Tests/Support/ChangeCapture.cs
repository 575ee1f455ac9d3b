using Caudal.Runs;

namespace Caudal.Tests.Support;

/// <summary>What the change-capture tests share: the documented "newest row of each key, without deleted keys" query
/// over a raw table, a run that must succeed, and the check that the lake equals the source with each change once.</summary>
internal static class ChangeCapture
{
    /// <summary>The newest row of each key, unless it is a delete, ordered by the log (docs/capture-types.md).</summary>
    public static string Live(string table, string columns = "id, name") => $"""
        SELECT {columns} FROM (
            SELECT *, row_number() OVER (PARTITION BY id ORDER BY _caudal_ingested_at DESC, _caudal_lsn DESC NULLS LAST, _caudal_op = 'delete' DESC) AS newest
            FROM raw.{table}) AS rows_1
        WHERE newest = 1 AND _caudal_op IS DISTINCT FROM 'delete'
        """;

    public static async Task<RunRecord> RunOk(PipelineHarness h)
    {
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, string.Join("; ", run.Stages.Select(s => s.Error)));
        return run;
    }

    /// <summary>The live rows of raw.{table} as <c>id:name</c>, by id.</summary>
    public static async Task<string> LakeRows(PipelineHarness h, string table = "db_item") =>
        string.Join(",", (await h.QueryAsync($"SELECT id || ':' || coalesce(name, '') FROM ({Live(table)}) ORDER BY id")).Select(r => r[0]));

    /// <summary>Raw's live rows equal the source's (<paramref name="source"/> gives a table's rows as <c>id:name</c>), and no
    /// change of the log is in raw twice (its position is unique).</summary>
    public static async Task AssertEqualsSourceOnceAsync(PipelineHarness h, Func<string, string> source)
    {
        Assert.Equal(source("item"), await LakeRows(h));
        Assert.Equal(source("other"), await LakeRows(h, "db_other"));
        foreach (var table in new[] { "db_item", "db_other" })
        {
            var twice = await h.QueryAsync($"SELECT count(*) FROM (SELECT _caudal_lsn FROM raw.{table} WHERE _caudal_op IN ('insert', 'update', 'delete') GROUP BY ALL HAVING count(*) > 1)");
            Assert.Equal("0", twice[0][0]);
        }
    }
}
