using System.Collections.Concurrent;
using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Processing;
using Caudal.Processing.Engine;
using DuckDB.NET.Data;

namespace Caudal.Serve.Pg;

/// <summary>A session's engine: every table of the lake mounted at one version, the PostgreSQL catalog built over
/// them, the search path set, and then the sandbox of <c>/v1/sql</c> locked (only the mounted data files and a spill
/// folder of its own, no network, no extensions, no settings).</summary>
internal sealed class PgLakeEngine : IDisposable
{
    private readonly DuckDbEngine _engine;
    private readonly TableCatalog _catalog;
    private readonly Func<CancellationToken, Task<IReadOnlyList<TableId>>> _tables;
    private readonly Dictionary<TableId, long> _versions;
    private readonly string _spill;
    private readonly string _searchPath;
    private long _checkedAt = Environment.TickCount64;

    private PgLakeEngine(DuckDbEngine engine, TableCatalog catalog, Func<CancellationToken, Task<IReadOnlyList<TableId>>> tables,
        Dictionary<TableId, long> versions, string spill, string searchPath)
    {
        _engine = engine;
        _catalog = catalog;
        _tables = tables;
        _versions = versions;
        _spill = spill;
        _searchPath = searchPath;
    }

    public DuckDBConnection Connection => _engine.Connection;

    /// <summary>The relations and functions of the catalog, which a statement may name though they start with pg_.</summary>
    public static readonly IReadOnlySet<string> CatalogNames = PgCatalogTables.Catalog.Keys.Concat(PgCatalogTables.Information.Keys).Append("current_setting").ToHashSet();

    /// <summary>What a table version looks like to a session, worked out once per version for every session: the
    /// view that mounts it and its columns as the catalog shows them.</summary>
    internal sealed record TableVersion(long Version, string MetadataId, DuckDbEngine.MountedView View, PgTable Table);

    /// <param name="listTables">The lake's tables, as the server last listed them (one listing for all sessions).</param>
    public static async Task<PgLakeEngine> OpenAsync(TableCatalog catalog, Func<CancellationToken, Task<IReadOnlyList<TableId>>> listTables,
        ConcurrentDictionary<TableId, TableVersion> known,
        Func<TableId, (string? Description, IReadOnlyList<string> Key)> describe, string scratch, PgSettings settings, string user, string database, int pid,
        CancellationToken ct)
    {
        var spill = Path.Combine(scratch, "pg", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(spill);
        var engine = RequestEngines.Open(RequestEngines.Work.Sql, scratch);
        try
        {
            var versions = new Dictionary<TableId, long>();
            var tables = new List<PgTable>();
            foreach (var id in await listTables(ct))
            {
                if (await catalog.SnapshotAsync(id, null, ct) is not { } snapshot) continue;
                if (known.TryGetValue(id, out var seen) && seen.Version == snapshot.Version && seen.MetadataId == snapshot.Metadata.Id)
                    engine.Mount(seen.View);
                else
                {
                    var view = await engine.MountedViewAsync(id, catalog.Lake.Table(id), snapshot, ct);
                    engine.Mount(view);
                    known[id] = seen = new TableVersion(snapshot.Version, snapshot.Metadata.Id, view, Describe(engine, id, snapshot, describe));
                }
                versions[id] = snapshot.Version;
                tables.Add(seen.Table);
            }
            engine.Execute("BEGIN TRANSACTION");
            PgCatalog.Build(engine.Connection, tables, settings, user, database, pid);
            engine.Execute("COMMIT");
            var path = SearchPath(settings.Get("search_path") ?? "public");
            engine.Execute($"SET search_path = {Sql.Literal(path)}");
            SqlEndpoint.LockDown(engine.Connection, engine.MountedFiles, spill);
            return new PgLakeEngine(engine, catalog, listTables, versions, spill, settings.Get("search_path") ?? "");
        }
        catch
        {
            engine.Dispose();
            throw;
        }
    }

    /// <summary>A mounted table as the catalog shows it: its columns with their PostgreSQL types (as the wire will send
    /// them), NOT NULL from the Delta schema, the model's description and key, its size and row count.</summary>
    private static PgTable Describe(DuckDbEngine engine, TableId id, Snapshot snapshot, Func<TableId, (string? Description, IReadOnlyList<string> Key)> describe)
    {
        using var command = engine.Connection.CreateCommand();
        command.CommandText = $"SELECT * FROM {id.ZoneName}.{Sql.Ident(id.Name)} LIMIT 0";
        using var reader = command.ExecuteReader();
        var (description, key) = describe(id);
        var rows = snapshot.Files.Values.Select(f => f.LiveRecords).ToList();
        return new PgTable(id, PgColumn.Of(reader), snapshot.Schema.Fields.Where(f => !f.Nullable).Select(f => f.Name).ToHashSet(),
            description, key.Where(k => snapshot.Schema.Find(k) != null).ToList(), snapshot.Files.Values.Sum(f => f.Size),
            rows.All(r => r != null) ? rows.Sum() : null);
    }

    /// <summary>The engine's search path for PostgreSQL's: the catalog first, then the schemas named that exist.</summary>
    private static string SearchPath(string path)
    {
        var schemas = path.Split(',').Select(s => s.Trim().Trim('"')).Where(s => s is "public" || TableId.ZoneNames.Contains(s)).ToList();
        return string.Join(',', new[] { PgSql.CatalogSchema }.Concat(schemas).Append("main").Distinct());
    }

    /// <summary>Whether a table moved on (or came or went) since this engine mounted the lake, or the search path
    /// changed; the lake is looked at most every <see cref="TableCatalog.Revalidate"/>.</summary>
    public async Task<bool> StaleAsync(PgSettings settings, CancellationToken ct)
    {
        if ((settings.Get("search_path") ?? "") != _searchPath) return true;
        var now = Environment.TickCount64;
        if (now - _checkedAt < TableCatalog.Revalidate.TotalMilliseconds) return false;
        _checkedAt = now;
        var ids = await _tables(ct);
        if (ids.Count != _versions.Count) return true;
        foreach (var id in ids)
            if (!_versions.TryGetValue(id, out var version) || (await _catalog.SnapshotAsync(id, null, ct))?.Version != version) return true;
        return false;
    }

    public void Dispose()
    {
        _engine.Dispose();
        try
        {
            Directory.Delete(_spill, recursive: true);
        }
        catch (IOException)
        {
            // Left for the workspace's own clean-up.
        }
    }
}
