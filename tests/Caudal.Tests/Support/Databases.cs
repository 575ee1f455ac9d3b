using MySqlConnector;
using Npgsql;

namespace Caudal.Tests.Support;

/// <summary>
/// Fresh databases on the real MariaDB and PostgreSQL servers that scripts/services.sh starts (CAUDAL_TEST_MYSQL,
/// CAUDAL_TEST_POSTGRES). Without them these tests fail with instructions; they never pass silently.
/// </summary>
public sealed class TestDatabase : IDisposable
{
    private readonly Action _drop;

    private TestDatabase(string kind, string connectionString, string name, Action drop)
    {
        Kind = kind;
        ConnectionString = connectionString;
        Name = name;
        _drop = drop;
    }

    public string Kind { get; }
    public string ConnectionString { get; }
    public string Name { get; }

    private static string Server(string variable) => Environment.GetEnvironmentVariable(variable)
        ?? throw new InvalidOperationException($"{variable} is not set: run the tests with 'bash scripts/test.sh', which starts MariaDB and PostgreSQL.");

    public static TestDatabase MySql()
    {
        var server = Server("CAUDAL_TEST_MYSQL");
        var name = "caudal_t_" + Guid.NewGuid().ToString("N")[..10];
        Exec(server, $"CREATE DATABASE {name} CHARACTER SET utf8mb4");
        var builder = new MySqlConnectionStringBuilder(server) { Database = name, AllowLoadLocalInfile = true, AllowUserVariables = true };
        return new TestDatabase("mysql", builder.ConnectionString, name, () => Exec(server, $"DROP DATABASE IF EXISTS {name}"));
    }

    public static TestDatabase Postgres()
    {
        var server = Server("CAUDAL_TEST_POSTGRES");
        var name = "caudal_t_" + Guid.NewGuid().ToString("N")[..10];
        PgExec(server, $"CREATE DATABASE {name}");
        var builder = new NpgsqlConnectionStringBuilder(server) { Database = name, Pooling = false };
        return new TestDatabase("postgres", builder.ConnectionString, name, () =>
        {
            // A database with a replication slot cannot be dropped: a change-capture test leaves its slot behind.
            PgExec(server, $"SELECT pg_drop_replication_slot(slot_name) FROM pg_replication_slots WHERE database = '{name}' AND NOT active");
            PgExec(server, $"DROP DATABASE IF EXISTS {name} WITH (FORCE)");
        });
    }

    public void Execute(string sql)
    {
        if (Kind == "mysql") Exec(ConnectionString, sql);
        else PgExec(ConnectionString, sql);
    }

    /// <summary>An open connection to the database (the caller disposes it).</summary>
    public System.Data.Common.DbConnection Open()
    {
        System.Data.Common.DbConnection connection = Kind == "mysql" ? new MySqlConnection(ConnectionString) : new NpgsqlConnection(ConnectionString);
        connection.Open();
        return connection;
    }

    public object? Scalar(string sql)
    {
        if (Kind == "mysql")
        {
            using var c = new MySqlConnection(ConnectionString);
            c.Open();
            using var cmd = new MySqlCommand(sql, c);
            return cmd.ExecuteScalar();
        }
        using var pg = new NpgsqlConnection(ConnectionString);
        pg.Open();
        using var pgCmd = new NpgsqlCommand(sql, pg);
        return pgCmd.ExecuteScalar();
    }

    private static void Exec(string connectionString, string sql)
    {
        using var c = new MySqlConnection(new MySqlConnectionStringBuilder(connectionString) { AllowUserVariables = true, Pooling = false }.ConnectionString);
        c.Open();
        using var cmd = new MySqlCommand(sql, c) { CommandTimeout = 600 };
        cmd.ExecuteNonQuery();
    }

    private static void PgExec(string connectionString, string sql)
    {
        using var c = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ConnectionString);
        c.Open();
        using var cmd = new NpgsqlCommand(sql, c) { CommandTimeout = 600 };
        cmd.ExecuteNonQuery();
    }

    public void Dispose()
    {
        try
        {
            _drop();
        }
        catch (Exception e) when (e is MySqlException or NpgsqlException)
        {
        }
    }
}
