using Caudal.Lake.Delta;

namespace Caudal.Pipeline;

/// <summary>
/// What one input of an incremental model committed after the version the model last consumed: the data files added
/// since, read from the input's log. Null (with the reason) when that cannot be told file by file — rows were removed
/// or rewritten since (an overwrite, a compaction), the log of those versions was cleaned up, or the input was
/// re-created — and the model must then be rebuilt from everything.
/// </summary>
internal sealed record InputChanges(long From, long To, IReadOnlySet<string> AddedFiles, long Commits)
{
    /// <summary>The transaction id under which a model's commit records the version of <paramref name="input"/> it
    /// consumed. It names the input table's id (metaData.id) too: an input dropped and created again is another table,
    /// whose versions say nothing about the old one's, so the model is then rebuilt rather than merged.</summary>
    public static string AppId(Lake.TableId input, Snapshot snapshot) => $"caudal-input:{input}:{snapshot.Metadata.Id}";

    public static async Task<(InputChanges? Changes, string? WhyNot)> ReadAsync(DeltaTable input, long consumed, Snapshot current, CancellationToken ct)
    {
        if (consumed > current.Version)
            return (null, $"{input.Root} is at version {current.Version}, older than version {consumed} this model consumed (re-created?)");
        var added = new HashSet<string>(StringComparer.Ordinal);
        for (var v = consumed + 1; v <= current.Version; v++)
        {
            var commit = await input.Log.ReadCommitAsync(v, ct);
            if (commit == null) return (null, $"commit {v} of {input.Root} is no longer in its log (cleaned up after the log retention)");
            if (commit.Removes.Count > 0)
                return (null, $"commit {v} of {input.Root} removed {commit.Removes.Count} file(s) ({commit.Info?.Operation ?? "a rewrite"}): its new rows cannot be told apart");
            if (commit.Metadata != null && !commit.Metadata.PartitionColumns.SequenceEqual(current.Metadata.PartitionColumns))
                return (null, $"commit {v} of {input.Root} changed its partitioning");
            foreach (var add in commit.Adds.Where(a => a.DataChange)) added.Add(add.Path);
        }
        return (new InputChanges(consumed, current.Version, added, current.Version - consumed), null);
    }
}
