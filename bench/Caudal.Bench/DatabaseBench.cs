using System.Diagnostics;
using Caudal.Lake;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Spec;
using MySqlConnector;
using Npgsql;

namespace Caudal.Bench;

/// <summary>
/// Capturing a table in Sakila's rental shape from MariaDB or PostgreSQL into the raw zone, against the server's own
/// drain limit measured in the same run: `mariadb --quick --batch -e "SELECT * FROM t" > /dev/null`, or
/// `psql -c "COPY t TO STDOUT" > /dev/null`. Needs the servers of scripts/services.sh (CAUDAL_TEST_MYSQL / _POSTGRES).
/// </summary>
internal static class DatabaseBench
{
    /// <param name="baseline">Another build's CLI (e.g. the previous commit's <c>.build/cli/Caudal.Cli.dll</c> copied
    /// aside): each round also captures with it, in alternating order, for an A/B measured in the same run.</param>
    public static async Task RunAsync(string work, string kind, int rows, int parallelism, int rounds, bool fresh, string? baseline = null)
    {
        var server = Environment.GetEnvironmentVariable(kind == "mysql" ? "CAUDAL_TEST_MYSQL" : "CAUDAL_TEST_POSTGRES")
            ?? throw new InvalidOperationException("start the servers first: source scripts/services.sh");
        var connection = kind == "mysql" ? PrepareMySql(server, rows) : PreparePostgres(server, rows);

        var folder = Path.Combine(work, "db-" + kind);
        var parallelismLine = parallelism > 0 ? $"\n    parallelism: {parallelism}" : ""; // else the source's default
        var yaml = $"""
            version: 1
            lake: ./lake
            sources:
              db:
                kind: {kind}
                connection: ${"{"}env:BENCH_DB{"}"}{parallelismLine}
                datasets: [rental_big]
            """;
        var spec = SpecLoader.Parse(yaml, "bench.yaml", folder, new Dictionary<string, string?> { ["BENCH_DB"] = connection });
        var cli = FreshRun.Cli();
        if (fresh) Console.WriteLine($"{kind}: each round is a fresh `{FreshRun.Command(cli)} run --spec {folder}/caudal.yaml` (wall time from start to exit) vs {DrainCommand(kind)}");

        // Rounds alternate which goes first; medians, since the server shares the machine's cores.
        var drains = new List<double>();
        var captures = new List<double>();
        var cpu = new List<double>();
        var peaks = new List<long>();
        var baselines = new List<FreshRun.Result>();
        StageRecord? stage = null;
        async Task<FreshRun.Result> FreshCaptureAsync(string build)
        {
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            Directory.CreateDirectory(folder);
            File.WriteAllText(Path.Combine(folder, "caudal.yaml"), yaml);
            var result = await FreshRun.RunAsync(build, folder, ["run", "--spec", "caudal.yaml"], new Dictionary<string, string> { ["BENCH_DB"] = connection });
            var captured = (await new RunStore(DataLake.Open(spec.Lake).Store).ListAsync()).Single().Stages.Single().Rows;
            if (captured != rows) throw new InvalidOperationException($"{build} captured {captured} rows, expected {rows}");
            return result;
        }
        for (var round = 0; round < rounds; round++)
        {
            if (round % 2 == 1) drains.Add(Time(() => Drain(kind, server)));
            if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
            Directory.CreateDirectory(folder);
            if (fresh)
            {
                if (baseline != null && round % 2 == 1) baselines.Add(await FreshCaptureAsync(baseline));
                var child = await FreshCaptureAsync(cli);
                captures.Add(child.Seconds);
                cpu.Add(child.CpuSeconds);
                peaks.Add(child.PeakRssMb);
                stage = (await new RunStore(DataLake.Open(spec.Lake).Store).ListAsync()).Single().Stages.Single();
                if (baseline != null && round % 2 == 0) baselines.Add(await FreshCaptureAsync(baseline));
            }
            else
            {
                var cpuBefore = Process.GetCurrentProcess().TotalProcessorTime;
                var capture = Stopwatch.StartNew();
                var run = await new PipelineRunner(spec).RunAsync();
                captures.Add(capture.Elapsed.TotalSeconds);
                cpu.Add((Process.GetCurrentProcess().TotalProcessorTime - cpuBefore).TotalSeconds);
                if (run.Status != RunStatus.Succeeded) throw new InvalidOperationException(run.Error);
                stage = run.Stages.Single();
            }
            if (stage.Rows != rows) throw new InvalidOperationException($"captured {stage.Rows} rows, expected {rows}");
            if (round % 2 == 0) drains.Add(Time(() => Drain(kind, server)));
        }

        var (d, c) = (Rounds.Median(drains), Rounds.Median(captures));
        var how = fresh ? "fresh `caudal run` processes" : "warm, in this process";
        Console.WriteLine($"{kind}: {rows:N0} rows; drain limit {rows / d:N0} rows/s ({d:F2}s), " +
                          $"caudal ({how}) {rows / c:N0} rows/s ({c:F2}s, parallelism {(parallelism > 0 ? parallelism : "default")}); ratio {d / c:F2} (medians of {rounds}); " +
                          $"peak RSS {(fresh ? peaks.Max() : PeakRss.Mb())} MB; {stage!.Files} files, {stage.Bytes / 1024.0 / 1024:F0} MB of Parquet");
        Console.WriteLine($"{kind}: rounds drain [{string.Join(", ", drains.Select(x => x.ToString("F2")))}] s, " +
                          $"caudal [{string.Join(", ", captures.Select(x => x.ToString("F2")))}] s; per-round ratios [{string.Join(", ", drains.Zip(captures).Select(p => (p.First / p.Second).ToString("F2")))}]; " +
                          $"caudal's own CPU per row {Rounds.Median(cpu) / rows * 1e6:F2} µs (median; the server's CPU is not counted)");
        if (baselines.Count > 0)
        {
            var b = Rounds.Median(baselines.Select(x => x.Seconds).ToList());
            Console.WriteLine($"{kind}: baseline {baseline}: {b:F2}s, ratio to the drain {d / b:F2}, CPU per row {Rounds.Median(baselines.Select(x => x.CpuSeconds).ToList()) / rows * 1e6:F2} µs, " +
                              $"peak RSS {baselines.Max(x => x.PeakRssMb)} MB; rounds [{string.Join(", ", baselines.Select(x => x.Seconds.ToString("F2")))}] s; " +
                              $"this build / baseline {c / b:F3} (below 1: this build is faster)");
        }
    }

