using Caudal.Runs;
using Caudal.Tests.Support;

namespace Caudal.Tests.Capture;

/// <summary>`caudal sample sakila --target` bulk-loads the generated Sakila into real servers, and the same pipeline
/// captures it back with the generated row counts, whichever database holds it.</summary>
public sealed class SakilaServerTests
{
    [Theory]
    [InlineData("mysql")]
    [InlineData("postgres")]
    public async Task Sample_loads_into_a_server_and_every_table_is_captured_back(string kind)
    {
        using var db = kind == "mysql" ? TestDatabase.MySql() : TestDatabase.Postgres();
        var url = kind == "mysql"
            ? Url("mysql", new MySqlConnector.MySqlConnectionStringBuilder(db.ConnectionString) is var m ? (m.Server, (int)m.Port, m.UserID, m.Password, db.Name) : default)
            : Url("postgres", new Npgsql.NpgsqlConnectionStringBuilder(db.ConnectionString) is var p ? (p.Host!, p.Port, p.Username!, p.Password!, db.Name) : default);
        using var temp = new TempDir("sample");
        var load = await CliProcess.RunAsync(temp.Path, "sample", "sakila", "--scale", "0.05", "--target", url);
        Assert.True(load.ExitCode == 0, load.Stderr);
        Assert.Contains("loaded", load.Stdout);
        Assert.DoesNotContain("test", load.Stdout.Split(" into ")[1].Split('@')[0]); // the password is not echoed

        using var h = new PipelineHarness($"  db:\n    kind: {kind}\n    connection: ${{env:DB}}\n    datasets: \"*\"").WithEnv("DB", db.ConnectionString);
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        var expected = Caudal.Sample.SakilaGenerator.Generate(Path.Combine(temp.Path, "same.db"), 0.05).Rows;
        Assert.Equal(expected.OrderBy(k => k.Key).Select(k => $"raw.db_{k.Key}={k.Value}"),
            run.Stages.OrderBy(s => s.Table).Select(s => $"{s.Table}={s.Rows}"));
        var film = (await h.QueryAsync("SELECT count(*) FILTER (WHERE rating IN ('G','PG','PG-13','R','NC-17')), count(release_year), sum(rental_rate) FROM raw.db_film"))[0];
        Assert.Equal("1000|1000", LakeReader.Flat(film[..2]));
    }

    private static string Url(string scheme, (string Host, int Port, string User, string Password, string Db) c) =>
        $"{scheme}://{Uri.EscapeDataString(c.User)}:{Uri.EscapeDataString(c.Password)}@{c.Host}:{c.Port}/{c.Db}";
}
