namespace Caudal.Lake.Delta;

/// <summary>One file of a version's row-level changes: a change data file (its rows carry <c>_change_type</c>), or a
/// data file the version added (every row an <c>insert</c>) or removed (every row a <c>delete</c>), less the rows its
/// deletion vector hides.</summary>
public sealed record ChangeFile(string Path, IReadOnlyDictionary<string, string?> PartitionValues, long? Size, string? ChangeType, DeletionVector? DeletionVector = null);

/// <summary>The changes one version made, and when it was committed.</summary>
public sealed record ChangeSet(long Version, DateTimeOffset Timestamp, IReadOnlyList<ChangeFile> Files);

/// <summary>
/// A table's change data feed, as the Delta protocol reads it: a version with <c>cdc</c> actions is read from those
/// change data files alone; any other version's added files are inserts and its removed files deletes (a file
/// committed again with a new deletion vector is both: its rows as they were, deleted, and as they are now, inserted).
/// Applying the changes of versions N+1..M to version N gives version M.
/// </summary>
public static class ChangeFeed
{
    /// <summary>The change columns every change row carries after the table's own columns.</summary>
    public static readonly IReadOnlyList<DeltaField> Columns =
    [
        new("_change_type", "string"),
        new("_commit_version", "long"),
        new("_commit_timestamp", "timestamp"),
    ];

    /// <summary>The changes of versions <paramref name="from"/>..<paramref name="to"/> (both included, as Delta's
    /// <c>readChangeFeed</c> startingVersion and endingVersion).</summary>
    public static async Task<List<ChangeSet>> ReadAsync(DeltaTable table, long from, long to, CancellationToken ct = default)
    {
        var sets = new List<ChangeSet>();
        for (var v = from; v <= to; v++)
        {
            var commit = await table.Log.ReadCommitAsync(v, ct)
                ?? throw new DeltaException($"Table {table.Root}: version {v} is no longer in its log (cleaned up after the log retention); its changes are gone.");
            var at = commit.Info?.Timestamp is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : DateTimeOffset.UnixEpoch;
            var files = commit.Cdc.Count > 0
                ? commit.Cdc.Select(c => new ChangeFile(c.Path, c.PartitionValues, c.Size, null)).ToList()
                : [.. commit.Removes.Where(r => r.DataChange).Select(r => new ChangeFile(r.Path, r.PartitionValues ?? new Dictionary<string, string?>(), r.Size, "delete", r.DeletionVector)),
                   .. commit.Adds.Where(a => a.DataChange).Select(a => new ChangeFile(a.Path, a.PartitionValues, a.Size, "insert", a.DeletionVector))];
            sets.Add(new ChangeSet(v, at, files));
        }
        return sets;
    }

    /// <summary>The schema of the changes of a table whose schema is <paramref name="schema"/>.</summary>
    public static DeltaSchema Schema(DeltaSchema schema) => new([.. schema.Fields, .. Columns]);
}
