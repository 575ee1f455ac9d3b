using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Caudal.Tests.Support;

/// <summary>
/// A real HTTP server (Kestrel on 127.0.0.1) serving Data360-shaped pages of deterministic records, with injectable
/// faults done for real on the connection (<see cref="FaultKinds"/>), random or scripted per request.
/// </summary>
public sealed class FakeData360 : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly Random _random = new(42);
    private readonly Lock _lock = new();
    private int _requests;

    public FakeData360(int records)
    {
        Records = records;
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapGet("/data360/data", HandleAsync);
        MapGenericApi(_app);
        _app.MapGet("/data360/indicators", (string datasetId) => Results.Json(new[] { $"{datasetId}_A", $"{datasetId}_B", "OTHER_DB_C" }));
        _app.MapPost("/data360/metadata", async (HttpContext ctx) =>
        {
            using var body = await JsonDocument.ParseAsync(ctx.Request.Body);
            var query = body.RootElement.GetProperty("query").GetString()!;
            var db = query.Split('\'')[1];
            return Results.Json(new Dictionary<string, object>
            {
                ["@odata.count"] = 2,
                ["value"] = new[] { "A", "B" }.Select(i => new
                {
                    id = $"META_{db}_{i}",
                    type = "indicator",
                    series_description = new { idno = $"{db}_{i}", database_id = db, name = $"Indicator {i}", license_type = "CC BY-4.0" },
                }),
            });
        });
        _app.StartAsync().GetAwaiter().GetResult();
        BaseUrl = _app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
    }

    public string BaseUrl { get; }
    public int Records { get; set; }

    /// <summary>Probability that a request gets a fault instead of its page.</summary>
    public double FaultRate { get; set; }

    /// <summary>Delay added to every page (to make a capture slow enough to be killed).</summary>
    public TimeSpan PageDelay { get; set; }

    /// <summary>Records grow by this much on every request (data updated upstream while a client pages).</summary>
    public int GrowthPerRequest { get; set; }

    /// <summary>Adds a field no earlier capture had (schema drift).</summary>
    public bool ExtraField { get; set; }

    /// <summary>Records per page (the real API serves 1,000; smaller pages make more requests for fault tests).</summary>
    public int PageSize { get; set; } = 1000;

    public int Requests => _requests;
    public Dictionary<string, int> Faults { get; } = [];

    public static string ObsValue(int i) => (i % 50) switch { 7 => "null", 13 => "", 21 => "JSON-NULL", _ => (i * 0.37).ToString("F4", System.Globalization.CultureInfo.InvariantCulture) };

    /// <summary>Every fault the server can inject: status codes, a stall before the headers, a stall after half the
    /// body, a connection reset (RST) or closed (FIN) after half the body, JSON cut short in a complete response, and
    /// an HTML error page with status 200.</summary>
    public static readonly string[] FaultKinds = ["500", "503", "429", "stall-headers", "stall-body", "reset", "fin", "truncated", "html"];

    /// <summary>Faults served, in order, to the next requests (before any random ones).</summary>
    public Queue<string> Scripted { get; } = new();

    private string? NextFault()
    {
        lock (_lock)
        {
            string? fault = null;
            if (Scripted.Count > 0) fault = Scripted.Dequeue();
            else if (_random.NextDouble() < FaultRate) fault = FaultKinds[_random.Next(FaultKinds.Length)];
            if (fault != null) Faults[fault] = Faults.GetValueOrDefault(fault) + 1;
            return fault;
        }
    }

    private async Task HandleAsync(HttpContext ctx)
    {
        Interlocked.Increment(ref _requests);
        string? fault;
        lock (_lock) Records += GrowthPerRequest;
        fault = NextFault();
        var skip = int.Parse(ctx.Request.Query["skip"].FirstOrDefault() ?? "0");
        var total = Records;
        if (PageDelay > TimeSpan.Zero && fault == null) await Task.Delay(PageDelay);
        await ServeAsync(ctx, fault, () => Page(skip, total, ctx.Request.Query["DATABASE_ID"].FirstOrDefault() ?? "WB_TEST", ctx.Request.Query["INDICATOR"].FirstOrDefault()),
            "application/json");
    }

    /// <summary>Sends <paramref name="body"/>, or the fault instead, for real on the connection.</summary>
    private static async Task ServeAsync(HttpContext ctx, string? fault, Func<byte[]> body, string contentType)
    {
        switch (fault)
        {
            case "500" or "503":
                ctx.Response.StatusCode = int.Parse(fault);
                return;
            case "429":
                ctx.Response.StatusCode = 429;
                ctx.Response.Headers.RetryAfter = "1";
                return;
            case "stall-headers":
                await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted).ContinueWith(_ => { });
                return;
            case "html":
                ctx.Response.ContentType = "text/html";
                await ctx.Response.WriteAsync("<html><body><h1>Service temporarily unavailable</h1></body></html>");
                return;
        }
        var bytes = body();
        ctx.Response.ContentType = contentType;
        if (fault == "truncated")
        {
            // A complete chunked response whose JSON stops half-way: only parsing can tell.
            await ctx.Response.Body.WriteAsync(bytes.AsMemory(0, bytes.Length / 2));
            return;
        }
        if (fault is "stall-body" or "reset" or "fin")
        {
            ctx.Response.ContentLength = bytes.Length; // promise the whole body, send half
            await ctx.Response.Body.WriteAsync(bytes.AsMemory(0, bytes.Length / 2));
            await ctx.Response.Body.FlushAsync();
            var socket = ctx.Features.Get<Microsoft.AspNetCore.Connections.Features.IConnectionSocketFeature>()!.Socket;
            switch (fault)
            {
                case "stall-body":
                    await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted).ContinueWith(_ => { });
                    break;
                case "reset":
                    socket.LingerState = new System.Net.Sockets.LingerOption(true, 0); // close with RST, not FIN
                    socket.Close();
                    break;
                case "fin":
                    socket.Shutdown(System.Net.Sockets.SocketShutdown.Send); // FIN: the body ends early, cleanly
                    await Task.Delay(TimeSpan.FromSeconds(30), ctx.RequestAborted).ContinueWith(_ => { });
                    break;
            }
            ctx.Abort();
            return;
        }
        await ctx.Response.Body.WriteAsync(bytes);
    }

    private byte[] Page(int skip, int total, string database, string? indicator)
    {
        using var buffer = new MemoryStream();
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("count", total);
            w.WriteStartArray("value");
            for (var i = skip; i < Math.Min(total, skip + PageSize); i++) WriteRecord(w, i, database, indicator);
            w.WriteEndArray();
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    /// <summary>Record i's area: real country codes (from the quickstart's reference), 40 years each, then made-up codes.</summary>
    public static string Area(int i) => i / 40 < Countries.Length ? Countries[i / 40] : $"C{i / 40:D3}";

    private static readonly string[] Countries = File.ReadLines(Path.Combine(Quickstart.RepoRoot, "examples", "quickstart", "reference", "countries.csv"))
        .Skip(1).Select(l => l.Split(',')).Where(f => f[^2] == "false").Select(f => f[0]).Order(StringComparer.Ordinal).ToArray();
    public static string Period(int i) => (1980 + i % 40).ToString();

    private void WriteRecord(Utf8JsonWriter w, int i, string database, string? indicator)
    {
        w.WriteStartObject();
        var obs = ObsValue(i);
        if (obs == "JSON-NULL") w.WriteNull("OBS_VALUE");
        else w.WriteString("OBS_VALUE", obs);
        w.WriteString("TIME_FORMAT", "602");
        w.WriteNumber("UNIT_MULT", 0);
        w.WriteNull("COMMENT_OBS");
        w.WriteString("OBS_STATUS", "A");
        w.WriteString("OBS_CONF", "PU");
        w.WriteNull("AGG_METHOD");
        w.WriteNull("DECIMALS");
        w.WriteNull("COMMENT_TS");
        w.WriteNull("DATA_SOURCE");
        w.WriteBoolean("LATEST_DATA", i % 40 == 39);
        w.WriteString("DATABASE_ID", database);
        w.WriteString("INDICATOR", indicator ?? $"{database}_IND{i % 3}");
        w.WriteString("REF_AREA", Area(i));
        w.WriteString("SEX", "_T");
        w.WriteString("AGE", "_T");
        w.WriteString("URBANISATION", "_T");
        w.WriteString("COMP_BREAKDOWN_1", "_Z");
        w.WriteString("COMP_BREAKDOWN_2", "_Z");
        w.WriteString("COMP_BREAKDOWN_3", "_Z");
        w.WriteString("TIME_PERIOD", Period(i));
        w.WriteString("FREQ", "A");
        w.WriteString("UNIT_MEASURE", "PT");
        w.WriteNull("UNIT_TYPE");
        if (ExtraField) w.WriteString("OBS_NOTE", $"note {i}");
        w.WriteEndObject();
    }

    /// <summary>Generic JSON APIs over the same records, one per pagination style, behind a bearer token.</summary>
    private void MapGenericApi(WebApplication app)
    {
        const int size = 100;
        IResult Items(int from, int to, Func<List<object>, object> shape) =>
            Results.Json(shape(Enumerable.Range(from, Math.Max(0, Math.Min(to, Records) - from)).Select(i => (object)new { id = i, area = Area(i), value = ObsValue(i) }).ToList()));
        bool Authorized(HttpContext ctx) => ctx.Request.Headers.Authorization == "Bearer s3cret";
        app.MapGet("/files/rates.csv", () => Results.Text("currency,rate\nEUR,1.1\nGBP,1.3\n", "text/csv"));
        app.MapGet("/files/big.csv", async ctx =>
        {
            Interlocked.Increment(ref _requests);
            await ServeAsync(ctx, NextFault(), () => Encoding.ASCII.GetBytes("id,area\n" + string.Concat(Enumerable.Range(0, Records).Select(i => $"{i},{Area(i)}\n"))), "text/csv");
        });
        app.MapGet("/api/offset", (HttpContext ctx, int offset, int limit) => !Authorized(ctx) ? Results.Unauthorized()
            : Items(offset, offset + limit, items => new { total = Records, data = new { items } }));
        app.MapGet("/api/pages", (HttpContext ctx, int page) => !Authorized(ctx) ? Results.Unauthorized()
            : Items((page - 1) * size, page * size, items => new { items }));
        app.MapGet("/api/next", (HttpContext ctx, int? after) => !Authorized(ctx) ? Results.Unauthorized()
            : Items(after ?? 0, (after ?? 0) + size, items => new { items, next = (after ?? 0) + size < Records ? $"api/next?after={(after ?? 0) + size}" : null }));
        app.MapGet("/api/cursor", (HttpContext ctx, string? cursor) =>
        {
            if (!Authorized(ctx)) return Results.Unauthorized();
            var from = cursor == null ? 0 : int.Parse(Encoding.ASCII.GetString(Convert.FromBase64String(cursor)));
            var next = from + size < Records ? Convert.ToBase64String(Encoding.ASCII.GetBytes((from + size).ToString())) : null;
            return Items(from, from + size, items => new { items, meta = new { next_cursor = next } });
        });
        app.MapGet("/api/linked", (HttpContext ctx, int? page) =>
        {
            if (!Authorized(ctx)) return Results.Unauthorized();
            var p = page ?? 1;
            if (p * size < Records) ctx.Response.Headers.Link = $"<{BaseUrl}/api/linked?page={p + 1}>; rel=\"next\"";
            return Items((p - 1) * size, p * size, items => items);
        });
    }

    public async ValueTask DisposeAsync() => await _app.DisposeAsync();
}
