namespace Caudal.Lake.Delta;

/// <summary>One file of a version's row-level changes: a change data file (its rows carry <c>_change_type</c>), or a
/// data file the version added (every row an <c>insert</c>) or removed (every row a <c>delete</c>).</summary>
/// <param name="Within">Only the rows this deletion vector names count (a file committed again with a new vector).</param>
/// <param name="Hides">The rows this deletion vector names do not count.</param>
public sealed record ChangeFile(string Path, IReadOnlyDictionary<string, string?> PartitionValues, long? Size, string? ChangeType,
    DeletionVector? Within = null, DeletionVector? Hides = null);

/// <summary>The changes one version made, and when it was committed.</summary>
public sealed record ChangeSet(long Version, DateTimeOffset Timestamp, IReadOnlyList<ChangeFile> Files);

/// <summary>
/// A table's change data feed, as the Delta protocol reads it: a version with <c>cdc</c> actions is read from those
/// change data files alone; any other version's added files are inserts and its removed files deletes, less the rows
/// their deletion vectors hide. A file removed and added again in one version with another deletion vector changed
/// only by the rows the vectors differ in (as delta-kernel reads it): those the new one hides are deleted, those only
/// the old one hid are inserted. Applying the changes of versions N+1..M to version N gives version M.
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
            sets.Add(new ChangeSet(v, at, commit.Cdc.Count > 0 ? commit.Cdc.Select(c => new ChangeFile(c.Path, c.PartitionValues, c.Size, null)).ToList() : FromFiles(commit)));
        }
        return sets;
    }

    /// <summary>A version's changes from its added and removed files (it wrote no change data files).</summary>
    private static List<ChangeFile> FromFiles(CommitActions commit)
    {
        var removes = commit.Removes.Where(r => r.DataChange).ToList();
        var adds = commit.Adds.Where(a => a.DataChange).ToDictionary(a => a.Path, StringComparer.Ordinal);
        var files = new List<ChangeFile>();
        foreach (var r in removes)
        {
            var values = r.PartitionValues ?? new Dictionary<string, string?>();
            if (!adds.Remove(r.Path, out var again))
            {
                files.Add(new ChangeFile(r.Path, values, r.Size, "delete", Hides: r.DeletionVector));
                continue;
            }
            if (again.DeletionVector is { } now) files.Add(new ChangeFile(r.Path, values, r.Size, "delete", Within: now, Hides: r.DeletionVector));
            if (r.DeletionVector is { } was) files.Add(new ChangeFile(r.Path, values, r.Size, "insert", Within: was, Hides: again.DeletionVector));
        }
        files.AddRange(adds.Values.Select(a => new ChangeFile(a.Path, a.PartitionValues, a.Size, "insert", Hides: a.DeletionVector)));
        return files;
    }

    /// <summary>The schema of the changes of a table whose schema is <paramref name="schema"/>.</summary>
    public static DeltaSchema Schema(DeltaSchema schema) => new([.. schema.Fields, .. Columns]);
}
