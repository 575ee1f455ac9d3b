using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Spec;
using Npgsql;

namespace Caudal.Bench;

/// <summary>
/// <c>serve.pg</c> against a real PostgreSQL (the one scripts/services.sh starts, CAUDAL_TEST_POSTGRES) serving the
/// same table to the same client, in the same run, rounds alternating which goes first:
/// <list type="number">
/// <item><c>psql -c "\copy (SELECT * FROM refined.events) TO '/dev/null'"</c> (COPY TO STDOUT, text).</item>
/// <item>Npgsql reading every value of <c>SELECT * FROM refined.events</c> (extended protocol, binary).</item>
/// <item>1,000 catalog queries of the kind a BI tool sends on connect, one after another: p50 and p99 latency.</item>
/// </list>
/// </summary>
internal static partial class PgWireBench
{
    public static async Task RunAsync(string work, int rows, int rounds)
    {
        var server = Environment.GetEnvironmentVariable("CAUDAL_TEST_POSTGRES")
            ?? throw new InvalidOperationException("CAUDAL_TEST_POSTGRES is not set: source scripts/services.sh first (it starts PostgreSQL).");
        var folder = Path.Combine(work, "pgwire");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        Directory.CreateDirectory(folder);
        var spec = await BuildLakeAsync(folder, rows);
        var reference = await LoadPostgresAsync(server, folder, rows);
        using var caudal = await CaudalServeProcess.StartAsync(spec, Listening());
        var caudalDsn = $"Host=127.0.0.1;Port={caudal.Ready};Username=caudal;Database=lake;SSL Mode=Disable;Command Timeout=600;Pooling=false";
        await using (var version = new NpgsqlConnection(reference))
        {
            await version.OpenAsync();
            Console.WriteLine($"pgwire: {rows:N0} rows (bigint, text, int, numeric(18,2), timestamptz); reference PostgreSQL {version.PostgreSqlVersion}; {rounds} rounds");
        }

        var psql = Compare(rounds, () => Psql(caudalDsn), () => Psql(reference));
        Report("psql \\copy to /dev/null", rows, psql);
        var npgsql = Compare(rounds, () => ReadAll(caudalDsn), () => ReadAll(reference));
        Report("Npgsql binary, every value", rows, npgsql);

        var (p50, p99) = await CatalogLatencyAsync(caudalDsn, 1000);
        var (rp50, rp99) = await CatalogLatencyAsync(reference, 1000);
        Console.WriteLine($"pgwire catalog: 1,000 connect-time catalog queries: p50 {p50:F2} ms, p99 {p99:F2} ms (PostgreSQL: p50 {rp50:F2} ms, p99 {rp99:F2} ms)");
        Console.WriteLine($"pgwire: the server's peak RSS {caudal.PeakRssMb()} MB");
    }

    private static (double Caudal, double Reference, List<double> CaudalRounds, List<double> ReferenceRounds) Compare(int rounds, Func<double> caudal, Func<double> reference)
    {
        caudal();
        reference();
        var c = new List<double>();
        var r = new List<double>();
        for (var round = 0; round < rounds; round++)
        {
            if (round % 2 == 1) r.Add(reference());
            c.Add(caudal());
            if (round % 2 == 0) r.Add(reference());
        }
        return (Rounds.Median(c), Rounds.Median(r), c, r);
    }

    private static void Report(string what, int rows, (double Caudal, double Reference, List<double> CaudalRounds, List<double> ReferenceRounds) m) =>
        Console.WriteLine($"pgwire {what}: caudal {m.Caudal:F2}s ({rows / m.Caudal / 1e6:F2}M rows/s), PostgreSQL {m.Reference:F2}s " +
                          $"({rows / m.Reference / 1e6:F2}M rows/s) -> {m.Reference / m.Caudal:F2}x PostgreSQL's rate " +
                          $"(rounds: {string.Join(" ", m.CaudalRounds.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))} vs " +
                          $"{string.Join(" ", m.ReferenceRounds.Select(x => x.ToString("F2", CultureInfo.InvariantCulture)))})");

    private static double Psql(string dsn)
    {
        var b = new NpgsqlConnectionStringBuilder(dsn);
        var start = new ProcessStartInfo("psql", ["-X", "-q", $"host={b.Host} port={b.Port} user={b.Username} dbname={b.Database} sslmode=disable",
            "-c", "\\copy (SELECT * FROM refined.events) TO '/dev/null'"])
        { RedirectStandardError = true };
        if (b.Password != null) start.Environment["PGPASSWORD"] = b.Password;
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var error = process.StandardError.ReadToEnd();
        process.WaitForExit();
        if (process.ExitCode != 0) throw new InvalidOperationException($"psql failed: {error}");
        return clock.Elapsed.TotalSeconds;
    }

    private static double ReadAll(string dsn)
    {
        var clock = Stopwatch.StartNew();
        using var connection = new NpgsqlConnection(dsn);
        connection.Open();
        using var command = new NpgsqlCommand("SELECT * FROM refined.events", connection);
        using var reader = command.ExecuteReader();
        long check = 0;
        while (reader.Read())
        {
            check += reader.GetInt64(0);
            check += reader.GetString(1).Length;
            check += reader.GetInt32(2);
            check += (long)reader.GetDecimal(3);
            check += reader.GetFieldValue<DateTime>(4).Ticks & 1;
        }
        if (check == 0) throw new InvalidOperationException("no rows");
        return clock.Elapsed.TotalSeconds;
    }

