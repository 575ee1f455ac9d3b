using Caudal.Lake;
using Caudal.Runs;
using Caudal.Tests.Support;
using MySqlConnector;

namespace Caudal.Tests.Capture;

/// <summary>The MySQL/MariaDB source against a real MariaDB server. Runs alone (<see cref="SerialCollection"/>): the
/// kill-mid-stream test must catch the capture's query in the server's process list, which other tests' load can hide.</summary>
[Collection(SerialCollection.Name)]
public sealed class MySqlSourceTests : IDisposable
{
    private readonly TestDatabase _db = TestDatabase.MySql();

    private PipelineHarness Harness(string datasets, string options = "") =>
        new PipelineHarness($"  db:\n    kind: mysql\n    connection: ${{env:DB}}\n    datasets: {datasets}\n{options}").WithEnv("DB", _db.ConnectionString);

    [Fact]
    public async Task Every_mysql_type_maps_exactly_and_nulls_stay_null()
    {
        _db.Execute("""
            CREATE TABLE t (
              id INT PRIMARY KEY, ti TINYINT, tu TINYINT UNSIGNED, su SMALLINT UNSIGNED, mi MEDIUMINT, bu BIGINT UNSIGNED,
              d52 DECIMAL(5,2), d65 DECIMAL(65,30), f FLOAT, db DOUBLE, dt DATE, dtm DATETIME(6), ts TIMESTAMP NULL, yr YEAR,
              tm TIME, c CHAR(3), v VARCHAR(20), tx TEXT, e ENUM('G','PG','NC-17'), s SET('Trailers','Commentaries'),
              b1 BIT(1), b8 BIT(8), bl BLOB, js JSON, g GEOMETRY, flag BOOLEAN);
            INSERT INTO t VALUES (1, -128, 255, 65535, -8388608, 18446744073709551615, 123.45, 1.5, 1.25, 2.5, '2006-02-15',
              '2005-05-24 22:53:30.123456', '2006-02-15 04:34:33', 2006, '-838:59:59', 'ab', 'Inegöl 🎬', 'long text', 'NC-17',
              'Trailers,Commentaries', b'1', b'10000001', X'89504E47', '{"a": [1, 2]}', ST_GeomFromText('POINT(1 2)'), TRUE);
            INSERT INTO t (id) VALUES (2);
            """);
        using var h = Harness("[t]");
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        var schema = (await DataLake.Open(h.Spec.Lake).Table(TableId.Parse("raw.db_t")).SnapshotAsync())!.Schema;
        string Type(string c) => schema.Find(c)!.Type;
        Assert.Equal(["integer", "byte", "short", "integer", "integer", "decimal(20,0)", "decimal(5,2)", "string", "float", "double", "date", "timestamp", "timestamp", "integer"],
            new[] { "id", "ti", "tu", "su", "mi", "bu", "d52", "d65", "f", "db", "dt", "dtm", "ts", "yr" }.Select(Type));
        Assert.Equal(["string", "string", "string", "string", "string", "string", "boolean", "decimal(20,0)", "binary", "string", "binary", "boolean"],
            new[] { "tm", "c", "v", "tx", "e", "s", "b1", "b8", "bl", "js", "g", "flag" }.Select(Type));

        var row = (await h.QueryAsync("""
            SELECT ti, tu, su, mi, bu, d52, d65, f, db, dt, strftime(dtm, '%Y-%m-%d %H:%M:%S.%f'), strftime(ts, '%Y-%m-%d %H:%M:%S'), yr, tm, c, v, tx, e, s,
                   b1, b8, hex(bl), js, hex(g), flag FROM raw.db_t WHERE id = 1
            """))[0];
        Assert.Equal("-128|255|65535|-8388608|18446744073709551615|123.45|1.500000000000000000000000000000|1.25|2.5|2006-02-15|2005-05-24 22:53:30.123456|" +
                     "2006-02-15 04:34:33|2006|-838:59:59|ab|Inegöl 🎬|long text|NC-17|Trailers,Commentaries|True|129|89504E47|{\"a\": [1, 2]}|" +
                     "0101000000000000000000F03F0000000000000040|True", LakeReader.Flat(row));
        var nulls = (await h.QueryAsync("SELECT count(*) FROM raw.db_t WHERE id = 2 AND COLUMNS(* EXCLUDE (id, _caudal_op, _caudal_run_id, _caudal_ingested_at, ingest_date)) IS NULL"))[0][0];
        Assert.Equal("1", nulls);
    }

