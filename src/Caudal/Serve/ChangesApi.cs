using System.Globalization;
using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Processing;
using Caudal.Serve.Formats;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Mvc;
using Microsoft.AspNetCore.Routing;

namespace Caudal.Serve;

/// <summary>
/// <c>GET /v1/tables/{zone}/{name}/changes?from_version=N[&amp;to_version=M]</c>: the table's change data feed for versions
/// N..M (both included, as Delta's readChangeFeed; M defaults to the latest), each row with <c>_change_type</c>
/// (insert, update_preimage, update_postimage, delete), <c>_commit_version</c> and <c>_commit_timestamp</c>, in every
/// format of the rows route, with its filters, columns and order. Sent whole (a change feed is read to its end).
/// </summary>
internal static class ChangesApi
{
    public static void Map(IEndpointRouteBuilder app, TableCatalog catalog, RequestEngines engines)
    {
        app.MapGet("/v1/tables/{zone}/{name}/changes", async (HttpContext http, string zone, string name, CancellationToken ct,
            [FromQuery(Name = "from_version")] string? fromText, [FromQuery(Name = "to_version")] string? toText) =>
        {
            if (!TableId.TryParse($"{zone}.{name}", out var id))
                return Problems.Of(404, $"no table {zone}.{name}: tables are named zone.name (raw, trusted, refined), see /v1/tables.");
            var latest = await catalog.SnapshotAsync(id, null, ct);
            if (latest == null) return Problems.Of(404, $"no table {id}: see /v1/tables.");
            RowFormat output;
            TableQuery query;
            Snapshot at;
            DeltaSchema tableSchema;
            List<ChangeSet> sets;
            try
            {
                output = RowFormats.Negotiate(http);
                var from = Version(fromText, "from_version", required: true)!.Value;
                var to = Version(toText, "to_version", required: false) ?? latest.Version;
                if (from > to) throw new BadRequestException($"from_version {from} is after to_version {to}.");
                if (to > latest.Version) throw new BadRequestException($"to_version {to}: {id} is at version {latest.Version}.");
                foreach (var refused in new[] { "limit", "next", "version", "as_of" })
                    if (http.Request.Query.ContainsKey(refused) && !(refused == "limit" && http.Request.Query[refused] == "all"))
                        throw new BadRequestException($"{refused}: the changes of a table are sent whole; narrow them with from_version, to_version or filters.");
                at = await catalog.SnapshotAsync(id, to, ct) ?? throw new DeltaException($"version {to} does not exist");
                tableSchema = at.Schema;
                var schema = ChangeFeed.Schema(tableSchema);
                query = TableQuery.Parse(http.Request.Query.Where(q => q.Key is not ("from_version" or "to_version"))
                    .SelectMany(q => q.Value.Select(v => new KeyValuePair<string, string>(q.Key, v ?? ""))), schema, wholeByDefault: true);
                sets = await ChangeFeed.ReadAsync(catalog.Lake.Table(id), from, to, ct);
                at = at.WithSchema(schema);
            }
            catch (Exception e) when (e is BadRequestException or FormatException or OverflowException)
            {
                return Problems.Of(400, e.Message);
            }
            catch (DeltaException e)
            {
                return Problems.Of(404, $"{id}: {e.Message.Split('\n')[0]}");
            }
            http.Response.Headers["X-Caudal-Version"] = at.Version.ToString(CultureInfo.InvariantCulture);
            await engines.ExportSlots.WaitAsync(ct);
            try
            {
                using var engine = engines.Open(RequestEngines.Work.Rows);
                var view = new TableId(id.Zone, "__caudal_changes");
                try
                {
                    await engine.MountChangesAsync(view, catalog.Lake.Table(id), sets, tableSchema, at.Metadata.PartitionColumns, ct);
                }
                catch (DeltaException e)
                {
                    return Problems.Of(410, $"{id}: the files of a version in that range are gone (vacuumed after the retention): {e.Message.Split('\n')[0]}");
                }
                await output.WriteAsync(new RowsRequest(http, engine, id, at, query, query.ToSql($"{view.ZoneName}.{Sql.Ident(view.Name)}"), engines.Scratch, null), ct);
            }
            finally
            {
                engines.ExportSlots.Release();
            }
            return Results.Empty;
        }).WithSummary("The table's change data feed for versions from_version..to_version (both included): every row with _change_type, " +
                       "_commit_version, _commit_timestamp; filters, columns and order as the rows route; JSON, NDJSON, CSV, Parquet or Arrow").WithTags("tables");
    }

    private static long? Version(string? text, string name, bool required)
    {
        if (text == null)
            return required ? throw new BadRequestException($"{name}: the first version whose changes to send (see X-Caudal-Version or /v1/tables).") : null;
        return long.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var v)
            ? v
            : throw new BadRequestException($"{name} '{text}': a table version number (0, 1, 2, …).");
    }
}
