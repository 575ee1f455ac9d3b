using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Lake.Stores;

namespace Caudal.Runs;

/// <summary>What a cleanup removed (or, in a dry run, would remove).</summary>
public sealed record LeftoversResult(IReadOnlyList<string> Workspaces, IReadOnlyList<string> Payloads, long Bytes)
{
    /// <summary>Objects a model on Spark staged under <c>_caudal/staging/{run-id}/</c> and its run never collected.</summary>
    public IReadOnlyList<string> Staged { get; init; } = [];
}

/// <summary>
/// Removes what killed runs left behind: their local workspaces (<see cref="RunWorkspace"/>) and the original payloads
/// they uploaded to <c>raw/{table}/_payloads/{run-id}/</c> before a commit that never happened. A payload folder is
/// removed only when no commit of its table was made by that run, and only when the run is known dead (its local
/// workspace is abandoned) or, given a retention, when every object in it is older than the retention (a run on
/// another machine sharing the lake). A live run's files are never touched: its workspace is locked, and its
/// payloads are younger than any retention.
/// </summary>
public static class Leftovers
{
    /// <summary>At the start of a run: the leftovers of this machine's dead runs only (a few listings).</summary>
    public static Task<LeftoversResult> CleanDeadRunsAsync(DataLake lake, string specDirectory, CancellationToken ct = default) =>
        CleanAsync(lake, specDirectory, retention: null, dryRun: false, ct);

    /// <summary>Dead runs' leftovers, and with <paramref name="retention"/> also payload folders of runs that never
    /// committed and are older than it (vacuum).</summary>
    public static async Task<LeftoversResult> CleanAsync(DataLake lake, string specDirectory, TimeSpan? retention, bool dryRun,
        CancellationToken ct = default)
    {
        var abandoned = RunWorkspace.FindAbandoned(specDirectory);
        var dead = abandoned.Select(a => a.Name).ToHashSet(StringComparer.Ordinal);
        var live = RunWorkspace.FindLive(specDirectory).ToHashSet(StringComparer.Ordinal);
        var payloads = new List<string>();
        long bytes = 0;
        if (dead.Count > 0 || retention != null)
        {
            var horizon = DateTimeOffset.UtcNow - (retention ?? TimeSpan.Zero);
            foreach (var id in (await lake.ListTablesAsync(ct)).Where(t => t.Zone == Zone.Raw))
            {
                var table = lake.Table(id);
                var root = $"{table.Root}/_payloads/";
                // Vacuum lists every payload; a run start looks only under its dead runs' folders.
                var prefixes = retention != null ? [root] : dead.Select(r => root + r + "/").ToList();
                var byRun = new Dictionary<string, List<ObjectInfo>>(StringComparer.Ordinal);
                foreach (var prefix in prefixes)
                    await foreach (var o in table.Store.ListAsync(prefix, ct: ct))
                    {
                        var run = o.Key[root.Length..].Split('/')[0];
                        if (!byRun.TryGetValue(run, out var list)) byRun[run] = list = [];
                        list.Add(o);
                    }
                foreach (var (run, objects) in byRun)
                {
                    if (RunRecord.StartOf(run) is not { } started) continue; // not a run's folder (an older layout): left alone
                    var expired = retention != null && objects.All(o => o.LastModified < horizon);
                    if (live.Contains(run) || (!dead.Contains(run) && !expired)) continue;
                    if (await CommittedAsync(table, run, started, ct)) continue;
                    foreach (var o in objects)
                    {
                        if (!dryRun) await table.Store.DeleteAsync(o.Key, ct);
                        payloads.Add(o.Key);
                        bytes += o.Size;
                    }
                }
            }
        }
        var staged = new List<string>();
        if (dead.Count > 0 || retention != null)
        {
            // Spark's output waiting under _caudal/staging/{run-id}/ is never committed from there (the run brings it
            // through and deletes it): a dead or expired run's is deleted whole.
            var horizon = DateTimeOffset.UtcNow - (retention ?? TimeSpan.Zero);
            var prefixes = retention != null ? [StagingPrefix] : dead.Select(r => StagingPrefix + r + "/").ToList();
            var byRun = new Dictionary<string, List<ObjectInfo>>(StringComparer.Ordinal);
            foreach (var prefix in prefixes)
                await foreach (var o in lake.Store.ListAsync(prefix, ct: ct))
                {
                    var run = o.Key[StagingPrefix.Length..].Split('/')[0];
                    if (!byRun.TryGetValue(run, out var list)) byRun[run] = list = [];
                    list.Add(o);
                }
            foreach (var (run, objects) in byRun)
            {
                if (live.Contains(run) || (!dead.Contains(run) && !(retention != null && objects.All(o => o.LastModified < horizon)))) continue;
                foreach (var o in objects)
                {
                    if (!dryRun) await lake.Store.DeleteAsync(o.Key, ct);
                    staged.Add(o.Key);
                    bytes += o.Size;
                }
            }
        }
        if (!dryRun)
            foreach (var (_, path) in abandoned) RunWorkspace.Delete(path);
        return new LeftoversResult(abandoned.Select(a => a.Path).ToList(), payloads, bytes) { Staged = staged };
    }

    /// <summary>Where a model on Spark writes its result for the run to collect: <c>{prefix}{run-id}/{id}/</c>.</summary>
    public const string StagingPrefix = "_caudal/staging/";

    /// <summary>Whether <paramref name="run"/> committed to <paramref name="table"/>: the log is read back from its
    /// latest commit to the first one older than the run. A commit that cannot be read counts as "maybe": kept.</summary>
    private static async Task<bool> CommittedAsync(DeltaTable table, string run, DateTimeOffset started, CancellationToken ct)
    {
        if (await table.SnapshotAsync(ct: ct) is not { } snapshot) return false;
        // Commit timestamps come from each writer's clock: read back a day past the run's start, so a writer whose
        // clock is behind cannot end the walk before a commit of this run.
        var before = started.AddDays(-1).ToUnixTimeMilliseconds();
        for (var version = snapshot.Version; version >= 0; version--)
        {
            var commit = await table.Log.ReadCommitAsync(version, ct);
            if (commit?.Info == null) return true;
            if (commit.Info.RunId == run) return true;
            if (commit.Info.Timestamp < before) return false;
        }
        return false;
    }
}
