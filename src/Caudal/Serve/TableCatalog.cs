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
    /// <summary>How long a revalidated snapshot is taken as the latest without looking again: a commit is served at
    /// most this late, and a busy server lists the log at most this often per table.</summary>
    public static readonly TimeSpan Revalidate = TimeSpan.FromMilliseconds(250);

    private readonly ConcurrentDictionary<TableId, (Snapshot Snapshot, long CheckedAt)> _latest = new();

    public DataLake Lake => lake;

    public Task<IReadOnlyList<TableId>> TablesAsync(CancellationToken ct) => lake.ListTablesAsync(ct);

    /// <summary>The table's snapshot at <paramref name="version"/>, or its latest; null when the table (or that version)
    /// does not exist.</summary>
    public async Task<Snapshot?> SnapshotAsync(TableId id, long? version, CancellationToken ct)
    {
        var table = lake.Table(id);
        if (version is { } v) return await table.SnapshotAsync(v, ct);
        var now = Environment.TickCount64;
        if (_latest.TryGetValue(id, out var cached))
        {
            if (now - cached.CheckedAt < Revalidate.TotalMilliseconds) return cached.Snapshot;
            var next = $"{table.Root}/_delta_log/{(cached.Snapshot.Version + 1).ToString("D20", CultureInfo.InvariantCulture)}.json";
            await foreach (var _ in table.Store.ListAsync(next, ct: ct))
            {
                var newer = (await table.SnapshotAsync(ct: ct))!;
                _latest[id] = (newer, now);
                return newer;
            }
            _latest[id] = (cached.Snapshot, now);
            return cached.Snapshot;
        }
        if (await table.SnapshotAsync(ct: ct) is not { } snapshot) return null;
        _latest[id] = (snapshot, now);
        return snapshot;
    }

    /// <summary>The last version committed at or before <paramref name="at"/> (Delta's timestamp time travel, by each
    /// commit's own <c>commitInfo.timestamp</c>, found by binary search over the commits still in the log); null when
    /// none is.</summary>
    public async Task<long?> VersionAtAsync(TableId id, DateTimeOffset at, CancellationToken ct)
    {
        var table = lake.Table(id);
        var versions = new List<long>();
        await foreach (var o in table.Store.ListAsync($"{table.Root}/_delta_log/", ct: ct))
        {
            var file = o.Key[(o.Key.LastIndexOf('/') + 1)..];
            if (file.Length == 25 && file.EndsWith(".json", StringComparison.Ordinal) && long.TryParse(file[..20], NumberStyles.None, CultureInfo.InvariantCulture, out var v))
                versions.Add(v);
        }
        versions.Sort();
        var target = at.ToUnixTimeMilliseconds();
        long? found = null;
        int lo = 0, hi = versions.Count - 1;
        while (lo <= hi)
        {
            var mid = (lo + hi) / 2;
            var commit = await table.Log.ReadCommitAsync(versions[mid], ct);
            if (commit?.Info?.Timestamp is { } ts && ts <= target)
            {
                found = versions[mid];
                lo = mid + 1;
            }
            else hi = mid - 1;
        }
        return found;
    }
}
