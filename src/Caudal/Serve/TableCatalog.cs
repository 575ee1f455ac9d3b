using System.Collections.Concurrent;
using System.Globalization;
using Caudal.Lake;
using Caudal.Lake.Delta;

namespace Caudal.Serve;

/// <summary>
/// The lake's tables as the server reads them: the latest snapshot of each is cached and revalidated with one listing
/// of the next commit's key (not a replay of <c>_delta_log</c>) per request; an older version is read on demand.
/// Every request reads one snapshot from start to end, so a commit landing mid-request never mixes versions.
/// </summary>
public sealed class TableCatalog(DataLake lake)
{
    private readonly ConcurrentDictionary<TableId, Snapshot> _latest = new();

    public DataLake Lake => lake;

    public Task<IReadOnlyList<TableId>> TablesAsync(CancellationToken ct) => lake.ListTablesAsync(ct);

    /// <summary>The table's snapshot at <paramref name="version"/>, or its latest; null when the table (or that version)
    /// does not exist.</summary>
    public async Task<Snapshot?> SnapshotAsync(TableId id, long? version, CancellationToken ct)
    {
        var table = lake.Table(id);
        if (version is { } v) return await table.SnapshotAsync(v, ct);
        if (_latest.TryGetValue(id, out var cached))
        {
            var next = $"{table.Root}/_delta_log/{(cached.Version + 1).ToString("D20", CultureInfo.InvariantCulture)}.json";
            await foreach (var _ in table.Store.ListAsync(next, ct: ct))
                return _latest[id] = (await table.SnapshotAsync(ct: ct))!;
            return cached;
        }
        if (await table.SnapshotAsync(ct: ct) is not { } snapshot) return null;
        return _latest[id] = snapshot;
    }
}
