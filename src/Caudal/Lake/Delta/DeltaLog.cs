using System.Text.Json;
using System.Text.RegularExpressions;
using Caudal.Lake.Stores;

namespace Caudal.Lake.Delta;

/// <summary>What a writer wants to commit. Removes are copied from the snapshot's adds (paths byte for byte).</summary>
public sealed class PendingCommit
{
    public required CommitInfo Info { get; init; }
    public ProtocolAction? Protocol { get; init; }
    public MetadataAction? Metadata { get; init; }
    public IReadOnlyList<TxnAction> Txns { get; init; } = [];
    public IReadOnlyList<RemoveFile> Removes { get; init; } = [];
    public IReadOnlyList<AddFile> Adds { get; init; } = [];
    public IReadOnlyList<CdcFile> Cdc { get; init; } = [];
}

/// <summary>
/// The transaction log of one table: snapshot reconstruction (checkpoint + contiguous commits) and optimistic,
/// atomic commits by creating the next <c>_delta_log/N.json</c> only if absent.
/// </summary>
public sealed partial class DeltaLog(IObjectStore store, string tableRoot)
{
    public const int CheckpointInterval = 10;
    private const int MaxCommitAttempts = 50;
    private static readonly TimeSpan DefaultTombstoneRetention = TimeSpan.FromDays(7);

    public IObjectStore Store { get; } = store;
    public string TableRoot { get; } = tableRoot.TrimEnd('/');
    private string LogPrefix => TableRoot + "/_delta_log/";

    [GeneratedRegex(@"^(\d{20})\.json$")]
    private static partial Regex CommitName();

    [GeneratedRegex(@"^(\d{20})\.checkpoint\.parquet$")]
    private static partial Regex CheckpointName();

    private string CommitKey(long version) => $"{LogPrefix}{version:D20}.json";
    private string CheckpointKey(long version) => $"{LogPrefix}{version:D20}.checkpoint.parquet";

    /// <summary>The table at <paramref name="version"/> (latest when null), or null when the table does not exist.</summary>
    public async Task<Snapshot?> SnapshotAsync(long? version = null, CancellationToken ct = default)
    {
        var hint = version == null ? await ReadLastCheckpointAsync(ct) : null;
        var listing = await ListLogAsync(hint == null ? null : $"{LogPrefix}{hint:D20}", ct);
        if (hint != null && !listing.Checkpoints.Contains(hint.Value))
            listing = await ListLogAsync(null, ct); // stale or broken hint: it is only a hint
        if (listing.Commits.Count == 0 && listing.Checkpoints.Count == 0) return null;

        var target = version ?? Math.Max(listing.Commits.Count > 0 ? listing.Commits.Max() : -1, listing.Checkpoints.DefaultIfEmpty(-1).Max());
        var checkpoint = listing.Checkpoints.Where(c => c <= target).DefaultIfEmpty(-1).Max();
        var first = checkpoint + 1;
        if (version != null && checkpoint < 0 && !listing.Commits.Contains(0))
            throw new DeltaException($"Table {Store.Location}{TableRoot}: version {version} cannot be reconstructed (log truncated: the oldest entry " +
                $"is version {listing.Commits.Concat(listing.Checkpoints).DefaultIfEmpty(-1).Min()}; older ones were removed after the log retention).");
        for (var v = first; v <= target; v++)
            if (!listing.Commits.Contains(v))
                throw new DeltaException($"Table {Store.Location}{TableRoot}: commit {v} is missing from _delta_log (versions must be contiguous).");

        var state = new SnapshotBuilder();
        if (checkpoint >= 0) state.Apply(await ReadCheckpointAsync(checkpoint, ct));
        var commits = new CommitActions[target - first + 1];
        await Parallel.ForEachAsync(Enumerable.Range(0, commits.Length), new ParallelOptions { MaxDegreeOfParallelism = 16, CancellationToken = ct },
            async (i, token) => commits[i] = await ReadCommitAsync(first + i, token)
                ?? throw new DeltaException($"Commit {first + i} of {TableRoot} disappeared while reading."));
        foreach (var c in commits) state.Apply(c);
        return state.Build(target, TableRoot);
    }

    private async Task<long?> ReadLastCheckpointAsync(CancellationToken ct)
    {
        var bytes = await Store.GetAsync(LogPrefix + "_last_checkpoint", ct);
        if (bytes == null) return null;
        try
        {
            using var doc = JsonDocument.Parse(bytes);
            return doc.RootElement.GetProperty("version").GetInt64();
        }
        catch (Exception e) when (e is JsonException or KeyNotFoundException or InvalidOperationException)
        {
            return null;
        }
    }

    private sealed record LogListing(HashSet<long> Commits, HashSet<long> Checkpoints);

