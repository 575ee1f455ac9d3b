using System.Diagnostics;
using System.Net;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Caudal.Spec;
using Caudal.Tests.Support;
using Microsoft.Extensions.Logging;

namespace Caudal.Tests.Serve;

/// <summary>`caudal serve` and `caudal up` as real processes (Kestrel on 127.0.0.1), read with a real HTTP client.</summary>
[Collection(SerialCollection.Name)]
public sealed partial class ServeTests : IAsyncLifetime
{
    private readonly Quickstart _qs = new(scale: 0.05);
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private readonly List<Process> _processes = [];
    private string _url = "";

    /// <summary>Starts the CLI with <paramref name="args"/> and waits for the URL it serves at.</summary>
    private async Task<ServeProcess> StartAsync(params string[] args)
    {
        var server = await ServeProcess.StartAsync(_qs.Folder, args);
        _processes.Add(server.Process);
        _url = server.Url;
        return server;
    }

    public async Task InitializeAsync()
    {
        var run = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.True(run.ExitCode == 0, run.Stderr);
    }

    private async Task<JsonElement> JsonAsync(string path)
    {
        using var response = await _http.GetAsync(_url + path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    private static async Task<List<string?[]>> QueryAsync(Quickstart qs, string sql)
    {
        using var session = await Caudal.Processing.QuerySession.OpenAsync(SpecLoader.Load(qs.SpecPath));
        return session.Query(sql, int.MaxValue).Rows.ToList();
    }

    [Fact]
    public async Task Tables_rows_pages_formats_versions_and_runs_are_served()
    {
        await StartAsync("serve", "--port", "0");

        var tables = (await JsonAsync("/v1/tables")).GetProperty("tables").EnumerateArray().ToList();
        var rentals = tables.Single(t => t.GetProperty("table").GetString() == "trusted.rentals");
        Assert.Equal(802, rentals.GetProperty("rows").GetInt64());
        Assert.Equal(0, rentals.GetProperty("version").GetInt64());
        Assert.Contains(rentals.GetProperty("columns").EnumerateArray(), c => c.GetProperty("name").GetString() == "amount_paid");
        Assert.Equal(44, tables.Count);

        // Every row once, across pages of 300, in the requested order; the last page says there is no next. The next
        // link keeps a repeated filter as two filters (both apply on every page).
        var ids = new List<long>();
        var path = "/v1/tables/trusted/rentals?columns=rental_id,amount_paid&order=rental_id.desc&limit=300&rental_id=gte.1&rental_id=lte.1000000000";
        var pages = 0;
        while (path != null)
        {
            using var response = await _http.GetAsync(_url + path);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            var page = JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement;
            ids.AddRange(page.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("rental_id").GetInt64()));
            var next = page.GetProperty("next");
            Assert.Equal(next.ValueKind != JsonValueKind.Null, response.Headers.Contains("Link"));
            path = next.ValueKind == JsonValueKind.Null ? null : response.Headers.GetValues("Link").Single().Split('>')[0].TrimStart('<');
            pages++;
        }
        Assert.Equal(3, pages);
        var expected = (await QueryAsync(_qs, "SELECT rental_id FROM trusted.rentals ORDER BY rental_id DESC")).Select(r => long.Parse(r[0]!)).ToList();
        Assert.Equal(expected, ids);

        // Filters are bound values: a quote in a value is just a character, never SQL.
        var japan = await JsonAsync("/v1/tables/trusted/rentals?country=eq.Japan&limit=10000&columns=country");
        var expectedJapan = (await QueryAsync(_qs, "SELECT count(*) FROM trusted.rentals WHERE country = 'Japan'"))[0][0];
        Assert.Equal(long.Parse(expectedJapan!), japan.GetProperty("rows").GetArrayLength());
        var injected = await JsonAsync("/v1/tables/trusted/rentals?" + "country=eq." + Uri.EscapeDataString("x' OR '1'='1"));
        Assert.Equal(0, injected.GetProperty("rows").GetArrayLength());
        var inList = await JsonAsync("/v1/tables/trusted/rentals?rental_id=in.(1,2,3)&columns=rental_id&limit=10&order=rental_id");
        Assert.Equal([1L, 2L, 3L], inList.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("rental_id").GetInt64()));

        // CSV (RFC 4180) and NDJSON, by Accept or format=.
        using (var csvRequest = new HttpRequestMessage(HttpMethod.Get, _url + "/v1/tables/trusted/rentals?columns=rental_id,film_title&limit=5"))
        {
            csvRequest.Headers.Accept.ParseAdd("text/csv");
            using var csv = await _http.SendAsync(csvRequest);
            Assert.Equal("text/csv", csv.Content.Headers.ContentType!.MediaType);
            var lines = (await csv.Content.ReadAsStringAsync()).Split("\r\n", StringSplitOptions.RemoveEmptyEntries);
            Assert.Equal("rental_id,film_title", lines[0]);
            Assert.Equal(6, lines.Length);
        }
        var ndjson = await _http.GetStringAsync(_url + "/v1/tables/trusted/rentals?format=ndjson&limit=7");
        Assert.Equal(7, ndjson.Split('\n', StringSplitOptions.RemoveEmptyEntries).Select(l => JsonDocument.Parse(l)).Count());

        // The version read is the ETag; If-None-Match answers 304; a new commit changes it; ?version= reads the old one.
        using var first = await _http.GetAsync(_url + "/v1/tables/refined/revenue_by_country_month?limit=1");
        var etag = first.Headers.ETag!.Tag;
        Assert.Equal("\"refined.revenue_by_country_month@0\"", etag);
        using (var conditional = new HttpRequestMessage(HttpMethod.Get, _url + "/v1/tables/refined/revenue_by_country_month"))
        {
            conditional.Headers.IfNoneMatch.ParseAdd(etag);
            using var notModified = await _http.SendAsync(conditional);
            Assert.Equal(HttpStatusCode.NotModified, notModified.StatusCode);
        }
        var cursor = (await JsonAsync("/v1/tables/trusted/rentals?limit=400&columns=rental_id&order=rental_id")).GetProperty("next").GetString()!;
        Assert.Equal(0, (await CliProcess.RunAsync(_qs.Folder, "run")).ExitCode);
        using var second = await _http.GetAsync(_url + "/v1/tables/refined/revenue_by_country_month?limit=1");
        Assert.Equal("\"refined.revenue_by_country_month@1\"", second.Headers.ETag!.Tag);
        var old = await JsonAsync("/v1/tables/trusted/rentals?version=0&limit=1");
        Assert.Equal(0, old.GetProperty("version").GetInt64());
        var pinned = await JsonAsync($"/v1/tables/trusted/rentals?limit=400&columns=rental_id&order=rental_id&next={cursor}"); // the page after, from version 0
        Assert.Equal(0, pinned.GetProperty("version").GetInt64());
        Assert.Equal(401, pinned.GetProperty("rows")[0].GetProperty("rental_id").GetInt64());

        // Runs, and the student API's route: every refined table as plain JSON (not double-encoded, not capped).
        var runs = (await JsonAsync("/v1/runs")).GetProperty("runs").EnumerateArray().ToList();
        Assert.Equal(2, runs.Count);
        var run = await JsonAsync("/v1/runs/" + runs[0].GetProperty("run_id").GetString());
        Assert.Equal("succeeded", run.GetProperty("status").GetString());
        var legacy = await JsonAsync("/extract-trusted-info");
        Assert.Equal(JsonValueKind.Array, legacy.GetProperty("revenue_by_country_month").ValueKind);
        var refinedRows = (await QueryAsync(_qs, "SELECT count(*) FROM refined.revenue_by_country_month"))[0][0];
        Assert.Equal(long.Parse(refinedRows!), legacy.GetProperty("revenue_by_country_month").GetArrayLength());
        var columns = tables.Single(t => t.GetProperty("table").GetString() == "refined.revenue_by_country_month").GetProperty("columns")
            .EnumerateArray().Select(c => c.GetProperty("name").GetString()!).ToHashSet();
        Assert.Equal(columns, legacy.GetProperty("revenue_by_country_month")[0].EnumerateObject().Select(p => p.Name).ToHashSet());
        Assert.True(legacy.TryGetProperty("caudal_runs", out _));
    }

