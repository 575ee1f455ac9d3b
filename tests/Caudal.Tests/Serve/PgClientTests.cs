using System.Diagnostics;
using Caudal.Tests.Support;

namespace Caudal.Tests.Serve;

/// <summary>
/// The PostgreSQL endpoint with the drivers BI tools and notebooks are built on, each run as its own process:
/// pgJDBC (DBeaver, Metabase) compared line for line with the same program against a real PostgreSQL holding the same
/// table, psycopg 3 (server-side cursor, parameters, binary) with SQLAlchemy's inspector, and npm pg (extended
/// protocol, named statements). Clients and their drivers come from Debian's and npm's packages (scripts/test.sh).
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class PgClientTests : IDisposable
{
    private readonly PgLake _lake = new();

    public void Dispose() => _lake.Dispose();

    private Task<(ServeProcess Server, int Port)> StartAsync() => _lake.StartAsync();

    private static string Client(string file) => Path.Combine(Quickstart.RepoRoot, "tests", "clients", file);

    [SkippableFact]
    public async Task PgJdbc_sees_what_it_sees_on_a_real_PostgreSQL_with_the_same_table()
    {
        const string jar = "/usr/share/java/postgresql.jar";
        Skip.If(!File.Exists(jar) || !File.Exists("/usr/bin/java"), "pgJDBC or Java is not installed (libpostgresql-jdbc-java, default-jdk-headless)");
        var (server, port) = await StartAsync();
        using var _ = server;
        // The JVM's zone is not UTC, as on an analyst's laptop: pgJDBC sends it at start-up.
        const string zone = "-Duser.timezone=Europe/Paris";
        var caudal = Run("/usr/bin/java", zone, "-cp", jar, Client("JdbcCheck.java"), $"jdbc:postgresql://127.0.0.1:{port}/lake?sslmode=disable", "caudal", "", "trusted", "items");

        using var postgres = TestDatabase.Postgres();
        postgres.Execute("""
            CREATE SCHEMA raw; CREATE SCHEMA trusted; CREATE SCHEMA refined;
            CREATE TABLE trusted.items (id bigint, name text, grp bigint, _caudal_op text, CONSTRAINT items_pkey PRIMARY KEY (id));
            COMMENT ON TABLE trusted.items IS 'One row per item, as it is now.';
            INSERT INTO trusted.items SELECT n, 'item ' || n, n / 100, 'snapshot' FROM generate_series(1, 300) n;
            """);
        var real = new Npgsql.NpgsqlConnectionStringBuilder(postgres.ConnectionString);
        var reference = Run("/usr/bin/java", zone, "-cp", jar, Client("JdbcCheck.java"), $"jdbc:postgresql://{real.Host}:{real.Port}/{real.Database}?sslmode=disable",
            real.Username!, real.Password!, "trusted", "items");

        Assert.Contains("column:id:int8:-5:1", caudal, StringComparison.Ordinal);
        Assert.Contains("pk:id:1:items_pkey", caudal, StringComparison.Ordinal);
        Assert.Contains("row:70:item 70:0", caudal, StringComparison.Ordinal);
        Assert.Contains("instant:2024-07-01T10:00:00Z", caudal, StringComparison.Ordinal);
        Assert.Equal(reference, caudal);
    }

    [SkippableFact]
    public async Task Psycopg_and_the_SQLAlchemy_inspector_read_schemas_columns_keys_and_rows()
    {
        const string python = "/usr/bin/python3";
        Skip.If(Run(python, "-c", "import psycopg, psycopg2, sqlalchemy") is not "", "python3-psycopg, python3-psycopg2 or python3-sqlalchemy is not installed");
        var (server, port) = await StartAsync();
        using var _ = server;
        var output = Run(python, Client("psycopg_check.py"), $"host=127.0.0.1 port={port} dbname=lake user=caudal sslmode=disable",
            $"postgresql+psycopg2://caudal@127.0.0.1:{port}/lake?sslmode=disable", "trusted", "items");
        Assert.True(string.Join('\n', Enumerable.Range(1, 10).Select(n => $"cursor:{n}:item {n}")) ==
                    string.Join('\n', output.Split('\n').Where(l => l.StartsWith("cursor:", StringComparison.Ordinal))), output);
        void Has(string expected) => Assert.True(output.Contains(expected, StringComparison.Ordinal), $"'{expected}' is not in:\n{output}");
        Has("params: (42, \"it's\", None)");
        Has("binary: (3, 'item 3')");
        Has("schemas: information_schema,public,raw,refined,trusted");
        Has("tables: items");
        Has("column:id:BIGINT");
        Has("column:name:TEXT");
        Has("pk: id");
        Has("comment: One row per item, as it is now.");
        Has("sqlalchemy: 200");
    }

    [SkippableFact]
    public async Task Node_pg_runs_parameterised_and_named_statements()
    {
        var modules = Environment.GetEnvironmentVariable("CAUDAL_NODE_MODULES");
        Skip.If(modules == null || !Directory.Exists(Path.Combine(modules, "pg")), "npm pg is not installed (scripts/test.sh installs it into .tools/)");
        var (server, port) = await StartAsync();
        using var _ = server;
        var output = Run("node", new Dictionary<string, string> { ["NODE_PATH"] = modules! }, Client("pg_check.cjs"), $"postgresql://caudal@127.0.0.1:{port}/lake?sslmode=disable", "trusted", "items");
        Assert.Equal("""
            schemas:information_schema,pg_catalog,public,raw,refined,trusted
            tables:items
            columns:id bigint,name text,grp bigint,_caudal_op text
            comment:One row per item, as it is now.
            row:20:item 20:0
            row:21:item 21:0
            row:22:item 22:0
            named:30:item 30:0
            named:31:item 31:0
            types:{"n":"1.50","b":true,"d":"2024-02-29T00:00:00.000Z","x":null}:1700,16,1082
            """, output.Trim().Replace("\r", "", StringComparison.Ordinal).Replace(DateOnlyLocal(), "2024-02-29T00:00:00.000Z", StringComparison.Ordinal));
    }

    /// <summary>node-postgres turns a date into local midnight; the test machine's zone decides how it prints.</summary>
    private static string DateOnlyLocal() => new DateTimeOffset(2024, 2, 29, 0, 0, 0, TimeZoneInfo.Local.GetUtcOffset(new DateTime(2024, 2, 29))).UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", System.Globalization.CultureInfo.InvariantCulture);

    private static string Run(string program, params string[] args) => Run(program, null, args);

    private static string Run(string program, IDictionary<string, string>? env, params string[] args)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) start.Environment[k] = v;
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(120_000), $"{program} did not finish");
        return process.ExitCode == 0 ? output.Result : output.Result + "\nexit " + process.ExitCode + ": " + error.Result;
    }
}