    /// <summary>What DBeaver, Metabase and Power BI ask on connect: schemas, tables, columns with types, keys.</summary>
    private static readonly string[] CatalogQueries =
    [
        "SELECT nspname FROM pg_catalog.pg_namespace WHERE nspname <> 'pg_toast' ORDER BY nspname",
        "SELECT c.relname, n.nspname, obj_description(c.oid, 'pg_class') FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname = 'refined' ORDER BY 1",
        "SELECT a.attname, format_type(a.atttypid, a.atttypmod), a.attnotnull FROM pg_catalog.pg_attribute a JOIN pg_catalog.pg_class c ON c.oid = a.attrelid WHERE c.relname = 'events' AND a.attnum > 0 ORDER BY a.attnum",
        "SELECT table_schema, table_name, column_name, data_type FROM information_schema.columns WHERE table_schema = 'refined' ORDER BY ordinal_position",
        "SELECT version()",
        "SELECT current_schema(), current_database(), current_user",
        "SELECT t.oid, t.typname, t.typtype FROM pg_catalog.pg_type t JOIN pg_catalog.pg_namespace n ON n.oid = t.typnamespace WHERE t.typtype IN ('b', 'p') ORDER BY t.oid",
        "SHOW search_path",
    ];

    private static async Task<(double P50, double P99)> CatalogLatencyAsync(string dsn, int count)
    {
        await using var connection = new NpgsqlConnection(dsn);
        await connection.OpenAsync();
        var times = new List<double>();
        for (var k = 0; k < count + 50; k++)
        {
            await using var command = new NpgsqlCommand(CatalogQueries[k % CatalogQueries.Length], connection);
            var clock = Stopwatch.StartNew();
            await using (var reader = await command.ExecuteReaderAsync())
                while (await reader.ReadAsync()) { }
            if (k >= 50) times.Add(clock.Elapsed.TotalMilliseconds);
        }
        times.Sort();
        return (times[times.Count / 2], times[(int)Math.Ceiling(times.Count * 0.99) - 1]);
    }

    /// <summary>The same rows in a fresh database of the reference server: written by DuckDB as CSV, COPY'd in.</summary>
    private static async Task<string> LoadPostgresAsync(string server, string folder, int rows)
    {
        await using (var admin = new NpgsqlConnection(server))
        {
            await admin.OpenAsync();
            await new NpgsqlCommand("DROP DATABASE IF EXISTS caudal_pgwire_bench WITH (FORCE)", admin).ExecuteNonQueryAsync();
            await new NpgsqlCommand("CREATE DATABASE caudal_pgwire_bench", admin).ExecuteNonQueryAsync();
        }
        var dsn = new NpgsqlConnectionStringBuilder(server) { Database = "caudal_pgwire_bench", CommandTimeout = 1200, Pooling = false }.ConnectionString;
        await using var connection = new NpgsqlConnection(dsn);
        await connection.OpenAsync();
        await new NpgsqlCommand("CREATE SCHEMA refined; CREATE TABLE refined.events (event_id bigint, country text, month integer, amount numeric(18,2), at timestamptz)", connection).ExecuteNonQueryAsync();
        var csv = Path.Combine(folder, "events.csv");
        using (var duck = new DuckDB.NET.Data.DuckDBConnection("DataSource=:memory:"))
        {
            duck.Open();
            using var command = duck.CreateCommand();
            command.CommandText = $"COPY ({EventsSelect(rows)}) TO '{csv}' (FORMAT csv, HEADER false)";
            command.ExecuteNonQuery();
        }
        await using (var import = await connection.BeginTextImportAsync("COPY refined.events FROM STDIN (FORMAT csv)"))
        using (var reader = new StreamReader(csv))
        {
            var buffer = new char[1 << 16];
            int n;
            while ((n = await reader.ReadAsync(buffer)) > 0) await import.WriteAsync(buffer.AsMemory(0, n));
        }
        File.Delete(csv);
        await new NpgsqlCommand("VACUUM ANALYZE refined.events", connection).ExecuteNonQueryAsync();
        return dsn;
    }

    private static string EventsSelect(int rows) => $"""
        SELECT i AS event_id, 'Country ' || lpad(CAST(i % 200 AS VARCHAR), 3, '0') AS country, CAST(i % 12 + 1 AS INTEGER) AS month,
               CAST(CAST(i % 100000 AS DECIMAL(18,2)) / 100 AS DECIMAL(18,2)) AS amount, TIMESTAMPTZ '2020-01-01 00:00:00+00' + to_seconds(i) AS at
        FROM range({rows}) t(i)
        """;

    private static async Task<string> BuildLakeAsync(string folder, int rows)
    {
        var csv = Path.Combine(folder, "seed.csv");
        await File.WriteAllTextAsync(csv, "n\n1\n");
        var specPath = Path.Combine(folder, "caudal.yaml");
        await File.WriteAllTextAsync(specPath, $$"""
            version: 1
            name: pgwire-bench
            lake: ./lake
            sources:
              seed:
                kind: files
                path: {{csv}}
                dataset: seed
            models:
              refined.events:
                sql: models/events.sql
            run:
              threads: 2
              memory_limit: 2GB
            serve:
              pg: {port: 0, max_rows: none}   # 10M rows to one client: no row cap
            """);
        Directory.CreateDirectory(Path.Combine(folder, "models"));
        await File.WriteAllTextAsync(Path.Combine(folder, "models", "events.sql"), $"SELECT events.* FROM ({EventsSelect(rows)}) events, (SELECT count(*) FROM raw.seed_seed) inputs");
        var spec = SpecLoader.Load(specPath);
        var run = await new PipelineRunner(spec).RunAsync();
        if (run.Status != RunStatus.Succeeded) throw new InvalidOperationException(run.Error);
        return specPath;
    }

    [GeneratedRegex(@"PostgreSQL clients connect at 127\.0\.0\.1:(\d+)")]
    private static partial Regex Listening();
}
