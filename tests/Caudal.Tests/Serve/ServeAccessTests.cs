using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Apache.Arrow;
using Apache.Arrow.Ipc;
using Apache.Arrow.Types;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Serve;

/// <summary>`caudal serve` with API keys, scopes, rate limits, CORS, saved queries, exports and time travel — a real
/// process on 127.0.0.1, read with a real HTTP client.</summary>
[Collection(SerialCollection.Name)]
public sealed class ServeAccessTests : IAsyncLifetime
{
    private readonly Quickstart _qs = new(scale: 0.05);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private readonly List<ServeProcess> _servers = [];

    private const string ServeSection = """

        serve:
          cors: [https://bi.example.com]
          queries:
            revenue_of:
              description: Revenue of one country from a year on.
              sql: SELECT country, sum(revenue) AS revenue, count(*) AS months FROM refined.revenue_by_country_month WHERE country = $country AND year >= $from_year GROUP BY country
              params:
                country: text
                from_year: {type: integer, default: 2000}
        """;

    public async Task InitializeAsync()
    {
        File.AppendAllText(_qs.SpecPath, ServeSection + "\n");
        var run = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.True(run.ExitCode == 0, run.Stderr);
    }

    private async Task<string> AddKeyAsync(string name, params string[] options)
    {
        var add = await CliProcess.RunAsync(_qs.Folder, ["keys", "add", name, .. options]);
        Assert.True(add.ExitCode == 0, add.Stderr);
        return add.Stdout.Trim();
    }

    private async Task<ServeProcess> ServeAsync()
    {
        var server = await ServeProcess.StartAsync(_qs.Folder, "serve", "--port", "0");
        _servers.Add(server);
        return server;
    }