    [Theory]
    [InlineData("/v1/tables/trusted/rentals?nope=eq.1", 400, "no column 'nope'")]
    [InlineData("/v1/tables/trusted/rentals?columns=rental_id;DROP%20TABLE%20x", 400, "no column 'rental_id;DROP TABLE x'")]
    [InlineData("/v1/tables/trusted/rentals?rental_id=gt.abc", 400, "Could not convert string 'abc'")]
    [InlineData("/v1/tables/trusted/rentals?rental_id=between.1", 400, "write rental_id=eq.value")]
    [InlineData("/v1/tables/trusted/rentals?rental_id=gt.abc&format=csv&limit=all", 400, "Could not convert string 'abc'")]
    [InlineData("/v1/tables/trusted/rentals?rental_id=gt.abc&format=parquet", 400, "Could not convert string 'abc'")]
    [InlineData("/v1/tables/trusted/rentals?order=country&next=WzAsInRydXN0ZWQvcmVudGFscy94LnBhcnF1ZXQiLDAsImZpbG1fdGl0bGUiXQ", 400, "another order")]
    [InlineData("/v1/tables/trusted/rentals?limit=1000000000", 400, "limit '1000000000': a whole number from 1 to 10,000")]
    [InlineData("/v1/tables/trusted/rentals?next=Zm9yZ2Vk", 400, "not a cursor this server gave")]
    [InlineData("/v1/tables/trusted/rentals?order=rental_id.sideways", 400, "order 'rental_id.sideways'")]
    [InlineData("/v1/tables/trusted/rentals?format=xml", 400, "format 'xml'")]
    [InlineData("/v1/tables/trusted/rentals?version=99", 404, "does not exist")]
    [InlineData("/v1/tables/trusted/no_such_table", 404, "no table trusted.no_such_table")]
    [InlineData("/v1/tables/trusted/..%2F..%2Fetc", 404, "no table")]
    [InlineData("/v1/tables/secret/rentals", 404, "no table")]
    [InlineData("/v1/runs/20991231T000000Z-abcdef", 404, "no run")]
    public async Task Bad_requests_get_a_clear_4xx_and_the_server_keeps_serving(string path, int status, string message)
    {
        await StartAsync("serve", "--port", "0");
        using var response = await _http.GetAsync(_url + path);
        var body = await response.Content.ReadAsStringAsync();
        Assert.True((int)response.StatusCode == status, $"{path}: {(int)response.StatusCode} {body}");
        Assert.Contains(message, JsonDocument.Parse(body).RootElement.GetProperty("error").GetString());
        Assert.DoesNotContain("   at ", body);
        Assert.Equal(HttpStatusCode.OK, (await _http.GetAsync(_url + "/v1/tables")).StatusCode);
    }

