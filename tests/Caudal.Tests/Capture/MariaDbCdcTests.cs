using Caudal.Runs;
using Caudal.Tests.Support;
using static Caudal.Tests.Support.ChangeCapture;

namespace Caudal.Tests.Capture;

/// <summary>
/// <c>mode: cdc</c> on a real MariaDB with its binlog on (ROW format, FULL images; started by scripts/services.sh): the
/// first run reads each table whole in a consistent snapshot at a binlog position, later runs read the binlog as a
/// replica up to the binlog's end when the run began. After any sequence of inserts, updates and deletes the newest row
/// of each key in raw equals the source; TRUNCATE, ALTER and a purged binlog are never silent; a value from the binlog
/// equals the same value read by a query.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class MariaDbCdcTests : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    private (TestDatabase Db, PipelineHarness Harness) Setup(string extra = "", string datasets = "[item]")
    {
        var db = TestDatabase.MySql();
        _owned.Add(db);
        db.Execute("CREATE TABLE item (id INT PRIMARY KEY, name VARCHAR(40), updated DATETIME(6))");
        db.Execute("CREATE TABLE other (id INT PRIMARY KEY, name VARCHAR(40))");
        var harness = new PipelineHarness($"  db:\n    kind: mysql\n    connection: ${{env:DB}}\n    mode: cdc\n    datasets: {datasets}\n{extra}").WithEnv("DB", db.ConnectionString);
        _owned.Add(harness);
        return (db, harness);
    }

    private static string SourceRows(TestDatabase db, string table = "item") =>
        db.Scalar($"SELECT coalesce(group_concat(concat(id, ':', coalesce(name, '')) ORDER BY id SEPARATOR ','), '') FROM {table}") as string ?? "";

    [Fact]
    public async Task Inserts_updates_and_deletes_from_the_binlog_leave_raw_equal_to_the_source()
    {
        var (db, h) = Setup(datasets: "[item, other]");
        db.Execute("INSERT INTO item VALUES (1, 'a', now()), (2, 'b', now()), (3, 'c', now())");
        db.Execute("INSERT INTO other VALUES (1, 'x')");
        var first = await RunOk(h); // the snapshot
        Assert.Equal(3, first.Stages[0].Rows);
        Assert.Equal(["snapshot"], (await h.QueryAsync("SELECT DISTINCT _caudal_op FROM raw.db_item")).Select(r => r[0]));

        db.Execute("UPDATE item SET name = 'b2' WHERE id = 2");
        db.Execute("UPDATE item SET name = 'b3' WHERE id = 2"); // a key updated twice
        db.Execute("DELETE FROM item WHERE id = 3");
        db.Execute("INSERT INTO item VALUES (4, 'd', now())");
        db.Execute("INSERT INTO item VALUES (5, 'e', now())");
        db.Execute("DELETE FROM item WHERE id = 5"); // inserted and deleted between two runs
        db.Execute("START TRANSACTION; UPDATE item SET name = 'a2' WHERE id = 1; INSERT INTO other VALUES (2, 'y'); COMMIT"); // two tables, one transaction
        db.Execute("INSERT INTO item VALUES (6, 'f', now()) ON DUPLICATE KEY UPDATE name = 'f'; INSERT INTO item VALUES (6, 'f', now()) ON DUPLICATE KEY UPDATE name = 'f2'");
        db.Execute("UPDATE item SET id = 8 WHERE id = 4"); // a key changed: 4 is gone, 8 is live
        var second = await RunOk(h);
        Assert.Equal(11, second.Stages[0].Rows); // 2 updates of 2, a delete, 2 inserts, a delete, an update, an insert and its update, a key's delete and update
        Assert.Equal("1:a2,2:b3,6:f2,8:d", SourceRows(db));
        Assert.Equal(SourceRows(db), await LakeRows(h));
        Assert.Equal(SourceRows(db, "other"), await LakeRows(h, "db_other"));
        var ops = await h.QueryAsync($"SELECT _caudal_op, count(*) FROM raw.db_item WHERE _caudal_run_id = '{second.RunId}' GROUP BY ALL ORDER BY 1");
        Assert.Equal([["delete", "3"], ["insert", "3"], ["update", "5"]], ops);
        // A delete holds the whole old row (binlog_row_image=FULL); each change says where it is in the binlog.
        Assert.Equal([["3", "c"]], await h.QueryAsync("SELECT id, name FROM raw.db_item WHERE _caudal_op = 'delete' AND id = 3"));
        var located = await h.QueryAsync($"SELECT count(*), count(DISTINCT _caudal_lsn), count(_caudal_gtid), min(_caudal_binlog) FROM raw.db_item WHERE _caudal_run_id = '{second.RunId}'");
        Assert.Equal(["11", "11", "11"], located[0][..3].Select(v => v ?? ""));
        Assert.Matches(@"^mariadb-bin\.\d{6}:\d+$", located[0][3]);
        // The transaction that changed both tables has one GTID in both.
        var gtids = await h.QueryAsync("SELECT (SELECT _caudal_gtid FROM raw.db_item WHERE id = 1 AND _caudal_op = 'update'), (SELECT _caudal_gtid FROM raw.db_other WHERE id = 2)");
        Assert.Matches(@"^\d+-1-\d+$", gtids[0][0]);
        Assert.Equal(gtids[0][0], gtids[0][1]);

        var third = await RunOk(h); // nothing changed: nothing read
        Assert.Equal(0, third.Stages[0].Rows);
        Assert.Equal(SourceRows(db), await LakeRows(h));
    }

    [Fact]
    public async Task Truncate_is_never_silent_the_table_is_read_whole_again_and_deleted_keys_leave()
    {
        var (db, h) = Setup();
        db.Execute("INSERT INTO item VALUES (1, 'a', now()), (2, 'b', now())");
        await RunOk(h);
        db.Execute("TRUNCATE item");
        db.Execute("INSERT INTO item VALUES (7, 'after', now())");
        var run = await RunOk(h);
        Assert.Contains(run.Stages[0].Warnings, w => w.StartsWith("'TRUNCATE item' at mariadb-bin.", StringComparison.Ordinal) && w.EndsWith(": read whole again", StringComparison.Ordinal));
        Assert.Equal(2, run.Stages[0].Deleted);
        Assert.Equal("7:after", await LakeRows(h));
        db.Execute("UPDATE item SET name = 'later' WHERE id = 7");
        var next = await RunOk(h);
        Assert.Empty(next.Stages[0].Warnings);
        Assert.Equal("7:later", await LakeRows(h));
    }

    [Fact]
    public async Task Added_and_dropped_columns_follow_the_table()
    {
        var (db, h) = Setup();
        db.Execute("INSERT INTO item VALUES (1, 'a', now())");
        await RunOk(h);
        db.Execute("ALTER TABLE item ADD COLUMN price DECIMAL(8,2)");
        db.Execute("INSERT INTO item VALUES (2, 'b', now(), 9.99)");
        db.Execute("ALTER TABLE item DROP COLUMN updated");
        db.Execute("INSERT INTO item VALUES (3, 'c', 1.50)");
        var altered = await RunOk(h);
        Assert.Contains(altered.Stages[0].Warnings, w => w.Contains("ALTER TABLE item", StringComparison.Ordinal));
        Assert.Equal([["1", null], ["2", "9.99"], ["3", "1.50"]], await h.QueryAsync($"SELECT id, price FROM ({Live("db_item", "id, price")}) ORDER BY id"));
        db.Execute("INSERT INTO item VALUES (4, 'd', 2.00)"); // after the ALTER: from the binlog again, with the new columns
        var next = await RunOk(h);
        Assert.Empty(next.Stages[0].Warnings);
        Assert.Equal([["insert", "2.00"]], await h.QueryAsync("SELECT _caudal_op, price FROM raw.db_item WHERE id = 4"));
    }

    [Fact]
    public async Task A_value_from_the_binlog_equals_the_same_value_read_by_a_snapshot()
    {
        var (db, h) = Setup(datasets: "[typed]");
        db.Execute("""
            CREATE TABLE typed (
              id INT PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, su SMALLINT UNSIGNED, mi MEDIUMINT, bu BIGINT UNSIGNED, bi BIGINT, iu INT UNSIGNED,
              d52 DECIMAL(5,2), dn DECIMAL(12,4), d65 DECIMAL(65,30), f FLOAT, db DOUBLE, dt DATE, dtm DATETIME(6), dt0 DATETIME, ts TIMESTAMP NULL, ts3 TIMESTAMP(3) NULL,
              yr YEAR, tm TIME, tm3 TIME(3), c CHAR(3), v VARCHAR(20), vl VARCHAR(300), l1 VARCHAR(10) CHARACTER SET latin1, tx TEXT, e ENUM('G','PG','NC-17'),
              s SET('Trailers','Commentaries','Deleted Scenes'), b1 BIT(1), b8 BIT(8), b12 BIT(12), bl BLOB, bn BINARY(4), vb VARBINARY(8), js JSON,
              g GEOMETRY, flag BOOLEAN)
            """);
        const string values = """
            (1, -128, 255, 65535, -8388608, 18446744073709551615, -9223372036854775808, 4294967295, -123.45, -12345678.1234, 1.5, 1.25, 2.5, '2006-02-15',
              '2005-05-24 22:53:30.123456', '2005-05-24 22:53:30', '2006-02-15 04:34:33', '2006-02-15 04:34:33.125', 2006, '-838:59:59', '-01:02:03.250',
              'ab', 'Inegöl 🎬', REPEAT('x', 300), 'café', 'long text', 'NC-17', 'Trailers,Deleted Scenes', b'1', b'10000001', b'101010101010',
              X'89504E47', X'0102', X'00FF', '{"a": [1, 2]}', ST_GeomFromText('POINT(1 2)'), TRUE)
            """;
        db.Execute($"INSERT INTO typed VALUES {values}");
        db.Execute("INSERT INTO typed (id, dt, dtm) VALUES (5, '0000-00-00', '0000-00-00 00:00:00')"); // zero dates, by the snapshot
        await RunOk(h); // id 1 by the snapshot
        db.Execute($"INSERT INTO typed VALUES {values.Replace("(1,", "(2,")}"); // id 2 from the binlog
        db.Execute("INSERT INTO typed (id) VALUES (3)"); // NULLs from the binlog
        db.Execute("INSERT INTO typed (id, d52, dn, tm3, dtm, dt) VALUES (4, 0.5, 0.0001, '00:00:00.001', '0000-00-00 00:00:00', '0000-00-00')");
        await RunOk(h);
        const string lineage = "id, _caudal_op, _caudal_lsn, _caudal_gtid, _caudal_binlog, _caudal_run_id, _caudal_ingested_at, ingest_date";
        var compared = await h.QueryAsync($"""
            SELECT count(*) FROM (SELECT * EXCLUDE ({lineage}) FROM raw.db_typed WHERE id = 1
                                  EXCEPT SELECT * EXCLUDE ({lineage}) FROM raw.db_typed WHERE id = 2)
            """);
        Assert.Equal("0", compared[0][0]);
        Assert.Equal([["insert"]], await h.QueryAsync("SELECT _caudal_op FROM raw.db_typed WHERE id = 2"));
        Assert.Equal("1", (await h.QueryAsync($"SELECT count(*) FROM raw.db_typed WHERE id = 3 AND COLUMNS(* EXCLUDE ({lineage})) IS NULL"))[0][0]);
        Assert.Equal([["0.50", "0.0001", "00:00:00.001", null, null]], await h.QueryAsync("SELECT d52, dn, tm3, dtm, dt FROM raw.db_typed WHERE id = 4"));
        Assert.Equal([["snapshot", null, null]], await h.QueryAsync("SELECT _caudal_op, dtm, dt FROM raw.db_typed WHERE id = 5")); // the same NULLs either way
    }

    [Fact]
    public async Task A_purged_binlog_fails_the_table_by_default_and_is_read_whole_again_with_resnapshot()
    {
        var (db, h) = Setup();
        db.Execute("INSERT INTO item VALUES (1, 'a', now()), (2, 'b', now())");
        await RunOk(h);
        db.Execute("DELETE FROM item WHERE id = 2"); // a change in the binlog about to be purged
        await PurgeBinlogsAsync(db);
        var failed = await h.RunAsync();
        Assert.Equal(RunStatus.Failed, failed.Stages[0].Status);
        Assert.Matches(@"the table's position in the binlog is lost \(binlog file mariadb-bin\.\d{6} is no longer on the server \(purged; the oldest is mariadb-bin\.\d{6}\)\)", failed.Stages[0].Error);
        Assert.Contains("Set 'on_position_lost: resnapshot'", failed.Stages[0].Error);
        var again = await h.RunAsync(); // never silence: the next run fails the same way
        Assert.Equal(RunStatus.Failed, again.Stages[0].Status);

        h.Yaml = h.Yaml.Replace("    mode: cdc\n", "    mode: cdc\n    on_position_lost: resnapshot\n");
        var resnapshot = await RunOk(h);
        Assert.Contains(resnapshot.Stages[0].Warnings, w => w.StartsWith("the table's position in the binlog was lost", StringComparison.Ordinal));
        Assert.Equal(1, resnapshot.Stages[0].Deleted);
        Assert.Equal("1:a", await LakeRows(h));
    }

    /// <summary>Purges every binlog file but a new one (retried: the server keeps a file its crash recovery still needs
    /// for a moment after its transactions commit).</summary>
    private static async Task PurgeBinlogsAsync(TestDatabase db)
    {
        db.Execute("FLUSH BINARY LOGS");
        var newest = "";
        for (var attempt = 0; attempt < 50; attempt++)
        {
            using var connection = new MySqlConnector.MySqlConnection(db.ConnectionString);
            connection.Open();
            using (var command = new MySqlConnector.MySqlCommand("SHOW MASTER STATUS", connection))
                newest = (string)command.ExecuteScalar()!;
            db.Execute($"PURGE BINARY LOGS TO '{newest}'");
            using (var command = new MySqlConnector.MySqlCommand("SHOW BINARY LOGS", connection))
                if ((string)command.ExecuteScalar()! == newest) return;
            await Task.Delay(100);
        }
        Assert.Fail($"the binlogs before {newest} could not be purged");
    }

    [Fact]
    public async Task Changes_the_binlog_cannot_give_row_by_row_make_the_table_read_whole_again()
    {
        var (db, h) = Setup(datasets: "[item, other]");
        db.Execute("INSERT INTO item VALUES (1, 'a', now()), (2, 'b', now())");
        db.Execute("INSERT INTO other VALUES (1, 'x')");
        await RunOk(h);
        // A session logging SQL instead of rows: the reader cannot replay it (a trigger or a view may reach any table).
        db.Execute("SET SESSION binlog_format = 'STATEMENT'; UPDATE item SET name = 'stmt' WHERE id = 1");
        var statement = await RunOk(h);
        Assert.All(statement.Stages, s => Assert.Contains(s.Warnings, w => w.Contains("was logged as a statement, not as rows", StringComparison.Ordinal)));
        Assert.Equal("1:stmt,2:b", await LakeRows(h));

        // A session writing partial row images: the other columns are unknown.
        db.Execute("SET SESSION binlog_row_image = 'MINIMAL'; UPDATE item SET name = 'min' WHERE id = 2");
        var minimal = await RunOk(h);
        Assert.Contains(minimal.Stages[0].Warnings, w => w.StartsWith("a change was logged without all its columns", StringComparison.Ordinal));
        Assert.Empty(minimal.Stages[1].Warnings);
        Assert.Equal("1:stmt,2:min", await LakeRows(h));

        // A transaction that wrote a non-transactional table and rolled back: MariaDB logs only what stayed (the MyISAM row),
        // so the InnoDB update never reaches raw. (A binlog that does log BEGIN … ROLLBACK makes the tables read whole again.)
        db.Execute("CREATE TABLE journal (id INT PRIMARY KEY) ENGINE = MyISAM");
        db.Execute("START TRANSACTION; UPDATE item SET name = 'gone' WHERE id = 1; INSERT INTO journal VALUES (1); ROLLBACK");
        db.Execute("UPDATE other SET name = 'x2'");
        var rolledBack = await RunOk(h);
        Assert.All(rolledBack.Stages, s => Assert.Empty(s.Warnings));
        Assert.Equal("1:stmt,2:min", await LakeRows(h));
        Assert.Equal("1:x2", await LakeRows(h, "db_other"));
    }

    [Fact]
    public async Task A_table_without_a_primary_key_is_refused_with_the_fix()
    {
        var (db, h) = Setup(datasets: "[nokey]");
        db.Execute("CREATE TABLE nokey (id INT, name TEXT)");
        var run = await h.RunAsync();
        Assert.Equal(RunStatus.Failed, run.Stages[0].Status);
        Assert.Contains("table 'nokey' has no primary key, which a change capture needs", run.Stages[0].Error);
        Assert.Contains("primary_key: [..]", run.Stages[0].Error);
    }

    [Fact]
    public async Task A_server_without_row_images_is_refused_with_what_to_set()
    {
        var (db, h) = Setup();
        await RunOk(h);
        db.Execute("SET GLOBAL binlog_row_image = 'MINIMAL'");
        try
        {
            var run = await h.RunAsync();
            Assert.Equal(RunStatus.Failed, run.Stages[0].Status);
            Assert.Contains("mode: cdc needs binlog_row_image=FULL", run.Stages[0].Error);
        }
        finally
        {
            db.Execute("SET GLOBAL binlog_row_image = 'FULL'");
        }
    }

    [Fact]
    public async Task Cdc_status_shows_the_binlog_kept_past_the_oldest_position_and_a_purged_one_fails()
    {
        var (db, h) = Setup();
        await RunOk(h);
        db.Execute("INSERT INTO item SELECT seq, REPEAT('x', 40), now() FROM seq_1_to_1000"); // changes not read yet
        File.WriteAllText(Path.Combine(h.Folder, "caudal.yaml"), h.Yaml);
        var env = new Dictionary<string, string> { ["DB"] = db.ConnectionString };
        var status = await CliProcess.RunAsync(h.Folder, env, "cdc", "status");
        Assert.True(status.ExitCode == 0, status.Stdout + status.Stderr);
        var line = status.Stdout.Split('\n').Single(l => l.StartsWith("db ", StringComparison.Ordinal));
        Assert.Contains("binlog mariadb-bin", line);
        Assert.Contains("kept; binlogs expire after 1 d", line);
        Assert.Matches(@"mariadb-bin\.\d{6}:\d+", line);
        Assert.Matches(@" \d+(\.\d+)? KB ", line); // the 1,000 rows written since the table's position
        Assert.DoesNotContain("caudal-test", status.Stdout + status.Stderr); // no password, ever

        await PurgeBinlogsAsync(db);
        var purged = await CliProcess.RunAsync(h.Folder, env, "cdc", "status");
        Assert.Equal(1, purged.ExitCode);
        Assert.Contains("purged", purged.Stdout);
    }

    public static TheoryData<string> CrashPoints => new()
    {
        "capture:raw.db_item:before-commit",
        "capture:raw.db_item:after-commit",
        "capture:raw.db_other:before-commit", // one table committed, the other not
    };

    [Theory]
    [MemberData(nameof(CrashPoints))]
    public async Task Killed_at_a_crash_point_then_rerun_equals_the_source_with_each_change_once(string point)
    {
        var (db, h) = Setup(datasets: "[item, other]", extra: "    tables_at_once: 1\n");
        db.Execute("INSERT INTO item VALUES (1, 'a', now()), (2, 'b', now())");
        db.Execute("INSERT INTO other VALUES (1, 'x')");
        await RunOk(h);
        db.Execute("UPDATE item SET name = 'a2' WHERE id = 1; DELETE FROM item WHERE id = 2; INSERT INTO item VALUES (3, 'c', now())");
        db.Execute("START TRANSACTION; UPDATE other SET name = 'x2'; INSERT INTO item VALUES (4, 'd', now()); COMMIT");
        File.WriteAllText(Path.Combine(h.Folder, "caudal.yaml"), h.Yaml);
        var env = new Dictionary<string, string> { ["DB"] = db.ConnectionString };
        using (var paused = await CliProcess.StartPausedAsync(h.Folder, point, env, "run"))
        {
            paused.Kill(entireProcessTree: true);
            await paused.WaitForExitAsync();
        }
        db.Execute("UPDATE item SET name = 'c2' WHERE id = 3"); // a change after the kill
        var rerun = await CliProcess.RunAsync(h.Folder, env, "run");
        Assert.True(rerun.ExitCode == 0, rerun.Stdout + rerun.Stderr);
        await ChangeCapture.AssertEqualsSourceOnceAsync(h, table => SourceRows(db, table));
    }

    [Theory]
    [InlineData(400)]
    [InlineData(1200)]
    public async Task Killed_at_an_arbitrary_moment_then_rerun_equals_the_source_with_each_change_once(int milliseconds)
    {
        var (db, h) = Setup(datasets: "[item, other]");
        db.Execute("INSERT INTO item SELECT seq, concat('n', seq), now() FROM seq_1_to_2000");
        await RunOk(h);
        db.Execute("UPDATE item SET name = concat(name, '!') WHERE id % 3 = 0; DELETE FROM item WHERE id % 5 = 0; INSERT INTO item SELECT seq, concat('m', seq), now() FROM seq_2001_to_3000");
        File.WriteAllText(Path.Combine(h.Folder, "caudal.yaml"), h.Yaml);
        var env = new Dictionary<string, string> { ["DB"] = db.ConnectionString };
        await CliProcess.KillAfterAsync(h.Folder, env, TimeSpan.FromMilliseconds(milliseconds), "run");
        var rerun = await CliProcess.RunAsync(h.Folder, env, "run");
        Assert.True(rerun.ExitCode == 0, rerun.Stdout + rerun.Stderr);
        await ChangeCapture.AssertEqualsSourceOnceAsync(h, table => SourceRows(db, table));
    }

    public void Dispose()
    {
        foreach (var o in _owned.AsEnumerable().Reverse()) o.Dispose();
    }
}
