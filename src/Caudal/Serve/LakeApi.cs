using System.Globalization;
using System.Text;
using System.Text.Json;
using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Processing;
using Caudal.Processing.Engine;
using Caudal.Runs;
using DuckDB.NET.Data;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Microsoft.Net.Http.Headers;

namespace Caudal.Serve;

/// <summary>
/// The lake's read API: <c>GET /v1/tables</c> (every table: version, rows, size, columns, partitions, last commit and
/// run), <c>GET /v1/tables/{zone}/{name}</c> (rows, with columns, filters, order, pages; JSON, NDJSON or CSV by
/// <c>Accept</c> or <c>format=</c>; the Delta version read in <c>ETag</c>, <c>If-None-Match</c> answered 304 without
/// reading data, <c>?version=N</c> for an older one), <c>GET /v1/runs</c> and <c>/v1/runs/{id}</c>, and the old
/// student API's <c>GET /extract-trusted-info</c> (every refined table as plain JSON, not double-encoded, not capped).
/// Each request reads one snapshot, through its own embedded engine.
/// </summary>
public static class LakeApi
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static void Map(IEndpointRouteBuilder app, TableCatalog catalog, string scratch)
    {
        var runs = new RunStore(catalog.Lake.Store);

        app.MapGet("/v1/tables", async (CancellationToken ct) =>
        {
            var tables = new List<object>();
            foreach (var id in await catalog.TablesAsync(ct))
                if (await catalog.SnapshotAsync(id, null, ct) is { } s) tables.Add(Describe(id, s));
            return Results.Json(new { tables }, Json);
        });

        app.MapGet("/v1/tables/{zone}/{name}", async (HttpContext http, string zone, string name, CancellationToken ct) =>
        {
            if (!TableId.TryParse($"{zone}.{name}", out var id))
                return Problem(404, $"no table {zone}.{name}: tables are named zone.name (raw, trusted, refined), see /v1/tables.");
            TableQuery? query = null;
            Snapshot? snapshot;
            try
            {
                var version = http.Request.Query["version"].FirstOrDefault() is { } v ? long.Parse(v, CultureInfo.InvariantCulture) : (long?)null;
                snapshot = await catalog.SnapshotAsync(id, version, ct);
                if (snapshot == null) return Problem(404, $"no table {id}{(version != null ? $" at version {version}" : "")}: see /v1/tables.");
                query = TableQuery.Parse(http.Request.Query.Select(q => new KeyValuePair<string, string>(q.Key, q.Value.ToString())), snapshot.Schema);
                if (query.Version is { } pinned && pinned != snapshot.Version) snapshot = await catalog.SnapshotAsync(id, pinned, ct);
                if (snapshot == null) return Problem(404, $"version {query.Version} of {id} does not exist.");
            }
            catch (Exception e) when (e is BadRequestException or FormatException or OverflowException)
            {
                return Problem(400, e is BadRequestException ? e.Message : "version: a table version number (see /v1/tables).");
            }
            catch (DeltaException e)
            {
                return Problem(404, $"{id}: that version does not exist ({e.Message.Split('\n')[0]}).");
            }
            var etag = $"\"{id}@{snapshot.Version}\"";
            http.Response.Headers.ETag = etag;
            if (snapshot.LastCommit?.Timestamp is { } ts)
                http.Response.Headers.LastModified = DateTimeOffset.FromUnixTimeMilliseconds(ts).ToString("R", CultureInfo.InvariantCulture);
            http.Response.Headers["X-Caudal-Version"] = snapshot.Version.ToString(CultureInfo.InvariantCulture);
            if (http.Request.Headers.IfNoneMatch.Any(v => v == etag || v == "*")) return Results.StatusCode(304);
            await WriteRowsAsync(http, catalog.Lake.Table(id), id, snapshot, query, scratch, ct);
            return Results.Empty;
        });

        app.MapGet("/v1/runs", async (int? limit, string? trigger, CancellationToken ct) =>
        {
            var list = await runs.ListAsync(Math.Clamp(limit ?? 50, 1, 1000), ct);
            return Results.Json(new { runs = list.Where(r => trigger == null || r.Trigger == trigger) }, RunStore.Json);
        });

        app.MapGet("/v1/runs/{id}", async (string id, CancellationToken ct) =>
        {
            if (RunRecord.StartOf(id) == null) return Problem(404, $"'{id}' is not a run id (see /v1/runs).");
            return await runs.GetAsync(id, ct) is { } run ? Results.Json(run, RunStore.Json) : Problem(404, $"no run {id} (see /v1/runs).");
        });

        // The student project's API Gateway route, kept as the migration path: every refined table as plain JSON.
        app.MapGet("/extract-trusted-info", async (HttpContext http, CancellationToken ct) =>
        {
            http.Response.ContentType = "application/json; charset=utf-8";
            await using var json = new Utf8JsonWriter(http.Response.Body);
            json.WriteStartObject();
            foreach (var id in (await catalog.TablesAsync(ct)).Where(t => t.Zone == Zone.Refined))
            {
                if (await catalog.SnapshotAsync(id, null, ct) is not { } snapshot) continue;
                json.WritePropertyName(id.Name);
                json.WriteStartArray();
                using var engine = await MountAsync(catalog.Lake.Table(id), id, snapshot, scratch, ct);
                await foreach (var _ in StreamAsync(engine, $"SELECT * FROM {id.ZoneName}.{Sql.Ident(id.Name)}", [], row => WriteObject(json, row), ct))
                    if (json.BytesPending > 1 << 16) await json.FlushAsync(ct);
                json.WriteEndArray();
            }
            json.WriteEndObject();
            await json.FlushAsync(ct);
        });
    }

    private static object Describe(TableId id, Snapshot s) => new
    {
        Table = id.ToString(),
        Zone = id.ZoneName,
        s.Version,
        Rows = s.NumRecords,
        Files = s.Files.Count,
        Bytes = s.Files.Values.Sum(f => f.Size),
        Columns = s.Schema.Fields.Select(f => new { f.Name, f.Type, f.Nullable }),
        PartitionColumns = s.Metadata.PartitionColumns,
        LastCommit = s.LastCommit?.Timestamp is { } ts ? DateTimeOffset.FromUnixTimeMilliseconds(ts) : (DateTimeOffset?)null,
        LastRun = s.LastCommit?.RunId,
    };

    private static IResult Problem(int status, string detail) =>
        Results.Json(new { status, error = detail }, Json, "application/problem+json", status);

    private static async Task<DuckDbEngine> MountAsync(DeltaTable table, TableId id, Snapshot snapshot, string scratch, CancellationToken ct)
    {
        var engine = new DuckDbEngine(new EngineSettings(scratch, Threads: 1, MemoryLimit: "512MB"));
        try
        {
            await engine.MountAsync(id, table, snapshot, ct);
            return engine;
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    private enum Format { Json, NdJson, Csv }

    private static Format Negotiate(HttpContext http)
    {
        var format = http.Request.Query["format"].FirstOrDefault();
        if (format != null)
            return format switch
            {
                "json" => Format.Json,
                "ndjson" => Format.NdJson,
                "csv" => Format.Csv,
                _ => throw new BadRequestException($"format '{format}': json, ndjson or csv."),
            };
        var accept = http.Request.GetTypedHeaders().Accept.OrderByDescending(a => a.Quality ?? 1).Select(a => a.MediaType.Value).ToList();
        foreach (var type in accept)
            switch (type)
            {
                case "text/csv": return Format.Csv;
                case "application/x-ndjson" or "application/jsonl": return Format.NdJson;
                case "application/json" or "*/*": return Format.Json;
            }
        return Format.Json;
    }

    /// <summary>Writes one page of rows (at most <see cref="TableQuery.MaxLimit"/>) in the negotiated format.</summary>
    private static async Task WriteRowsAsync(HttpContext http, DeltaTable table, TableId id, Snapshot snapshot, TableQuery query, string scratch, CancellationToken ct)
    {
        Format format;
        try
        {
            format = Negotiate(http);
        }
        catch (BadRequestException e)
        {
            await Problem(400, e.Message).ExecuteAsync(http);
            return;
        }
        using var engine = await MountAsync(table, id, snapshot, scratch, ct);
        var sql = query.ToSql($"{id.ZoneName}.{Sql.Ident(id.Name)}");
        // Peek at the first row before answering, so a bad filter value is a 400, not a broken 200.
        var rows = StreamAsync(engine, sql, query.Parameters, row => row, ct).GetAsyncEnumerator(ct);
        bool any;
        try
        {
            any = await rows.MoveNextAsync();
        }
        catch (DuckDBException e)
        {
            await rows.DisposeAsync();
            await Problem(400, $"{id}: {e.Message.Split('\n')[0]}").ExecuteAsync(http);
            return;
        }
        var next = (string?)null;
        var count = 0;
        http.Response.ContentType = format switch
        {
            Format.Csv => "text/csv; charset=utf-8",
            Format.NdJson => "application/x-ndjson; charset=utf-8",
            _ => "application/json; charset=utf-8",
        };
        // A page (at most 10,000 rows) is written to memory first: whether there is a next page is known only after
        // reading one row past it, and the Link header must go before the body.
        using var body = new MemoryStream();
        await using var json = new Utf8JsonWriter(body);
        if (format == Format.Json)
        {
            json.WriteStartObject();
            json.WriteString("table", id.ToString());
            json.WriteNumber("version", snapshot.Version);
            json.WriteStartArray("rows");
        }
        else if (format == Format.Csv)
            await body.WriteAsync(Encoding.UTF8.GetBytes(TableQuery.CsvLine(new StringBuilder(), query.Columns).ToString()), ct);
        var line = new StringBuilder();
        try
        {
            for (; any; any = await rows.MoveNextAsync())
            {
                if (++count > query.Limit)
                {
                    next = query.NextCursor(snapshot.Version);
                    break;
                }
                var row = rows.Current;
                switch (format)
                {
                    case Format.Json:
                        WriteObject(json, row);
                        break;
                    case Format.NdJson:
                        WriteObject(json, row);
                        await json.FlushAsync(ct);
                        json.Reset();
                        body.WriteByte((byte)'\n');
                        break;
                    default:
                        line.Clear();
                        TableQuery.CsvLine(line, row.Select(v => v.Value == null ? null : QuerySession.Text(v.Value)));
                        await body.WriteAsync(Encoding.UTF8.GetBytes(line.ToString()), ct);
                        break;
                }
            }
        }
        finally
        {
            await rows.DisposeAsync();
        }
        if (format == Format.Json)
        {
            json.WriteEndArray();
            if (next != null) json.WriteString("next", next);
            else json.WriteNull("next");
            json.WriteEndObject();
        }
        await json.FlushAsync(ct);
        if (next != null)
            http.Response.Headers.Append("Link", $"<{http.Request.Path}?{NextQuery(http, next)}>; rel=\"next\"");
        http.Response.ContentLength = body.Length;
        body.Position = 0;
        await body.CopyToAsync(http.Response.Body, ct);
    }

    private static string NextQuery(HttpContext http, string next) =>
        string.Join("&", http.Request.Query.Where(q => q.Key != "next").Select(q => $"{Uri.EscapeDataString(q.Key)}={Uri.EscapeDataString(q.Value.ToString())}")
            .Append($"next={next}"));

    /// <summary>A query's rows as (column, value) lists, read one at a time on the engine's connection.</summary>
    private static async IAsyncEnumerable<T> StreamAsync<T>(DuckDbEngine engine, string sql, IReadOnlyList<object?> parameters,
        Func<List<(string Name, object? Value)>, T> map, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        using var command = engine.Connection.CreateCommand();
        command.CommandText = sql;
        foreach (var p in parameters) command.Parameters.Add(new DuckDBParameter(p ?? DBNull.Value));
        using var reader = await command.ExecuteReaderAsync(ct);
        var names = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
        while (await reader.ReadAsync(ct))
            yield return map(names.Select((n, i) => (n, reader.IsDBNull(i) ? null : reader.GetValue(i))).ToList());
    }

    private static bool WriteObject(Utf8JsonWriter json, List<(string Name, object? Value)> row)
    {
        json.WriteStartObject();
        foreach (var (name, value) in row)
        {
            json.WritePropertyName(name);
            WriteValue(json, value);
        }
        json.WriteEndObject();
        return true;
    }

    private static void WriteValue(Utf8JsonWriter json, object? value)
    {
        switch (value)
        {
            case null: json.WriteNullValue(); break;
            case bool b: json.WriteBooleanValue(b); break;
            case sbyte or byte or short or ushort or int or uint or long: json.WriteNumberValue(Convert.ToInt64(value, CultureInfo.InvariantCulture)); break;
            case ulong u: json.WriteNumberValue(u); break;
            case float f when float.IsFinite(f): json.WriteNumberValue(f); break;
            case double d when double.IsFinite(d): json.WriteNumberValue(d); break;
            case decimal m: json.WriteNumberValue(m); break;
            case System.Numerics.BigInteger big: json.WriteRawValue(big.ToString(CultureInfo.InvariantCulture)); break;
            case System.Collections.IList list when value is not byte[]:
                json.WriteStartArray();
                foreach (var item in list) WriteValue(json, item);
                json.WriteEndArray();
                break;
            default: json.WriteStringValue(QuerySession.Text(value)); break;
        }
    }
}
