using System.Text;
using System.Text.Json;
using Caudal.Processing;
using Microsoft.AspNetCore.Http;

namespace Caudal.Serve.Formats;

/// <summary>
/// The row-at-a-time formats (JSON, NDJSON, CSV) share one loop: read the first row before answering (a bad filter
/// value is a 400, not a broken 200), write each row, and end. A page is written to memory first — whether another page
/// follows is known only after reading one row past it, and its <c>Link</c> header must precede the body — and may be
/// kept; a whole result is sent on as it is written, 64 KB at a time.
/// </summary>
public abstract class TextRows : RowFormat
{
    public override bool Cacheable => true;

    /// <summary>What a writer of one format needs: the buffer a page is written to and the JSON writer over it.</summary>
    protected sealed class Output(MemoryStream body, Utf8JsonWriter json)
    {
        public MemoryStream Body { get; } = body;
        public Utf8JsonWriter Json { get; } = json;
        public StringBuilder Line { get; } = new();

        public void WriteText(string text) => Body.Write(Encoding.UTF8.GetBytes(text));
    }

    protected virtual void Begin(Output output, RowsRequest request)
    {
    }

    protected abstract Task RowAsync(Output output, string[] names, object?[] values, CancellationToken ct);

    protected virtual void End(Output output, string? next)
    {
    }

    public override async Task WriteAsync(RowsRequest request, CancellationToken ct)
    {
        var (http, query) = (request.Http, request.Query);
        await using var command = Command(request);
        if (await ReadAsync(request, command, ct) is not { } reader) return;
        await using var _ = reader;
        bool any;
        try
        {
            any = await reader.ReadAsync(ct);
        }
        catch (DuckDB.NET.Data.DuckDBException e)
        {
            await RefuseAsync(request, e);
            return;
        }
        http.Response.ContentType = ContentType;
        var whole = query.Limit == null;
        using var body = new MemoryStream();
        await using var json = new Utf8JsonWriter(body);
        var output = new Output(body, json);
        async Task SendAsync()
        {
            await json.FlushAsync(ct);
            body.Position = 0;
            await body.CopyToAsync(http.Response.Body, ct);
            body.SetLength(0);
        }
        // In a page, the last two columns are the row's identity (its data file and row number), for the next cursor.
        var names = Enumerable.Range(0, reader.FieldCount - (whole ? 0 : 2)).Select(reader.GetName).ToArray();
        Begin(output, request);
        var values = new object?[names.Length];
        var served = new QuerySession.ServedValues(reader);
        string? next = null;
        (string File, long Row) last = ("", 0);
        for (var count = 0; any; any = await reader.ReadAsync(ct))
        {
            if (++count > query.Limit)
            {
                next = query.NextCursor(request.Snapshot.Version, last.File, last.Row);
                break;
            }
            for (var i = 0; i < values.Length; i++) values[i] = served[i];
            if (!whole) last = (reader.GetString(names.Length), reader.GetInt64(names.Length + 1));
            await RowAsync(output, names, values, ct);
            if (whole && body.Length + json.BytesPending > 1 << 16) await SendAsync();
        }
        End(output, next);
        await json.FlushAsync(ct);
        var link = next == null ? null : $"<{http.Request.Path}?{NextQuery(http, next)}>; rel=\"next\"";
        if (link != null) http.Response.Headers.Append("Link", link);
        if (!whole)
        {
            http.Response.ContentLength = body.Length;
            request.Keep?.Invoke(body.ToArray(), http.Response.ContentType!, link);
        }
        await SendAsync();
    }

    private static string NextQuery(HttpContext http, string next) =>
        // Each value of a repeated parameter (x=gte.1&x=lt.5: both filters apply) is kept as its own parameter.
        string.Join("&", http.Request.Query.Where(q => q.Key != "next")
            .SelectMany(q => q.Value.Select(v => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(v ?? "")}"))
            .Append($"next={next}"));
}
