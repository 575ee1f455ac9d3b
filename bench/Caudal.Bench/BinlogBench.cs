using System.Diagnostics;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Spec;
using MySqlConnector;

namespace Caudal.Bench;

/// <summary>
/// Reading MariaDB's binlog (issue 22: the cdc mode reads 1M changed rows at ≥ 0.8× the rate of the server's own tool).
/// Each round writes the changes (1M rows inserted into a table in Sakila's rental shape, then, next round, 1M updated),
/// noting the binlog's end before and after, then reads them three times, in alternating order:
/// `mariadb-binlog --read-from-remote-server --start-position <before> --stop-position <after> <files> > /dev/null`
/// (the events copied out as base64, no row decoded), the same with `--base64-output=decode-rows --verbose` (every row
/// decoded to its values, as Caudal must), and Caudal's capture (its stage time: the binlog read and decoded, the
/// spill, the Parquet files and the commit).
/// </summary>
internal static class BinlogBench
{
    public static async Task RunAsync(string work, int rows, int rounds)
    {
        var server = Environment.GetEnvironmentVariable("CAUDAL_TEST_MYSQL") ?? throw new InvalidOperationException("start the servers first: source scripts/services.sh");
        var admin = new MySqlConnectionStringBuilder(server) { Pooling = false, DefaultCommandTimeout = 3600 };
        Execute(admin.ConnectionString, "DROP DATABASE IF EXISTS caudal_binlog_bench; CREATE DATABASE caudal_binlog_bench");
        var db = new MySqlConnectionStringBuilder(admin.ConnectionString) { Database = "caudal_binlog_bench" }.ConnectionString;
        Execute(db, """
            CREATE TABLE rental_changes (
              rental_id INT PRIMARY KEY, rental_date DATETIME NOT NULL, inventory_id MEDIUMINT UNSIGNED NOT NULL, customer_id SMALLINT UNSIGNED NOT NULL,
              return_date DATETIME, staff_id TINYINT UNSIGNED NOT NULL, last_update TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)
            """);
        var folder = Path.Combine(work, "binlog");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        var spec = SpecLoader.Parse("""
            version: 1
            lake: ./lake
            sources:
              db:
                kind: mysql
                connection: ${env:BENCH_DB}
                mode: cdc
                datasets: [rental_changes]
            """, "bench.yaml", folder, new Dictionary<string, string?> { ["BENCH_DB"] = db });
        await CaptureAsync(spec); // the (empty) snapshot: the table's position

        List<double> reference = [], decoded = [], caudal = [];
        for (var round = 0; round < rounds; round++)
        {
            var before = Status(db);
            Execute(db, round % 2 == 0
                ? $"""
                  INSERT INTO rental_changes
                  SELECT seq, TIMESTAMP '2005-05-24 22:53:30' + INTERVAL seq SECOND, 1 + seq % 4581, 1 + seq % 599,
                         CASE WHEN seq % 88 = 0 THEN NULL ELSE TIMESTAMP '2005-05-26 22:04:30' + INTERVAL seq SECOND END, 1 + seq % 2, NOW()
                  FROM seq_1_to_{rows}
                  """
                : "UPDATE rental_changes SET return_date = coalesce(return_date, rental_date) + INTERVAL 1 HOUR, last_update = NOW()");
            var after = Status(db);
            double Reference() => Time(() => Dump(db, before, after, decode: false));
            double Decoded() => Time(() => Dump(db, before, after, decode: true));
            async Task<double> Caudal()
            {
                var stage = await CaptureAsync(spec);
                if (stage.Rows != rows) throw new InvalidOperationException($"round {round}: caudal read {stage.Rows} changes, expected {rows} ({string.Join("; ", stage.Warnings)})");
                return stage.Seconds;
            }
            if (round % 2 == 0)
            {
                reference.Add(Reference());
                decoded.Add(Decoded());
                caudal.Add(await Caudal());
            }
            else
            {
                caudal.Add(await Caudal());
                decoded.Add(Decoded());
                reference.Add(Reference());
            }
            if (round % 2 == 1) Execute(db, "DELETE FROM rental_changes"); // the next round inserts again (read by the next capture, not timed)
            if (round % 2 == 1) await CaptureAsync(spec);
        }
        var (r, d, c) = (Rounds.Median(reference), Rounds.Median(decoded), Rounds.Median(caudal));
        string List(List<double> times) => string.Join(", ", times.Select(x => x.ToString("F2")));
        Console.WriteLine($"cdc (mariadb): {rows:N0} changed rows a round (inserts, then updates, then inserts); " +
                          $"mariadb-binlog {rows / r:N0} rows/s ({r:F2}s, events copied, no row decoded), mariadb-binlog -v {rows / d:N0} rows/s ({d:F2}s, rows decoded), " +
                          $"caudal {rows / c:N0} rows/s ({c:F2}s, the capture stage: binlog read and decoded, spill, Parquet, commit); " +
                          $"ratio {r / c:F2} against the copy, {d / c:F2} against the decoding (medians of {rounds}); " +
                          $"rounds mariadb-binlog [{List(reference)}], -v [{List(decoded)}], caudal [{List(caudal)}]; peak RSS {PeakRss.Mb()} MB");
        Execute(admin.ConnectionString, "DROP DATABASE IF EXISTS caudal_binlog_bench");
    }

    private static async Task<StageRecord> CaptureAsync(PipelineSpec spec)
    {
        var run = await new PipelineRunner(spec).RunAsync();
        if (run.Status != RunStatus.Succeeded) throw new InvalidOperationException(run.Stages.FirstOrDefault(s => s.Error != null)?.Error ?? run.Error);
        return run.Stages.Single();
    }

    /// <summary>The binlog's end: its file and position.</summary>
    private static (string File, long Position) Status(string db)
    {
        using var c = new MySqlConnection(db);
        c.Open();
        using var command = new MySqlCommand("SHOW MASTER STATUS", c);
        using var reader = command.ExecuteReader();
        reader.Read();
        return (reader.GetString(0), reader.GetInt64(1));
    }

    /// <summary>The server's own tool reading the binlog between two positions from the server, thrown away.</summary>
    private static void Dump(string db, (string File, long Position) from, (string File, long Position) to, bool decode)
    {
        var b = new MySqlConnectionStringBuilder(db);
        var prefix = from.File[..(from.File.LastIndexOf('.') + 1)];
        var files = Enumerable.Range(int.Parse(from.File[prefix.Length..]), int.Parse(to.File[prefix.Length..]) - int.Parse(from.File[prefix.Length..]) + 1)
            .Select(n => prefix + n.ToString("D6"));
        var start = new ProcessStartInfo("mariadb-binlog", ["--read-from-remote-server", "--host", b.Server, "--port", b.Port.ToString(), "--user", b.UserID,
            $"--start-position={from.Position}", $"--stop-position={to.Position}", "--result-file=/dev/null",
            .. decode ? new[] { "--base64-output=decode-rows", "--verbose" } : [], .. files])
        { RedirectStandardError = true };
        start.Environment["MYSQL_PWD"] = b.Password;
        using var p = Process.Start(start)!;
        var error = p.StandardError.ReadToEnd();
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"mariadb-binlog failed ({p.ExitCode}): {error}");
    }

    private static void Execute(string connection, string sql)
    {
        using var c = new MySqlConnection(connection);
        c.Open();
        using var command = new MySqlCommand(sql, c) { CommandTimeout = 3600 };
        command.ExecuteNonQuery();
    }

    private static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }
}