    private async Task<(HttpStatusCode Status, string Body, HttpResponseMessage Response)> GetAsync(string url, string? key = null, bool bearer = false)
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (key != null)
        {
            if (bearer) request.Headers.Authorization = new("Bearer", key);
            else request.Headers.Add("X-Api-Key", key);
        }
        var response = await _http.SendAsync(request);
        return (response.StatusCode, await response.Content.ReadAsStringAsync(), response);
    }

    [Fact]
    public async Task Keys_scopes_and_rate_limits_decide_who_reads_what()
    {
        File.AppendAllText(_qs.SpecPath, "  rate_limit: 5/1m\n");
        var reader = await AddKeyAsync("reader", "--scopes", "tables,queries");
        var admin = await AddKeyAsync("admin", "--scopes", "tables,runs,sql,queries,metrics", "--rate-limit", "1000/1m");
        Assert.NotEqual(reader, admin);
        var duplicate = await CliProcess.RunAsync(_qs.Folder, "keys", "add", "reader", "--scopes", "tables");
        Assert.Equal(2, duplicate.ExitCode);
        Assert.Contains("already exists", duplicate.Stderr);
        var badScope = await CliProcess.RunAsync(_qs.Folder, "keys", "add", "x", "--scopes", "tables,admin");
        Assert.Equal(2, badScope.ExitCode);
        Assert.Contains("unknown scope 'admin'", badScope.Stderr);

        // Only a salted hash is kept: the secret part of a key is nowhere in the lake.
        foreach (var file in Directory.EnumerateFiles(Path.Combine(_qs.LakePath, "_caudal", "keys")))
        {
            var text = File.ReadAllText(file);
            Assert.DoesNotContain(reader.Split('_')[2], text);
            Assert.DoesNotContain(admin.Split('_')[2], text);
        }
        var list = await CliProcess.RunAsync(_qs.Folder, "keys", "list");
        Assert.Contains("reader", list.Stdout);
        Assert.Contains("tables,queries", list.Stdout);
        Assert.DoesNotContain(reader, list.Stdout);

        var url = (await ServeAsync()).Url;
        var none = await GetAsync(url + "/v1/tables");
        Assert.Equal(HttpStatusCode.Unauthorized, none.Status);
        Assert.Contains("needs an API key with the 'tables' scope", none.Body);
        Assert.Equal("Bearer", none.Response.Headers.WwwAuthenticate.Single().Scheme);
        var forged = await GetAsync(url + "/v1/tables", reader[..^4] + "0000");
        Assert.Equal(HttpStatusCode.Unauthorized, forged.Status);
        Assert.Contains("not valid", forged.Body);
        var notAKey = await GetAsync(url + "/v1/tables", "'; DROP TABLE keys; --", bearer: true);
        Assert.Equal(HttpStatusCode.Unauthorized, notAKey.Status);

        Assert.Equal(HttpStatusCode.OK, (await GetAsync(url + "/v1/tables", reader, bearer: true)).Status);
        var sql = await GetAsync(url + "/v1/runs", reader);
        Assert.Equal(HttpStatusCode.Forbidden, sql.Status);
        Assert.Contains("does not have the 'runs' scope", sql.Body);
        using (var post = new HttpRequestMessage(HttpMethod.Post, url + "/v1/sql") { Content = JsonContent.Create(new { sql = "SELECT 1" }) })
        {
            post.Headers.Add("X-Api-Key", reader);
            using var response = await _http.SendAsync(post);
            Assert.Equal(HttpStatusCode.Forbidden, response.StatusCode);
        }

        // Public without a key: the dashboard's page, the API's description, health, and the auth question.
        foreach (var path in new[] { "/", "/dashboard/dashboard.js", "/openapi/v1.json", "/healthz", "/auth" })
            Assert.Equal(HttpStatusCode.OK, (await GetAsync(url + path)).Status);
        var auth = JsonDocument.Parse((await GetAsync(url + "/auth", reader)).Body).RootElement;
        Assert.True(auth.GetProperty("required").GetBoolean());
        Assert.Equal("reader", auth.GetProperty("key").GetProperty("name").GetString());

        // reader has the spec's budget, 5 a minute (one used above; refused and public requests do not count): the
        // sixth gets a 429 with Retry-After, while admin's own budget is untouched.
        var statuses = new List<HttpStatusCode>();
        for (var i = 0; i < 4; i++) statuses.Add((await GetAsync(url + "/v1/tables", reader)).Status);
        Assert.Equal(Enumerable.Repeat(HttpStatusCode.OK, 4), statuses);
        var limited = await GetAsync(url + "/v1/tables", reader);
        Assert.Equal(HttpStatusCode.TooManyRequests, limited.Status);
        Assert.True(limited.Response.Headers.RetryAfter != null, "no Retry-After");
        Assert.Contains("request budget", limited.Body);
        for (var i = 0; i < 10; i++) Assert.Equal(HttpStatusCode.OK, (await GetAsync(url + "/v1/runs", admin)).Status);

        // CORS: the allowed origin gets its preflight answered, another origin does not.
        foreach (var (origin, allowed) in new[] { ("https://bi.example.com", true), ("https://evil.example.com", false) })
        {
            using var preflight = new HttpRequestMessage(HttpMethod.Options, url + "/v1/tables");
            preflight.Headers.Add("Origin", origin);
            preflight.Headers.Add("Access-Control-Request-Method", "GET");
            preflight.Headers.Add("Access-Control-Request-Headers", "x-api-key");
            using var response = await _http.SendAsync(preflight);
            Assert.Equal(allowed, response.Headers.TryGetValues("Access-Control-Allow-Origin", out var values) && values.Single() == origin);
        }

        // A removed key stops working (the server re-reads keys every 30 s; a restarted one at once).
        var remove = await CliProcess.RunAsync(_qs.Folder, "keys", "remove", "admin");
        Assert.Equal(0, remove.ExitCode);
        var restarted = (await ServeAsync()).Url;
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(restarted + "/v1/runs", admin)).Status);
    }

    [Fact]
    public async Task A_key_added_while_the_server_runs_without_keys_turns_auth_on()
    {
        var url = (await ServeAsync()).Url;
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(url + "/v1/tables")).Status); // no keys: open on loopback
        var key = await AddKeyAsync("bi", "--scopes", "tables");
        await Task.Delay(2100); // the keys are re-read at most every 2 s on a presented key
        // A made-up key is refused at once (the server re-reads the keys when a key is presented), and from then on a
        // request without a key too: "then auth is on", without a restart.
        var madeUp = await GetAsync(url + "/v1/tables", "ck_madeup_0000000000000000");
        Assert.Equal(HttpStatusCode.Unauthorized, madeUp.Status);
        Assert.Equal(HttpStatusCode.Unauthorized, (await GetAsync(url + "/v1/tables")).Status);
        Assert.Equal(HttpStatusCode.OK, (await GetAsync(url + "/v1/tables", key)).Status);
        var auth = await GetAsync(url + "/auth");
        Assert.Contains("\"required\":true", auth.Body);
    }

    [Fact]
    public async Task Auth_keys_without_any_key_and_an_open_server_beyond_loopback_are_refused()
    {
        var open = await CliProcess.RunAsync(_qs.Folder, "serve", "--bind", "0.0.0.0", "--port", "0");
        Assert.Equal(2, open.ExitCode);
        Assert.Contains("beyond loopback without authentication", open.Stderr);
        File.AppendAllText(_qs.SpecPath, "  auth: keys\n");
        var noKeys = await CliProcess.RunAsync(_qs.Folder, "serve", "--port", "0");
        Assert.Equal(2, noKeys.ExitCode);
        Assert.Contains("serve.auth: keys", noKeys.Stderr);
    }

    [Fact]
    public async Task Https_from_kestrels_own_configuration_serves_the_api_with_the_given_certificate()
    {
        // A certificate of our own for 127.0.0.1, as an operator would put in /etc/caudal (docs/serve.md).
        using var rsa = System.Security.Cryptography.RSA.Create(2048);
        var request = new System.Security.Cryptography.X509Certificates.CertificateRequest("CN=127.0.0.1", rsa,
            System.Security.Cryptography.HashAlgorithmName.SHA256, System.Security.Cryptography.RSASignaturePadding.Pkcs1);
        var names = new System.Security.Cryptography.X509Certificates.SubjectAlternativeNameBuilder();
        names.AddIpAddress(IPAddress.Loopback);
        request.CertificateExtensions.Add(names.Build());
        using var certificate = request.CreateSelfSigned(DateTimeOffset.UtcNow.AddMinutes(-5), DateTimeOffset.UtcNow.AddDays(1));
        var certPath = Path.Combine(_qs.Folder, "tls.pem");
        var keyPath = Path.Combine(_qs.Folder, "tls.key");
        File.WriteAllText(certPath, certificate.ExportCertificatePem());
        File.WriteAllText(keyPath, rsa.ExportPkcs8PrivateKeyPem());
        var https = new Dictionary<string, string>
        {
            ["Kestrel__Endpoints__Https__Url"] = "https://127.0.0.1:0",
            ["Kestrel__Endpoints__Https__Certificate__Path"] = certPath,
            ["Kestrel__Endpoints__Https__Certificate__KeyPath"] = keyPath,
        };

        // Configured endpoints may face a network: without an API key the server refuses to start open.
        var open = await CliProcess.RunAsync(_qs.Folder, https, "serve");
        Assert.Equal(2, open.ExitCode);
        Assert.Contains("the Kestrel endpoints configured would serve beyond loopback without authentication", open.Stderr);

        var key = await AddKeyAsync("reader", "--scopes", "tables");
        var server = await ServeProcess.StartAsync(_qs.Folder, https, "serve");
        _servers.Add(server);
        Assert.StartsWith("https://127.0.0.1:", server.Url);

        string? presented = null;
        using var trusting = new HttpClient(new HttpClientHandler
        {
            // Trust exactly this certificate, and record what the server presented.
            ServerCertificateCustomValidationCallback = (_, cert, _, _) =>
            {
                presented = cert?.Thumbprint;
                return cert?.Thumbprint == certificate.Thumbprint;
            },
        });
        using var get = new HttpRequestMessage(HttpMethod.Get, $"{server.Url}/v1/tables");
        get.Headers.Authorization = new("Bearer", key);
        using var response = await trusting.SendAsync(get);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(certificate.Thumbprint, presented);
        Assert.Contains("refined.revenue_by_country_month", await response.Content.ReadAsStringAsync());

        // Only TLS is spoken there, and a client that does not trust the certificate gets no data.
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => _http.GetAsync(server.Url.Replace("https://", "http://", StringComparison.Ordinal) + "/v1/tables"));
        await Assert.ThrowsAnyAsync<HttpRequestException>(() => _http.GetAsync($"{server.Url}/v1/tables"));
    }

    [Fact]
    public async Task Saved_queries_bind_typed_parameters_and_refuse_bad_ones()
    {
        var url = (await ServeAsync()).Url;
        var list = JsonDocument.Parse((await GetAsync(url + "/v1/queries")).Body).RootElement.GetProperty("queries");
        var query = Assert.Single(list.EnumerateArray());
        Assert.Equal("revenue_of", query.GetProperty("name").GetString());
        Assert.Equal(["country", "from_year"], query.GetProperty("params").EnumerateArray().Select(p => p.GetProperty("name").GetString()!));

        var country = (await LakeQueryAsync("SELECT country FROM refined.revenue_by_country_month GROUP BY country ORDER BY sum(revenue) DESC LIMIT 1"))[0][0]!;
        var expected = await LakeQueryAsync($"SELECT sum(revenue), count(*) FROM refined.revenue_by_country_month WHERE country = '{country.Replace("'", "''")}' AND year >= 2000");
        var result = JsonDocument.Parse((await GetAsync($"{url}/v1/queries/revenue_of?country={Uri.EscapeDataString(country)}")).Body).RootElement;
        var row = Assert.Single(result.GetProperty("rows").EnumerateArray());
        Assert.Equal(double.Parse(expected[0][0]!, System.Globalization.CultureInfo.InvariantCulture), row[1].GetDouble(), 6);
        Assert.Equal(long.Parse(expected[0][1]!), row[2].GetInt64());
        var later = JsonDocument.Parse((await GetAsync($"{url}/v1/queries/revenue_of?country={Uri.EscapeDataString(country)}&from_year=3000")).Body).RootElement;
        Assert.Empty(later.GetProperty("rows").EnumerateArray());

        // Values are bound: a quote in a value is part of the value, not SQL.
        var injected = await GetAsync($"{url}/v1/queries/revenue_of?country={Uri.EscapeDataString("x' OR '1'='1")}");
        Assert.Equal(HttpStatusCode.OK, injected.Status);
        Assert.Empty(JsonDocument.Parse(injected.Body).RootElement.GetProperty("rows").EnumerateArray());

        foreach (var (path, message) in new[]
                 {
                     ("/v1/queries/revenue_of", "needs the parameter 'country'"),
                     ("/v1/queries/revenue_of?country=x&from_year=soon", "must be a whole number, not 'soon'"),
                     ("/v1/queries/revenue_of?country=x&year=1", "has no parameter 'year'"),
                 })
        {
            var bad = await GetAsync(url + path);
            Assert.Equal(HttpStatusCode.BadRequest, bad.Status);
            Assert.Contains(message, bad.Body);
        }
        Assert.Equal(HttpStatusCode.NotFound, (await GetAsync(url + "/v1/queries/nope")).Status);
    }

    [Fact]
    public async Task A_saved_query_that_is_not_a_select_stops_the_server_at_its_line()
    {
        File.AppendAllText(_qs.SpecPath, "    wipe:\n      sql: DELETE FROM refined.revenue_by_country_month\n");
        var refused = await CliProcess.RunAsync(_qs.Folder, "serve", "--port", "0");
        Assert.Equal(2, refused.ExitCode);
        var line = File.ReadAllLines(_qs.SpecPath).ToList().FindIndex(l => l.Contains("wipe:")) + 1;
        Assert.Contains($"caudal.yaml:{line}:", refused.Stderr);
        Assert.Contains("Saved query 'wipe' cannot be served", refused.Stderr);
    }

    [Fact]
    public async Task Parquet_arrow_and_whole_csv_exports_hold_every_row_and_as_of_reads_the_past()
    {
        var url = (await ServeAsync()).Url;
        var table = "/v1/tables/refined/revenue_by_country_month";
        var expected = await LakeQueryAsync("SELECT count(*), sum(revenue), sum(rentals) FROM refined.revenue_by_country_month WHERE year >= 2005");
        var rows = long.Parse(expected[0][0]!);
        Assert.True(rows > 100, "the fixture is too small to page");

        // Parquet: the whole filtered result (no page limit), read back by an independent engine.
        using (var response = await _http.GetAsync($"{url}{table}?format=parquet&year=gte.2005"))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("application/vnd.apache.parquet", response.Content.Headers.ContentType!.MediaType);
            var file = Path.Combine(_qs.Folder, "export.parquet");
            await File.WriteAllBytesAsync(file, await response.Content.ReadAsByteArrayAsync());
            var back = await LakeQueryAsync($"SELECT count(*), sum(revenue), sum(rentals) FROM read_parquet('{file}')");
            Assert.Equal(expected[0], back[0]);
        }

        // Arrow IPC stream: typed columns, every row.
        using (var request = new HttpRequestMessage(HttpMethod.Get, $"{url}{table}?year=gte.2005"))
        {
            request.Headers.Accept.ParseAdd("application/vnd.apache.arrow.stream");
            using var response = await _http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            using var reader = new ArrowStreamReader(await response.Content.ReadAsStreamAsync());
            long count = 0;
            decimal revenue = 0;
            while (await reader.ReadNextRecordBatchAsync() is { } batch)
            {
                count += batch.Length;
                var column = batch.Column(batch.Schema.GetFieldIndex("revenue"));
                for (var i = 0; i < batch.Length; i++)
                    revenue += column switch
                    {
                        Decimal128Array d => d.GetValue(i) ?? 0,
                        DoubleArray d => (decimal)(d.GetValue(i) ?? 0),
                        _ => throw new InvalidOperationException($"revenue came as {column.Data.DataType.Name}"),
                    };
                Assert.IsType<StringType>(batch.Schema.GetFieldByName("country").DataType);
                Assert.IsType<Int32Type>(batch.Schema.GetFieldByName("year").DataType);
            }
            Assert.Equal(rows, count);
            Assert.Equal(decimal.Parse(expected[0][1]!, System.Globalization.CultureInfo.InvariantCulture), revenue);
        }

        // CSV with limit=all: every row, streamed, no next page.
        using (var response = await _http.GetAsync($"{url}{table}?format=csv&limit=all&year=gte.2005"))
        {
            var lines = (await response.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal(rows + 1, lines.Length);
            Assert.False(response.Headers.Contains("Link"));
        }

        // as_of: a second run commits new versions; a time between the runs reads the first one.
        var first = JsonDocument.Parse((await GetAsync(url + table + "?limit=1")).Body).RootElement.GetProperty("version").GetInt64();
        await Task.Delay(1100);
        var between = DateTimeOffset.UtcNow;
        await Task.Delay(1100);
        var run = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var latest = JsonDocument.Parse((await GetAsync(url + table + "?limit=1")).Body).RootElement.GetProperty("version").GetInt64();
        Assert.True(latest > first);
        var past = await GetAsync($"{url}{table}?limit=1&as_of={Uri.EscapeDataString(between.ToString("O"))}");
        Assert.Equal(HttpStatusCode.OK, past.Status);
        Assert.Equal(first, JsonDocument.Parse(past.Body).RootElement.GetProperty("version").GetInt64());
        Assert.Equal($"\"refined.revenue_by_country_month@{first}\"", past.Response.Headers.ETag!.Tag);
        var before = await GetAsync($"{url}{table}?as_of=2001-01-01T00:00:00Z");
        Assert.Equal(HttpStatusCode.NotFound, before.Status);
        Assert.Contains("no version committed at or before 2001-01-01T00:00:00Z", before.Body);
        Assert.Equal(HttpStatusCode.BadRequest, (await GetAsync($"{url}{table}?as_of=yesterday")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await GetAsync($"{url}{table}?as_of=2001-01-01&version=0")).Status);
        Assert.Equal(HttpStatusCode.BadRequest, (await GetAsync($"{url}{table}?format=xml")).Status);
    }

    [Theory]
    [InlineData("rentals.desc", 7)]
    [InlineData("year,month.desc,country", 50)]
    [InlineData("", 33)]
    public async Task Keyset_pages_hold_every_row_once_in_order_across_ties_and_partitions(string order, int limit)
    {
        var url = (await ServeAsync()).Url;
        var rows = new List<JsonElement>();
        string? next = null;
        do
        {
            var page = JsonDocument.Parse((await GetAsync($"{url}/v1/tables/refined/revenue_by_country_month?limit={limit}&order={order}" +
                (next != null ? $"&next={next}" : ""))).Body).RootElement;
            rows.AddRange(page.GetProperty("rows").EnumerateArray().Select(r => r.Clone()));
            next = page.GetProperty("next").GetString();
        }
        while (next != null);
        var keys = rows.Select(r => $"{r.GetProperty("country").GetString()}|{r.GetProperty("year")}|{r.GetProperty("month")}").ToList();
        var expected = (await LakeQueryAsync("SELECT country || '|' || year || '|' || month FROM refined.revenue_by_country_month")).Select(r => r[0]!).ToList();
        Assert.Equal(expected.Order(), keys.Order()); // every row, once
        if (order == "rentals.desc")
            Assert.True(rows.Zip(rows.Skip(1)).All(p => p.First.GetProperty("rentals").GetInt64() >= p.Second.GetProperty("rentals").GetInt64()), "not in rentals.desc order");
        if (order.StartsWith("year", StringComparison.Ordinal))
        {
            var sorted = rows.OrderBy(r => r.GetProperty("year").GetInt32()).ThenByDescending(r => r.GetProperty("month").GetInt32())
                .ThenBy(r => r.GetProperty("country").GetString(), StringComparer.Ordinal).Select(r => r.GetRawText());
            Assert.Equal(sorted, rows.Select(r => r.GetRawText()));
        }
    }

    [Fact]
    public async Task A_filter_on_a_partition_column_reads_only_that_partition()
    {
        var url = (await ServeAsync()).Url;
        var years = (await LakeQueryAsync("SELECT year, count(*) FROM refined.revenue_by_country_month GROUP BY year ORDER BY year")).ToList();
        Assert.True(years.Count >= 2, "needs two partitions");
        var (kept, keptRows) = (years[0][0]!, long.Parse(years[0][1]!));
        // Break every data file of the other years: only a server that never opens them can still answer.
        foreach (var folder in Directory.GetDirectories(Path.Combine(_qs.LakePath, "refined", "revenue_by_country_month"), "year=*"))
            if (!folder.EndsWith($"year={kept}", StringComparison.Ordinal))
                foreach (var file in Directory.GetFiles(folder, "*.parquet")) File.WriteAllText(file, "not parquet");
        var page = await GetAsync($"{url}/v1/tables/refined/revenue_by_country_month?year=eq.{kept}&limit=all");
        Assert.True(page.Status == HttpStatusCode.OK, page.Body);
        Assert.Equal(keptRows, JsonDocument.Parse(page.Body).RootElement.GetProperty("rows").GetArrayLength());
        var inList = await GetAsync($"{url}/v1/tables/refined/revenue_by_country_month?year=in.({kept})&format=csv&limit=all");
        Assert.Equal(HttpStatusCode.OK, inList.Status);
        var other = await GetAsync($"{url}/v1/tables/refined/revenue_by_country_month?year=eq.{years[1][0]}");
        Assert.NotEqual(HttpStatusCode.OK, other.Status); // the broken files are read (and fail) when not pruned
    }

    [Fact]
    public async Task A_client_that_leaves_mid_export_costs_the_server_nothing()
    {
        var server = await ServeAsync();
        for (var i = 0; i < 5; i++)
        {
            using var response = await _http.GetAsync(server.Url + "/v1/tables/trusted/rentals?format=csv&limit=all", HttpCompletionOption.ResponseHeadersRead);
            await using var stream = await response.Content.ReadAsStreamAsync();
            Assert.True(await stream.ReadAsync(new byte[100]) > 0);
        } // each response is dropped after 100 bytes
        var whole = await GetAsync(server.Url + "/v1/tables/trusted/rentals?format=csv&limit=all");
        Assert.Equal(HttpStatusCode.OK, whole.Status);
        Assert.Equal(long.Parse((await LakeQueryAsync("SELECT count(*) FROM trusted.rentals"))[0][0]!) + 1, whole.Body.Split("\r\n", StringSplitOptions.RemoveEmptyEntries).Length);
        await Task.Delay(500);
        Assert.Empty(Directory.GetFiles(Path.Combine(_qs.Folder, ".caudal", "tmp"), "export-*", SearchOption.AllDirectories));
        Assert.DoesNotContain("fail:", server.Output); // a client leaving is not an error of the server
    }

    [Fact]
    public async Task Hundreds_of_slow_clients_do_not_stop_a_normal_request()
    {
        var url = new Uri((await ServeAsync()).Url);
        var slow = new List<System.Net.Sockets.TcpClient>();
        try
        {
            // 300 connections that start a request and never finish its headers (a slowloris).
            for (var i = 0; i < 300; i++)
            {
                var client = new System.Net.Sockets.TcpClient();
                await client.ConnectAsync(url.Host, url.Port);
                await client.GetStream().WriteAsync("GET /v1/tables HTTP/1.1\r\nHost: x\r\nX-Slow: "u8.ToArray());
                slow.Add(client);
            }
            var clock = System.Diagnostics.Stopwatch.StartNew();
            var answer = await GetAsync(url + "v1/tables/refined/revenue_by_country_month?limit=10");
            Assert.Equal(HttpStatusCode.OK, answer.Status);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(3), $"a normal request took {clock.Elapsed} behind slow clients");
        }
        finally
        {
            foreach (var client in slow) client.Dispose();
        }
    }

    private async Task<List<string?[]>> LakeQueryAsync(string sql)
    {
        using var session = await Caudal.Processing.QuerySession.OpenAsync(SpecLoader.Load(_qs.SpecPath));
        return session.Query(sql, int.MaxValue).Rows.ToList();
    }

    public Task DisposeAsync()
    {
        foreach (var server in _servers) server.Dispose();
        _http.Dispose();
        _qs.Dispose();
        return Task.CompletedTask;
    }
}
