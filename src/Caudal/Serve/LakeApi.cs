using System.Data.Common;
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
using Microsoft.AspNetCore.Mvc;
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
        var pages = new PageCache();
        // Each table's latest check results, from the most recent run that checked it: read from the last 50 run
        // records at most every 5 seconds, not on every request (the dashboard asks for /v1/tables on each page).
        var latestChecks = new Recent<Dictionary<string, (string Run, List<Processing.Checks.CheckResult> Results)>>(TimeSpan.FromSeconds(5), async ct =>
        {
            var found = new Dictionary<string, (string Run, List<Processing.Checks.CheckResult> Results)>();
            foreach (var run in await runs.ListAsync(50, ct))
                foreach (var stage in run.Stages.Where(s => s.Checks.Count > 0))
                    found.TryAdd(stage.Table, (run.RunId, stage.Checks));
            return found;
        });
        // Engine work is bounded: at most one query per core for pages and as many for whole exports, so a burst of
        // requests waits instead of each taking its own memory.
        var pageSlots = new SemaphoreSlim(Environment.ProcessorCount);
        var exportSlots = new SemaphoreSlim(Environment.ProcessorCount);

        app.MapGet("/v1/tables", async (CancellationToken ct) =>
        {
            var checks = await latestChecks.GetAsync(ct);
            var tables = new List<object>();
            foreach (var id in await catalog.TablesAsync(ct))
                if (await catalog.SnapshotAsync(id, null, ct) is { } s) tables.Add(Describe(id, s, checks.TryGetValue(id.ToString(), out var c) ? c : null));
            return Results.Json(new { tables }, Json);
        }).WithSummary("Every table of every zone: version, rows, size, columns, partitions, last commit and run, latest checks").WithTags("tables");

        app.MapGet("/v1/tables/{zone}/{name}", async (HttpContext http, string zone, string name, CancellationToken ct,
            [FromQuery] string? columns, [FromQuery] string? order, [FromQuery] string? limit, [FromQuery] string? next,
            [FromQuery] string? version, [FromQuery(Name = "as_of")] string? asOf, [FromQuery] string? format) =>
        {
            if (!TableId.TryParse($"{zone}.{name}", out var id))
                return Problem(404, $"no table {zone}.{name}: tables are named zone.name (raw, trusted, refined), see /v1/tables.");
            // A page already sent for this request at the table's latest version is sent again as it was: the request
            // (query string and Accept) and that version decide its bytes, whatever version the query names.
            var latest = await catalog.SnapshotAsync(id, null, ct);
            var key = latest == null ? null : $"{id}@{latest.Version}|{http.Request.QueryString.Value}|{http.Request.Headers.Accept}";
            if (key != null && pages.TryGet(key, out var cached)) return await SendCachedAsync(http, cached, ct);
            TableQuery? query = null;
            Snapshot? snapshot;
            Format output;
            try
            {
                output = Negotiate(http);
                long? pinned = version is { } v ? long.Parse(v, CultureInfo.InvariantCulture) : null;
                if (asOf != null)
                {
                    if (pinned != null) throw new BadRequestException("give either version or as_of, not both.");
                    if (!DateTimeOffset.TryParse(asOf, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var at))
                        throw new BadRequestException($"as_of '{asOf}': a timestamp such as 2026-11-30T06:00:00Z.");
                    pinned = await catalog.VersionAtAsync(id, at, ct)
                        ?? throw new NotFoundException($"{id} has no version committed at or before {at.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture)} (or its history was cleaned up).");
                }
                snapshot = await catalog.SnapshotAsync(id, pinned, ct);
                if (snapshot == null) return Problem(404, $"no table {id}{(pinned != null ? $" at version {pinned}" : "")}: see /v1/tables.");
                query = TableQuery.Parse(http.Request.Query.SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string>(q.Key, v ?? ""))), snapshot.Schema,
                    wholeByDefault: output is Format.Parquet or Format.Arrow);
                if (query.Version is { } fromCursor && fromCursor != snapshot.Version) snapshot = await catalog.SnapshotAsync(id, fromCursor, ct);
                if (snapshot == null) return Problem(404, $"version {query.Version} of {id} does not exist.");
                // A cursor names a row of a data file of its version: one that names no such row was not made here.
                if (query.After is { } after)
                {
                    var root = catalog.Lake.Table(id).Root;
                    var file = snapshot.Files.Values.FirstOrDefault(f => $"{root}/{PartitionPath.FromLogPath(f.Path)}" == after.File);
                    if (file == null || after.Row < 0 || (file.NumRecords is { } rows && after.Row >= rows))
                        throw new BadRequestException("next: not a cursor this server gave for this table (take it from the previous page's 'next').");
                }
            }
            catch (Exception e) when (e is BadRequestException or FormatException or OverflowException)
            {
                return Problem(400, e is BadRequestException ? e.Message : "version: a table version number (see /v1/tables).");
            }
            catch (NotFoundException e)
            {
                return Problem(404, e.Message);
            }
            catch (DeltaException e)
            {
                return Problem(404, $"{id}: that version does not exist ({e.Message.Split('\n')[0]}).");
            }
            var etag = $"\"{id}@{snapshot.Version}\"";
            var lastModified = snapshot.LastCommit?.Timestamp is { } ts
                ? DateTimeOffset.FromUnixTimeMilliseconds(ts).ToString("R", CultureInfo.InvariantCulture) : null;
            http.Response.Headers.ETag = etag;
            if (lastModified != null) http.Response.Headers.LastModified = lastModified;
            http.Response.Headers["X-Caudal-Version"] = snapshot.Version.ToString(CultureInfo.InvariantCulture);
            if (http.Request.Headers.IfNoneMatch.Any(v => v == etag || v == "*")) return Results.StatusCode(304);
            if (query.Limit == null || output is not (Format.Json or Format.NdJson or Format.Csv)) key = null; // only pages are kept
            var slots = query.Limit != null ? pageSlots : exportSlots;
            await slots.WaitAsync(ct);
            try
            {
                // Another request may have made this page while this one waited.
                if (key != null && pages.TryGet(key, out cached)) return await SendCachedAsync(http, cached, ct);
                await WriteRowsAsync(http, catalog.Lake.Table(id), id, snapshot, query, output, scratch,
                    key == null ? null : (body, type, link) => pages.Add(key, new PageCache.Page(body, type, link, etag, lastModified, snapshot.Version)), ct);
            }
            finally
            {
                slots.Release();
            }
            return Results.Empty;
        }).WithSummary("Rows of one table: filters (col=eq.x, neq, gt, gte, lt, lte, like, in.(a,b), is.null, not.is.null), " +
                       "order, pages (limit, next), a version (version or as_of); JSON, NDJSON, CSV, Parquet or Arrow").WithTags("tables");

        app.MapGet("/v1/runs", async (int? limit, string? trigger, CancellationToken ct) =>
        {
            var list = await runs.ListAsync(Math.Clamp(limit ?? 50, 1, 1000), ct);
            return Results.Json(new { runs = list.Where(r => trigger == null || r.Trigger == trigger) }, RunStore.Json);
        }).WithSummary("Run history, newest first: stages, timings, rows, errors, check results").WithTags("runs");

        app.MapGet("/v1/runs/{id}", async (string id, CancellationToken ct) =>
        {
            if (RunRecord.StartOf(id) == null) return Problem(404, $"'{id}' is not a run id (see /v1/runs).");
            return await runs.GetAsync(id, ct) is { } run ? Results.Json(run, RunStore.Json) : Problem(404, $"no run {id} (see /v1/runs).");
        }).WithSummary("One run's record").WithTags("runs");

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
        }).WithSummary("The old student API's route: every refined table as plain JSON (the migration path)").WithTags("migration");
    }

    /// <summary>A value read again when older than <paramref name="maxAge"/> (concurrent readers share one read).</summary>
    private sealed class Recent<T>(TimeSpan maxAge, Func<CancellationToken, Task<T>> read) where T : class
    {
        private readonly SemaphoreSlim _gate = new(1, 1);
        private (T? Value, long At) _last;

        public async Task<T> GetAsync(CancellationToken ct)
        {
            if (_last.Value is { } fresh && Environment.TickCount64 - _last.At < maxAge.TotalMilliseconds) return fresh;
            await _gate.WaitAsync(ct);
            try
            {
                if (_last.Value is { } again && Environment.TickCount64 - _last.At < maxAge.TotalMilliseconds) return again;
                var value = await read(ct);
                _last = (value, Environment.TickCount64);
                return value;
            }
            finally
            {
                _gate.Release();
            }
        }
    }

    private static async Task<IResult> SendCachedAsync(HttpContext http, PageCache.Page page, CancellationToken ct)
    {
        var headers = http.Response.Headers;
        headers.ETag = page.ETag;
        if (page.LastModified != null) headers.LastModified = page.LastModified;
        headers["X-Caudal-Version"] = page.Version.ToString(CultureInfo.InvariantCulture);
        if (http.Request.Headers.IfNoneMatch.Any(v => v == page.ETag || v == "*")) return Results.StatusCode(304);
        if (page.Link != null) headers.Append("Link", page.Link);
        http.Response.ContentType = page.ContentType;
        http.Response.ContentLength = page.Body.Length;
        await http.Response.Body.WriteAsync(page.Body, ct);
        return Results.Empty;
    }

    private static object Describe(TableId id, Snapshot s, (string Run, List<Processing.Checks.CheckResult> Results)? checks) => new
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
        Checks = checks is { } c ? new
        {
            c.Run,
            Failed = c.Results.Count(r => !r.Passed),
            Results = c.Results.Select(r => new { r.Name, r.Kind, Severity = r.Severity.ToString().ToLowerInvariant(), r.Passed, r.FailingRows, r.Message }),
        } : null,
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

    private enum Format { Json, NdJson, Csv, Parquet, Arrow }

    private sealed class NotFoundException(string message) : Exception(message);

    private static Format Negotiate(HttpContext http)
    {
        var format = http.Request.Query["format"].FirstOrDefault();
        if (format != null)
            return format switch
            {
                "json" => Format.Json,
                "ndjson" => Format.NdJson,
                "csv" => Format.Csv,
                "parquet" => Format.Parquet,
                "arrow" => Format.Arrow,
                _ => throw new BadRequestException($"format '{format}': json, ndjson, csv, parquet or arrow."),
            };
        var accept = http.Request.GetTypedHeaders().Accept.OrderByDescending(a => a.Quality ?? 1).Select(a => a.MediaType.Value).ToList();
        foreach (var type in accept)
            switch (type)
            {
                case "text/csv": return Format.Csv;
                case "application/vnd.apache.parquet" or "application/x-parquet": return Format.Parquet;
                case ArrowExport.MediaType: return Format.Arrow;
                case "application/x-ndjson" or "application/jsonl": return Format.NdJson;
                case "application/json" or "*/*": return Format.Json;
            }
        return Format.Json;
    }

    /// <summary>Writes the rows in the negotiated format: one page (at most <see cref="TableQuery.MaxLimit"/>) or, with
    /// <c>limit=all</c> (the default for Parquet and Arrow), the whole result streamed with bounded memory.</summary>
    private static async Task WriteRowsAsync(HttpContext http, DeltaTable table, TableId id, Snapshot snapshot, TableQuery query, Format format,
        string scratch, Action<byte[], string, string?>? keep, CancellationToken ct)
    {
        using var engine = new DuckDbEngine(new EngineSettings(scratch, Threads: 1, MemoryLimit: "256MB"));
        await engine.MountAsync(id, table, snapshot, query.PartitionFilter(snapshot.Schema, snapshot.Metadata.PartitionColumns), query.NeedsIdentity, ct);
        var sql = query.ToSql($"{id.ZoneName}.{Sql.Ident(id.Name)}");
        var whole = query.Limit == null;
        // The hidden identity columns serve page cursors only: a whole result, and a file (Parquet, Arrow) with a limit,
        // leave them out (and the extra row a page reads to know whether another follows).
        if (query.NeedsIdentity && (whole || format is Format.Parquet or Format.Arrow))
            sql = $"SELECT * EXCLUDE ({DuckDbEngine.FileColumn}, {DuckDbEngine.RowColumn}) FROM ({sql}){(query.Limit is { } n ? $" LIMIT {n}" : "")}";
        if (format == Format.Parquet)
        {
            await WriteParquetAsync(http, engine, id, sql, query.SqlParameters, scratch, ct);
            return;
        }
        if (format == Format.Csv && whole)
        {
            var instants = query.Columns.Where(c => snapshot.Schema.Find(c)?.Type == "timestamp").ToList();
            var binaries = query.Columns.Where(c => snapshot.Schema.Find(c)?.Type == "binary").ToList();
            await CsvExport.WriteAsync(http, engine.Connection, id, sql, query.SqlParameters, instants, binaries, scratch, ct);
            return;
        }
        using var command = engine.Connection.CreateCommand();
        command.CommandText = sql;
        foreach (var p in query.SqlParameters) command.Parameters.Add(new DuckDBParameter(p ?? DBNull.Value));
        // Read the first row before answering, so a bad filter value is a 400, not a broken 200.
        DbDataReader reader;
        bool any;
        try
        {
            reader = await command.ExecuteReaderAsync(ct);
            any = format != Format.Arrow && await reader.ReadAsync(ct);
        }
        catch (DuckDBException e)
        {
            await Problem(400, $"{id}: {e.Message.Split('\n')[0]}").ExecuteAsync(http);
            return;
        }
        await using var _ = reader;
        if (format == Format.Arrow)
        {
            http.Response.ContentType = ArrowExport.MediaType;
            http.Response.Headers.ContentDisposition = $"attachment; filename=\"{id}.arrows\"";
            await ArrowExport.WriteAsync(reader, snapshot.Schema.Fields.ToDictionary(f => f.Name, f => f.Type), http.Response.Body, ct);
            return;
        }
        http.Response.ContentType = format switch
        {
            Format.Csv => "text/csv; charset=utf-8",
            Format.NdJson => "application/x-ndjson; charset=utf-8",
            _ => "application/json; charset=utf-8",
        };
        // A page is written to memory first: whether there is a next page is known only after reading one row past
        // it, and the Link header must go before the body. A whole result is sent on as it is written.
        var streaming = query.Limit == null;
        using var body = new MemoryStream();
        await using var json = new Utf8JsonWriter(body);
        async Task SendAsync()
        {
            await json.FlushAsync(ct);
            body.Position = 0;
            await body.CopyToAsync(http.Response.Body, ct);
            body.SetLength(0);
        }
        // In a page, the last two columns are the row's identity (its data file and row number), for the next cursor.
        var names = Enumerable.Range(0, reader.FieldCount - (whole ? 0 : 2)).Select(reader.GetName).ToArray();
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
        var values = new object?[names.Length];
        var served = new QuerySession.ServedValues(reader);
        string? next = null;
        (string File, long Row) last = ("", 0);
        for (var count = 0; any; any = await reader.ReadAsync(ct))
        {
            if (++count > query.Limit)
            {
                next = query.NextCursor(snapshot.Version, last.File, last.Row);
                break;
            }
            for (var i = 0; i < values.Length; i++) values[i] = served[i];
            if (!whole) last = (reader.GetString(names.Length), reader.GetInt64(names.Length + 1));
            switch (format)
            {
                case Format.Json:
                    WriteObject(json, names, values);
                    break;
                case Format.NdJson:
                    WriteObject(json, names, values);
                    await json.FlushAsync(ct);
                    json.Reset();
                    body.WriteByte((byte)'\n');
                    break;
                default:
                    line.Clear();
                    TableQuery.CsvLine(line, values.Select(v => v == null ? null : QuerySession.Text(v)));
                    await body.WriteAsync(Encoding.UTF8.GetBytes(line.ToString()), ct);
                    break;
            }
            if (streaming && body.Length + json.BytesPending > 1 << 16) await SendAsync();
        }
        if (format == Format.Json)
        {
            json.WriteEndArray();
            if (next != null) json.WriteString("next", next);
            else json.WriteNull("next");
            json.WriteEndObject();
        }
        await json.FlushAsync(ct);
        var link = next == null ? null : $"<{http.Request.Path}?{NextQuery(http, next)}>; rel=\"next\"";
        if (link != null) http.Response.Headers.Append("Link", link);
        if (!streaming)
        {
            http.Response.ContentLength = body.Length;
            keep?.Invoke(body.ToArray(), http.Response.ContentType!, link);
        }
        await SendAsync();
    }

    /// <summary>The result as one Parquet file, written by the engine to the server's scratch folder (streamed, in row
    /// groups), sent, then deleted.</summary>
    private static async Task WriteParquetAsync(HttpContext http, DuckDbEngine engine, TableId id, string sql, IReadOnlyList<object?> parameters,
        string scratch, CancellationToken ct)
    {
        var file = Path.Combine(scratch, $"export-{Guid.NewGuid():N}.parquet");
        try
        {
            using (var command = engine.Connection.CreateCommand())
            {
                command.CommandText = $"COPY ({sql}) TO {Sql.Literal(file)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)";
                foreach (var p in parameters) command.Parameters.Add(new DuckDBParameter(p ?? DBNull.Value));
                try
                {
                    await using var interrupt = ct.Register(command.Cancel);
                    await Task.Run(command.ExecuteNonQuery, CancellationToken.None);
                }
                catch (DuckDBException e) when (!ct.IsCancellationRequested)
                {
                    await Problem(400, $"{id}: {e.Message.Split('\n')[0]}").ExecuteAsync(http);
                    return;
                }
            }
            http.Response.ContentType = "application/vnd.apache.parquet";
            http.Response.Headers.ContentDisposition = $"attachment; filename=\"{id}.parquet\"";
            http.Response.ContentLength = new FileInfo(file).Length;
            await http.Response.SendFileAsync(file, ct);
        }
        finally
        {
            File.Delete(file);
        }
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
        var served = new QuerySession.ServedValues(reader);
        while (await reader.ReadAsync(ct))
            yield return map(names.Select((n, i) => (n, served[i])).ToList());
    }

    private static void WriteObject(Utf8JsonWriter json, string[] names, object?[] values)
    {
        json.WriteStartObject();
        for (var i = 0; i < names.Length; i++)
        {
            json.WritePropertyName(names[i]);
            JsonValues.Write(json, values[i]);
        }
        json.WriteEndObject();
    }

    private static bool WriteObject(Utf8JsonWriter json, List<(string Name, object? Value)> row)
    {
        json.WriteStartObject();
        foreach (var (name, value) in row)
        {
            json.WritePropertyName(name);
            JsonValues.Write(json, value);
        }
        json.WriteEndObject();
        return true;
    }
}
