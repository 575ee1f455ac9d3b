using System.Data.Common;
using Caudal.Processing;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Pipeline;

/// <summary>
/// The quickstart with its Sakila in a real MariaDB or PostgreSQL (loaded by <c>caudal sample sakila --target</c>),
/// captured by change data capture (<c>mode: cdc</c>) or by full reads with <c>deletes: detect</c>: after inserts,
/// updates and deletes of rentals and payments, and a <c>caudal run</c> SIGKILLed at a point or at an arbitrary moment,
/// the next run leaves trusted.rentals and trusted.payments equal to the source's tables.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class SakilaChangeTests
{
    [Theory]
    [InlineData("mysql", "cdc", 0)]
    [InlineData("mysql", "cdc", 900)]
    [InlineData("postgres", "cdc", 0)]
    [InlineData("postgres", "cdc", 900)]
    [InlineData("mysql", "detect", 900)]
    [InlineData("postgres", "detect", 900)]
    public async Task After_changes_and_a_kill_trusted_equals_the_source(string kind, string capture, int killAfterMilliseconds)
    {
        using var db = kind == "mysql" ? TestDatabase.MySql() : TestDatabase.Postgres();
        using var qs = new Quickstart(scale: 0.05);
        var url = kind == "mysql"
            ? new MySqlConnector.MySqlConnectionStringBuilder(db.ConnectionString) is var m ? $"mysql://{m.UserID}:{m.Password}@{m.Server}:{m.Port}/{db.Name}" : ""
            : new Npgsql.NpgsqlConnectionStringBuilder(db.ConnectionString) is var p ? $"postgres://{p.Username}:{p.Password}@{p.Host}:{p.Port}/{db.Name}" : "";
        var load = await CliProcess.RunAsync(qs.Folder, "sample", "sakila", "--scale", "0.05", "--target", url);
        Assert.True(load.ExitCode == 0, load.Stderr);
        var spec = File.ReadAllText(qs.SpecPath);
        var source = spec[spec.IndexOf("    kind: sqlite", StringComparison.Ordinal)..spec.IndexOf("  worldbank:", StringComparison.Ordinal)];
        File.WriteAllText(qs.SpecPath, spec.Replace(source, $"    kind: {kind}\n    connection: ${{env:DB}}\n    datasets: \"*\"\n" +
            (capture == "cdc" ? "    mode: cdc\n" : "    deletes: detect\n")));
        var env = new Dictionary<string, string> { ["DB"] = db.ConnectionString };
        var first = await CliProcess.RunAsync(qs.Folder, env, "run");
        Assert.True(first.ExitCode == 0, first.Stdout + first.Stderr);

        var day = kind == "mysql" ? "DATE_ADD(rental_date, INTERVAL 1 DAY)" : "rental_date + interval '1 day'";
        db.Execute($"""
            DELETE FROM payment WHERE rental_id % 10 = 3;
            DELETE FROM rental WHERE rental_id % 10 = 3;
            UPDATE rental SET return_date = '2006-01-01 00:00:00' WHERE rental_id % 10 = 4;
            UPDATE rental SET return_date = '2006-01-02 00:00:00' WHERE rental_id % 20 = 4;
            INSERT INTO rental (rental_id, rental_date, inventory_id, customer_id, return_date, staff_id, last_update)
              SELECT rental_id + 1000000, {day}, inventory_id, customer_id, NULL, staff_id, last_update FROM rental WHERE rental_id % 10 = 5;
            """);
        if (killAfterMilliseconds > 0) await CliProcess.KillAfterAsync(qs.Folder, env, TimeSpan.FromMilliseconds(killAfterMilliseconds), "run");
        db.Execute("DELETE FROM payment WHERE rental_id % 10 = 7; DELETE FROM rental WHERE rental_id % 10 = 7"); // and after the kill
        var rerun = await CliProcess.RunAsync(qs.Folder, env, "run");
        Assert.True(rerun.ExitCode == 0, rerun.Stdout + rerun.Stderr);

        using var session = await QuerySession.OpenAsync(SpecLoader.Load(qs.SpecPath, env.ToDictionary(e => e.Key, e => (string?)e.Value)));
        string Lake(string sql) => string.Join(",", session.Query(sql).Rows.Select(r => r[0]));
        // Every rental, its dates, customer and what its (live) payments add up to; every payment and its amount.
        Assert.Equal(Source(db, "SELECT r.rental_id, r.rental_date, r.return_date, r.customer_id, coalesce((SELECT sum(p.amount) FROM payment p " +
                                "WHERE p.rental_id = r.rental_id), 0) FROM rental r ORDER BY r.rental_id"),
            Lake("SELECT concat_ws('|', rental_id, strftime(rental_date, '%Y-%m-%d %H:%M:%S'), coalesce(strftime(return_date, '%Y-%m-%d %H:%M:%S'), ''), " +
                 "customer_id, CAST(amount_paid AS DECIMAL(10,2))) FROM trusted.rentals ORDER BY rental_id"));
        Assert.Equal(Source(db, "SELECT payment_id, amount FROM payment ORDER BY payment_id"),
            Lake("SELECT concat_ws('|', payment_id, CAST(amount AS DECIMAL(10,2))) FROM trusted.payments ORDER BY payment_id"));
        Assert.NotEqual("0", Lake("SELECT count(*) FROM trusted.rentals WHERE return_date = TIMESTAMP '2006-01-02 00:00:00'")); // updated twice: the later wins
    }

    /// <summary>The rows of a query on the source, each as its values joined with '|' (times to the second, decimals with two digits).</summary>
    private static string Source(TestDatabase db, string sql)
    {
        using var connection = db.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using DbDataReader reader = command.ExecuteReader();
        var rows = new List<string>();
        while (reader.Read())
            rows.Add(string.Join("|", Enumerable.Range(0, reader.FieldCount).Select(i => reader.GetValue(i) switch
            {
                DBNull => "",
                DateTime t => t.ToString("yyyy-MM-dd HH:mm:ss", System.Globalization.CultureInfo.InvariantCulture),
                decimal d => d.ToString("0.00", System.Globalization.CultureInfo.InvariantCulture),
                var v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture),
            })));
        return string.Join(",", rows);
    }
}
