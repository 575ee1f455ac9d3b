namespace Caudal.Lake.Delta;

public sealed record VacuumResult(string Table, IReadOnlyList<string> Deleted, long BytesFreed);

/// <summary>Deletes data files (and deletion vector files) that no live add and no recent tombstone references, and that are older than the
/// retention and than <c>keepSince</c> (the start of the oldest run in flight on this machine), so files a run has
/// staged but not yet committed are never touched, whatever the retention.</summary>
public static class Vacuum
{
    public static async Task<VacuumResult> RunAsync(DeltaTable table, TimeSpan retention, bool dryRun = false, CancellationToken ct = default,
        DateTimeOffset? keepSince = null)
    {
        var snapshot = await table.SnapshotAsync(ct: ct);
        if (snapshot == null) return new VacuumResult(table.Root, [], 0);
        var now = DateTimeOffset.UtcNow;
        var horizon = now - retention;
        var keep = new HashSet<string>(StringComparer.Ordinal);
        foreach (var add in snapshot.Files.Values)
        {
            keep.Add(PartitionPath.FromLogPath(add.Path));
            if (add.DeletionVector is { StorageType: DeletionVector.UuidRelative } dv) keep.Add(dv.RelativePath);
        }
        foreach (var r in snapshot.Tombstones.Values)
            if (DateTimeOffset.FromUnixTimeMilliseconds(r.DeletionTimestamp) > horizon)
            {
                keep.Add(PartitionPath.FromLogPath(r.Path));
                if (r.DeletionVector is { StorageType: DeletionVector.UuidRelative } dv) keep.Add(dv.RelativePath);
            }

        var deleted = new List<string>();
        long bytes = 0;
        var prefix = table.Root + "/";
        await foreach (var o in table.Store.ListAsync(prefix, ct: ct))
        {
            var relative = o.Key[prefix.Length..];
            if (relative.StartsWith("_delta_log/", StringComparison.Ordinal)) continue;
            var name = relative[(relative.LastIndexOf('/') + 1)..];
            var ours = name.EndsWith(".parquet", StringComparison.Ordinal) || name.StartsWith("_tmp_", StringComparison.Ordinal) ||
                       (name.StartsWith("deletion_vector_", StringComparison.Ordinal) && name.EndsWith(".bin", StringComparison.Ordinal));
            if (!ours || keep.Contains(relative) || o.LastModified > horizon || o.LastModified >= keepSince) continue;
            if (!dryRun) await table.Store.DeleteAsync(o.Key, ct);
            deleted.Add(relative);
            bytes += o.Size;
        }
        return new VacuumResult(table.Root, deleted, bytes);
    }
}
