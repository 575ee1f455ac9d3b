using Caudal.Capture;
using Caudal.Capture.Sqlite;
using Caudal.Lake;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Sample;
using Caudal.Spec;
using Caudal.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Caudal.Tests.Capture;

public sealed class SqliteSourceTests : IDisposable
{
    private readonly TempDir _dir = new("sqlite");

    private PipelineSpec Spec(string db, string datasets = "\"*\"", string extra = "") => SpecLoader.Parse($"""
        version: 1
        lake: ./lake
        sources:
          src:
            kind: sqlite
            path: {db}
            datasets: {datasets}
        {extra}
        """, "caudal.yaml", _dir.Path);

    [Fact]
    public void Sakila_generator_matches_official_counts_and_is_deterministic()
    {
        var counts = SakilaGenerator.Generate(_dir.File("a.db"), 1).Rows;
        var official = OfficialSakila.Counts;
        Assert.Equal(official.OrderBy(k => k.Key), counts.OrderBy(k => k.Key));
        SakilaGenerator.Generate(_dir.File("b.db"), 1);
        Assert.Equal(Dump(_dir.File("a.db")), Dump(_dir.File("b.db")));
        Assert.Equal(160_440, SakilaGenerator.Generate(_dir.File("c.db"), 10).Rows["rental"]);
    }

