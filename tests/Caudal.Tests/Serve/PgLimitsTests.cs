using System.Text;
using Caudal.Serve;
using Caudal.Tests.Support;
using Npgsql;

namespace Caudal.Tests.Serve;

/// <summary>
/// The PostgreSQL endpoint's limits and start-up rules, against a real <c>caudal serve</c>: the row cap of
/// <c>/v1/sql</c> (<c>serve.pg.max_rows</c>, 10,000 by default) fails a statement rather than cutting it short; a
/// client that stops half-way through a message is cut off after <c>serve.pg.message_timeout</c> (1 s here) while the
/// server goes on; start-up parameters and <c>options</c> are applied as PostgreSQL applies them.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class PgLimitsTests : IDisposable
{
    private readonly PgLake _lake = new("{port: 0, message_timeout: 1s}");

    public void Dispose() => _lake.Dispose();

    private static NpgsqlConnection Connect(int port, string extra = "") =>
        new($"Host=127.0.0.1;Port={port};Username=caudal;Database=lake;SSL Mode=Disable;Timeout=10;Command Timeout=30{extra}");

    [SkippableFact]
    public async Task A_result_past_the_row_cap_fails_in_every_way_rows_are_read()
    {
        var (server, port) = await _lake.StartAsync();
        using var _ = server;
        await using var connection = Connect(port);
        await connection.OpenAsync();
        async Task<long> Count(string sql)
        {
            long rows = 0;
            await using var command = new NpgsqlCommand(sql, connection);
            await using var reader = await command.ExecuteReaderAsync();
            do
            {
                while (await reader.ReadAsync()) rows++;
            }
            while (await reader.NextResultAsync());
            return rows;
        }

        Assert.Equal(SqlEndpoint.MaxRows, await Count($"SELECT * FROM range({SqlEndpoint.MaxRows})"));
        var capped = await Assert.ThrowsAsync<PostgresException>(() => Count($"SELECT * FROM range({SqlEndpoint.MaxRows + 1})"));
        Assert.Equal("54000", capped.SqlState);
        Assert.Contains("more than 10,000 rows", capped.MessageText, StringComparison.Ordinal);
        Assert.Contains("serve.pg.max_rows", capped.MessageText, StringComparison.Ordinal);

        // A cursor counts every row it hands out, across FETCHes.
        Assert.Equal(9_000, await Count($"BEGIN; DECLARE c CURSOR FOR SELECT * FROM range({SqlEndpoint.MaxRows + 5}); FETCH 9000 FROM c"));
        Assert.Equal("54000", (await Assert.ThrowsAsync<PostgresException>(() => Count("FETCH 2000 FROM c"))).SqlState);
        Assert.Equal(0, await Count("ROLLBACK"));

        // So does a portal read in pieces (Execute with a row limit), and COPY … TO STDOUT.
        using var client = await PgRawClient.ConnectAsync(port);
        await client.SendAsync('P', PgRawClient.CString(""), PgRawClient.CString($"SELECT * FROM range({SqlEndpoint.MaxRows + 1})"), PgRawClient.Int16(0));
        await client.SendAsync('B', PgRawClient.CString(""), PgRawClient.CString(""), PgRawClient.Int16(0), PgRawClient.Int16(0), PgRawClient.Int16(0));
        await client.SendAsync('E', PgRawClient.CString(""), PgRawClient.Int32(6000));
        await client.SendAsync('E', PgRawClient.CString(""), PgRawClient.Int32(6000));
        await client.SendAsync('S');
        var messages = await client.ReadUntilReadyAsync();
        Assert.Equal(SqlEndpoint.MaxRows, messages.Count(m => m.Type == 'D'));
        Assert.Equal("12sEZ", new string(messages.Select(m => m.Type).Where(t => t != 'D').ToArray()));
        Assert.Equal("54000", PgRawClient.Code(messages.Single(m => m.Type == 'E').Body));

        await client.SendAsync('Q', PgRawClient.CString($"COPY (SELECT * FROM range({SqlEndpoint.MaxRows + 1})) TO STDOUT"));
        messages = await client.ReadUntilReadyAsync();
        Assert.Equal(SqlEndpoint.MaxRows, messages.Count(m => m.Type == 'd'));
        Assert.Equal("HEZ", new string(messages.Select(m => m.Type).Where(t => t != 'd').ToArray()));
        await client.SendAsync('Q', PgRawClient.CString("SELECT count(*) FROM trusted.items"));
        Assert.Equal("300", PgRawClient.First((await client.ReadUntilReadyAsync()).Single(m => m.Type == 'D').Body));
    }

    [SkippableFact]
    public async Task No_row_cap_when_the_spec_says_none()
    {
        using var lake = new PgLake("{port: 0, max_rows: none}");
        var (server, port) = await lake.StartAsync();
        using var _ = server;
        await using var connection = Connect(port);
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand("SELECT * FROM range(25000)", connection);
        await using var reader = await command.ExecuteReaderAsync();
        long rows = 0, sum = 0;
        while (await reader.ReadAsync())
        {
            rows++;
            sum += reader.GetInt64(0);
        }
        Assert.Equal((25_000L, 25_000L * 24_999 / 2), (rows, sum));
    }

    [SkippableFact]
    public async Task A_client_that_stalls_mid_message_is_cut_off_and_the_server_goes_on()
    {
        var (server, port) = await _lake.StartAsync();
        using var _ = server;
        using var stalled = await PgRawClient.ConnectAsync(port);
        using var idle = await PgRawClient.ConnectAsync(port);

        // Five bytes of a query that claims 100: after message_timeout (1 s), a FATAL 08P01 and the connection ends.
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await stalled.Stream.WriteAsync(new byte[] { (byte)'Q', 0, 0, 0, 100, (byte)'S' });
        var answer = await stalled.ReadAsync();
        Assert.NotNull(answer);
        Assert.Equal('E', answer.Value.Type);
        Assert.Equal(("08P01", "FATAL"), (PgRawClient.Code(answer.Value.Body), PgRawClient.Field(answer.Value.Body, 'S')));
        Assert.Contains("half-way through a message", PgRawClient.Field(answer.Value.Body, 'M'), StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(900), TimeSpan.FromSeconds(15));
        Assert.Null(await stalled.ReadAsync());

        // A session that idled between messages all that time still answers; a new one connects.
        await idle.SendAsync('Q', PgRawClient.CString("SELECT count(*) FROM trusted.items"));
        Assert.Equal("300", PgRawClient.First((await idle.ReadUntilReadyAsync()).Single(m => m.Type == 'D').Body));
        await using var fresh = Connect(port);
        await fresh.OpenAsync();
        Assert.Equal(300L, await new NpgsqlCommand("SELECT count(*) FROM trusted.items", fresh).ExecuteScalarAsync());
    }

    [SkippableFact]
    public async Task Startup_parameters_and_options_are_applied_as_PostgreSQL_applies_them()
    {
        var (server, port) = await _lake.StartAsync();
        using var _ = server;

        // libpq's PGOPTIONS (-c name=value, --name=value), a parameter of its own, and a protocol option to decline.
        var (client, messages) = await PgRawClient.StartAsync(port, new Dictionary<string, string>
        {
            ["user"] = "caudal",
            ["database"] = "lake",
            ["application_name"] = "nightly report",
            ["options"] = @"-c search_path=trusted --statement-timeout=5s -c application_name=weekly\ report -c DateStyle=ISO,\ YMD",
            ["_pq_.compression"] = "on",
        });
        using (client)
        {
            Assert.Equal('v', messages[0].Type);
            Assert.Contains("_pq_.compression", Encoding.UTF8.GetString(messages[0].Body), StringComparison.Ordinal);
            Assert.Equal('Z', messages[^1].Type);
            // As in PostgreSQL, the packet's own parameters are applied after its options.
            Assert.Equal("nightly report", PgRawClient.Parameters(messages)["application_name"]);
            Assert.Equal("ISO, YMD", PgRawClient.Parameters(messages)["DateStyle"]);
            await client.SendAsync('Q', PgRawClient.CString("SELECT count(*) FROM items; SHOW statement_timeout"));
            var rows = (await client.ReadUntilReadyAsync()).Where(m => m.Type == 'D').Select(m => PgRawClient.First(m.Body));
            Assert.Equal(["300", "5s"], rows);
        }

        // An unknown parameter ends the connection, as PostgreSQL ends it; so does a bad value or a bad option.
        foreach (var (name, value, code) in new[]
                 {
                     ("no_such_setting", "1", "42704"),
                     ("client_encoding", "LATIN1", "22023"),
                     ("options", "-X fast", "42601"),
                     ("options", "-c search_path", "42601"),
                 })
        {
            var (refused, answer) = await PgRawClient.StartAsync(port, new Dictionary<string, string> { ["user"] = "caudal", [name] = value });
            using (refused)
            {
                Assert.Equal('E', answer[^1].Type);
                Assert.Equal((code, "FATAL"), (PgRawClient.Code(answer[^1].Body), PgRawClient.Field(answer[^1].Body, 'S')));
            }
        }

        // A driver sending the client's own time zone (pgJDBC sends the JVM's) connects, is told the session is in
        // UTC, and reads instants exactly.
        await using var npgsql = Connect(port, ";Timezone=Europe/Paris");
        await npgsql.OpenAsync();
        Assert.Equal("UTC", npgsql.Timezone);
        await using var command = new NpgsqlCommand("SELECT TIMESTAMPTZ '2024-07-01 12:00:00+02'", npgsql);
        Assert.Equal(new DateTime(2024, 7, 1, 10, 0, 0, DateTimeKind.Utc), (DateTime)(await command.ExecuteScalarAsync())!);
    }
}