    private static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }

    internal static string PrepareMySql(string server, int rows)
    {
        var db = new MySqlConnectionStringBuilder(server) { Database = "caudal_bench", DefaultCommandTimeout = 3600 };
        using var c = new MySqlConnection(new MySqlConnectionStringBuilder(server) { DefaultCommandTimeout = 3600 }.ConnectionString);
        c.Open();
        Exec(c, "CREATE DATABASE IF NOT EXISTS caudal_bench");
        c.ChangeDatabase("caudal_bench");
        if (Count(c, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'caudal_bench' AND table_name = 'rental_big'") == 0 ||
            Count(c, "SELECT count(*) FROM rental_big") != rows)
        {
            var clock = Stopwatch.StartNew();
            Exec(c, """
                DROP TABLE IF EXISTS rental_big;
                CREATE TABLE rental_big (
                  rental_id INT NOT NULL PRIMARY KEY, rental_date DATETIME NOT NULL, inventory_id MEDIUMINT UNSIGNED NOT NULL,
                  customer_id SMALLINT UNSIGNED NOT NULL, return_date DATETIME DEFAULT NULL, staff_id TINYINT UNSIGNED NOT NULL,
                  last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP) ENGINE=InnoDB;
                """);
            Exec(c, MySqlRows(rows, "true"));
            Console.WriteLine($"mysql: loaded {rows:N0} rows into caudal_bench.rental_big in {clock.Elapsed.TotalSeconds:F0}s");
        }
        return db.ConnectionString;
    }

    internal static string PreparePostgres(string server, int rows)
    {
        var admin = new NpgsqlConnectionStringBuilder(server) { Pooling = false, CommandTimeout = 3600 };
        using (var c = new NpgsqlConnection(admin.ConnectionString))
        {
            c.Open();
            using var exists = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = 'caudal_bench'", c);
            if ((long)exists.ExecuteScalar()! == 0)
                using (var create = new NpgsqlCommand("CREATE DATABASE caudal_bench", c)) create.ExecuteNonQuery();
        }
        var db = new NpgsqlConnectionStringBuilder(admin.ConnectionString) { Database = "caudal_bench" };
        using var d = new NpgsqlConnection(db.ConnectionString);
        d.Open();
        using var hasTable = new NpgsqlCommand("SELECT to_regclass('rental_big') IS NOT NULL", d);
        var present = (bool)hasTable.ExecuteScalar()!;
        using var count = new NpgsqlCommand("SELECT count(*) FROM rental_big", d);
        if (!present || (long)count.ExecuteScalar()! != rows)
        {
            var clock = Stopwatch.StartNew();
            using var load = new NpgsqlCommand($"""
                DROP TABLE IF EXISTS rental_big;
                CREATE TABLE rental_big (
                  rental_id int PRIMARY KEY, rental_date timestamp NOT NULL, inventory_id int NOT NULL, customer_id smallint NOT NULL,
                  return_date timestamp, staff_id smallint NOT NULL, last_update timestamp NOT NULL DEFAULT now());
                {PostgresRows(rows, "true")};
                """, d);
            load.ExecuteNonQuery();
            using (var vacuum = new NpgsqlCommand("VACUUM ANALYZE rental_big", d)) vacuum.ExecuteNonQuery();
            Console.WriteLine($"postgres: loaded {rows:N0} rows into caudal_bench.rental_big in {clock.Elapsed.TotalSeconds:F0}s");
        }
        return db.ConnectionString;
    }

    /// <summary>Inserts the rows of <c>rental_big</c> (1..rows) whose id matches <paramref name="where"/> (on <c>seq</c>).</summary>
    internal static string MySqlRows(int rows, string where) => $"""
        INSERT INTO rental_big
        SELECT seq, '2005-05-24 22:53:30' + INTERVAL (seq MOD 23000000) SECOND, 1 + seq MOD 4581, 1 + seq MOD 599,
               IF(seq MOD 88 = 0, NULL, '2005-05-26 22:04:30' + INTERVAL (seq MOD 23000000) SECOND), 1 + seq MOD 2, '2006-02-15 21:30:53'
        FROM seq_1_to_{rows} WHERE {where}
        """;

    /// <summary>Inserts the rows of <c>rental_big</c> (1..rows) whose id matches <paramref name="where"/> (on <c>g</c>).</summary>
    internal static string PostgresRows(int rows, string where) => $"""
        INSERT INTO rental_big
        SELECT g, '2005-05-24 22:53:30'::timestamp + (g % 23000000) * interval '1 second', 1 + g % 4581, 1 + g % 599,
               CASE WHEN g % 88 = 0 THEN NULL ELSE '2005-05-26 22:04:30'::timestamp + (g % 23000000) * interval '1 second' END,
               1 + g % 2, '2006-02-15 21:30:53'
        FROM generate_series(1, {rows}) g WHERE {where}
        """;

    private static string DrainCommand(string kind) => kind == "mysql"
        ? "`mariadb --quick --batch -e 'SELECT * FROM rental_big' > /dev/null`"
        : "`psql -c 'COPY rental_big TO STDOUT' > /dev/null`";

    /// <summary>The server's own client reading every row and throwing it away: the drain limit.</summary>
    private static void Drain(string kind, string server)
    {
        ProcessStartInfo start;
        if (kind == "mysql")
        {
            var b = new MySqlConnectionStringBuilder(server);
            start = new ProcessStartInfo("bash", ["-c", $"mariadb --quick --batch -h {b.Server} -P {b.Port} -u {b.UserID} -p\"$BENCH_PW\" caudal_bench -e 'SELECT * FROM rental_big' > /dev/null"]);
            start.Environment["BENCH_PW"] = b.Password;
        }
        else
        {
            var b = new NpgsqlConnectionStringBuilder(server);
            start = new ProcessStartInfo("bash", ["-c", $"psql -h {b.Host} -p {b.Port} -U {b.Username} -d caudal_bench -c 'COPY rental_big TO STDOUT' > /dev/null"]);
            start.Environment["PGPASSWORD"] = b.Password;
        }
        using var p = Process.Start(start)!;
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"the {kind} drain command failed ({p.ExitCode})");
    }

    private static void Exec(MySqlConnection c, string sql)
    {
        using var cmd = new MySqlCommand(sql, c);
        cmd.ExecuteNonQuery();
    }

    private static long Count(MySqlConnection c, string sql)
    {
        using var cmd = new MySqlCommand(sql, c);
        return Convert.ToInt64(cmd.ExecuteScalar());
    }
}
