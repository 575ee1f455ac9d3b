using System.Diagnostics;
using System.Net.Sockets;
using System.Text.Json;
using Caudal.Lake;
using Caudal.Serve;
using Caudal.Tests.Support;
using Npgsql;

namespace Caudal.Tests.Serve;

/// <summary>
/// <c>serve.pg</c>: the lake over PostgreSQL's wire protocol, to a real <c>caudal serve</c> process, with the clients
/// people use: Npgsql with its default type loading (what Power BI ships) and psql. Values read through it equal the
/// same rows through <c>/v1/sql</c>; writes are refused with 25006; bad SQL, a cancel, garbage and a 2 GB message
/// get PostgreSQL's errors and the server keeps serving.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class PgWireTests : IDisposable
{
    private readonly PgLake _lake = new();

    public void Dispose() => _lake.Dispose();

    private Task<(ServeProcess Server, int Port)> StartAsync() => _lake.StartAsync();

    private static NpgsqlConnection Connect(int port, string user = "caudal", string? password = null) =>
        new($"Host=127.0.0.1;Port={port};Username={user};Database=lake;SSL Mode=Disable;Timeout=10;Command Timeout=30{(password != null ? $";Password={password}" : "")}");

    [SkippableFact]
    public async Task Npgsql_reads_the_catalog_and_exact_values_with_parameters()
    {
        var (server, port) = await StartAsync();
        using var _ = server;
        await using var connection = Connect(port);
        await connection.OpenAsync();
        Assert.StartsWith("16.", connection.PostgreSqlVersion.ToString(), StringComparison.Ordinal);

        var schemas = new List<string>();
        await using (var command = new NpgsqlCommand("SELECT schema_name FROM information_schema.schemata ORDER BY 1", connection))
        await using (var reader = await command.ExecuteReaderAsync())
            while (await reader.ReadAsync()) schemas.Add(reader.GetString(0));
        Assert.Equal(["information_schema", "pg_catalog", "public", "raw", "refined", "trusted"], schemas);

        await using (var command = new NpgsqlCommand(
            "SELECT a.attname, format_type(a.atttypid, a.atttypmod), col_description(c.oid, 0) IS NULL, obj_description(c.oid, 'pg_class') " +
            "FROM pg_catalog.pg_class c JOIN pg_catalog.pg_namespace n ON n.oid = c.relnamespace JOIN pg_catalog.pg_attribute a ON a.attrelid = c.oid " +
            "WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 ORDER BY a.attnum", connection))
        {
            command.Parameters.AddWithValue("trusted");
            command.Parameters.AddWithValue("items");
            await using var reader = await command.ExecuteReaderAsync();
            Assert.True(await reader.ReadAsync());
            Assert.Equal(("id", "bigint"), (reader.GetString(0), reader.GetString(1)));
            Assert.Equal("One row per item, as it is now.", reader.GetString(3));
        }

        // Binary results (Npgsql asks for binary) with a typed parameter, compared with the same rows through /v1/sql.
        var viaPg = new List<(long, string, long)>();
        await using (var command = new NpgsqlCommand("SELECT id, name, grp FROM trusted.items WHERE id > $1 ORDER BY id", connection))
        {
            command.Parameters.AddWithValue(290L);
            await using var reader = await command.ExecuteReaderAsync();
            while (await reader.ReadAsync()) viaPg.Add((reader.GetInt64(0), reader.GetString(1), reader.GetInt64(2)));
        }
        using var http = new HttpClient { BaseAddress = new Uri(server.Url) };
        var response = await http.PostAsync("/v1/sql", new StringContent(
            """{"sql": "SELECT id, name, grp FROM trusted.items WHERE id > 290 ORDER BY id"}""", System.Text.Encoding.UTF8, "application/json"));
        var rows = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.GetProperty("rows");
        Assert.Equal(10, viaPg.Count);
        Assert.Equal(rows.EnumerateArray().Select(r => (r[0].GetInt64(), r[1].GetString()!, r[2].GetInt64())), viaPg);

        // Many types, in binary, exactly.
        await using (var command = new NpgsqlCommand(
            "SELECT 12.340::DECIMAL(10,3), -0.5::DOUBLE, true, DATE '2024-02-29', [1, 2, NULL]::INTEGER[], 'a b'::VARCHAR, NULL::BIGINT, " +
            "'2f1c5e0a-1b2c-4d3e-8f90-123456789abc'::UUID, INTERVAL '1 day 02:00:00'", connection))
        await using (var reader = await command.ExecuteReaderAsync())
        {
            Assert.True(await reader.ReadAsync());
            Assert.Equal(12.340m, reader.GetDecimal(0));
            Assert.Equal("12.340", reader.GetDecimal(0).ToString(System.Globalization.CultureInfo.InvariantCulture));
            Assert.Equal("numeric(10, 3)", reader.GetDataTypeName(0));
            Assert.Equal(-0.5, reader.GetDouble(1));
            Assert.True(reader.GetBoolean(2));
            Assert.Equal(new DateTime(2024, 2, 29), reader.GetDateTime(3));
            Assert.Equal(new int?[] { 1, 2, null }, reader.GetFieldValue<int?[]>(4));
            Assert.Equal("a b", reader.GetString(5));
            Assert.True(reader.IsDBNull(6));
            Assert.Equal(Guid.Parse("2f1c5e0a-1b2c-4d3e-8f90-123456789abc"), reader.GetGuid(7));
            Assert.Equal(TimeSpan.FromHours(26), reader.GetTimeSpan(8));
        }

        // Writes are refused as PostgreSQL refuses them on a read-only transaction; the connection goes on.
        var refused = await Assert.ThrowsAsync<PostgresException>(() => new NpgsqlCommand("DELETE FROM trusted.items", connection).ExecuteNonQueryAsync());
        Assert.Equal("25006", refused.SqlState);
        Assert.Equal("42P01", (await Assert.ThrowsAsync<PostgresException>(() => new NpgsqlCommand("SELECT * FROM trusted.nope", connection).ExecuteScalarAsync())).SqlState);
        Assert.Equal("42601", (await Assert.ThrowsAsync<PostgresException>(() => new NpgsqlCommand("SELEC 1", connection).ExecuteScalarAsync())).SqlState);
        Assert.Equal("42501", (await Assert.ThrowsAsync<PostgresException>(() => new NpgsqlCommand("SELECT * FROM read_text('/etc/passwd')", connection).ExecuteScalarAsync())).SqlState);
        Assert.Equal(300L, await new NpgsqlCommand("SELECT count(*) FROM trusted.items", connection).ExecuteScalarAsync());

        // A cancel really interrupts the statement, and the session goes on.
        await using (var slow = new NpgsqlCommand("SELECT count(*) FROM range(100000000000) a", connection))
        {
            var running = slow.ExecuteScalarAsync();
            await Task.Delay(500);
            slow.Cancel();
            var cancelled = await Assert.ThrowsAnyAsync<Exception>(() => running);
            Assert.True((cancelled as PostgresException ?? cancelled.InnerException as PostgresException)?.SqlState == "57014", cancelled.ToString());
        }
        Assert.Equal(1, await new NpgsqlCommand("SELECT 1", connection).ExecuteScalarAsync());
    }

    [SkippableFact]
    public async Task Result_columns_are_named_as_PostgreSQL_names_them()
    {
        using var postgres = TestDatabase.Postgres();
        postgres.Execute("""
            CREATE SCHEMA trusted;
            CREATE TABLE trusted.items (id bigint, name text, grp bigint, _caudal_op text);
            INSERT INTO trusted.items SELECT n, 'item ' || n, n / 100, 'snapshot' FROM generate_series(1, 300) n;
            """);
        var (server, port) = await StartAsync();
        using var _ = server;
        string[] statements =
        [
            "SELECT count(*), sum(id), max(name) FROM trusted.items",
            "SELECT 1, 'a', 1::int, 1.5::numeric(5,2), id::text, CASE WHEN id > 1 THEN 1 END, coalesce(name, 'x'), nullif(id, 2), greatest(id, 2), " +
            "id + 1, 2.0 * 3, (SELECT max(id) FROM trusted.items), EXISTS (SELECT 1), name AS label, lower(name), id, items.grp FROM trusted.items WHERE id = 1",
            "SELECT ARRAY[1, 2], current_date, now() IS NOT NULL, upper('x')",
            "VALUES (1, 'a')",
            "SELECT id FROM trusted.items WHERE id = 1 UNION SELECT 2",
            "SELECT * FROM trusted.items WHERE id = 1",
            "SELECT count(*) AS Total, max(id) AS \"Biggest\", min(id) AS smallest FROM trusted.items",
            "SELECT NULL, json_build_object('a', 1), to_json(1), json_agg(id) FROM trusted.items WHERE id = 1",
        ];
        static async Task<List<string>> Columns(NpgsqlConnection connection, string sql, bool types)
        {
            await using var command = new NpgsqlCommand(sql, connection);
            await using var reader = await command.ExecuteReaderAsync();
            return Enumerable.Range(0, reader.FieldCount).Select(i => types ? $"{reader.GetName(i)} {reader.GetDataTypeName(i)}" : reader.GetName(i)).ToList();
        }
        Task<List<string>> Names(NpgsqlConnection connection, string sql) => Columns(connection, sql, types: false);
        await using var caudal = Connect(port);
        await caudal.OpenAsync();
        await using var real = new NpgsqlConnection(postgres.ConnectionString);
        await real.OpenAsync();
        foreach (var sql in statements) Assert.Equal(await Names(real, sql), await Names(caudal, sql));
        // The types a result does not carry: an untyped NULL is text, JSON built by a function is json; a numeric's
        // precision and scale.
        foreach (var sql in new[] { statements[^1], "SELECT 1.5::numeric(5,2), id, name FROM trusted.items WHERE id = 1" })
            Assert.Equal(await Columns(real, sql, types: true), await Columns(caudal, sql, types: true));
        Assert.Equal(["count", "?column?", "int4"], await Names(caudal, "SELECT count(*), 1, 1::int"));
    }

    [SkippableFact]
    public async Task Psql_lists_and_describes_tables_and_copies_rows_out()
    {
        Skip.If(!File.Exists("/usr/bin/psql"), "psql is not installed");
        var (server, port) = await StartAsync();
        using var _ = server;
        var csv = Path.Combine(_lake.Folder, "out.csv");
        var output = Psql(port, "\\l", "\\dn", "\\dt raw.*", "\\dt trusted.*", "\\d trusted.items", "\\d+ trusted.items", "\\dt+ trusted.*", $"\\copy (SELECT id, name FROM trusted.items WHERE id <= 3 ORDER BY id) TO '{csv}' CSV HEADER", "\\x", "SELECT 1 AS one");
        Assert.Matches(@"(?m)^ lake \| caudal \| UTF8 ", output);
        Assert.Contains(" raw    | db_item | table | caudal", output, StringComparison.Ordinal);
        Assert.Contains(" trusted | items | table | caudal", output, StringComparison.Ordinal);
        Assert.Contains("\"items_pkey\" PRIMARY KEY, btree (id)", output, StringComparison.Ordinal);
        // \d+: storage as PostgreSQL has it for these types; \dt+: the data's size and the model's description.
        Assert.Matches(@"(?m)^ id +\| bigint \|.*\| plain +\|", output);
        Assert.Matches(@"(?m)^ name +\| text +\|.*\| extended \|", output);
        Assert.Matches(@"(?m)^ trusted \| items \| table \| caudal \| permanent +\| heap +\| [1-9][0-9]* (bytes|kB) +\| One row per item, as it is now\.", output);
        Assert.Contains("one | 1", output, StringComparison.Ordinal);
        Assert.DoesNotContain("ERROR", output, StringComparison.Ordinal);
        Assert.Equal("id,name\n1,item 1\n2,item 2\n3,item 3\n", File.ReadAllText(csv));
    }

    [SkippableFact]
    public async Task Garbage_and_oversized_messages_end_one_connection_not_the_server()
    {
        var (server, port) = await StartAsync();
        using var _ = server;
        using (var garbage = new TcpClient("127.0.0.1", port))
        {
            var stream = garbage.GetStream();
            await stream.WriteAsync("GET / HTTP/1.1\r\nHost: x\r\n\r\n"u8.ToArray());
            var buffer = new byte[512];
            var n = await stream.ReadAsync(buffer);
            Assert.Equal((byte)'E', buffer[0]);
            Assert.Contains("08P01", System.Text.Encoding.UTF8.GetString(buffer, 0, n), StringComparison.Ordinal);
        }
        using (var raw = new TcpClient("127.0.0.1", port))
        {
            // A started session, then a simple query message claiming 2 GB: refused before any of it is read.
            var stream = raw.GetStream();
            var startup = new List<byte>();
            startup.AddRange([0, 3, 0, 0]);
            startup.AddRange("user\0caudal\0database\0lake\0\0"u8.ToArray());
            var length = BitConverter.GetBytes(System.Buffers.Binary.BinaryPrimitives.ReverseEndianness(startup.Count + 4));
            await stream.WriteAsync(length.Concat(startup).ToArray());
            var buffer = new byte[4096];
            var seen = "";
            while (!seen.Contains('Z')) seen += System.Text.Encoding.Latin1.GetString(buffer, 0, await stream.ReadAsync(buffer));
            await stream.WriteAsync(new byte[] { (byte)'Q', 0x7f, 0xff, 0xff, 0xff });
            var n = await stream.ReadAsync(buffer);
            Assert.Contains("08P01", System.Text.Encoding.UTF8.GetString(buffer, 0, n), StringComparison.Ordinal);
        }
        await using var fresh = Connect(port);
        await fresh.OpenAsync();
        Assert.Equal(300L, await new NpgsqlCommand("SELECT count(*) FROM trusted.items", fresh).ExecuteScalarAsync());
    }

    [SkippableFact]
    public async Task An_api_key_signs_in_with_scram_and_a_wrong_one_is_refused()
    {
        var store = DataLake.Open(_lake.Items.Harness.Spec.Lake).Store;
        var (_, secret) = await new ApiKeyStore(store).AddAsync("analyst", [ApiScopes.Sql], null);
        var (_, tablesOnly) = await new ApiKeyStore(store).AddAsync("dashboard", [ApiScopes.Tables], null);
        var (server, port) = await StartAsync();
        using var _ = server;
        await using (var good = Connect(port, "analyst", secret))
        {
            await good.OpenAsync();
            Assert.Equal(300L, await new NpgsqlCommand("SELECT count(*) FROM trusted.items", good).ExecuteScalarAsync());
        }
        await using (var wrong = Connect(port, "analyst", secret[..^1] + (secret[^1] == '0' ? '1' : '0')))
            Assert.Equal("28P01", (await Assert.ThrowsAsync<PostgresException>(() => wrong.OpenAsync())).SqlState);
        await using (var unknown = Connect(port, "nobody", secret))
            Assert.Equal("28P01", (await Assert.ThrowsAsync<PostgresException>(() => unknown.OpenAsync())).SqlState);
        await using (var scope = Connect(port, "dashboard", tablesOnly))
            Assert.Equal("28000", (await Assert.ThrowsAsync<PostgresException>(() => scope.OpenAsync())).SqlState);
        Assert.DoesNotContain(secret, server.Output, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task The_extended_protocol_suspends_portals_and_skips_to_sync_after_an_error()
    {
        var (server, port) = await StartAsync();
        using var _ = server;
        using var client = await PgRawClient.ConnectAsync(port);
        await client.SendAsync('P', PgRawClient.CString(""), PgRawClient.CString("SELECT id FROM trusted.items WHERE id > $1 ORDER BY id"), PgRawClient.Int16(1), PgRawClient.Int32(20));
        await client.SendAsync('B', PgRawClient.CString(""), PgRawClient.CString(""), PgRawClient.Int16(0), PgRawClient.Int16(1), PgRawClient.Int32(3),
            System.Text.Encoding.UTF8.GetBytes("295"), PgRawClient.Int16(0));
        await client.SendAsync('E', PgRawClient.CString(""), PgRawClient.Int32(2));
        await client.SendAsync('E', PgRawClient.CString(""), PgRawClient.Int32(2));
        await client.SendAsync('E', PgRawClient.CString(""), PgRawClient.Int32(2));
        await client.SendAsync('S');
        var messages = await client.ReadUntilReadyAsync();
        Assert.Equal("12DDsDDsDC", new string(messages.Select(m => m.Type).Where(t => t != 'Z').ToArray()));
        Assert.Equal(["296", "297", "298", "299", "300"], messages.Where(m => m.Type == 'D').Select(m => PgRawClient.First(m.Body)));
        Assert.Equal("SELECT 5", System.Text.Encoding.UTF8.GetString(messages.Single(m => m.Type == 'C').Body).TrimEnd('\0'));

        // An error in a batch: everything up to Sync is skipped, then the session is ready again.
        await client.SendAsync('P', PgRawClient.CString(""), PgRawClient.CString("SELECT * FROM trusted.nope"), PgRawClient.Int16(0));
        await client.SendAsync('B', PgRawClient.CString(""), PgRawClient.CString(""), PgRawClient.Int16(0), PgRawClient.Int16(0), PgRawClient.Int16(0));
        await client.SendAsync('E', PgRawClient.CString(""), PgRawClient.Int32(0));
        await client.SendAsync('S');
        messages = await client.ReadUntilReadyAsync();
        // The error comes when the statement is bound to the lake (here at Execute, in PostgreSQL at Parse): no rows, no
        // CommandComplete, the rest skipped.
        Assert.Matches("^1?2?EZ$", new string(messages.Select(m => m.Type).ToArray()));
        Assert.Equal("42P01", PgRawClient.Code(messages.Single(m => m.Type == 'E').Body));
        await client.SendAsync('Q', PgRawClient.CString("SELECT count(*) FROM trusted.items"));
        messages = await client.ReadUntilReadyAsync();
        Assert.Equal("300", PgRawClient.First(messages.Single(m => m.Type == 'D').Body));

        // What does not parse, and what the sandbox refuses, fail at Parse itself, as in PostgreSQL.
        foreach (var (sql, code) in new[] { ("SELEC 1", "42601"), ("SELECT * FROM duckdb_settings()", "42501"), ("SELECT 1 INTO x", "25006") })
        {
            await client.SendAsync('P', PgRawClient.CString("s"), PgRawClient.CString(sql), PgRawClient.Int16(0));
            await client.SendAsync('B', PgRawClient.CString(""), PgRawClient.CString("s"), PgRawClient.Int16(0), PgRawClient.Int16(0), PgRawClient.Int16(0));
            await client.SendAsync('E', PgRawClient.CString(""), PgRawClient.Int32(0));
            await client.SendAsync('S');
            messages = await client.ReadUntilReadyAsync();
            Assert.Equal("EZ", new string(messages.Select(m => m.Type).ToArray()));
            Assert.Equal(code, PgRawClient.Code(messages[0].Body));
        }
        // The failed Parse left no statement behind.
        await client.SendAsync('B', PgRawClient.CString(""), PgRawClient.CString("s"), PgRawClient.Int16(0), PgRawClient.Int16(0), PgRawClient.Int16(0));
        await client.SendAsync('S');
        messages = await client.ReadUntilReadyAsync();
        Assert.Equal("26000", PgRawClient.Code(messages.Single(m => m.Type == 'E').Body));
    }

    [SkippableFact]
    public async Task Cursors_settings_and_the_statement_timeout_behave_as_in_PostgreSQL()
    {
        var (server, port) = await StartAsync();
        using var _ = server;
        await using var connection = Connect(port);
        await connection.OpenAsync();
        async Task<List<string>> Rows(string sql)
        {
            var rows = new List<string>();
            await using var command = new NpgsqlCommand(sql, connection);
            await using var reader = await command.ExecuteReaderAsync();
            do
            {
                while (await reader.ReadAsync()) rows.Add(Convert.ToString(reader.GetValue(0), System.Globalization.CultureInfo.InvariantCulture)!);
            }
            while (await reader.NextResultAsync());
            return rows;
        }
        Assert.Equal("25P01", (await Assert.ThrowsAsync<PostgresException>(() => Rows("DECLARE c CURSOR FOR SELECT 1"))).SqlState);
        Assert.Equal(["1", "2", "8", "9"], await Rows(
            "BEGIN; DECLARE c NO SCROLL CURSOR FOR SELECT id FROM trusted.items ORDER BY id; FETCH 2 FROM c; MOVE 5 IN c; FETCH FORWARD 2 FROM c; CLOSE c; COMMIT"));
        Assert.Equal("34000", (await Assert.ThrowsAsync<PostgresException>(() => Rows("FETCH 1 FROM c"))).SqlState);

        Assert.Equal(["UTC"], await Rows("SHOW TimeZone"));
        Assert.Equal("22023", (await Assert.ThrowsAsync<PostgresException>(() => Rows("SET client_encoding = 'LATIN1'"))).SqlState);
        Assert.Equal("42704", (await Assert.ThrowsAsync<PostgresException>(() => Rows("SET no_such_setting = 1"))).SqlState);
        Assert.Equal(["trusted"], await Rows("SET search_path TO trusted; SELECT current_schema()"));
        Assert.Equal(["300"], await Rows("SELECT count(*) FROM items"));
        Assert.Equal(["public"], await Rows("RESET search_path; SELECT current_schema()"));
        Assert.Equal(["50"], await Rows("SET statement_timeout = 50; SHOW statement_timeout"));
        var timedOut = await Assert.ThrowsAsync<PostgresException>(() => Rows("SELECT count(*) FROM range(100000000000) a"));
        Assert.Equal(("57014", "canceling statement due to statement timeout"), (timedOut.SqlState, timedOut.MessageText));
        Assert.Equal(["0"], await Rows("RESET ALL; SHOW statement_timeout"));
        Assert.Equal("25006", (await Assert.ThrowsAsync<PostgresException>(() => Rows("SET TRANSACTION READ WRITE"))).SqlState);
        Assert.Equal("25006", (await Assert.ThrowsAsync<PostgresException>(() => Rows("CREATE TABLE trusted.x (a int)"))).SqlState);
        Assert.Equal("25006", (await Assert.ThrowsAsync<PostgresException>(() => Rows("COPY trusted.items FROM STDIN"))).SqlState);
        Assert.Equal(["1"], await Rows("DISCARD ALL; SELECT 1"));
    }

    [SkippableFact]
    public async Task Hundreds_of_idle_connections_do_not_stop_a_new_one()
    {
        var (server, port) = await StartAsync();
        using var _ = server;
        var idle = new List<PgRawClient>();
        try
        {
            for (var k = 0; k < 300; k++) idle.Add(await PgRawClient.ConnectAsync(port));
            await using var connection = Connect(port);
            await connection.OpenAsync();
            Assert.Equal(300L, await new NpgsqlCommand("SELECT count(*) FROM trusted.items", connection).ExecuteScalarAsync());
            // Each idle session is still a session.
            await idle[0].SendAsync('Q', PgRawClient.CString("SELECT 41 + 1"));
            Assert.Equal("42", PgRawClient.First((await idle[0].ReadUntilReadyAsync()).Single(m => m.Type == 'D').Body));
        }
        finally
        {
            foreach (var client in idle) client.Dispose();
        }
    }

    [SkippableFact]
    public async Task Tls_uses_the_https_certificate_and_lets_an_older_key_sign_in_only_through_it()
    {
        Skip.If(!File.Exists("/usr/bin/openssl"), "openssl is not installed");
        var folder = _lake.Folder;
        var (cert, key) = (Path.Combine(folder, "server.crt"), Path.Combine(folder, "server.key"));
        var openssl = Process.Start(new ProcessStartInfo("openssl", ["req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", key, "-out", cert, "-days", "1", "-subj", "/CN=127.0.0.1"])
        { RedirectStandardError = true, RedirectStandardOutput = true })!;
        openssl.WaitForExit();
        Assert.Equal(0, openssl.ExitCode);

        // A key as stored before PostgreSQL sign-in existed: no SCRAM verifier.
        var store = DataLake.Open(_lake.Items.Harness.Spec.Lake).Store;
        var (_, secret) = await new ApiKeyStore(store).AddAsync("old", [ApiScopes.Sql], null);
        var json = System.Text.Json.Nodes.JsonNode.Parse(await store.GetAsync(ApiKeyStore.Prefix + "old.json") ?? [])!.AsObject();
        Assert.True(json.Remove("scram"));
        await store.PutAsync(ApiKeyStore.Prefix + "old.json", new MemoryStream(System.Text.Encoding.UTF8.GetBytes(json.ToJsonString())));

        var (server, port) = await _lake.StartAsync(new Dictionary<string, string>
        {
            ["Kestrel__Certificates__Default__Path"] = cert,
            ["Kestrel__Certificates__Default__KeyPath"] = key,
        });
        using var _ = server;
        Assert.Contains("TLS on", server.Output, StringComparison.Ordinal);

        await using (var tls = new NpgsqlConnection($"Host=127.0.0.1;Port={port};Username=old;Password={secret};Database=lake;SSL Mode=Require;Trust Server Certificate=true"))
        {
            await tls.OpenAsync();
            Assert.Equal(300L, await new NpgsqlCommand("SELECT count(*) FROM trusted.items", tls).ExecuteScalarAsync());
        }
        await using var plain = Connect(port, "old", secret);
        var refused = await Assert.ThrowsAsync<PostgresException>(() => plain.OpenAsync());
        Assert.Equal("28P01", refused.SqlState);
        Assert.Contains("sslmode=require", refused.MessageText, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task Every_hostile_statement_of_the_sql_endpoint_is_refused_here_too_and_nothing_is_written()
    {
        var (server, port) = await StartAsync();
        using var _ = server;
        var lake = Path.Combine(_lake.Folder, "lake");
        var outside = Path.Combine(Path.GetTempPath(), "caudal-evil-" + Guid.NewGuid().ToString("N")[..6]);
        await using var connection = Connect(port);
        await connection.OpenAsync();
        foreach (var (sql, code) in new[]
                 {
                     ($"COPY (SELECT 1) TO '{outside}.csv'", "42501"),
                     ($"COPY (SELECT 1) TO '{lake}/trusted/x.csv'", "42501"),
                     ($"ATTACH '{outside}.db'", "25006"),
                     ("INSTALL httpfs", "25006"),
                     ("LOAD httpfs", "25006"),
                     ("SET enable_external_access = true", "42704"),
                     ("PRAGMA threads = 8", "25006"),
                     ("CREATE TABLE t AS SELECT 1", "25006"),
                     ("SELECT 1 INTO t", "25006"),
                     ("EXPORT DATABASE '/tmp/x'", "25006"),
                     ("SELECT * FROM read_csv('/etc/passwd')", "42501|XX000"),
                     ($"SELECT * FROM read_parquet('{outside}.parquet')", "42501|XX000"),
                     ("SELECT * FROM glob('/etc/*')", "42501"),
                     ($"SELECT * FROM read_text('{lake}/_caudal/keys/*.json')", "42501"),
                     ($"SELECT * FROM read_json_auto('{lake}/_caudal/keys/*.json')", "42501|XX000"),
                     ($"SELECT * FROM read_json_auto('{lake}/trusted/items/_delta_log/00000000000000000000.json')", "42501|XX000"),
                     ("SELECT * FROM duckdb_settings()", "42501"),
                     ("SELECT * FROM system.main.duckdb_settings()", "42501"),
                     ("SELECT sql FROM duckdb_views", "42501"),
                     ("SELECT sql FROM sqlite_master", "42501"),
                     ("SELECT getenv('HOME')", "42501"),
                     ("SELECT * FROM query('SELECT current_setting(''temp_directory'')')", "42501"),
                     ("SELECT * FROM query_table('trusted.items')", "42501"),
                     ("SELECT system.main.current_setting('allowed_paths')", "42501"),
                     ("SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')", "42501|XX000"),
                 })
        {
            var refused = await Assert.ThrowsAsync<PostgresException>(() => new NpgsqlCommand(sql, connection).ExecuteNonQueryAsync());
            Assert.True(code.Split('|').Contains(refused.SqlState), $"{sql}: {refused.SqlState} {refused.MessageText}");
        }
        // The session's own catalog answers in the engine's place, and shows no file, path or engine setting.
        Assert.Null(await new NpgsqlCommand("SELECT current_setting('allowed_paths')", connection).ExecuteScalarAsync() as string);
        Assert.Equal(0L, await new NpgsqlCommand("SELECT count(*) FROM pg_catalog.pg_settings WHERE setting LIKE '%/%' OR name LIKE '%allowed%'", connection).ExecuteScalarAsync());
        Assert.Equal(0L, await new NpgsqlCommand("SELECT count(*) FROM information_schema.views", connection).ExecuteScalarAsync());
        Assert.False(File.Exists(outside + ".csv") || File.Exists(outside + ".db") || File.Exists(Path.Combine(lake, "trusted", "x.csv")));
        Assert.Equal(300L, await new NpgsqlCommand("SELECT count(*) FROM trusted.items", connection).ExecuteScalarAsync());
    }

    [SkippableFact]
    public async Task Ctrl_c_in_psql_cancels_the_running_query_and_psql_goes_on()
    {
        Skip.If(!File.Exists("/usr/bin/psql") || !File.Exists("/usr/bin/script"), "psql or script (util-linux) is not installed");
        var (server, port) = await StartAsync();
        using var _ = server;
        // psql in a pseudo-terminal (script), as a person runs it: a slow query, Ctrl-C, then another query.
        var start = new ProcessStartInfo("/usr/bin/script", ["-qefc", $"psql -X -P pager=off 'host=127.0.0.1 port={port} user=caudal dbname=lake sslmode=disable'", "/dev/null"])
        {
            RedirectStandardInput = true,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var psql = Process.Start(start)!;
        var output = new System.Text.StringBuilder();
        // Read as it comes: the prompt ends without a newline.
        var reading = Task.Run(async () =>
        {
            var buffer = new char[4096];
            int n;
            while ((n = await psql.StandardOutput.ReadAsync(buffer)) > 0)
                lock (output) output.Append(buffer, 0, n);
        });
        string Seen() { lock (output) return output.ToString(); }
        await Eventually.WaitUntilAsync(() => Task.FromResult(Seen().Contains("lake=#", StringComparison.Ordinal) || Seen().Contains("lake=>", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20), "psql's prompt");
        await psql.StandardInput.WriteAsync("SELECT count(*) FROM range(100000000000) a;\n");
        await psql.StandardInput.FlushAsync();
        await Task.Delay(1500);
        await psql.StandardInput.WriteAsync("\u0003");
        await psql.StandardInput.FlushAsync();
        await Eventually.WaitUntilAsync(() => Task.FromResult(Seen().Contains("canceling statement due to user request", StringComparison.Ordinal)),
            TimeSpan.FromSeconds(20), "the cancel to be reported");
        await psql.StandardInput.WriteAsync("SELECT 6 * 7 AS answer;\n\\q\n");
        await psql.StandardInput.FlushAsync();
        Assert.True(psql.WaitForExit(20_000), Seen());
        await reading;
        Assert.Contains("42", Seen(), StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task A_pg_port_in_use_stops_the_server_with_a_clear_error()
    {
        using var busy = new System.Net.Sockets.TcpListener(System.Net.IPAddress.Loopback, 0);
        busy.Start();
        var port = ((System.Net.IPEndPoint)busy.LocalEndpoint).Port;
        var spec = Path.Combine(_lake.Folder, "caudal.yaml");
        await File.WriteAllTextAsync(spec, (await File.ReadAllTextAsync(spec)).Replace("pg: {port: 0}", $"pg: {{port: {port}}}", StringComparison.Ordinal));
        var result = await CliProcess.RunAsync(_lake.Folder, "serve", "--port", "0");
        Assert.NotEqual(0, result.ExitCode);
        Assert.Contains($"cannot listen for PostgreSQL clients at 127.0.0.1:{port}", result.Stderr, StringComparison.Ordinal);
    }

    [SkippableFact]
    public async Task An_open_session_sees_the_next_commit_and_a_statement_reads_one_version()
    {
        var (server, port) = await StartAsync();
        using var _ = server;
        await using var connection = Connect(port);
        await connection.OpenAsync();
        Assert.Equal(300L, await new NpgsqlCommand("SELECT count(*) FROM trusted.items", connection).ExecuteScalarAsync());
        _lake.Items.Insert(301, "item 301");
        var run = await new Caudal.Pipeline.PipelineRunner(_lake.Items.Harness.Spec).RunAsync();
        Assert.Equal(Caudal.Runs.RunStatus.Succeeded, run.Status);
        // The same connection, no reconnect: the new version is mounted before the next statement.
        await Eventually.WaitUntilAsync(async () => (long)(await new NpgsqlCommand("SELECT count(*) FROM trusted.items", connection).ExecuteScalarAsync())! == 301,
            TimeSpan.FromSeconds(10), "the open session to see the new commit");
        Assert.Equal("item 301", await new NpgsqlCommand("SELECT name FROM trusted.items WHERE id = 301", connection).ExecuteScalarAsync());
    }

    private static string Psql(int port, params string[] commands)
    {
        var start = new ProcessStartInfo("psql") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var a in new[] { $"host=127.0.0.1 port={port} user=caudal dbname=lake sslmode=disable connect_timeout=10", "-X" }) start.ArgumentList.Add(a);
        foreach (var c in commands)
        {
            start.ArgumentList.Add("-c");
            start.ArgumentList.Add(c);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        Assert.True(process.WaitForExit(60_000), "psql did not finish");
        return output.Result + error.Result;
    }
}