    private async Task<LogListing> ListLogAsync(string? startAfter, CancellationToken ct)
    {
        var listing = new LogListing([], []);
        await foreach (var o in Store.ListAsync(LogPrefix, startAfter, ct))
        {
            var name = o.Key[LogPrefix.Length..];
            if (CommitName().Match(name) is { Success: true } c) listing.Commits.Add(long.Parse(c.Groups[1].Value));
            else if (CheckpointName().Match(name) is { Success: true } k) listing.Checkpoints.Add(long.Parse(k.Groups[1].Value));
        }
        return listing;
    }

    public async Task<CommitActions?> ReadCommitAsync(long version, CancellationToken ct = default)
    {
        var bytes = await Store.GetAsync(CommitKey(version), ct);
        return bytes == null ? null : DeltaCodec.ReadCommit(version, bytes, CommitKey(version));
    }

    private async Task<CommitActions> ReadCheckpointAsync(long version, CancellationToken ct)
    {
        var key = CheckpointKey(version);
        var local = Store.LocalPathOf(key);
        string? staged = null;
        if (local == null)
        {
            staged = Path.Combine(Path.GetTempPath(), $"caudal-cp-{Guid.NewGuid():N}.parquet");
            await Store.DownloadAsync(key, staged, ct);
        }
        try
        {
            return CheckpointFile.Read(version, local ?? staged!);
        }
        finally
        {
            if (staged != null) File.Delete(staged);
        }
    }

    /// <summary>
    /// Commits <paramref name="pending"/> on top of <paramref name="read"/> (null: the table is created).
    /// When another writer took the next version, its commits are checked for conflicts: a blind append is retried at
    /// the following version; an overwrite that raced with any add or remove, or anything that raced with a
    /// metadata/protocol change or the same txn appId, fails with <see cref="DeltaConflictException"/>.
    /// </summary>
    public async Task<long> CommitAsync(Snapshot? read, PendingCommit pending, CancellationToken ct = default)
    {
        var version = (read?.Version ?? -1) + 1;
        var txnId = Guid.NewGuid().ToString();
        var ourRemoves = pending.Removes.Select(r => r.Path).ToHashSet();
        var ourApps = pending.Txns.Select(t => t.AppId).ToHashSet();
        var protocol = pending.Protocol;
        var metadata = pending.Metadata;

        for (var attempt = 0; attempt < MaxCommitAttempts; attempt++)
        {
            var info = pending.Info with
            {
                Timestamp = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds(),
                ReadVersion = read?.Version,
                TxnId = txnId,
            };
            var bytes = DeltaCodec.WriteCommit(info, protocol, metadata, pending.Txns, pending.Removes, pending.Adds, pending.Cdc);
            if (await Store.PutIfAbsentAsync(CommitKey(version), bytes, ct))
            {
                if (version > 0 && version % CheckpointInterval == 0) await TryCheckpointAsync(version, ct);
                return version;
            }

            var winner = await ReadCommitAsync(version, ct)
                ?? throw new DeltaException($"Commit {version} of {TableRoot} was reported taken but cannot be read.");
            if (winner.Info?.TxnId == txnId) return version; // our own write, answered as a conflict by a retry

            if (version == 0)
            {
                // Two creators raced: continue as an ordinary writer if the winner created the same table.
                var theirs = winner.Metadata;
                if (theirs == null || metadata == null || !theirs.Schema.SameAs(metadata.Schema) ||
                    !theirs.PartitionColumns.SequenceEqual(metadata.PartitionColumns))
                    throw new DeltaConflictException($"Table {TableRoot} was created concurrently with a different schema or partitioning.");
                protocol = null;
                metadata = null;
            }
            else if (winner.Protocol != null || winner.Metadata != null)
                throw new DeltaConflictException($"Table {TableRoot}: a concurrent commit ({version}) changed the table's protocol or schema.");

            if (winner.Txns.Any(t => ourApps.Contains(t.AppId)))
                throw new DeltaConflictException($"Table {TableRoot}: another writer with the same id ({string.Join(", ", ourApps)}) committed version {version}; is another run in progress?");
            if (winner.Removes.Any(r => ourRemoves.Contains(r.Path)))
                throw new DeltaConflictException($"Table {TableRoot}: a concurrent commit ({version}) removed files this commit replaces.");
            if (ourRemoves.Count > 0 && winner.Adds.Count > 0)
                throw new DeltaConflictException($"Table {TableRoot}: a concurrent commit ({version}) added data while this run was replacing the table.");
            version++;
        }
        throw new DeltaConflictException($"Table {TableRoot}: gave up after {MaxCommitAttempts} attempts against concurrent writers.");
    }

    private async Task TryCheckpointAsync(long version, CancellationToken ct)
    {
        try
        {
            await WriteCheckpointAsync(version, ct);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // A checkpoint only speeds up reading; the commit already succeeded.
            Console.Error.WriteLine($"warning: checkpoint {version} of {TableRoot} failed: {e.Message}");
        }
    }

