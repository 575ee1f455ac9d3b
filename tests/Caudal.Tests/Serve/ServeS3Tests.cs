using System.Net;
using System.Net.Http.Json;
using System.Text.Json;
using Apache.Arrow.Ipc;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Serve;

/// <summary>`caudal serve` over an S3 lake (s3rver): keys in the lake, tables, keyset pages, pruning, exports, SQL,
/// charts — the same answers as on a local lake.</summary>
[Collection(SerialCollection.Name)]
public sealed class ServeS3Tests : IAsyncLifetime
{
    private readonly Quickstart _qs;
    private readonly HttpClient _http = new() { Timeout = TimeSpan.FromSeconds(60) };
    private ServeProcess? _server;

    public ServeS3Tests()
    {
        var s3 = S3Server.Instance;
        var prefix = "serve-" + Guid.NewGuid().ToString("N")[..8];
        _qs = new Quickstart(0.05, $"lake:\n  location: s3://{S3Server.Bucket}/{prefix}\n  endpoint: {s3.Endpoint}\n  region: us-east-1\n  path_style: true");
    }

    public async Task InitializeAsync()
    {
        var run = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.True(run.ExitCode == 0, run.Stderr);
        var key = await CliProcess.RunAsync(_qs.Folder, "keys", "add", "s3-reader", "--scopes", "tables,sql");
        Assert.True(key.ExitCode == 0, key.Stderr);
        _http.DefaultRequestHeaders.Add("X-Api-Key", key.Stdout.Trim());
        _server = await ServeProcess.StartAsync(_qs.Folder, "serve", "--port", "0");
    }

    private async Task<JsonElement> JsonAsync(string path)
    {
        using var response = await _http.GetAsync(_server!.Url + path);
        var text = await response.Content.ReadAsStringAsync();
        Assert.True(response.IsSuccessStatusCode, $"{path}: {(int)response.StatusCode} {text}");
        return JsonDocument.Parse(text).RootElement;
    }

    private async Task<List<string?[]>> LakeQueryAsync(string sql)
    {
        using var session = await Caudal.Processing.QuerySession.OpenAsync(SpecLoader.Load(_qs.SpecPath));
        return session.Query(sql, int.MaxValue).Rows.ToList();
    }

    [Fact]
    public async Task An_s3_lake_serves_the_same_answers()
    {
        Assert.False(Directory.Exists(_qs.LakePath));
        Assert.Equal(HttpStatusCode.Unauthorized, (await new HttpClient().GetAsync(_server!.Url + "/v1/tables")).StatusCode); // the key in S3 turned auth on
        Assert.Equal(44, (await JsonAsync("/v1/tables")).GetProperty("tables").GetArrayLength());

        var ids = new List<long>();
        string? next = null;
        do
        {
            var page = await JsonAsync("/v1/tables/trusted/rentals?columns=rental_id&order=rental_id.desc&limit=250" + (next != null ? "&next=" + next : ""));
            ids.AddRange(page.GetProperty("rows").EnumerateArray().Select(r => r.GetProperty("rental_id").GetInt64()));
            next = page.GetProperty("next").GetString();
        }
        while (next != null);
        Assert.Equal((await LakeQueryAsync("SELECT rental_id FROM trusted.rentals ORDER BY rental_id DESC")).Select(r => long.Parse(r[0]!)), ids);

        var year = (await LakeQueryAsync("SELECT min(year), count(*) FILTER (WHERE year = (SELECT min(year) FROM refined.revenue_by_country_month)) FROM refined.revenue_by_country_month"))[0];
        var pruned = await JsonAsync($"/v1/tables/refined/revenue_by_country_month?year=eq.{year[0]}&limit=all");
        Assert.Equal(long.Parse(year[1]!), pruned.GetProperty("rows").GetArrayLength());

        using (var parquet = await _http.GetAsync(_server.Url + "/v1/tables/trusted/rentals?format=parquet"))
        {
            Assert.Equal(HttpStatusCode.OK, parquet.StatusCode);
            var file = Path.Combine(_qs.Folder, "rentals.parquet");
            await File.WriteAllBytesAsync(file, await parquet.Content.ReadAsByteArrayAsync());
            Assert.Equal((await LakeQueryAsync("SELECT count(*) FROM trusted.rentals"))[0][0], (await LakeQueryAsync($"SELECT count(*) FROM read_parquet('{file}')"))[0][0]);
        }
        using (var arrow = await _http.GetAsync(_server.Url + "/v1/tables/trusted/rentals?format=arrow"))
        {
            using var reader = new ArrowStreamReader(await arrow.Content.ReadAsStreamAsync());
            long rows = 0;
            while (await reader.ReadNextRecordBatchAsync() is { } batch) rows += batch.Length;
            Assert.Equal(long.Parse((await LakeQueryAsync("SELECT count(*) FROM trusted.rentals"))[0][0]!), rows);
        }

        using (var sql = await _http.PostAsJsonAsync(_server.Url + "/v1/sql", new { sql = "SELECT count(*) AS n FROM trusted.rentals" }))
            Assert.Equal(long.Parse((await LakeQueryAsync("SELECT count(*) FROM trusted.rentals"))[0][0]!),
                JsonDocument.Parse(await sql.Content.ReadAsStringAsync()).RootElement.GetProperty("rows")[0][0].GetInt64());
        using (var passwd = await _http.PostAsJsonAsync(_server.Url + "/v1/sql", new { sql = "SELECT * FROM read_csv('/etc/passwd')" }))
        {
            Assert.Equal(HttpStatusCode.BadRequest, passwd.StatusCode);
            Assert.Contains("Permission Error", await passwd.Content.ReadAsStringAsync());
        }

        var charts = (await JsonAsync("/v1/charts")).GetProperty("charts").EnumerateArray().SelectMany(c => c.GetProperty("images").EnumerateArray()).ToList();
        Assert.Equal(9, charts.Count);
        var png = await _http.GetByteArrayAsync(_server.Url + charts[0].GetProperty("url").GetString());
        Assert.Equal([0x89, (byte)'P', (byte)'N', (byte)'G'], png[..4]);
    }

    public Task DisposeAsync()
    {
        _server?.Dispose();
        _http.Dispose();
        _qs.Dispose();
        return Task.CompletedTask;
    }
}
