using Caudal.Lake;
using Caudal.Runs;
using Caudal.Tests.Support;
using Npgsql;

namespace Caudal.Tests.Capture;

/// <summary>The PostgreSQL source (binary COPY) against a real PostgreSQL server (run alone, like the MySQL tests).</summary>
[Collection(SerialCollection.Name)]
public sealed class PostgresSourceTests : IDisposable
{
    private readonly TestDatabase _db = TestDatabase.Postgres();

    private PipelineHarness Harness(string datasets, string options = "") =>
        new PipelineHarness($"  pg:\n    kind: postgres\n    connection: ${{env:PG}}\n    datasets: {datasets}\n{options}").WithEnv("PG", _db.ConnectionString);

    [Fact]
    public async Task Parallel_key_ranges_read_one_snapshot_of_a_table_being_written()
    {
        // Another session keeps moving one unit between two random rows, so the column always sums to 0. Ranges read
        // at different moments would see some moves half (one side before, the other after); one shared snapshot cannot.
        _db.Execute("CREATE TABLE ledger (id INT PRIMARY KEY, v INT NOT NULL); INSERT INTO ledger SELECT g, 0 FROM generate_series(1, 400000) g;");
        using var h = Harness("[ledger]", "    parallelism: 2\n    split_rows: 1000");
        using var stop = new CancellationTokenSource();
        var moves = 0;
        var mover = Task.Run(async () =>
        {
            await using var c = new NpgsqlConnection(_db.ConnectionString);
            await c.OpenAsync();
            var random = new Random(7);
            while (!stop.IsCancellationRequested)
            {
                var (from, to) = (random.Next(1, 400_001), random.Next(1, 400_001));
                await using var move = new NpgsqlCommand($"UPDATE ledger SET v = v + CASE id WHEN {from} THEN -1 ELSE 1 END WHERE id IN ({from}, {to}) AND {from} <> {to}", c);
                await move.ExecuteNonQueryAsync();
                moves++;
            }
        });
        var run = await h.RunAsync();
        await stop.CancelAsync();
        await mover;
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        Assert.True(moves > 50, $"only {moves} moves ran during the capture");
        var captured = (await h.QueryAsync("SELECT count(*), sum(v), count(*) FILTER (v <> 0) FROM raw.pg_ledger"))[0];
        Assert.Equal("400000", captured[0]);
        Assert.True(captured[1] == "0", $"the captured rows sum to {captured[1]} ({captured[2]} rows moved): not one snapshot");
        Assert.NotEqual("0", captured[2]); // moves happened before the snapshot was taken
    }

    [Fact]
    public async Task Every_postgres_type_maps_exactly_and_nulls_stay_null()
    {
        _db.Execute("""
            CREATE TYPE mpaa_rating AS ENUM ('G', 'PG', 'PG-13', 'R', 'NC-17');
            CREATE DOMAIN year AS integer CHECK (VALUE >= 1901 AND VALUE <= 2155);
            CREATE TABLE t (
              id int PRIMARY KEY, s smallint, b bigint, n52 numeric(5,2), n numeric, r real, d double precision, ok boolean,
              tx text, vc varchar(20), ch char(3), dt date, ts timestamp(6), tz timestamptz, tm time, iv interval, by bytea,
              u uuid, j json, jb jsonb, ta text[], ia int[], rating mpaa_rating, yr year);
            INSERT INTO t VALUES (1, -32768, 9223372036854775807, 123.45, 1.000000000000000000000000000000000000000001, 1.25, 2.5, true,
              'Inegöl 🎬', 'v', 'ab', '2006-02-15', '2005-05-24 22:53:30.123456', '2006-02-15 04:34:33+02', '23:59:59', '1 day 2 hours',
              '\x89504e47', 'a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11', '{"a": 1}', '{"b": [1, 2]}', '{Trailers,"Deleted Scenes"}', '{1,NULL,3}', 'NC-17', 2006);
            INSERT INTO t (id) VALUES (2);
            """);
        using var h = Harness("[t]");
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        var schema = (await DataLake.Open(h.Spec.Lake).Table(TableId.Parse("raw.pg_t")).SnapshotAsync())!.Schema;
        Assert.Equal(["integer", "short", "long", "decimal(5,2)", "string", "float", "double", "boolean", "string", "string", "string", "date",
                "timestamp", "timestamp", "string", "string", "binary", "string", "string", "string"],
            new[] { "id", "s", "b", "n52", "n", "r", "d", "ok", "tx", "vc", "ch", "dt", "ts", "tz", "tm", "iv", "by", "u", "j", "jb" }.Select(c => schema.Find(c)!.Type));
        Assert.Contains("\"elementType\":\"string\"", schema.Find("ta")!.Type);
        Assert.Contains("\"elementType\":\"long\"", schema.Find("ia")!.Type);
        Assert.Equal("string", schema.Find("rating")!.Type);
        Assert.Equal("integer", schema.Find("yr")!.Type);

        var row = (await h.QueryAsync("""
            SELECT s, b, n52, n, r, d, ok, tx, vc, ch, dt, strftime(ts, '%Y-%m-%d %H:%M:%S.%f'), strftime(tz, '%Y-%m-%d %H:%M:%S'), tm, iv, hex("by"), u, j, jb,
                   array_to_string(ta, '|'), array_to_string(list_transform(ia, x -> coalesce(CAST(x AS VARCHAR), 'null')), '|'), rating, yr
            FROM raw.pg_t WHERE id = 1
            """))[0];
        Assert.Equal("-32768|9223372036854775807|123.45|1.000000000000000000000000000000000000000001|1.25|2.5|True|Inegöl 🎬|v|ab |2006-02-15|" +
                     "2005-05-24 22:53:30.123456|2006-02-15 02:34:33|23:59:59|1 day 02:00:00|89504E47|a0eebc99-9c0b-4ef8-bb6d-6bb9bd380a11|{\"a\": 1}|" +
                     "{\"b\": [1, 2]}|Trailers|Deleted Scenes|1|null|3|NC-17|2006", LakeReader.Flat(row));
        var nulls = (await h.QueryAsync("SELECT count(*) FROM raw.pg_t WHERE id = 2 AND COLUMNS(* EXCLUDE (id, _caudal_op, _caudal_run_id, _caudal_ingested_at, ingest_date)) IS NULL"))[0][0];
        Assert.Equal("1", nulls);
    }