    public async Task WriteCheckpointAsync(long version, CancellationToken ct = default)
    {
        var snapshot = await SnapshotAsync(version, ct) ?? throw new DeltaException($"Table {TableRoot} has no version {version}.");
        var horizon = DateTimeOffset.UtcNow.Subtract(TombstoneRetention(snapshot)).ToUnixTimeMilliseconds();
        var local = Path.Combine(Path.GetTempPath(), $"caudal-cp-{Guid.NewGuid():N}.parquet");
        try
        {
            var actions = CheckpointFile.Write(snapshot, horizon, local);
            var size = new FileInfo(local).Length;
            await using (var file = File.OpenRead(local))
                await Store.PutAsync(CheckpointKey(version), file, ct);
            var hint = JsonSerializer.SerializeToUtf8Bytes(new
            {
                version,
                size = actions,
                sizeInBytes = size,
                numOfAddFiles = snapshot.Files.Count,
            });
            await Store.PutAsync(LogPrefix + "_last_checkpoint", new MemoryStream(hint), ct);
        }
        finally
        {
            File.Delete(local);
        }
    }

    /// <summary>The table's <c>delta.deletedFileRetentionDuration</c> (e.g. "interval 7 days"), default one week.</summary>
    public static TimeSpan TombstoneRetention(Snapshot snapshot) =>
        snapshot.Metadata.Configuration.TryGetValue("delta.deletedFileRetentionDuration", out var text) && ParseInterval(text) is { } span
            ? span
            : DefaultTombstoneRetention;

    internal static TimeSpan? ParseInterval(string text)
    {
        var m = Regex.Match(text.Trim(), @"^interval\s+(\d+)\s+(second|minute|hour|day|week)s?$", RegexOptions.IgnoreCase);
        if (!m.Success) return null;
        var n = int.Parse(m.Groups[1].Value);
        return m.Groups[2].Value.ToLowerInvariant() switch
        {
            "second" => TimeSpan.FromSeconds(n),
            "minute" => TimeSpan.FromMinutes(n),
            "hour" => TimeSpan.FromHours(n),
            "day" => TimeSpan.FromDays(n),
            _ => TimeSpan.FromDays(7 * n),
        };
    }

    private sealed class SnapshotBuilder
    {
        private ProtocolAction? _protocol;
        private MetadataAction? _metadata;
        private readonly Dictionary<string, AddFile> _files = new(StringComparer.Ordinal);
        private readonly Dictionary<string, RemoveFile> _tombstones = new(StringComparer.Ordinal);
        private readonly Dictionary<string, long> _txns = new(StringComparer.Ordinal);
        private CommitInfoRead? _lastCommit;

        public void Apply(CommitActions c)
        {
            if (c.Protocol != null) _protocol = c.Protocol;
            if (c.Metadata != null) _metadata = c.Metadata;
            foreach (var t in c.Txns) _txns[t.AppId] = t.Version;
            // The log keys a file by its path and deletion vector: a remove of a file with another vector (the one
            // this commit's add replaces) does not remove the add.
            foreach (var r in c.Removes)
            {
                if (_files.TryGetValue(r.Path, out var live) && live.DeletionVector?.UniqueId == r.DeletionVector?.UniqueId) _files.Remove(r.Path);
                _tombstones[TombstoneKey(r.Path, r.DeletionVector)] = r;
            }
            foreach (var a in c.Adds)
            {
                _files[a.Path] = a;
                _tombstones.Remove(TombstoneKey(a.Path, a.DeletionVector));
            }
            if (c.Info != null) _lastCommit = c.Info;
        }

        private static string TombstoneKey(string path, DeletionVector? dv) => dv == null ? path : $"{path}\u0001{dv.UniqueId}";

        public Snapshot Build(long version, string table)
        {
            if (_protocol == null || _metadata == null)
                throw new DeltaException($"Table {table}: the log has no protocol or metaData action.");
            if (_protocol.MinReaderVersion is 2 or > 3)
                throw new DeltaException($"Table {table} needs Delta reader version {_protocol.MinReaderVersion}; Caudal reads version 1 tables, and version 3 with deletion vectors.");
            if (_protocol.MinReaderVersion == 3 && _protocol.ReaderFeatures?.Where(f => f != ProtocolAction.DeletionVectorsFeature).ToList() is { Count: > 0 } unknown)
                throw new DeltaException($"Table {table} needs the Delta reader features {string.Join(", ", unknown)}; Caudal reads deletion vectors only.");
            var time = _lastCommit?.Timestamp is { } ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : (DateTimeOffset?)null;
            return new Snapshot(version, _protocol, _metadata, _files, _tombstones, _txns, _lastCommit, time);
        }
    }
}