    [Fact]
    public async Task Incremental_capture_reads_inserts_updates_and_late_rows_inside_the_lookback()
    {
        _db.Execute("""
            CREATE TABLE item (id INT PRIMARY KEY, name VARCHAR(20), last_update TIMESTAMP NOT NULL);
            INSERT INTO item VALUES (1, 'a', '2006-02-15 01:00:00'), (2, 'b', '2006-02-15 02:00:00'), (3, 'c', '2006-02-15 03:00:00'),
                                    (4, 'd', '2006-02-15 04:00:00'), (5, 'e', '2006-02-15 05:00:00');
            """);
        using var h = Harness("[item]", "    mode: incremental\n    cursor: last_update\n    lookback: 30m");
        var first = await h.RunAsync();
        Assert.True(first.Status == RunStatus.Succeeded, first.Error);
        Assert.Equal(5, first.Stages.Single().Rows);
        var snapshot = (await DataLake.Open(h.Spec.Lake).Table(TableId.Parse("raw.db_item")).SnapshotAsync())!;
        Assert.Equal(new DateTime(2006, 2, 15, 5, 0, 0, DateTimeKind.Utc), DateTime.UnixEpoch.AddTicks(snapshot.Txns["caudal:cursor:raw.db_item"] * 10));

        _db.Execute("""
            INSERT INTO item VALUES (6, 'f', '2026-11-28 10:00:00'), (7, 'g', '2026-11-28 10:00:01');
            UPDATE item SET name = 'c2', last_update = '2026-11-28 10:00:02' WHERE id = 3;
            UPDATE item SET name = 'b-late', last_update = '2006-02-15 04:45:00' WHERE id = 2;
            """);
        var second = await h.RunAsync();
        Assert.Equal(5, second.Stages.Single().Rows);
        var batch = await h.QueryAsync($"SELECT id, name FROM raw.db_item WHERE _caudal_run_id = '{second.RunId}' ORDER BY id");
        // 5 is re-read because the watermark is inclusive (rows committed in the same second are not missed).
        Assert.Equal(["2|b-late", "3|c2", "5|e", "6|f", "7|g"], batch.Select(LakeReader.Flat));
        var latest = await h.QueryAsync("SELECT id, name FROM raw.db_item QUALIFY row_number() OVER (PARTITION BY id ORDER BY _caudal_ingested_at DESC) = 1 ORDER BY id");
        Assert.Equal(["1|a", "2|b-late", "3|c2", "4|d", "5|e", "6|f", "7|g"], latest.Select(LakeReader.Flat));

        var third = await h.RunAsync(); // nothing changed: only the rows at the watermark's lookback are read again
        Assert.Equal(3, third.Stages.Single().Rows); // 6, 7 and 3 share the newest second-range within 30 minutes
    }

    [Fact]
    public async Task A_connection_killed_mid_stream_is_read_again_with_no_duplicates_or_loss()
    {
        _db.Execute("""
            CREATE TABLE big (id INT PRIMARY KEY, payload VARCHAR(40), at DATETIME);
            INSERT INTO big SELECT seq, concat('row-', seq, '-', repeat('x', 20)), '2006-02-15' + INTERVAL seq SECOND FROM seq_1_to_2000000;
            """);
        using var h = Harness("[big]", "    parallelism: 1"); // 2M rows: a read long enough (~2 s) to be caught mid-stream
        var run = h.RunAsync();
        var killed = await KillReaderAsync("SELECT `id`, `payload`, `at` FROM `big`");
        var record = await run;
        Assert.True(killed, $"the capture's query was never seen in the process list: {string.Join(" / ", _seen)}; run: {record.Status} {record.Error} {record.Stages.FirstOrDefault()?.Seconds}s");
        Assert.True(record.Status == RunStatus.Succeeded, record.Error);
        Assert.Equal(2_000_000, record.Stages.Single().Rows);
        var check = (await h.QueryAsync("SELECT count(*), count(DISTINCT id), sum(id) FROM raw.db_big"))[0];
        Assert.Equal("2000000|2000000|2000001000000", LakeReader.Flat(check));
    }

