using Caudal.Runs;
using Caudal.Tests.Support;
using static Caudal.Tests.Support.ChangeCapture;

namespace Caudal.Tests.Capture;

/// <summary>
/// <c>mode: cdc</c> on a real PostgreSQL (wal_level = logical, started by scripts/services.sh): the first run reads
/// each table whole in a temporary slot's snapshot, later runs read the slot up to a fence; after any sequence of
/// inserts, updates and deletes the newest row of each key in raw equals the source, TRUNCATE and a lost slot are never
/// silent, an idle source's slot still advances, and a value from the log equals the same value read by a snapshot.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class PostgresCdcTests : IDisposable
{
    private readonly List<IDisposable> _owned = [];

    private (TestDatabase Db, PipelineHarness Harness) Setup(string extra = "", string datasets = "[item]")
    {
        var db = TestDatabase.Postgres();
        _owned.Add(db);
        db.Execute("CREATE TABLE item (id integer PRIMARY KEY, name text, updated timestamp)");
        db.Execute("CREATE TABLE other (id integer PRIMARY KEY, name text)");
        var harness = new PipelineHarness($"  db:\n    kind: postgres\n    connection: ${{env:DB}}\n    mode: cdc\n    datasets: {datasets}\n{extra}").WithEnv("DB", db.ConnectionString);
        _owned.Add(harness);
        return (db, harness);
    }

    private static string SourceRows(TestDatabase db, string table = "item") =>
        db.Scalar($"SELECT coalesce(string_agg(id || ':' || coalesce(name, ''), ',' ORDER BY id), '') FROM {table}") as string ?? "";

    [Fact]
    public async Task Inserts_updates_and_deletes_from_the_log_leave_raw_equal_to_the_source()
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
        db.Execute("BEGIN; UPDATE item SET name = 'a2' WHERE id = 1; INSERT INTO other VALUES (2, 'y'); COMMIT"); // two tables, one transaction
        db.Execute("UPDATE item SET id = 8 WHERE id = 4"); // a key changed: 4 is gone, 8 is live
        var second = await RunOk(h);
        Assert.Equal(9, second.Stages[0].Rows); // 2 updates of 2, a delete, 2 inserts, a delete, an update, a key's delete and update
        Assert.Equal("1:a2,2:b3,8:d", SourceRows(db));
        Assert.Equal(SourceRows(db), await LakeRows(h));
        Assert.Equal(SourceRows(db, "other"), await LakeRows(h, "db_other"));
        var ops = await h.QueryAsync($"SELECT _caudal_op, count(*) FROM raw.db_item WHERE _caudal_run_id = '{second.RunId}' GROUP BY ALL ORDER BY 1");
        Assert.Equal([["delete", "3"], ["insert", "2"], ["update", "4"]], ops);
        // A delete holds the key (REPLICA IDENTITY DEFAULT sends only the key).
        Assert.Equal([["3", null]], await h.QueryAsync("SELECT id, name FROM raw.db_item WHERE _caudal_op = 'delete' AND id = 3"));

        var third = await RunOk(h); // nothing changed: nothing read, and the slot still advances
        Assert.Equal(0, third.Stages[0].Rows);
        Assert.Equal(SourceRows(db), await LakeRows(h));
    }

    [Fact]
    public async Task An_idle_source_still_advances_its_slot_so_wal_is_not_held()
    {
        var (db, h) = Setup();
        await RunOk(h);
        string Confirmed() => (string)db.Scalar("SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE database = current_database() AND NOT temporary")!;
        var before = Confirmed();
        db.Execute("CREATE TABLE unrelated (x int)"); // WAL written, nothing for the publication
        db.Execute("INSERT INTO unrelated SELECT generate_series(1, 1000)");
        await RunOk(h);
        Assert.NotEqual(before, Confirmed());
        Assert.Equal(true, db.Scalar($"SELECT '{Confirmed()}'::pg_lsn >= pg_current_wal_lsn() - 1000000"));
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
        Assert.Contains(run.Stages[0].Warnings, w => w.StartsWith("truncated (commit ", StringComparison.Ordinal) && w.EndsWith("read whole again", StringComparison.Ordinal));
        Assert.Equal(2, run.Stages[0].Deleted);
        Assert.Equal("7:after", await LakeRows(h));
        db.Execute("UPDATE item SET name = 'later' WHERE id = 7");
        await RunOk(h);
        Assert.Equal("7:later", await LakeRows(h));
    }

    [Fact]
    public async Task Added_and_dropped_columns_follow_the_table()
    {
        var (db, h) = Setup();
        db.Execute("INSERT INTO item VALUES (1, 'a', now())");
        await RunOk(h);
        db.Execute("ALTER TABLE item ADD COLUMN price numeric(8,2)");
        db.Execute("INSERT INTO item VALUES (2, 'b', now(), 9.99)");
        db.Execute("ALTER TABLE item DROP COLUMN updated");
        db.Execute("INSERT INTO item VALUES (3, 'c', 1.50)");
        await RunOk(h);
        Assert.Equal([["1", null], ["2", "9.99"], ["3", "1.50"]], await h.QueryAsync($"SELECT id, price FROM ({Live("db_item", "id, price")}) ORDER BY id"));
        Assert.Equal([["2", "True"], ["3", "False"]], await h.QueryAsync("SELECT id, updated IS NOT NULL FROM raw.db_item WHERE _caudal_op = 'insert' ORDER BY id"));
    }

    [Fact]
    public async Task A_value_from_the_log_equals_the_same_value_read_by_a_snapshot()
    {
        var (db, h) = Setup();
        db.Execute("""
            CREATE TABLE typed (id integer PRIMARY KEY, s smallint, b bigint, n numeric(12,4), r real, d double precision, t text, v varchar(10),
                c char(3), ok boolean, day date, ts timestamp, tz timestamptz, bin bytea, ints integer[], texts text[], u uuid, j jsonb, iv interval)
            """);
        const string values = """
            (1, -32768, 9223372036854775807, -12345678.1234, 1.5, 2.25e-300, 'Inegöl 🎬 "q" \ ', 'short', 'ab', true, '2006-02-15', '2005-05-24 22:53:30.123456',
             '2005-05-24 22:53:30+02', '\x89504e47', '{1,NULL,3}', '{"a b","c,d",NULL,"e\"f"}', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"k": [1, 2]}', '1 day 02:00:00')
            """;
        h.Yaml = h.Yaml.Replace("datasets: [item]", "datasets: [typed]");
        db.Execute($"INSERT INTO typed VALUES {values}");
        await RunOk(h); // id 1 by the snapshot
        db.Execute($"INSERT INTO typed VALUES {values.Replace("(1,", "(2,")}"); // id 2 from the log
        await RunOk(h);
        var compared = await h.QueryAsync("""
            SELECT count(*) FROM (SELECT * EXCLUDE (id, _caudal_op, _caudal_lsn, _caudal_run_id, _caudal_ingested_at, ingest_date) FROM raw.db_typed WHERE id = 1
                                  EXCEPT SELECT * EXCLUDE (id, _caudal_op, _caudal_lsn, _caudal_run_id, _caudal_ingested_at, ingest_date) FROM raw.db_typed WHERE id = 2)
            """);
        Assert.Equal("0", compared[0][0]);
        Assert.Equal([["insert"]], await h.QueryAsync("SELECT _caudal_op FROM raw.db_typed WHERE id = 2"));
    }

    [Fact]
    public async Task A_lost_slot_fails_the_table_by_default_and_is_read_whole_again_with_resnapshot()
    {
        var (db, h) = Setup();
        db.Execute("INSERT INTO item VALUES (1, 'a', now()), (2, 'b', now())");
        await RunOk(h);
        db.Execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()");
        db.Execute("DELETE FROM item WHERE id = 2"); // a change the dropped slot took with it
        var failed = await h.RunAsync();
        Assert.Equal(RunStatus.Failed, failed.Stages[0].Status);
        Assert.Contains("the table's position in the log is lost (replication slot '", failed.Stages[0].Error);
        Assert.Contains("Set 'on_position_lost: resnapshot'", failed.Stages[0].Error);
        var again = await h.RunAsync(); // never silence: the slot now exists, but past the table's position
        Assert.Equal(RunStatus.Failed, again.Stages[0].Status);

        h.Yaml = h.Yaml.Replace("    mode: cdc\n", "    mode: cdc\n    on_position_lost: resnapshot\n");
        var resnapshot = await RunOk(h);
        Assert.Contains(resnapshot.Stages[0].Warnings, w => w.StartsWith("the table's position in the log was lost", StringComparison.Ordinal));
        Assert.Equal(1, resnapshot.Stages[0].Deleted);
        Assert.Equal("1:a", await LakeRows(h));
    }

    [Fact]
    public async Task A_table_without_a_replica_identity_is_refused_before_it_is_published()
    {
        var (db, h) = Setup(datasets: "[nokey]");
        db.Execute("CREATE TABLE nokey (id integer, name text)");
        var run = await h.RunAsync();
        Assert.Equal(RunStatus.Failed, run.Stages[0].Status);
        Assert.Contains("Table 'nokey' has no primary key and no REPLICA IDENTITY FULL", run.Stages[0].Error);
        Assert.Equal(0L, db.Scalar("SELECT count(*) FROM pg_publication_tables WHERE tablename = 'nokey'"));
        db.Execute("UPDATE nokey SET name = 'still allowed'"); // the application's writes are untouched
    }

    public static TheoryData<string> CrashPoints => new()
    {
        "capture:raw.db_item:before-commit",
        "capture:raw.db_item:after-commit", // committed, the slot not yet advanced: the same changes are read again
        "capture:raw.db_other:before-commit", // one table committed, the other not: the slot must not move
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
        db.Execute("BEGIN; UPDATE other SET name = 'x2'; INSERT INTO item VALUES (4, 'd', now()); COMMIT");
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
    [InlineData(300)]
    [InlineData(900)]
    public async Task Killed_at_an_arbitrary_moment_then_rerun_equals_the_source_with_each_change_once(int milliseconds)
    {
        var (db, h) = Setup(datasets: "[item, other]");
        db.Execute("INSERT INTO item SELECT g, 'n' || g, now() FROM generate_series(1, 2000) g");
        await RunOk(h);
        db.Execute("UPDATE item SET name = name || '!' WHERE id % 3 = 0; DELETE FROM item WHERE id % 5 = 0; INSERT INTO item SELECT g, 'm' || g, now() FROM generate_series(2001, 3000) g");
        File.WriteAllText(Path.Combine(h.Folder, "caudal.yaml"), h.Yaml);
        var env = new Dictionary<string, string> { ["DB"] = db.ConnectionString };
        await CliProcess.KillAfterAsync(h.Folder, env, TimeSpan.FromMilliseconds(milliseconds), "run");
        var rerun = await CliProcess.RunAsync(h.Folder, env, "run");
        Assert.True(rerun.ExitCode == 0, rerun.Stdout + rerun.Stderr);
        await ChangeCapture.AssertEqualsSourceOnceAsync(h, table => SourceRows(db, table));
    }

    [Fact]
    public async Task An_update_whose_large_value_the_log_left_out_makes_the_table_read_whole_again()
    {
        var (db, h) = Setup();
        db.Execute("INSERT INTO item SELECT 1, string_agg(md5(g::text), '') , now() FROM generate_series(1, 2000) g"); // 64 KB: stored out of line
        await RunOk(h);
        db.Execute("UPDATE item SET updated = now() + interval '1 day' WHERE id = 1"); // name unchanged: not sent
        var run = await RunOk(h);
        Assert.Contains(run.Stages[0].Warnings, w => w.Contains("left an unchanged large value out of the log: read whole again", StringComparison.Ordinal));
        Assert.Equal(SourceRows(db), await LakeRows(h));

        db.Execute("ALTER TABLE item REPLICA IDENTITY FULL"); // the old row is sent whole: no read again needed
        db.Execute("UPDATE item SET updated = now() + interval '2 days' WHERE id = 1");
        var full = await RunOk(h);
        Assert.Empty(full.Stages[0].Warnings);
        Assert.Equal(0, full.Stages[0].Deleted);
        Assert.Equal(SourceRows(db), await LakeRows(h)); // every column is in the replica identity now: still no delete for the same key

        db.Execute("UPDATE item SET id = 2 WHERE id = 1"); // the key changed, with the old row sent whole
        await RunOk(h);
        Assert.Equal(SourceRows(db), await LakeRows(h));
        Assert.Equal([["1"]], await h.QueryAsync($"SELECT id FROM raw.db_item WHERE _caudal_op = 'delete'"));
    }

    [Fact]
    public async Task Cdc_status_shows_each_slot_its_wal_kept_and_a_missing_slot_fails()
    {
        var (db, h) = Setup();
        await RunOk(h);
        File.WriteAllText(Path.Combine(h.Folder, "caudal.yaml"), h.Yaml);
        var env = new Dictionary<string, string> { ["DB"] = db.ConnectionString };
        var status = await CliProcess.RunAsync(h.Folder, env, "cdc", "status");
        Assert.True(status.ExitCode == 0, status.Stdout + status.Stderr);
        var slot = (string)db.Scalar("SELECT slot_name FROM pg_replication_slots WHERE database = current_database() AND NOT temporary")!;
        var line = status.Stdout.Split('\n').Single(l => l.StartsWith("db ", StringComparison.Ordinal));
        Assert.Contains(slot, line);
        Assert.Contains("reserved", line);
        Assert.Matches(@" \d+(\.\d+)? (B|KB|MB) ", line); // the WAL the server keeps for the slot
        Assert.DoesNotContain("postgres-test", status.Stdout + status.Stderr); // no password, ever

        db.Execute("SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = current_database()");
        var missing = await CliProcess.RunAsync(h.Folder, env, "cdc", "status");
        Assert.Equal(1, missing.ExitCode);
        Assert.Contains("missing", missing.Stdout);
    }

    [Fact]
    public void Cdc_is_refused_for_kinds_without_a_log_at_its_line()
    {
        using var h = new PipelineHarness("  db:\n    kind: sqlite\n    path: x.db\n    mode: cdc\n    datasets: [item]");
        var e = Assert.Throws<Caudal.Spec.SpecException>(() => h.Spec);
        Assert.Contains("mode 'cdc' reads a database's log (PostgreSQL's WAL, MySQL/MariaDB's binlog) and is for kinds postgres and mysql", e.Message);
    }

    public void Dispose()
    {
        foreach (var o in _owned.AsEnumerable().Reverse()) o.Dispose();
    }
}