    private async Task<(HttpStatusCode Status, JsonElement Body)> SqlAsync(object request)
    {
        using var response = await _http.PostAsync(_url + "/v1/sql", new StringContent(JsonSerializer.Serialize(request), Encoding.UTF8, "application/json"));
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement);
    }

    [Fact]
    public async Task Blobs_instants_ranges_limited_files_and_made_up_cursors_are_served_as_documented()
    {
        await StartAsync("serve", "--port", "0");
        // BLOB (GEOMETRY as WKB): base64 in JSON, NDJSON and SQL; hex in a CSV page; never a .NET type name.
        var expected = (await QueryAsync(_qs, "SELECT to_base64(location), hex(location) FROM raw.sakila_address ORDER BY address_id LIMIT 1"))[0];
        var json = await JsonAsync("/v1/tables/raw/sakila_address?columns=address_id,location&order=address_id&limit=1");
        Assert.Equal(expected[0], json.GetProperty("rows")[0].GetProperty("location").GetString());
        var ndjson = await _http.GetStringAsync(_url + "/v1/tables/raw/sakila_address?columns=location&order=address_id&limit=1&format=ndjson");
        Assert.Equal(expected[0], JsonDocument.Parse(ndjson.Split('\n')[0]).RootElement.GetProperty("location").GetString());
        var csv = await _http.GetStringAsync(_url + "/v1/tables/raw/sakila_address?columns=location&order=address_id&limit=1&format=csv");
        Assert.Equal("\\x" + expected[1], csv.Split("\r\n")[1]);
        var wholeBlobs = await _http.GetStringAsync(_url + "/v1/tables/raw/sakila_address?columns=location&order=address_id&format=csv&limit=all");
        Assert.Equal("\\x" + expected[1], wholeBlobs.Split("\r\n")[1]); // the whole CSV writes BLOBs as the pages do
        var (_, sql) = await SqlAsync(new { sql = "SELECT location FROM raw.sakila_address ORDER BY address_id LIMIT 1" });
        Assert.Equal(expected[0], sql.GetProperty("rows")[0][0].GetString());

        // Lists, structs and HUGEINTs come out of SQL as the table rows write them (one JSON value writer).
        var (_, nested) = await SqlAsync(new { sql = "SELECT [1, 2] AS l, {'a': 1, 'b': 'x'} AS s, 170141183460469231731687303715884105727::HUGEINT AS h" });
        var nestedRow = nested.GetProperty("rows")[0];
        Assert.Equal("[1,2]", nestedRow[0].GetRawText());
        Assert.Equal("{\"a\":1,\"b\":\"x\"}", nestedRow[1].GetRawText());
        Assert.Equal("170141183460469231731687303715884105727", nestedRow[2].GetRawText());

        // TIMESTAMPTZ: ISO 8601 with its Z in JSON and SQL alike.
        var instant = (await JsonAsync("/v1/tables/raw/sakila_address?columns=_caudal_ingested_at&limit=1")).GetProperty("rows")[0].GetProperty("_caudal_ingested_at").GetString()!;
        Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d{1,6})?Z$", instant);
        var (_, at) = await SqlAsync(new { sql = "SELECT _caudal_ingested_at FROM raw.sakila_address LIMIT 1" });
        Assert.EndsWith("Z", at.GetProperty("rows")[0][0].GetString());
        var wholeCsv = await _http.GetStringAsync(_url + "/v1/tables/raw/sakila_address?columns=_caudal_ingested_at&format=csv&limit=all");
        Assert.Equal(instant, wholeCsv.Split("\r\n")[1]); // the whole CSV writes instants as the pages do

        // Two filters on one column are a range (AND), the commonest filter there is.
        var inRange = (await QueryAsync(_qs, "SELECT count(*) FROM trusted.rentals WHERE rental_date >= '2005-06-01' AND rental_date < '2005-07-01'"))[0][0];
        var range = await JsonAsync("/v1/tables/trusted/rentals?columns=rental_id,rental_date&rental_date=gte.2005-06-01&rental_date=lt.2005-07-01&limit=10000");
        Assert.Equal(long.Parse(inRange!), range.GetProperty("rows").GetArrayLength());

        // A file with a limit holds that many rows and only the table's columns.
        foreach (var format in new[] { "parquet", "arrow" })
        {
            var bytes = await _http.GetByteArrayAsync(_url + $"/v1/tables/trusted/rentals?format={format}&limit=7");
            var file = Path.Combine(_qs.Folder, $"limited.{format}");
            await File.WriteAllBytesAsync(file, bytes);
            using var db = new DuckDB.NET.Data.DuckDBConnection("DataSource=:memory:");
            db.Open();
            using var command = db.CreateCommand();
            command.CommandText = format == "parquet" ? $"SELECT * FROM read_parquet('{file}')" : "SELECT 1";
            if (format == "arrow")
            {
                using var reader = new Apache.Arrow.Ipc.ArrowStreamReader(new MemoryStream(bytes));
                var rows = 0;
                while (reader.ReadNextRecordBatch() is { } batch) rows += batch.Length;
                Assert.Equal(7, rows);
                Assert.DoesNotContain(reader.Schema.FieldsList, f => f.Name.StartsWith("__caudal", StringComparison.Ordinal));
                continue;
            }
            using var result = command.ExecuteReader();
            var names = Enumerable.Range(0, result.FieldCount).Select(result.GetName).ToList();
            Assert.DoesNotContain(names, n => n.StartsWith("__caudal", StringComparison.Ordinal));
            var count = 0;
            while (result.Read()) count++;
            Assert.Equal(7, count);
        }

        // A well-formed cursor this server never gave is a 400, as serve.md says.
        var forged = Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(new object[] { 0, "trusted/rentals/part-00000-made-up.parquet", 5, "" }))
            .TrimEnd('=').Replace('+', '-').Replace('/', '_');
        using var bad = await _http.GetAsync(_url + "/v1/tables/trusted/rentals?next=" + forged);
        Assert.Equal(HttpStatusCode.BadRequest, bad.StatusCode);
        Assert.Contains("not a cursor this server gave", await bad.Content.ReadAsStringAsync());
    }

    [Fact]
    public async Task The_dashboards_default_sql_runs()
    {
        await StartAsync("serve", "--port", "0");
        var script = await _http.GetStringAsync(_url + "/dashboard/dashboard.js");
        var query = System.Text.RegularExpressions.Regex.Match(script, "\"(SELECT \\* FROM refined\\.caudal_runs[^\"]*)\"").Groups[1].Value;
        Assert.NotEmpty(query);
        var (status, body) = await SqlAsync(new { sql = query });
        Assert.True(status == HttpStatusCode.OK, $"{query}: {body}");
        Assert.True(body.GetProperty("rows").GetArrayLength() > 0);
    }

    [Fact]
    public async Task Sql_over_http_reads_the_lake_and_nothing_else()
    {
        await StartAsync("serve", "--port", "0");
        var (country, rows) = (await QueryAsync(_qs, "SELECT country, count(*) FROM trusted.rentals GROUP BY ALL ORDER BY 2 DESC LIMIT 1"))[0] switch { var r => (r[0]!, long.Parse(r[1]!)) };
        var (ok, result) = await SqlAsync(new { sql = "SELECT country, count(*) AS n FROM trusted.rentals WHERE country = ? GROUP BY country", @params = new[] { country } });
        Assert.Equal(HttpStatusCode.OK, ok);
        Assert.Equal(rows, result.GetProperty("rows")[0][1].GetInt64());
        Assert.Equal("n", result.GetProperty("columns")[1].GetProperty("name").GetString());
        Assert.False(result.GetProperty("truncated").GetBoolean());
        Assert.Equal(0, result.GetProperty("versions").GetProperty("trusted.rentals").GetInt64());
        var (_, many) = await SqlAsync(new { sql = "SELECT * FROM range(20000)" });
        Assert.True(many.GetProperty("truncated").GetBoolean());
        Assert.Equal(10_000, many.GetProperty("rows").GetArrayLength());

        // Anything but a read of the lake is refused with a message, and nothing is written anywhere.
        var outside = Path.Combine(Path.GetTempPath(), "caudal-evil-" + Guid.NewGuid().ToString("N")[..6]);
        var lakeFile = Directory.GetFiles(Path.Combine(_qs.LakePath, "trusted", "rentals"), "*.parquet")[0];
        foreach (var (sql, message) in new[]
                 {
                     ($"COPY (SELECT 1) TO '{outside}.csv'", "only a read-only query"),
                     ($"COPY (SELECT 1) TO '{_qs.LakePath}/trusted/x.csv'", "only a read-only query"),
                     ($"ATTACH '{outside}.db'", "only a read-only query"),
                     ("INSTALL httpfs", "only a read-only query"),
                     ("LOAD httpfs", "only a read-only query"),
                     ("SET enable_external_access = true", "only a read-only query"),
                     ("PRAGMA threads = 8", "only a read-only query"),
                     ("CREATE TABLE t AS SELECT 1", "only a read-only query"),
                     ("SELECT 1; DROP VIEW trusted.rentals", "only a read-only query"),
                     ("SELECT * FROM read_csv('/etc/passwd')", "Permission Error"),
                     ($"SELECT * FROM read_parquet('{outside}.parquet')", "Permission Error"),
                     ("SELECT * FROM glob('/etc/*')", "glob() is not available here"),
                     // Table data only: not the keys' hashes, the log, payloads, the server's settings or environment.
                     ($"SELECT * FROM read_text('{_qs.LakePath}/_caudal/keys/*.json')", "read_text() is not available here"),
                     ($"SELECT * FROM read_json_auto('{_qs.LakePath}/_caudal/keys/*.json')", "Permission Error"),
                     ($"SELECT * FROM read_json_auto('{_qs.LakePath}/trusted/rentals/_delta_log/00000000000000000000.json')", "Permission Error"),
                     ("SELECT current_setting('allowed_paths')", "current_setting() is not available here"),
                     ("SELECT * FROM duckdb_settings()", "duckdb_settings() is not available here"),
                     // The engine's catalog views, which show settings and the mounted views' file paths.
                     ("SELECT * FROM pg_catalog.pg_settings", "pg_catalog.pg_settings is not available here"),
                     ("SELECT value FROM pg_settings WHERE name = 'allowed_paths'", "pg_settings is not available here"),
                     ("SELECT sql FROM duckdb_views", "duckdb_views is not available here"),
                     ("SELECT view_definition FROM information_schema.views", "information_schema.views is not available here"),
                     ("SELECT sql FROM sqlite_master", "sqlite_master is not available here"),
                     ("WITH v AS (SELECT * FROM duckdb_views) SELECT sql FROM v", "duckdb_views is not available here"),
                     ("SELECT getenv('HOME')", "getenv() is not available here"),
                     ("SELECT * FROM query('SELECT current_setting(''temp_directory'')')", "query() is not available here"),
                     ("SELECT * FROM query_table('trusted.rentals')", "query_table() is not available here"),
                     ("SELECT * FROM read_csv('http://127.0.0.1:9/x.csv')", "Permission Error"),
                     ("SELEC 1", "syntax error"),
                     ("SELECT no_such_column FROM trusted.rentals", "no_such_column"),
                 })
        {
            var (status, body) = await SqlAsync(new { sql });
            Assert.True(status == HttpStatusCode.BadRequest, $"{sql}: {status} {body}");
            Assert.Contains(message, body.GetProperty("error").GetString());
        }
        Assert.False(File.Exists(outside + ".csv") || File.Exists(outside + ".db") || File.Exists(Path.Combine(_qs.LakePath, "trusted", "x.csv")));
        // The server's scratch folder (other requests' exports, an S3 lake's cached files): not even there.
        foreach (var planted in Planted())
        {
            var (status, body) = await SqlAsync(new { sql = $"SELECT * FROM read_csv('{planted}')" });
            Assert.True(status == HttpStatusCode.BadRequest, $"{planted}: {status} {body}");
            Assert.Contains("Permission Error", body.GetProperty("error").GetString());
        }
        Assert.Equal(HttpStatusCode.OK, (await SqlAsync(new { sql = $"SELECT count(*) FROM read_parquet('{lakeFile}')" })).Status); // the lake itself: yes

        // A query that never ends is interrupted at its time limit; the server goes on answering.
        var clock = Stopwatch.StartNew();
        var (slow, error) = await SqlAsync(new { sql = "WITH RECURSIVE r(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM r) SELECT max(i) FROM r", timeout_ms = 1000 });
        Assert.Equal(HttpStatusCode.BadRequest, slow);
        Assert.Contains("ran past its time limit (1 s)", error.GetProperty("error").GetString());
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(20), clock.Elapsed.ToString());
        Assert.Equal(HttpStatusCode.OK, (await SqlAsync(new { sql = "SELECT 1" })).Status);
        var (tooBig, _) = await SqlAsync(new { sql = "SELECT '" + new string('x', 2 << 20) + "'" });
        Assert.True(tooBig is HttpStatusCode.RequestEntityTooLarge or HttpStatusCode.BadRequest, tooBig.ToString());
    }

    /// <summary>A CSV file put in each workspace of the spec's scratch (<c>.caudal/tmp</c>), the running server's among them.</summary>
    private List<string> Planted()
    {
        var files = Directory.GetDirectories(Path.Combine(_qs.Folder, ".caudal", "tmp")).Select(d => Path.Combine(d, "planted.csv")).ToList();
        foreach (var file in files) File.WriteAllText(file, "secret\n42\n");
        Assert.NotEmpty(files);
        return files;
    }

    [Fact]
    public async Task Serving_beyond_loopback_is_refused_without_authentication()
    {
        var refused = await CliProcess.RunAsync(_qs.Folder, "serve", "--bind", "0.0.0.0");
        Assert.Equal(2, refused.ExitCode);
        Assert.Contains("beyond loopback without authentication", refused.Stderr + refused.Stdout);
    }

    /// <summary>`caudal up`: while the scheduler commits new versions, every response is one whole version.</summary>
    [Fact]
    public async Task Up_serves_whole_versions_while_the_scheduler_commits()
    {
        // A webhook receiver: under `up` a report links to the run's record on the API.
        var hooks = new List<JsonElement>();
        var receiverBuilder = Microsoft.AspNetCore.Builder.WebApplication.CreateSlimBuilder();
        receiverBuilder.Logging.ClearProviders();
        Microsoft.AspNetCore.Hosting.HostingAbstractionsWebHostBuilderExtensions.UseUrls(receiverBuilder.WebHost, "http://127.0.0.1:0");
        await using var receiver = receiverBuilder.Build();
        Microsoft.AspNetCore.Builder.EndpointRouteBuilderExtensions.MapPost(receiver, "/hook", async (Microsoft.AspNetCore.Http.HttpContext ctx) =>
        {
            var body = (await JsonDocument.ParseAsync(ctx.Request.Body)).RootElement;
            lock (hooks) hooks.Add(body);
        });
        await receiver.StartAsync();
        File.AppendAllText(_qs.SpecPath, $"\nschedule:\n  cron: \"*/2 * * * * *\"\n  catch_up: latest\n  on_success: {receiver.Urls.First()}/hook\n");
        var server = await StartAsync("up", "--port", "0", "--public-url", "https://caudal.example.com/", "--log-format", "json");
        var up = server.Process;
        var rentals = long.Parse((await QueryAsync(_qs, "SELECT count(*) FROM trusted.rentals"))[0][0]!);
        var versions = new HashSet<long>();
        var deadline = DateTime.UtcNow.AddSeconds(40);
        while (versions.Count < 3 && DateTime.UtcNow < deadline)
        {
            var page = await JsonAsync("/v1/tables/refined/revenue_by_country_month?limit=10000&columns=rentals");
            versions.Add(page.GetProperty("version").GetInt64());
            // Whole versions only: the rentals of every country-month add up to the source's, whatever version was read.
            Assert.Equal(rentals, page.GetProperty("rows").EnumerateArray().Sum(r => r.GetProperty("rentals").GetInt64()));
        }
        Assert.True(versions.Count >= 3, $"saw versions {string.Join(",", versions)}\n{server.Output}");

        // /metrics (Prometheus, from the lake): runs by status and trigger, rows captured, each table's lag, the lease.
        var metrics = await _http.GetStringAsync(_url + "/metrics");
        Assert.Matches(@"caudal_runs_total\{[^}]*status=""succeeded"",trigger=""manual""\} 1\b", metrics);
        Assert.Matches(@"caudal_rows_captured_total\{[^}]*table=""raw.sakila_rental""\} \d+", metrics);
        Assert.Matches(@"caudal_table_lag_seconds\{[^}]*table=""trusted.rentals""\} \d", metrics);
        Assert.Matches(@"caudal_stage_duration_seconds\{[^}]*stage=""model"",table=""trusted.rentals""\} \d", metrics);
        Assert.Contains("caudal_lease_held", metrics);

        JsonElement hook;
        lock (hooks) hook = hooks.First();
        var runId = hook.GetProperty("run_id").GetString();
        // Links to the run's page on the dashboard and its record, at the address people reach (--public-url).
        Assert.Equal($"https://caudal.example.com/#/runs/{runId}", hook.GetProperty("link").GetString());
        var record = hook.GetProperty("record").GetString()!;
        Assert.Equal($"https://caudal.example.com/v1/runs/{runId}", record);
        Assert.Equal("succeeded", JsonDocument.Parse(await _http.GetStringAsync(record.Replace("https://caudal.example.com", _url))).RootElement.GetProperty("status").GetString());
        using (var kill = Process.Start("kill", ["-TERM", up.Id.ToString()])!) await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await up.WaitForExitAsync(timeout.Token);
        Assert.True(up.ExitCode == 0, server.Output);
        Assert.Contains("Scheduler for pipeline quickstart stopped.", server.Output);
        // JSON logs: one object per line, ISO 8601 UTC timestamps, slots in ISO 8601 whatever the machine's culture.
        var logs = server.Output.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries).Select(l => JsonDocument.Parse(l).RootElement).ToList();
        Assert.All(logs, l => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$", l.GetProperty("Timestamp").GetString()));
        var slots = logs.Where(l => l.GetProperty("State").TryGetProperty("Slot", out _)).Select(l => l.GetProperty("State").GetProperty("Slot").GetString()).ToList();
        Assert.NotEmpty(slots);
        Assert.All(slots, s => Assert.Matches(@"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$", s));
    }

    public Task DisposeAsync()
    {
        foreach (var p in _processes)
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.Dispose();
        }
        _http.Dispose();
        _qs.Dispose();
        return Task.CompletedTask;
    }
}