    [Fact]
    public async Task Incremental_capture_reads_only_changed_rows_and_large_tables_split_into_ranges()
    {
        _db.Execute("""
            CREATE TABLE item (id int PRIMARY KEY, name text, last_update timestamp NOT NULL);
            INSERT INTO item SELECT g, 'n' || g, '2006-02-15'::timestamp + g * interval '1 second' FROM generate_series(1, 20000) g;
            """);
        using var h = Harness("[item]", "    mode: incremental\n    cursor: last_update\n    lookback: 0s\n    parallelism: 3\n    split_rows: 1000");
        var first = await h.RunAsync();
        Assert.True(first.Status == RunStatus.Succeeded, first.Error);
        Assert.Equal(20000, first.Stages.Single().Rows);
        Assert.True(first.Stages.Single().Files >= 3, $"expected one file per key range at least, got {first.Stages.Single().Files}");

        _db.Execute("UPDATE item SET name = 'changed', last_update = '2026-01-01' WHERE id IN (7, 19000); INSERT INTO item VALUES (20001, 'new', '2026-01-02');");
        var second = await h.RunAsync();
        var batch = await h.QueryAsync($"SELECT id, name FROM raw.pg_item WHERE _caudal_run_id = '{second.RunId}' ORDER BY id");
        // 20000 holds the old watermark exactly: the inclusive watermark reads it again (deduplicated downstream by key).
        Assert.Equal(["7|changed", "19000|changed", "20000|n20000", "20001|new"], batch.Select(LakeReader.Flat));
        var totals = (await h.QueryAsync("SELECT count(*), count(DISTINCT id) FROM raw.pg_item"))[0];
        Assert.Equal("20004|20001", LakeReader.Flat(totals));
    }

    [Fact]
    public async Task A_backend_terminated_mid_stream_is_read_again_exactly()
    {
        _db.Execute("""
            CREATE TABLE big (id int PRIMARY KEY, payload text);
            INSERT INTO big SELECT g, repeat('x', 30) || g FROM generate_series(1, 1000000) g;
            """);
        using var h = Harness("[big]", "    parallelism: 1");
        var killed = false;
        Task<RunRecord> run;
        // The watcher is connected before the run starts: opening it after let a fast run finish unseen.
        await using (var admin = new NpgsqlConnection(_db.ConnectionString))
        {
            await admin.OpenAsync();
            run = h.RunAsync();
            for (var i = 0; i < 3000 && !killed && !run.IsCompleted; i++)
            {
                await using var kill = new NpgsqlCommand(
                    "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE query LIKE 'COPY (SELECT%big%' AND pid <> pg_backend_pid()", admin);
                killed = await kill.ExecuteScalarAsync() is true;
                if (!killed) await Task.Delay(10);
            }
        }
        var record = await run;
        Assert.True(killed, $"the COPY was never seen in pg_stat_activity; the run {record.Status}: {string.Join("; ", record.Stages.Select(s => s.Error))}");
        Assert.True(record.Status == RunStatus.Succeeded, record.Error);
        var check = (await h.QueryAsync("SELECT count(*), count(DISTINCT id) FROM raw.pg_big"))[0];
        Assert.Equal("1000000|1000000", LakeReader.Flat(check));
    }

    [Fact]
    public async Task A_wrong_password_and_a_missing_table_are_named()
    {
        _db.Execute("CREATE TABLE ok (id int PRIMARY KEY); INSERT INTO ok VALUES (1);");
        using var h = Harness("[ok, nope]");
        var run = await h.RunAsync();
        Assert.Equal(RunStatus.Succeeded, run.Stages.Single(s => s.Table == "raw.pg_ok").Status);
        Assert.Equal("Source 'pg', dataset 'nope': table 'nope' does not exist or is not visible to this user.", run.Stages.Single(s => s.Table == "raw.pg_nope").Error);

        var wrong = new NpgsqlConnectionStringBuilder(_db.ConnectionString) { Password = "wrong" }.ConnectionString;
        using var bad = new PipelineHarness("  pg:\n    kind: postgres\n    connection: ${env:PG}\n    datasets: [ok]").WithEnv("PG", wrong);
        Assert.StartsWith("Source 'pg': cannot connect: 28P01: password authentication failed", (await bad.RunAsync()).Stages.Single().Error);
    }

    public void Dispose() => _db.Dispose();
}
