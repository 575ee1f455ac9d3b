using System.Globalization;
using System.Text.RegularExpressions;

namespace Caudal.Lake.Delta;

/// <summary>
/// Removes old entries of a table's <c>_delta_log</c>, as Delta's own log cleanup does: commits at or before the latest
/// checkpoint, and older checkpoints, once they are older than the log retention (the table's
/// <c>delta.logRetentionDuration</c>, 30 days by default). The latest state is always rebuilt from that checkpoint and
/// the commits after it; versions before it can no longer be read (time travel stops there).
/// </summary>
public static partial class LogCleanup
{
    public static readonly TimeSpan DefaultRetention = TimeSpan.FromDays(30);

    [GeneratedRegex(@"^(\d{20})\.(json|checkpoint\.parquet)$")]
    private static partial Regex LogEntry();

    [GeneratedRegex(@"^\s*interval\s+(\d+)\s+(second|minute|hour|day|week)s?\s*$", RegexOptions.IgnoreCase)]
    private static partial Regex Interval();

    /// <summary>The log retention a table declares (<c>delta.logRetentionDuration = 'interval 30 days'</c>), or the default.</summary>
    public static TimeSpan Retention(Snapshot snapshot) =>
        snapshot.Metadata.Configuration.TryGetValue("delta.logRetentionDuration", out var text) && Interval().Match(text) is { Success: true } m
            ? m.Groups[2].Value.ToLowerInvariant() switch
            {
                "second" => TimeSpan.FromSeconds(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)),
                "minute" => TimeSpan.FromMinutes(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)),
                "hour" => TimeSpan.FromHours(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)),
                "week" => TimeSpan.FromDays(7 * int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)),
                _ => TimeSpan.FromDays(int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture)),
            }
            : DefaultRetention;

    /// <summary>Deletes (or, in a dry run, lists) the log entries no reader of the latest state needs and that are older
    /// than <paramref name="retention"/> (default: the table's); returns their keys.</summary>
    public static async Task<IReadOnlyList<string>> RunAsync(DeltaTable table, TimeSpan? retention = null, bool dryRun = false, CancellationToken ct = default)
    {
        if (await table.SnapshotAsync(ct: ct) is not { } snapshot) return [];
        var horizon = DateTimeOffset.UtcNow - (retention ?? Retention(snapshot));
        var prefix = table.Root + "/_delta_log/";
        var entries = new List<(long Version, bool Checkpoint, Lake.Stores.ObjectInfo Object)>();
        await foreach (var o in table.Store.ListAsync(prefix, ct: ct))
            if (LogEntry().Match(o.Key[prefix.Length..]) is { Success: true } m)
                entries.Add((long.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture), m.Groups[2].Value != "json", o));
        var checkpoints = entries.Where(e => e.Checkpoint && e.Version <= snapshot.Version).Select(e => e.Version).ToList();
        if (checkpoints.Count == 0) return []; // without a checkpoint every commit is still needed
        var latest = checkpoints.Max();
        var deleted = new List<string>();
        // Oldest first, so a cleanup cut short leaves a contiguous log after whatever it removed.
        foreach (var e in entries.Where(e => (e.Checkpoint ? e.Version < latest : e.Version <= latest) && e.Object.LastModified < horizon).OrderBy(e => e.Version))
        {
            if (!dryRun) await table.Store.DeleteAsync(e.Object.Key, ct);
            deleted.Add(e.Object.Key);
        }
        return deleted;
    }
}
