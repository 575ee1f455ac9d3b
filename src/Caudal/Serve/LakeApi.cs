using System.Globalization;
using System.Text.Json;
using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Processing;
using Caudal.Processing.Engine;
using Caudal.Runs;
using Caudal.Serve.Formats;
using DuckDB.NET.Data;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

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
        var engines = new RequestEngines(scratch);
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

        ChangesApi.Map(app, catalog, engines);
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
                return Problems.Of(404, $"no table {zone}.{name}: tables are named zone.name (raw, trusted, refined), see /v1/tables.");
            // A page already sent for this request at the table's latest version is sent again as it was: the request
            // (query string and Accept) and that version decide its bytes, whatever version the query names.
            var latest = await catalog.SnapshotAsync(id, null, ct);
            var key = latest == null ? null : $"{id}@{latest.Version}|{http.Request.QueryString.Value}|{http.Request.Headers.Accept}";
            if (key != null && pages.TryGet(key, out var cached)) return await SendCachedAsync(http, cached, ct);
            TableQuery? query = null;
            Snapshot? snapshot;
            RowFormat output;
            try
            {
                output = RowFormats.Negotiate(http);
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
                if (snapshot == null) return Problems.Of(404, $"no table {id}{(pinned != null ? $" at version {pinned}" : "")}: see /v1/tables.");
                query = TableQuery.Parse(http.Request.Query.SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string>(q.Key, v ?? ""))), snapshot.Schema,
                    wholeByDefault: output.WholeByDefault);
                if (query.Version is { } fromCursor && fromCursor != snapshot.Version) snapshot = await catalog.SnapshotAsync(id, fromCursor, ct);
                if (snapshot == null) return Problems.Of(404, $"version {query.Version} of {id} does not exist.");
                // A cursor names a row of a data file of its version: one that names no such row was not made here.
                if (query.After is { } after)
                {
                    var table = catalog.Lake.Table(id);
                    var file = snapshot.Files.Values.FirstOrDefault(f => table.KeyOf(f.Path) == after.File);
                    if (file == null || after.Row < 0 || (file.NumRecords is { } rows && after.Row >= rows))
                        throw new BadRequestException("next: not a cursor this server gave for this table (take it from the previous page's 'next').");
                }
            }
            catch (Exception e) when (e is BadRequestException or FormatException or OverflowException)
            {
                return Problems.Of(400, e is BadRequestException ? e.Message : "version: a table version number (see /v1/tables).");
            }
            catch (NotFoundException e)
            {
                return Problems.Of(404, e.Message);
            }
            catch (DeltaException e)
            {
                return Problems.Of(404, $"{id}: that version does not exist ({e.Message.Split('\n')[0]}).");
            }
            var etag = $"\"{id}@{snapshot.Version}\"";
            var lastModified = snapshot.LastCommit?.Timestamp is { } ts
                ? DateTimeOffset.FromUnixTimeMilliseconds(ts).ToString("R", CultureInfo.InvariantCulture) : null;
            http.Response.Headers.ETag = etag;
            if (lastModified != null) http.Response.Headers.LastModified = lastModified;
            http.Response.Headers["X-Caudal-Version"] = snapshot.Version.ToString(CultureInfo.InvariantCulture);
            if (http.Request.Headers.IfNoneMatch.Any(v => v == etag || v == "*")) return Results.StatusCode(304);
            if (query.Limit == null || !output.Cacheable) key = null; // only pages are kept
            var slots = query.Limit != null ? engines.PageSlots : engines.ExportSlots;
            await slots.WaitAsync(ct);
            try
            {
                // Another request may have made this page while this one waited.
                if (key != null && pages.TryGet(key, out cached)) return await SendCachedAsync(http, cached, ct);
                await WriteRowsAsync(http, engines, catalog.Lake.Table(id), id, snapshot, query, output,
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
            if (RunRecord.StartOf(id) == null) return Problems.Of(404, $"'{id}' is not a run id (see /v1/runs).");
            return await runs.GetAsync(id, ct) is { } run ? Results.Json(run, RunStore.Json) : Problems.Of(404, $"no run {id} (see /v1/runs).");
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
                using var engine = await MountAsync(engines, catalog.Lake.Table(id), id, snapshot, ct);
                await using (var command = engine.Connection.CreateCommand())
                {
                    command.CommandText = $"SELECT * FROM {id.ZoneName}.{Sql.Ident(id.Name)}";
                    await using var reader = await command.ExecuteReaderAsync(ct);
                    var names = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToArray();
                    var values = new object?[names.Length];
                    var served = new QuerySession.ServedValues(reader);
                    while (await reader.ReadAsync(ct))
                    {
                        for (var i = 0; i < values.Length; i++) values[i] = served[i];
                        JsonValues.WriteObject(json, names, values);
                        if (json.BytesPending > 1 << 16) await json.FlushAsync(ct);
                    }
                }
                json.WriteEndArray();
            }
            json.WriteEndObject();
            await json.FlushAsync(ct);
        }).WithSummary("The old student API's route: every refined table as plain JSON (the migration path)").WithTags("migration");
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
        ChangeFeed = s.Metadata.Configuration.GetValueOrDefault(DeltaTable.ChangeFeedProperty) == "true",
        LastCommit = s.LastCommit?.Timestamp is { } ts ? DateTimeOffset.FromUnixTimeMilliseconds(ts) : (DateTimeOffset?)null,
        LastRun = s.LastCommit?.RunId,
        Checks = checks is { } c ? new
        {
            c.Run,
            Failed = c.Results.Count(r => !r.Passed),
            Results = c.Results.Select(r => new { r.Name, r.Kind, Severity = r.Severity.ToString().ToLowerInvariant(), r.Passed, r.FailingRows, r.Message }),
        } : null,
    };

    private static async Task<DuckDbEngine> MountAsync(RequestEngines engines, DeltaTable table, TableId id, Snapshot snapshot, CancellationToken ct)
    {
        var engine = engines.Open(RequestEngines.Work.Mount);
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

    private sealed class NotFoundException(string message) : Exception(message);

    /// <summary>Writes the rows in the negotiated format: one page (at most <see cref="TableQuery.MaxLimit"/>) or, with
    /// <c>limit=all</c> (the default for file formats), the whole result streamed with bounded memory.</summary>
    private static async Task WriteRowsAsync(HttpContext http, RequestEngines engines, DeltaTable table, TableId id, Snapshot snapshot, TableQuery query,
        RowFormat format, Action<byte[], string, string?>? keep, CancellationToken ct)
    {
        using var engine = engines.Open(RequestEngines.Work.Rows);
        await engine.MountAsync(id, table, snapshot, query.PartitionFilter(snapshot.Schema, snapshot.Metadata.PartitionColumns), query.NeedsIdentity, ct);
        var sql = query.ToSql($"{id.ZoneName}.{Sql.Ident(id.Name)}");
        // The hidden identity columns serve page cursors only: a whole result, and a file (Parquet, Arrow) with a limit,
        // leave them out (and the extra row a page reads to know whether another follows).
        if (query.NeedsIdentity && (query.Limit == null || format.Extension != null))
            sql = $"SELECT * EXCLUDE ({DuckDbEngine.FileColumn}, {DuckDbEngine.RowColumn}) FROM ({sql}){(query.Limit is { } n ? $" LIMIT {n}" : "")}";
        await format.WriteAsync(new RowsRequest(http, engine, id, snapshot, query, sql, engines.Scratch, keep), ct);
    }
}