    [Fact]
    public async Task Rows_changed_while_key_ranges_are_read_in_parallel_are_captured_by_the_next_run()
    {
        // Two readers over 8 key ranges, while another session keeps updating rows all over the table. A row updated
        // after its range was read must not be lost because another range saw later rows: the next run gets it.
        _db.Execute("""
            CREATE TABLE hot (id INT PRIMARY KEY, v INT NOT NULL, last_update DATETIME(6) NOT NULL);
            INSERT INTO hot SELECT seq, 0, '2006-02-15' FROM seq_1_to_400000;
            """);
        using var h = Harness("[hot]", "    parallelism: 2\n    split_rows: 1000\n    mode: incremental\n    cursor: last_update");
        using var stop = new CancellationTokenSource();
        var updates = 0;
        var updater = Task.Run(async () =>
        {
            await using var c = new MySqlConnection(_db.ConnectionString);
            await c.OpenAsync();
            var random = new Random(7);
            while (!stop.IsCancellationRequested)
            {
                await using var update = new MySqlCommand($"UPDATE hot SET v = v + 1, last_update = NOW(6) WHERE id = {random.Next(1, 400_001)}", c);
                await update.ExecuteNonQueryAsync();
                updates++;
            }
        });
        var first = await h.RunAsync();
        await stop.CancelAsync();
        await updater;
        Assert.True(first.Status == RunStatus.Succeeded, first.Error);
        Assert.True(updates > 50, $"only {updates} updates ran during the capture");
        var second = await h.RunAsync();
        Assert.True(second.Status == RunStatus.Succeeded, second.Error);

        // Every row's newest captured version equals the table now.
        await using var server = new MySqlConnection(_db.ConnectionString);
        await server.OpenAsync();
        var expected = new Dictionary<string, string>();
        await using (var all = new MySqlCommand("SELECT id, v FROM hot WHERE v > 0", server))
        await using (var r = await all.ExecuteReaderAsync())
            while (await r.ReadAsync()) expected[r.GetInt32(0).ToString()] = r.GetInt32(1).ToString();
        var captured = (await h.QueryAsync("SELECT id, max(v) FROM raw.db_hot GROUP BY id HAVING max(v) > 0"))
            .ToDictionary(row => row[0]!, row => row[1]!);
        Assert.Equal(expected.Count, captured.Count);
        var missed = expected.Where(e => captured.GetValueOrDefault(e.Key) != e.Value).Select(e => $"{e.Key}: v={e.Value}, captured {captured.GetValueOrDefault(e.Key)}").ToList();
        Assert.True(missed.Count == 0, $"{missed.Count} of {expected.Count} updated rows missed: {string.Join("; ", missed.Take(5))}");
    }

    private readonly HashSet<string> _seen = [];

