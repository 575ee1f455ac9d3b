using Caudal.Runs;
using Caudal.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Caudal.Tests.Capture;

/// <summary>
/// <c>deletes: detect</c> on each database kind, full and incremental: a key gone from the source becomes a
/// <c>delete</c> row in raw, committed with the rows read, and the documented newest-row pattern then equals the source
/// exactly (inserts, updates, deletes, a key deleted and inserted again, a row inserted and deleted between two runs,
/// every row deleted). Tables without a primary key are refused with a message naming the fix.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class DeleteDetectionTests : IDisposable
{
    private readonly TempDir _dir = new("deletes");
    private readonly List<IDisposable> _owned = [];

    /// <summary>The documented pattern (docs/capture-types.md): each key's newest row, unless it is a delete.</summary>
    private const string Live = """
        SELECT id, name FROM (
            SELECT *, row_number() OVER (PARTITION BY id ORDER BY _caudal_ingested_at DESC, _caudal_op = 'delete' DESC) AS newest FROM raw.db_item) AS rows_1
        WHERE newest = 1 AND _caudal_op IS DISTINCT FROM 'delete'
        """;

    private sealed record Source(Action<string> Sql, Func<string, object?> Scalar, PipelineHarness Harness, string Kind);

    private Source Setup(string kind, string options, string create = "CREATE TABLE item (id INTEGER PRIMARY KEY, name VARCHAR(20), last_update TIMESTAMP NULL)",
        string datasets = "[item]")
    {
        var yaml = $"    datasets: {datasets}\n    deletes: detect\n{options}";
        if (kind == "sqlite")
        {
            var path = _dir.File($"db-{Guid.NewGuid():N}.sqlite");
            object? Scalar(string sql)
            {
                using var connection = new SqliteConnection($"Data Source={path};Pooling=false");
                connection.Open();
                using var command = connection.CreateCommand();
                command.CommandText = sql;
                return command.ExecuteScalar();
            }
            Scalar(create);
            var h = new PipelineHarness($"  db:\n    kind: sqlite\n    path: {path}\n{yaml}");
            _owned.Add(h);
            return new Source(sql => Scalar(sql), Scalar, h, kind);
        }
        var db = kind == "mysql" ? TestDatabase.MySql() : TestDatabase.Postgres();
        _owned.Add(db);
        db.Execute(create);
        var harness = new PipelineHarness($"  db:\n    kind: {kind}\n    connection: ${{env:DB}}\n{yaml}").WithEnv("DB", db.ConnectionString);
        _owned.Add(harness);
        return new Source(db.Execute, db.Scalar, harness, kind);
    }

    /// <summary>The source's rows as "id:name,…" in key order.</summary>
    private static string SourceRows(Source s, string table = "item")
    {
        var row = s.Kind switch
        {
            "mysql" => $"SELECT GROUP_CONCAT(CONCAT(id, ':', COALESCE(name, '')) ORDER BY id SEPARATOR ',') FROM {table}",
            "postgres" => $"SELECT string_agg(id || ':' || COALESCE(name, ''), ',' ORDER BY id) FROM {table}",
            _ => $"SELECT group_concat(id || ':' || COALESCE(name, ''), ',') FROM (SELECT * FROM {table} ORDER BY id)",
        };
        return s.Scalar(row) is string text ? text : "";
    }

    private static async Task<string> LakeRows(Source s, string live = Live) =>
        string.Join(",", (await s.Harness.QueryAsync($"SELECT id || ':' || COALESCE(name, '') FROM ({live}) ORDER BY id")).Select(r => r[0]));

    private static async Task<RunRecord> RunOk(Source s)
    {
        var run = await s.Harness.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, string.Join("; ", run.Stages.Select(x => x.Error)));
        return run;
    }

    public static TheoryData<string, string> KindsAndModes => new()
    {
        { "sqlite", "full" }, { "sqlite", "incremental" },
        { "mysql", "full" }, { "mysql", "incremental" },
        { "postgres", "full" }, { "postgres", "incremental" },
    };

    private static string Mode(string mode) => mode == "full" ? "" : "    mode: incremental\n    cursor: last_update\n";

    [Theory]
    [MemberData(nameof(KindsAndModes))]
    public async Task Keys_gone_from_the_source_become_delete_rows_and_the_lake_equals_the_source(string kind, string mode)
    {
        var s = Setup(kind, Mode(mode));
        s.Sql("INSERT INTO item VALUES (1, 'a', '2006-02-15 01:00:00'), (2, 'b', '2006-02-15 02:00:00'), (3, 'c', '2006-02-15 03:00:00'), " +
              "(4, 'd', '2006-02-15 04:00:00'), (5, 'e', '2006-02-15 05:00:00')");
        var first = await RunOk(s);
        Assert.Equal(0, first.Stages[0].Deleted); // nothing was live before
        Assert.Equal(SourceRows(s), await LakeRows(s));

        s.Sql("DELETE FROM item WHERE id = 2");
        s.Sql("UPDATE item SET name = 'c2', last_update = '2006-02-16 01:00:00' WHERE id = 3");
        s.Sql("UPDATE item SET name = 'c3', last_update = '2006-02-16 02:00:00' WHERE id = 3"); // a key updated twice
        s.Sql("INSERT INTO item VALUES (6, 'f', '2006-02-16 03:00:00')");
        s.Sql("INSERT INTO item VALUES (7, 'g', '2006-02-16 03:00:00')");
        s.Sql("DELETE FROM item WHERE id = 7"); // inserted and deleted between two runs: never live, no delete row
        var second = await RunOk(s);
        Assert.Equal(1, second.Stages[0].Deleted);
        Assert.Equal("1:a,3:c3,4:d,5:e,6:f", SourceRows(s));
        Assert.Equal(SourceRows(s), await LakeRows(s));
        // The delete row holds the key, NULL elsewhere, and lands in the same commit as the rows read.
        var deletes = await s.Harness.QueryAsync("SELECT id, name, _caudal_run_id FROM raw.db_item WHERE _caudal_op = 'delete'");
        Assert.Equal([["2", null, second.RunId]], deletes);

        s.Sql("INSERT INTO item VALUES (2, 'b again', '2006-02-17 01:00:00')"); // a deleted key comes back
        s.Sql("DELETE FROM item WHERE id = 4");
        var third = await RunOk(s);
        Assert.Equal(1, third.Stages[0].Deleted);
        Assert.Equal(SourceRows(s), await LakeRows(s));

        var fourth = await RunOk(s); // nothing changed: nothing deleted again
        Assert.Equal(0, fourth.Stages[0].Deleted);
        Assert.Equal(SourceRows(s), await LakeRows(s));

        s.Sql("DELETE FROM item"); // every row (what a TRUNCATE leaves)
        var fifth = await RunOk(s);
        Assert.Equal(5, fifth.Stages[0].Deleted);
        Assert.Equal("", await LakeRows(s));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("mysql")]
    [InlineData("postgres")]
    public async Task Keys_are_read_in_ranges_over_several_connections(string kind)
    {
        var s = Setup(kind, Mode("incremental") + "    parallelism: 3\n    split_rows: 10\n");
        var values = string.Join(", ", Enumerable.Range(1, 300).Select(i => $"({i}, 'n{i}', '2006-02-15 01:00:00')"));
        s.Sql($"INSERT INTO item VALUES {values}");
        await RunOk(s);
        s.Sql("DELETE FROM item WHERE id % 7 = 0 OR id = 1 OR id = 300");
        var second = await RunOk(s);
        Assert.Equal(44, second.Stages[0].Deleted); // 42 multiples of 7, and both ends of the key range
        Assert.Equal(SourceRows(s), await LakeRows(s));
    }

    [Theory]
    [InlineData("sqlite", "INTEGER")]
    [InlineData("mysql", "INTEGER")]
    [InlineData("postgres", "INTEGER")]
    [InlineData("sqlite", "VARCHAR(10)")]
    [InlineData("mysql", "VARCHAR(10)")]
    [InlineData("postgres", "VARCHAR(10)")]
    public async Task Rows_behind_the_watermark_that_raw_lacks_are_read_by_key(string kind, string keyType)
    {
        var s = Setup(kind, Mode("incremental"), $"CREATE TABLE item (id {keyType} PRIMARY KEY, name VARCHAR(20), last_update TIMESTAMP NULL)");
        s.Sql("INSERT INTO item VALUES ('1', 'a', '2006-02-15 01:00:00'), ('2', 'b', '2006-02-15 02:00:00'), ('3', 'c', '2006-02-15 03:00:00')");
        await RunOk(s);
        s.Sql("DELETE FROM item WHERE id = '2'");
        Assert.Equal(1, (await RunOk(s)).Stages[0].Deleted);

        // Restored as it was (its cursor value far behind the watermark), and a row inserted late with an old cursor:
        // a cursor never reads them; the key comparison does.
        s.Sql("INSERT INTO item VALUES ('2', 'b', '2006-02-15 02:00:00'), ('9', 'late', '2006-01-01 00:00:00')");
        var third = await RunOk(s);
        Assert.Equal(["2 row(s) behind the cursor's watermark (absent from raw) read by their key"], third.Stages[0].Warnings);
        Assert.Equal("1:a,2:b,3:c,9:late", await LakeRows(s));
        Assert.Equal(SourceRows(s), await LakeRows(s));

        var fourth = await RunOk(s); // now live in raw: not read again
        Assert.Empty(fourth.Stages[0].Warnings);
        Assert.Equal(1, fourth.Stages[0].Rows); // the row at the watermark, as always
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("mysql")]
    [InlineData("postgres")]
    public async Task Missing_rows_with_a_key_that_cannot_be_bound_exactly_make_the_table_read_whole(string kind)
    {
        var s = Setup(kind, Mode("incremental"), "CREATE TABLE item (id INTEGER NOT NULL, day DATE NOT NULL, name VARCHAR(20), last_update TIMESTAMP NULL, PRIMARY KEY (id, day))");
        s.Sql("INSERT INTO item VALUES (1, '2006-02-15', 'a', '2006-02-15 01:00:00'), (2, '2006-02-15', 'b', '2006-02-15 02:00:00')");
        await RunOk(s);
        s.Sql("INSERT INTO item VALUES (3, '2006-02-14', 'late', '2006-01-01 00:00:00')");
        var second = await RunOk(s);
        Assert.Equal(["1 key(s) of the source absent from raw, behind the cursor's watermark: the table was read whole"], second.Stages[0].Warnings);
        Assert.Equal(3, second.Stages[0].Rows); // read whole once, and only the rows of that read (the cursor's rows dropped)
        Assert.Equal(SourceRows(s), await LakeRows(s, Live.Replace("PARTITION BY id", "PARTITION BY id, day")));
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("mysql")]
    [InlineData("postgres")]
    public async Task A_composite_key_is_compared_whole(string kind)
    {
        var s = Setup(kind, Mode("incremental"), "CREATE TABLE item (id INTEGER NOT NULL, part INTEGER NOT NULL, name VARCHAR(20), last_update TIMESTAMP NULL, PRIMARY KEY (id, part))");
        s.Sql("INSERT INTO item VALUES (1, 1, 'a', '2006-02-15 01:00:00'), (1, 2, 'b', '2006-02-15 01:00:00'), (2, 1, 'c', '2006-02-15 01:00:00')");
        await RunOk(s);
        s.Sql("DELETE FROM item WHERE id = 1 AND part = 2");
        var second = await RunOk(s);
        Assert.Equal(1, second.Stages[0].Deleted);
        var deleted = await s.Harness.QueryAsync("SELECT id, part FROM raw.db_item WHERE _caudal_op = 'delete'");
        Assert.Equal([["1", "2"]], deleted);
    }

    [Theory]
    [InlineData("sqlite")]
    [InlineData("mysql")]
    [InlineData("postgres")]
    public async Task A_table_without_a_primary_key_is_refused_and_nothing_is_committed(string kind)
    {
        var s = Setup(kind, "", "CREATE TABLE item (id INTEGER, name VARCHAR(20), last_update TIMESTAMP NULL)");
        s.Sql("INSERT INTO item VALUES (1, 'a', NULL)");
        var run = await s.Harness.RunAsync();
        var stage = run.Stages.Single();
        Assert.Equal(RunStatus.Failed, stage.Status);
        Assert.Equal("Source 'db', dataset 'item': deletes: detect compares primary keys, and table 'item' has no primary key. Declare the columns " +
                     "that identify a row with 'primary_key: [..]' on the dataset, or set 'deletes: ignore' for it.", stage.Error);
        Assert.False(Directory.Exists(Path.Combine(s.Harness.Folder, "lake", "raw", "db_item", "_delta_log")));

        // Declared on the dataset, the key is compared like a table's own.
        s.Harness.Yaml = s.Harness.Yaml.Replace("datasets: [item]", "datasets: [{name: item, primary_key: [id]}]");
        await RunOk(s);
        s.Sql("DELETE FROM item WHERE id = 1");
        Assert.Equal(1, (await RunOk(s)).Stages[0].Deleted);
    }

    [Fact]
    public async Task A_query_dataset_needs_a_declared_key_and_a_declared_key_must_exist()
    {
        var s = Setup("sqlite", "", datasets: "[{name: item, query: 'SELECT id, name FROM item'}]");
        s.Sql("INSERT INTO item VALUES (1, 'a', NULL), (2, 'b', NULL)");
        var refused = await s.Harness.RunAsync();
        Assert.Contains("deletes: detect compares primary keys, and a query has none", refused.Stages.Single().Error);

        s.Harness.Yaml = s.Harness.Yaml.Replace("query: 'SELECT id, name FROM item'", "query: 'SELECT id, name FROM item', primary_key: [idd]");
        var typo = await s.Harness.RunAsync();
        Assert.Equal("Source 'db', dataset 'item': primary key column 'idd' is not a column of the query (did you mean 'id'?).", typo.Stages.Single().Error);

        s.Harness.Yaml = s.Harness.Yaml.Replace("primary_key: [idd]", "primary_key: [id]");
        await RunOk(s);
        s.Sql("DELETE FROM item WHERE id = 2");
        Assert.Equal(1, (await RunOk(s)).Stages[0].Deleted);
        Assert.Equal("1:a", await LakeRows(s, Live));
    }

    [Fact]
    public void An_unknown_deletes_value_is_an_error_at_its_line_and_column()
    {
        var s = Setup("sqlite", "");
        s.Harness.Yaml = s.Harness.Yaml.Replace("deletes: detect", "deletes: detetc");
        var e = Assert.Throws<Caudal.Spec.SpecException>(() => s.Harness.Spec);
        Assert.Contains("caudal.yaml:", e.Message);
        Assert.Contains("Unknown deletes 'detetc' in source 'db' (did you mean 'detect'?).", e.Message);
    }

    public void Dispose()
    {
        foreach (var o in _owned) o.Dispose();
        _dir.Dispose();
    }
}
