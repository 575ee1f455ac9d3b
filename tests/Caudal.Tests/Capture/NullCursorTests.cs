using Caudal.Lake;
using Caudal.Runs;
using Caudal.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Caudal.Tests.Capture;

/// <summary>
/// Incremental capture of rows whose cursor is NULL (Sakila's payment.last_update and customer.last_update are
/// nullable), on each database kind: by default they are read on every run and counted, never silently lost;
/// 'exclude' leaves them out and says how many; 'raise' fails the dataset and commits nothing.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class NullCursorTests : IDisposable
{
    private readonly TempDir _dir = new("null-cursor");
    private readonly List<IDisposable> _owned = [];

    /// <summary>A database of <paramref name="kind"/> with an empty table <c>item(id, name, last_update NULL)</c>, a
    /// way to run SQL on it, and a harness capturing it incrementally with <paramref name="policy"/>.</summary>
    private (Action<string> Sql, PipelineHarness Harness) Setup(string kind, string? policy)
    {
        var options = $"    mode: incremental\n    cursor: last_update\n{(policy == null ? "" : $"    on_cursor_value_missing: {policy}\n")}";
        const string create = "CREATE TABLE item (id INTEGER PRIMARY KEY, name VARCHAR(20), last_update TIMESTAMP NULL)";
        if (kind == "sqlite")
        {
            var path = _dir.File($"db-{Guid.NewGuid():N}.sqlite");
            void Sqlite(string sql)
            {
                using var connection = new SqliteConnection($"Data Source={path};Pooling=false");
                connection.Open();
                using var command = connection.CreateCommand();
                command.CommandText = sql;
                command.ExecuteNonQuery();
            }
            Sqlite(create);
            var h = new PipelineHarness($"  db:\n    kind: sqlite\n    path: {path}\n    datasets: [item]\n{options}");
            _owned.Add(h);
            return (Sqlite, h);
        }
        var db = kind == "mysql" ? TestDatabase.MySql() : TestDatabase.Postgres();
        _owned.Add(db);
        db.Execute(create);
        var harness = new PipelineHarness($"  db:\n    kind: {kind}\n    connection: ${{env:DB}}\n    datasets: [item]\n{options}").WithEnv("DB", db.ConnectionString);
        _owned.Add(harness);
        return (db.Execute, harness);
    }

    private static async Task<string> IdsOfRun(PipelineHarness h, RunRecord run) =>
        string.Join(",", (await h.QueryAsync($"SELECT id FROM raw.db_item WHERE _caudal_run_id = '{run.RunId}' ORDER BY id")).Select(r => r[0]));

    [Theory]
    [InlineData("mysql")]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Rows_with_a_null_cursor_are_included_on_every_run_and_counted(string kind)
    {
        var (sql, h) = Setup(kind, policy: null);
        sql("INSERT INTO item VALUES (1, 'a', '2006-02-15 01:00:00'), (2, 'no cursor', NULL), (3, 'c', '2006-02-15 03:00:00')");
        var first = await h.RunAsync();
        Assert.True(first.Status == RunStatus.Succeeded, first.Stages[0].Error);
        Assert.Equal("1,2,3", await IdsOfRun(h, first)); // the NULL-cursor row lands on the very first run
        Assert.Equal(["1 row(s) with a NULL cursor 'last_update' included; they are read again on every run (on_cursor_value_missing: include)"],
            first.Stages[0].Warnings);

        sql("INSERT INTO item VALUES (4, 'd', '2006-02-15 04:00:00'), (5, 'also none', NULL)");
        sql("UPDATE item SET name = 'a2', last_update = '2006-02-15 05:00:00' WHERE id = 1");
        var second = await h.RunAsync();
        Assert.True(second.Status == RunStatus.Succeeded, second.Stages[0].Error);
        // From the watermark (03:00, inclusive): 1 (updated), 3 (at the watermark), 4 (new), and both NULL-cursor rows.
        Assert.Equal("1,2,3,4,5", await IdsOfRun(h, second));
        Assert.Contains("2 row(s) with a NULL cursor", second.Stages[0].Warnings.Single());
        Assert.Equal("a2", (await h.QueryAsync($"SELECT name FROM raw.db_item WHERE id = 1 AND _caudal_run_id = '{second.RunId}'"))[0][0]);

        var third = await h.RunAsync(); // nothing changed: the watermark row and the NULL-cursor rows only
        Assert.Equal("1,2,5", await IdsOfRun(h, third));
    }

    [Theory]
    [InlineData("mysql")]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Exclude_leaves_null_cursor_rows_out_and_says_how_many(string kind)
    {
        var (sql, h) = Setup(kind, "exclude");
        sql("INSERT INTO item VALUES (1, 'a', '2006-02-15 01:00:00'), (2, 'no cursor', NULL), (3, 'none either', NULL)");
        var first = await h.RunAsync();
        Assert.True(first.Status == RunStatus.Succeeded, first.Stages[0].Error);
        Assert.Equal("1", await IdsOfRun(h, first));
        Assert.Equal(["2 row(s) with a NULL cursor 'last_update' left out (on_cursor_value_missing: exclude)"], first.Stages[0].Warnings);
    }

    [Theory]
    [InlineData("mysql")]
    [InlineData("postgres")]
    [InlineData("sqlite")]
    public async Task Raise_fails_the_dataset_naming_the_rows_and_commits_nothing(string kind)
    {
        var (sql, h) = Setup(kind, "raise");
        sql("INSERT INTO item VALUES (1, 'a', '2006-02-15 01:00:00')");
        var first = await h.RunAsync();
        Assert.True(first.Status == RunStatus.Succeeded, first.Stages[0].Error); // no NULL cursor yet: nothing to raise
        sql("INSERT INTO item VALUES (2, 'no cursor', NULL), (3, 'c', '2006-02-15 03:00:00')");
        var second = await h.RunAsync();
        Assert.Equal(RunStatus.Failed, second.Status);
        Assert.StartsWith("Source 'db', dataset 'item': 1 row(s) have no value (NULL) in the cursor column 'last_update'", second.Stages[0].Error);
        var table = await DataLake.Open(h.Spec.Lake).Table(TableId.Parse("raw.db_item")).SnapshotAsync();
        Assert.Equal(0, table!.Version); // the failed run committed nothing: row 3 waits for a run that can take it
        Assert.Equal("", await IdsOfRun(h, second));
    }

    public void Dispose()
    {
        foreach (var o in _owned) o.Dispose();
        _dir.Dispose();
    }
}