    private static string Dump(string db)
    {
        using var c = new SqliteConnection($"Data Source={db};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT group_concat(rental_id || rental_date || inventory_id || customer_id || ifnull(return_date, '-'), ';') FROM rental";
        return (string)cmd.ExecuteScalar()!;
    }

    [Fact]
    public async Task Types_map_exactly_and_nulls_stay_null()
    {
        SakilaGenerator.Generate(_dir.File("s.db"), 0.05);
        var spec = Spec("s.db", "[film, payment, staff, address, rental]");
        var run = await new PipelineRunner(spec).RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        var lake = DataLake.Open(spec.Lake);
        var film = (await lake.Table(TableId.Parse("raw.src_film")).SnapshotAsync())!.Schema;
        Assert.Equal("decimal(4,2)", film.Find("rental_rate")!.Type);
        Assert.Equal("decimal(5,2)", film.Find("replacement_cost")!.Type);
        Assert.Equal("integer", film.Find("release_year")!.Type);
        Assert.Equal("string", film.Find("rating")!.Type);
        Assert.Equal("timestamp", film.Find("last_update")!.Type);
        Assert.Equal("date", film.Find("ingest_date")!.Type);
        var address = (await lake.Table(TableId.Parse("raw.src_address")).SnapshotAsync())!.Schema;
        Assert.Equal("binary", address.Find("location")!.Type);
        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        Assert.Equal("8|True|NULL", LakeReader.Flat(session.Query("SELECT octet_length(picture), active, NULL FROM raw.src_staff WHERE staff_id = 1").Rows[0]));
        Assert.Equal("NULL", LakeReader.Flat(session.Query("SELECT picture FROM raw.src_staff WHERE staff_id = 2").Rows[0]));
        Assert.Equal("21", session.Query("SELECT min(octet_length(location)) FROM raw.src_address").Rows[0][0]);
        var nullReturns = session.Query("SELECT count(*) FROM raw.src_rental WHERE return_date IS NULL").Rows[0][0];
        using var c = new SqliteConnection($"Data Source={_dir.File("s.db")};Mode=ReadOnly;Pooling=False");
        c.Open();
        using var cmd = c.CreateCommand();
        cmd.CommandText = "SELECT count(*) FROM rental WHERE return_date IS NULL";
        Assert.Equal(cmd.ExecuteScalar()!.ToString(), nullReturns);
        cmd.CommandText = "SELECT min(rental_date) || '+00' FROM rental"; // SQLite text timestamps are read as UTC
        Assert.Equal(cmd.ExecuteScalar()!.ToString(), session.Query("SELECT strftime(min(rental_date), '%Y-%m-%d %H:%M:%S+00') FROM raw.src_rental").Rows[0][0]);
    }

    [Fact]
    public async Task Large_tables_are_split_into_files_of_bounded_rows()
    {
        SakilaGenerator.Generate(_dir.File("s.db"), 0.5);
        var spec = Spec("s.db", "[rental]", "run:\n  rows_per_file: 2000");
        var run = await new PipelineRunner(spec).RunAsync();
        var stage = run.Stages.Single();
        Assert.Equal(8022, stage.Rows);
        Assert.Equal(5, stage.Files); // 4 full files of 2,000 rows and one of 22
        var snapshot = (await DataLake.Open(spec.Lake).Table(TableId.Parse("raw.src_rental")).SnapshotAsync())!;
        Assert.Equal([22L, 2000, 2000, 2000, 2000], snapshot.Files.Values.Select(f => f.NumRecords!.Value).Order());
    }

    [Fact]
    public async Task A_bad_value_fails_its_dataset_with_the_row_and_column_named_and_commits_nothing_for_it()
    {
        using (var c = new SqliteConnection($"Data Source={_dir.File("bad.db")};Pooling=False"))
        {
            c.Open();
            using var cmd = c.CreateCommand();
            cmd.CommandText = """
                CREATE TABLE good (id INTEGER, name TEXT);
                INSERT INTO good VALUES (1, 'a'), (2, 'b');
                CREATE TABLE bad (id INTEGER, at DATETIME);
                INSERT INTO bad VALUES (1, '2020-01-01 00:00:00'), (2, 'yesterday');
                """;
            cmd.ExecuteNonQuery();
        }
        var spec = Spec("bad.db");
        var run = await new PipelineRunner(spec).RunAsync();
        Assert.Equal(RunStatus.Failed, run.Status);
        var bad = run.Stages.Single(s => s.Table == "raw.src_bad");
        Assert.Equal("Source 'src', dataset 'bad', row 2, column 'at' (TIMESTAMP): 'yesterday' is not a timestamp (expected 'YYYY-MM-DD HH:MM:SS').", bad.Error);
        var lake = DataLake.Open(spec.Lake);
        Assert.Null(await lake.Table(TableId.Parse("raw.src_bad")).SnapshotAsync());
        Assert.Equal(2, (await lake.Table(TableId.Parse("raw.src_good")).SnapshotAsync())!.NumRecords);
        Assert.DoesNotContain(Directory.GetFiles(_dir.Path, "*.parquet", SearchOption.AllDirectories), f => f.Contains("src_bad"));
    }

    [Fact]
    public async Task A_missing_table_names_the_source_dataset_and_existing_tables()
    {
        SakilaGenerator.Generate(_dir.File("s.db"), 0.01);
        var run = await new PipelineRunner(Spec("s.db", "[actor, rentl]")).RunAsync();
        var stage = run.Stages.Single(s => s.Table == "raw.src_rentl");
        Assert.StartsWith("Source 'src', dataset 'rentl': table 'rentl' does not exist", stage.Error);
        Assert.EndsWith("(did you mean 'rental'?).", stage.Error);
        Assert.Equal(RunStatus.Succeeded, run.Stages.Single(s => s.Table == "raw.src_actor").Status);
    }

    [Fact]
    public async Task A_text_cursor_holding_sqlite_times_reads_incrementally_and_other_text_is_refused_by_row()
    {
        void Sql(string sql)
        {
            using var connection = new SqliteConnection($"Data Source={_dir.File("t.db")};Pooling=false");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = sql;
            command.ExecuteNonQuery();
        }
        Sql("CREATE TABLE orders (id INTEGER PRIMARY KEY, changed TEXT NOT NULL); " +
            "INSERT INTO orders VALUES (1, '2026-01-01 00:00:01'), (2, '2026-01-01 00:00:02')");
        var spec = Spec("t.db", "[orders]", "    mode: incremental\n    cursor: changed");
        var first = await new PipelineRunner(spec).RunAsync();
        Assert.True(first.Status == RunStatus.Succeeded, first.Stages[0].Error);
        Assert.Equal(2, first.Stages[0].Rows);
        Sql("INSERT INTO orders VALUES (3, '2026-01-01 00:00:03.5')");
        var second = await new PipelineRunner(spec).RunAsync();
        Assert.True(second.Status == RunStatus.Succeeded, second.Stages[0].Error);
        using (var session = await Caudal.Processing.QuerySession.OpenAsync(spec))
            Assert.Equal("2,3", string.Join(",", session.Query($"SELECT id FROM raw.src_orders WHERE _caudal_run_id = '{second.RunId}' ORDER BY id").Rows.Select(r => r[0])));

        Sql("INSERT INTO orders VALUES (4, '2026-01-01T00:00:04')"); // sorts after every canonical time of that day
        var third = await new PipelineRunner(spec).RunAsync();
        Assert.Equal(RunStatus.Failed, third.Status);
        Assert.Contains("cursor 'changed' value '2026-01-01T00:00:04' is not in SQLite's canonical", third.Stages[0].Error);
    }

    [Fact]
    public async Task Large_tables_are_read_in_key_ranges_over_several_connections_and_incrementally()
    {
        var rows = SakilaGenerator.Generate(_dir.File("k.db"), 0.1).Rows["rental"];
        var spec = Spec("k.db", "[rental]", "    mode: incremental\n    cursor: last_update\n    parallelism: 3\n    split_rows: 100");
        var run = await new PipelineRunner(spec).RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Stages[0].Error);
        Assert.True(run.Stages[0].Files >= 12, $"{run.Stages[0].Files} files: one per key range expected (3 readers x 4 ranges)");
        using (var session = await Caudal.Processing.QuerySession.OpenAsync(spec))
            Assert.Equal($"{rows}|{rows}", LakeReader.Flat(session.Query("SELECT count(*), count(DISTINCT rental_id) FROM raw.src_rental").Rows[0]));

        // Every generated rental has the same last_update, so the next run reads them all again (the watermark is
        // inclusive); from then on only the rows changed after it, compared as SQLite text times.
        void Change(string ids, string at)
        {
            using var connection = new SqliteConnection($"Data Source={_dir.File("k.db")};Pooling=false");
            connection.Open();
            using var command = connection.CreateCommand();
            command.CommandText = $"UPDATE rental SET return_date = NULL, last_update = '{at}' WHERE rental_id IN ({ids})";
            command.ExecuteNonQuery();
        }
        Change("5, 700", "2030-01-01 00:00:00");
        Assert.Equal(rows, (await new PipelineRunner(spec).RunAsync()).Stages[0].Rows);
        Change("9", "2030-01-01 00:00:00.5");
        var third = await new PipelineRunner(spec).RunAsync();
        Assert.True(third.Status == RunStatus.Succeeded, third.Stages[0].Error);
        using var after = await Caudal.Processing.QuerySession.OpenAsync(spec);
        Assert.Equal("5,9,700", string.Join(",", after.Query($"SELECT rental_id FROM raw.src_rental WHERE _caudal_run_id = '{third.RunId}' ORDER BY rental_id").Rows.Select(r => r[0])));
    }

    [SkippableFact]
    public async Task The_shared_official_sqlite_sakila_is_captured_with_its_row_counts()
    {
        var shared = Path.Combine(Quickstart.SharedData, "sakila", "sqlite", "sakila.db");
        Skip.IfNot(File.Exists(shared), $"{shared} is not present (extra test: runs where ../shared exists, or set CAUDAL_SHARED_DIR).");
        File.Copy(shared, _dir.File("official.db"));
        var spec = Spec("official.db");
        var run = await new PipelineRunner(spec).RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        var rows = run.Stages.ToDictionary(s => s.Table, s => s.Rows);
        Assert.Equal(16049, rows["raw.src_payment"]); // the SQLite port keeps the five pre-1.3 payments
        Assert.Equal(16044, rows["raw.src_rental"]);
        Assert.Equal(5462, rows["raw.src_film_actor"]);
        Assert.Equal(109, rows["raw.src_country"]);
        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        Assert.Equal("67416.51", session.Query("SELECT sum(amount) FROM raw.src_payment").Rows[0][0]);
    }

    public void Dispose() => _dir.Dispose();
}
