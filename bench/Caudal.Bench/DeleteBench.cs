using System.Diagnostics;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Spec;
using MySqlConnector;
using Npgsql;

namespace Caudal.Bench;

/// <summary>
/// What <c>deletes: detect</c> costs on a large table (issue 22: at most ~1.2× the server draining the key column
/// alone). The table is captured once (incremental on its integer key, so a later run reads one row); then each round
/// runs the capture with <c>deletes: detect</c> and with <c>deletes: ignore</c>, in alternating order, beside the
/// server's own client draining the key column (`mariadb --quick -e "SELECT rental_id …"` or `psql -c "COPY (SELECT
/// rental_id …) TO STDOUT"`). Detection's cost is the difference of the two capture stages' medians. A last run deletes
/// 1% of the rows first, checks that exactly those keys are found, and puts them back.
/// </summary>
internal static class DeleteBench
{
    public static async Task RunAsync(string work, string kind, int rows, int rounds)
    {
        var server = Environment.GetEnvironmentVariable(kind == "mysql" ? "CAUDAL_TEST_MYSQL" : "CAUDAL_TEST_POSTGRES")
            ?? throw new InvalidOperationException("start the servers first: source scripts/services.sh");
        var connection = kind == "mysql" ? DatabaseBench.PrepareMySql(server, rows) : DatabaseBench.PreparePostgres(server, rows);
        var folder = Path.Combine(work, "deletes-" + kind);
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        PipelineSpec Spec(string deletes) => SpecLoader.Parse($"""
            version: 1
            lake: ./lake
            sources:
              db:
                kind: {kind}
                connection: ${"{"}env:BENCH_DB{"}"}
                datasets: [rental_big]
                mode: incremental
                cursor: rental_id
                deletes: {deletes}
            """, "bench.yaml", folder, new Dictionary<string, string?> { ["BENCH_DB"] = connection });
        async Task<StageRecord> CaptureAsync(string deletes)
        {
            var run = await new PipelineRunner(Spec(deletes)).RunAsync();
            if (run.Status != RunStatus.Succeeded) throw new InvalidOperationException(run.Stages.FirstOrDefault(s => s.Error != null)?.Error ?? run.Error);
            return run.Stages.Single();
        }

        var first = await CaptureAsync("ignore");
        Console.WriteLine($"deletes ({kind}): first capture of {first.Rows:N0} rows in {first.Seconds:F1}s");
        List<double> detect = [], ignore = [], drains = [];
        for (var round = 0; round < rounds; round++)
        {
            if (round % 2 == 1) drains.Add(Time(() => DrainKeys(kind, connection)));
            if (round % 2 == 0) detect.Add((await CaptureAsync("detect")).Seconds);
            ignore.Add((await CaptureAsync("ignore")).Seconds);
            if (round % 2 == 1) detect.Add((await CaptureAsync("detect")).Seconds);
            if (round % 2 == 0) drains.Add(Time(() => DrainKeys(kind, connection)));
        }
        var (d, i, k) = (Rounds.Median(detect), Rounds.Median(ignore), Rounds.Median(drains));
        Console.WriteLine($"deletes ({kind}): {rows:N0} keys; capture with detect {d:F2}s, without {i:F2}s: detection {d - i:F2}s; " +
                          $"server draining the key column {k:F2}s ({DrainCommand(kind)}); detection / drain {(d - i) / k:F2} (medians of {rounds}); " +
                          $"rounds detect [{string.Join(", ", detect.Select(x => x.ToString("F2")))}], ignore [{string.Join(", ", ignore.Select(x => x.ToString("F2")))}], " +
                          $"drain [{string.Join(", ", drains.Select(x => x.ToString("F2")))}]; peak RSS {PeakRss.Mb()} MB");

        var deleted = rows / 100;
        Execute(kind, connection, kind == "mysql" ? "DELETE FROM rental_big WHERE rental_id MOD 100 = 7" : "DELETE FROM rental_big WHERE rental_id % 100 = 7");
        try
        {
            var found = await CaptureAsync("detect");
            if (found.Deleted != deleted) throw new InvalidOperationException($"{found.Deleted} keys found deleted, expected {deleted}");
            Console.WriteLine($"deletes ({kind}): 1% deleted ({deleted:N0} keys): all found in {found.Seconds:F2}s");
        }
        finally
        {
            Execute(kind, connection, kind == "mysql" ? DatabaseBench.MySqlRows(rows, "seq MOD 100 = 7") : DatabaseBench.PostgresRows(rows, "g % 100 = 7"));
        }
    }

    private static string DrainCommand(string kind) => kind == "mysql"
        ? "`mariadb --quick --batch -e 'SELECT rental_id FROM rental_big' > /dev/null`"
        : "`psql -c 'COPY (SELECT rental_id FROM rental_big) TO STDOUT' > /dev/null`";

    private static void DrainKeys(string kind, string connection)
    {
        ProcessStartInfo start;
        if (kind == "mysql")
        {
            var b = new MySqlConnectionStringBuilder(connection);
            start = new ProcessStartInfo("bash", ["-c", $"mariadb --quick --batch -h {b.Server} -P {b.Port} -u {b.UserID} -p\"$BENCH_PW\" {b.Database} -e 'SELECT rental_id FROM rental_big' > /dev/null"]);
            start.Environment["BENCH_PW"] = b.Password;
        }
        else
        {
            var b = new NpgsqlConnectionStringBuilder(connection);
            start = new ProcessStartInfo("bash", ["-c", $"psql -h {b.Host} -p {b.Port} -U {b.Username} -d {b.Database} -c 'COPY (SELECT rental_id FROM rental_big) TO STDOUT' > /dev/null"]);
            start.Environment["PGPASSWORD"] = b.Password;
        }
        using var p = Process.Start(start)!;
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"the {kind} key drain failed ({p.ExitCode})");
    }

    private static void Execute(string kind, string connection, string sql)
    {
        if (kind == "mysql")
        {
            using var c = new MySqlConnection(new MySqlConnectionStringBuilder(connection) { DefaultCommandTimeout = 3600 }.ConnectionString);
            c.Open();
            using var command = new MySqlCommand(sql, c);
            command.ExecuteNonQuery();
        }
        else
        {
            using var c = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connection) { CommandTimeout = 3600 }.ConnectionString);
            c.Open();
            using var command = new NpgsqlCommand(sql, c);
            command.ExecuteNonQuery();
        }
    }

    private static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }
}
