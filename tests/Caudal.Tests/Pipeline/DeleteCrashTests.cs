using Caudal.Processing;
using Caudal.Spec;
using Caudal.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Caudal.Tests.Pipeline;

/// <summary>
/// The quickstart (its Sakila source says <c>deletes: detect</c>) with rentals and payments deleted in Sakila, then a
/// real `caudal run` SIGKILLed at each crash point of the capture that finds the deletes, or at an arbitrary moment: the
/// next run leaves trusted.rentals and trusted.payments equal to the source's tables, key for key.
/// </summary>
public sealed class DeleteCrashTests : IDisposable
{
    private readonly Quickstart _qs = new(scale: 0.1);

    private string Database => Path.Combine(_qs.Folder, "data", "sakila.db");

    private List<string> SourceKeys(string sql)
    {
        using var connection = new SqliteConnection($"Data Source={Database};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = sql;
        using var reader = command.ExecuteReader();
        var keys = new List<string>();
        while (reader.Read()) keys.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
        return keys;
    }

    private void Delete()
    {
        using var connection = new SqliteConnection($"Data Source={Database};Pooling=false");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "DELETE FROM payment WHERE rental_id % 10 = 3; DELETE FROM rental WHERE rental_id % 10 = 3; " +
                              "UPDATE rental SET return_date = '2006-01-01 00:00:00' WHERE rental_id % 10 = 4";
        command.ExecuteNonQuery();
    }

    private async Task AssertTrustedEqualsSourceAsync()
    {
        using var session = await QuerySession.OpenAsync(SpecLoader.Load(_qs.SpecPath));
        var rentals = session.Query("SELECT rental_id FROM trusted.rentals ORDER BY rental_id").Rows.Select(r => r[0]!).ToList();
        Assert.Equal(SourceKeys("SELECT rental_id FROM rental ORDER BY rental_id"), rentals);
        var payments = session.Query("SELECT payment_id FROM trusted.payments ORDER BY payment_id").Rows.Select(r => r[0]!).ToList();
        Assert.Equal(SourceKeys("SELECT payment_id FROM payment ORDER BY payment_id"), payments);
        var returned = session.Query("SELECT count(*) FROM trusted.rentals WHERE return_date = TIMESTAMP '2006-01-01 00:00:00'").Rows[0][0];
        Assert.Equal(SourceKeys("SELECT count(*) FROM rental WHERE return_date = '2006-01-01 00:00:00'")[0], returned);
        // However often the capture was cut short, each deleted key has one delete row: the commit lands whole or not at all.
        var twice = session.Query("SELECT count(*) FROM (SELECT rental_id FROM raw.sakila_rental WHERE _caudal_op = 'delete' GROUP BY ALL HAVING count(*) > 1)").Rows[0][0];
        Assert.Equal("0", twice);
    }

    [Theory]
    [InlineData("capture:raw.sakila_rental:before-commit")]
    [InlineData("capture:raw.sakila_rental:after-commit")]
    [InlineData("capture:raw.sakila_payment:before-commit")]
    [InlineData("model:trusted.rentals:before-commit")]
    public async Task Killed_at_a_point_after_deletes_then_rerun_equals_the_source(string point)
    {
        var first = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.True(first.ExitCode == 0, first.Stdout + first.Stderr);
        Delete();
        await CliProcess.KillAtAsync(_qs.Folder, point, "run");
        var rerun = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.True(rerun.ExitCode == 0, rerun.Stdout + rerun.Stderr);
        // Deletes a killed run never committed are found again; committed ones are not found twice.
        var rentalDeletes = System.Text.RegularExpressions.Regex.IsMatch(rerun.Stdout, @"capture raw\.sakila_rental .*\n\s+deleted: ");
        if (point == "capture:raw.sakila_rental:before-commit") Assert.True(rentalDeletes, rerun.Stdout);
        if (point is "capture:raw.sakila_rental:after-commit" or "model:trusted.rentals:before-commit") Assert.False(rentalDeletes, rerun.Stdout);
        await AssertTrustedEqualsSourceAsync();
    }

    [Theory]
    [InlineData(700)]
    [InlineData(1500)]
    public async Task Killed_at_an_arbitrary_moment_after_deletes_then_rerun_equals_the_source(int milliseconds)
    {
        var first = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.True(first.ExitCode == 0, first.Stdout + first.Stderr);
        Delete();
        await CliProcess.KillAfterAsync(_qs.Folder, TimeSpan.FromMilliseconds(milliseconds), "run");
        var rerun = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.True(rerun.ExitCode == 0, rerun.Stdout + rerun.Stderr);
        await AssertTrustedEqualsSourceAsync();
    }

    public void Dispose() => _qs.Dispose();
}