    private async Task<bool> KillReaderAsync(string fragment)
    {
        await using var admin = new MySqlConnection(_db.ConnectionString);
        await admin.OpenAsync();
        var deadline = DateTime.UtcNow.AddSeconds(60);
        while (DateTime.UtcNow < deadline)
        {
            await using (var all = new MySqlCommand("SELECT info FROM information_schema.processlist WHERE info IS NOT NULL", admin))
            await using (var r = await all.ExecuteReaderAsync())
                while (await r.ReadAsync()) _seen.Add(r.GetString(0));
            await using var find = new MySqlCommand(
                $"SELECT id FROM information_schema.processlist WHERE db = DATABASE() AND id <> CONNECTION_ID() AND command <> 'Sleep' " +
                $"AND (info IS NULL OR info LIKE '%{fragment}%')", admin);
            if (await find.ExecuteScalarAsync() is { } id)
            {
                await using var kill = new MySqlCommand($"KILL CONNECTION {id}", admin);
                try
                {
                    await kill.ExecuteNonQueryAsync();
                    return true;
                }
                catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.NoSuchThread)
                {
                    _seen.Add($"kill {id}: {e.Message}");
                    return false; // the read finished before the kill: the test proves nothing, fail it
                }
            }
            await Task.Delay(20);
        }
        return false;
    }

    [Fact]
    public async Task Connection_and_table_errors_name_the_source_and_dataset_and_other_datasets_still_commit()
    {
        _db.Execute("CREATE TABLE ok (id INT PRIMARY KEY); INSERT INTO ok VALUES (1), (2);");
        using var h = Harness("[ok, missing]");
        var run = await h.RunAsync();
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal(RunStatus.Succeeded, run.Stages.Single(s => s.Table == "raw.db_ok").Status);
        Assert.Equal("Source 'db', dataset 'missing': table 'missing' does not exist or is not visible to this user.",
            run.Stages.Single(s => s.Table == "raw.db_missing").Error);

        var wrongPassword = new MySqlConnectionStringBuilder(_db.ConnectionString) { Password = "wrong" }.ConnectionString;
        using var bad = new PipelineHarness("  db:\n    kind: mysql\n    connection: ${env:DB}\n    datasets: [ok]").WithEnv("DB", wrongPassword);
        var denied = (await bad.RunAsync()).Stages.Single();
        Assert.StartsWith("Source 'db': cannot connect: Access denied for user 'caudal'", denied.Error);

        var noHost = new MySqlConnectionStringBuilder(_db.ConnectionString) { Server = "no-such-host.invalid", ConnectionTimeout = 3 }.ConnectionString;
        using var unknown = new PipelineHarness("  db:\n    kind: mysql\n    connection: ${env:DB}\n    datasets: [ok]").WithEnv("DB", noHost);
        Assert.StartsWith("Source 'db': cannot connect: Unable to connect", (await unknown.RunAsync()).Stages.Single().Error);

        var reader = new MySqlConnectionStringBuilder(_db.ConnectionString) { UserID = "reader", Password = "reader-test" }.ConnectionString;
        using var noPrivilege = new PipelineHarness("  db:\n    kind: mysql\n    connection: ${env:DB}\n    datasets: [ok]").WithEnv("DB", reader);
        Assert.Contains("Access denied for user 'reader'", (await noPrivilege.RunAsync()).Stages.Single().Error);
    }

    [Fact]
    public async Task All_or_nothing_commits_no_dataset_when_one_fails()
    {
        _db.Execute("CREATE TABLE ok (id INT PRIMARY KEY); INSERT INTO ok VALUES (1);");
        using var h = Harness("[ok, missing]", "    all_or_nothing: true");
        var run = await h.RunAsync();
        Assert.Equal("not committed: raw.db_missing failed and source 'db' is all_or_nothing", run.Stages.Single(s => s.Table == "raw.db_ok").Error);
        Assert.Null(await DataLake.Open(h.Spec.Lake).Table(TableId.Parse("raw.db_ok")).SnapshotAsync());
    }

    [Fact]
    public async Task A_new_column_evolves_the_raw_schema_and_a_changed_type_is_reported()
    {
        _db.Execute("CREATE TABLE t (id INT PRIMARY KEY, n INT); INSERT INTO t VALUES (1, 10);");
        using var h = Harness("[t]");
        await h.RunAsync();
        _db.Execute("ALTER TABLE t ADD COLUMN note VARCHAR(10); INSERT INTO t VALUES (2, 20, 'new');");
        var evolved = await h.RunAsync();
        Assert.True(evolved.Status == RunStatus.Succeeded, evolved.Error);
        Assert.Equal(["1|10|NULL", "1|10|NULL", "2|20|new"], (await h.QueryAsync("SELECT id, n, note FROM raw.db_t ORDER BY id, note")).Select(LakeReader.Flat));

        _db.Execute("ALTER TABLE t MODIFY n VARCHAR(10)");
        var changed = (await h.RunAsync()).Stages.Single();
        Assert.Equal(RunStatus.Failed, changed.Status);
        Assert.Contains("column 'n' changed type from integer to string", changed.Error);
    }

    [SkippableFact]
    public async Task The_official_sakila_is_captured_with_its_row_counts_and_values()
    {
        var dir = Path.Combine(Quickstart.SharedData, "sakila", "mysql");
        Skip.IfNot(File.Exists(Path.Combine(dir, "sakila-data.sql")), $"{dir} is not present (extra test: runs where ../shared exists).");
        OfficialSakila.Load(_db, dir);
        using var h = Harness("\"*\"");
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        var rows = run.Stages.ToDictionary(s => s.Table, s => s.Rows);
        var official = OfficialSakila.Counts;
        Assert.Equal(official.OrderBy(k => k.Key).Select(k => $"raw.db_{k.Key}={k.Value}"), rows.OrderBy(k => k.Key).Select(k => $"{k.Key}={k.Value}"));
        foreach (var (table, sql, server) in OfficialSakila.Checks)
            Assert.Equal(Convert.ToString(_db.Scalar(server), System.Globalization.CultureInfo.InvariantCulture), (await h.QueryAsync(sql))[0][0]);
    }

    public void Dispose() => _db.Dispose();
}
