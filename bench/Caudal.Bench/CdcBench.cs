using System.Diagnostics;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Spec;
using Npgsql;

namespace Caudal.Bench;

/// <summary>
/// Reading PostgreSQL's log (issue 22: the cdc mode reads 1M changed rows at ≥ 0.8× the rate of the server's own tool).
/// Each round writes the changes (1M rows inserted into a table in Sakila's rental shape, then, next round, 1M updated)
/// after a reference slot was created beside Caudal's, then reads them twice, in alternating order:
/// `pg_recvlogical --start --endpos <lsn> -o proto_version=1 -o publication_names=<pub> -f /dev/null` from the reference
/// slot, and Caudal's capture (its stage time: the slot read, the spill, the Parquet files and the commit).
/// </summary>
internal static class CdcBench
{
    public static async Task RunAsync(string work, int rows, int rounds)
    {
        var server = Environment.GetEnvironmentVariable("CAUDAL_TEST_POSTGRES") ?? throw new InvalidOperationException("start the servers first: source scripts/services.sh");
        var admin = new NpgsqlConnectionStringBuilder(server) { Pooling = false, CommandTimeout = 3600 };
        Execute(admin.ConnectionString, "DROP DATABASE IF EXISTS caudal_cdc_bench WITH (FORCE)", ignoreErrors: true);
        Execute(admin.ConnectionString, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = 'caudal_cdc_bench'", ignoreErrors: true);
        Execute(admin.ConnectionString, "CREATE DATABASE caudal_cdc_bench");
        var db = new NpgsqlConnectionStringBuilder(admin.ConnectionString) { Database = "caudal_cdc_bench" }.ConnectionString;
        Execute(db, """
            CREATE TABLE rental_changes (
              rental_id int PRIMARY KEY, rental_date timestamp NOT NULL, inventory_id int NOT NULL, customer_id smallint NOT NULL,
              return_date timestamp, staff_id smallint NOT NULL, last_update timestamp NOT NULL DEFAULT now());
            CREATE PUBLICATION bench_reference FOR TABLE rental_changes;
            """);
        var folder = Path.Combine(work, "cdc");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        var spec = SpecLoader.Parse("""
            version: 1
            lake: ./lake
            sources:
              db:
                kind: postgres
                connection: ${env:BENCH_DB}
                mode: cdc
                datasets: [rental_changes]
            """, "bench.yaml", folder, new Dictionary<string, string?> { ["BENCH_DB"] = db });
        await CaptureAsync(spec); // the (empty) snapshot, and Caudal's slot

        List<double> reference = [], caudal = [];
        for (var round = 0; round < rounds; round++)
        {
            Execute(db, "SELECT pg_create_logical_replication_slot('bench_reference', 'pgoutput')");
            Execute(db, round == 0
                ? $"""
                  INSERT INTO rental_changes
                  SELECT g, '2005-05-24 22:53:30'::timestamp + g * interval '1 second', 1 + g % 4581, 1 + g % 599,
                         CASE WHEN g % 88 = 0 THEN NULL ELSE '2005-05-26 22:04:30'::timestamp + g * interval '1 second' END, 1 + g % 2, now()
                  FROM generate_series(1, {rows}) g
                  """
                : "UPDATE rental_changes SET return_date = coalesce(return_date, rental_date) + interval '1 hour', last_update = now()");
            var end = (string)Scalar(db, "SELECT pg_current_wal_lsn()::text")!;
            double Reference() => Time(() => Receive(db, end));
            async Task<double> Caudal()
            {
                var stage = await CaptureAsync(spec);
                if (stage.Rows != rows) throw new InvalidOperationException($"caudal read {stage.Rows} changes, expected {rows}");
                return stage.Seconds;
            }
            if (round % 2 == 0)
            {
                reference.Add(Reference());
                caudal.Add(await Caudal());
            }
            else
            {
                caudal.Add(await Caudal());
                reference.Add(Reference());
            }
            Execute(db, "SELECT pg_drop_replication_slot('bench_reference')");
        }
        var (r, c) = (Rounds.Median(reference), Rounds.Median(caudal));
        Console.WriteLine($"cdc (postgres): {rows:N0} changed rows a round (inserts, then updates); pg_recvlogical {rows / r:N0} rows/s ({r:F2}s), " +
                          $"caudal {rows / c:N0} rows/s ({c:F2}s, the capture stage: slot read, spill, Parquet, commit); ratio {r / c:F2} (medians of {rounds}); " +
                          $"rounds pg_recvlogical [{string.Join(", ", reference.Select(x => x.ToString("F2")))}], caudal [{string.Join(", ", caudal.Select(x => x.ToString("F2")))}]; peak RSS {PeakRss.Mb()} MB");
        Execute(admin.ConnectionString, "SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = 'caudal_cdc_bench'", ignoreErrors: true);
        Execute(admin.ConnectionString, "DROP DATABASE IF EXISTS caudal_cdc_bench WITH (FORCE)", ignoreErrors: true);
    }

    private static async Task<StageRecord> CaptureAsync(PipelineSpec spec)
    {
        var run = await new PipelineRunner(spec).RunAsync();
        if (run.Status != RunStatus.Succeeded) throw new InvalidOperationException(run.Stages.FirstOrDefault(s => s.Error != null)?.Error ?? run.Error);
        return run.Stages.Single();
    }

    /// <summary>The server's own tool reading the reference slot up to <paramref name="end"/>, thrown away.</summary>
    private static void Receive(string db, string end)
    {
        var b = new NpgsqlConnectionStringBuilder(db);
        var start = new ProcessStartInfo("pg_recvlogical", ["-h", b.Host!, "-p", b.Port.ToString(), "-U", b.Username!, "-d", b.Database!, "--slot", "bench_reference",
            "--start", "--endpos", end, "-o", "proto_version=1", "-o", "publication_names=bench_reference", "-f", "/dev/null", "--no-loop"]);
        start.Environment["PGPASSWORD"] = b.Password;
        using var p = Process.Start(start)!;
        p.WaitForExit();
        if (p.ExitCode != 0) throw new InvalidOperationException($"pg_recvlogical failed ({p.ExitCode})");
    }

    private static void Execute(string connection, string sql, bool ignoreErrors = false)
    {
        try
        {
            using var c = new NpgsqlConnection(connection);
            c.Open();
            using var command = new NpgsqlCommand(sql, c) { CommandTimeout = 3600 };
            command.ExecuteNonQuery();
        }
        catch (PostgresException) when (ignoreErrors)
        {
        }
    }

    private static object? Scalar(string connection, string sql)
    {
        using var c = new NpgsqlConnection(connection);
        c.Open();
        using var command = new NpgsqlCommand(sql, c);
        return command.ExecuteScalar();
    }

    private static double Time(Action action)
    {
        var clock = Stopwatch.StartNew();
        action();
        return clock.Elapsed.TotalSeconds;
    }
}
