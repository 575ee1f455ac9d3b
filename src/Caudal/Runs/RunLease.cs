using System.Globalization;
using System.Text.Json;
using Caudal.Lake.Stores;

namespace Caudal.Runs;

/// <summary>Who holds (or last held) the lease, and until when.</summary>
public sealed record LeaseHolder(string Holder, string Purpose, DateTimeOffset AcquiredAt, DateTimeOffset ExpiresAt)
{
    public override string ToString() =>
        $"{Purpose} by {Holder} (since {AcquiredAt:yyyy-MM-dd HH:mm:ss}Z, lease until {ExpiresAt:yyyy-MM-dd HH:mm:ss}Z)";
}

/// <summary>
/// One runner at a time per lake, across processes and machines. The lease is a sequence of generation objects,
/// <c>_caudal/lease/{generation}.json</c>, each created with the same create-if-absent write as a Delta commit: taking
/// the lease is creating the next generation, which only one process can do, and only once the current one has
/// expired (or been released). The holder renews its own generation every third of the time to live; a renewal that
/// finds the next generation taken (the holder stalled past its expiry) means the lease is lost: <see cref="Lost"/>
/// fires and the run stops before its next commit. A holder that was a process of this machine and no longer exists
/// (killed) is taken over at once rather than waited out. On a store whose create-if-absent is not atomic across processes
/// (s3rver and other servers that ignore If-None-Match), two processes may take the same generation: the lease then
/// only serialises runners within one process.
/// </summary>
public sealed class RunLease : IAsyncDisposable
{
    private const string Prefix = "_caudal/lease/";

    /// <summary>What a run stopped because its lease was lost records (<see cref="Lost"/>).</summary>
    public const string TakenOver = "cancelled: the lease was taken over by another runner (this one stalled past its expiry)";
    private static readonly TimeSpan UnreadableHeldFor = TimeSpan.FromSeconds(30);
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    private readonly IObjectStore _store;
    private readonly long _generation;
    private readonly TimeSpan _ttl;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _lost = new();
    private readonly CancellationTokenSource _stop = new();
    private readonly Task _renewal;
    private LeaseHolder _state;

    /// <summary>This process, as lease holders and run records name it: host, process id and this boot of the machine
    /// (so a holder on this machine can be checked for being alive).</summary>
    public static string ThisHost { get; } = $"{Environment.MachineName}:{Environment.ProcessId}@{BootId}";

    private static string BootId => File.Exists("/proc/sys/kernel/random/boot_id")
        ? File.ReadAllText("/proc/sys/kernel/random/boot_id").Trim()[..8]
        : "unknown";

    /// <summary>A holder that is a process of this machine (same host name and boot) that no longer exists: a run killed
    /// with SIGKILL or a crash. Its lease need not be waited out.</summary>
    private static bool IsDeadLocalProcess(string holder)
    {
        var at = holder.LastIndexOf('@');
        var colon = holder.LastIndexOf(':', at < 0 ? holder.Length - 1 : at);
        if (at < 0 || colon < 0 || holder[(at + 1)..] != BootId || holder[..colon] != Environment.MachineName) return false;
        if (!int.TryParse(holder[(colon + 1)..at], NumberStyles.None, CultureInfo.InvariantCulture, out var pid)) return false;
        try
        {
            using var process = System.Diagnostics.Process.GetProcessById(pid);
            return process.HasExited;
        }
        catch (ArgumentException)
        {
            return true; // no such process
        }
    }

    private RunLease(IObjectStore store, long generation, LeaseHolder state, TimeSpan ttl, TimeProvider time)
    {
        _store = store;
        _generation = generation;
        _state = state;
        _ttl = ttl;
        _time = time;
        _renewal = RenewAsync();
    }

    /// <summary>Fires when another process took the lease over (this one stalled past its expiry).</summary>
    public CancellationToken Lost => _lost.Token;

    public long Generation => _generation;

    private static string Key(long generation) => $"{Prefix}{generation.ToString("D12", CultureInfo.InvariantCulture)}.json";

    /// <summary>Takes the lease, or returns who holds it.</summary>
    public static async Task<(RunLease? Lease, LeaseHolder? HeldBy)> TryAcquireAsync(IObjectStore store, string purpose, TimeSpan ttl,
        TimeProvider? time = null, CancellationToken ct = default)
    {
        time ??= TimeProvider.System;
        var latest = await LatestAsync(store, ct);
        var now = time.GetUtcNow();
        if (latest is { Holder: var held } && held.ExpiresAt > now && !IsDeadLocalProcess(held.Holder)) return (null, held);
        var next = (latest?.Generation ?? 0) + 1;
        var state = new LeaseHolder(ThisHost, purpose, now, now + ttl);
        if (!await store.PutIfAbsentAsync(Key(next), JsonSerializer.SerializeToUtf8Bytes(state, Json), ct))
            return (null, await ReadAsync(store, next, ct) ?? state with { Holder = "another process" });
        // The lease is ours from here: it is returned even if the caller is being cancelled, so that it can be released
        // rather than left to expire. Generations before the previous one are history nobody needs.
        var lease = new RunLease(store, next, state, ttl, time);
        if (latest != null)
            await foreach (var o in store.ListAsync(Prefix, ct: CancellationToken.None))
                if (GenerationOf(o.Key) is { } g && g < latest.Value.Generation) await store.DeleteAsync(o.Key, CancellationToken.None);
        return (lease, null);
    }

    /// <summary>The current holder, if the lease is held.</summary>
    public static async Task<LeaseHolder?> HolderAsync(IObjectStore store, TimeProvider? time = null, CancellationToken ct = default)
    {
        var latest = await LatestAsync(store, ct);
        return latest is { Holder: var h } && h.ExpiresAt > (time ?? TimeProvider.System).GetUtcNow() ? h : null;
    }

    private static async Task<(long Generation, LeaseHolder Holder)?> LatestAsync(IObjectStore store, CancellationToken ct)
    {
        ObjectInfo? newest = null;
        long generation = 0;
        await foreach (var o in store.ListAsync(Prefix, ct: ct))
            if (GenerationOf(o.Key) is { } g && (newest == null || g > generation)) (newest, generation) = (o, g);
        if (newest == null) return null;
        var holder = await ReadAsync(store, generation, ct);
        // Unreadable: being written, or left truncated by an upload cut off mid-way (a server that keeps what it got).
        // It counts as held for a moment after its last write, never for ever: a broken object must not stop every runner.
        return (generation, holder ?? new LeaseHolder($"unknown (unreadable {newest.Key})", "unknown", newest.LastModified, newest.LastModified + UnreadableHeldFor));
    }

    private static async Task<LeaseHolder?> ReadAsync(IObjectStore store, long generation, CancellationToken ct)
    {
        try
        {
            return await store.GetAsync(Key(generation), ct) is { } bytes ? JsonSerializer.Deserialize<LeaseHolder>(bytes, Json) : null;
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static long? GenerationOf(string key)
    {
        var name = key[(key.LastIndexOf('/') + 1)..];
        return name.EndsWith(".json", StringComparison.Ordinal) && long.TryParse(name[..^5], NumberStyles.None, CultureInfo.InvariantCulture, out var g) ? g : null;
    }

    /// <summary>Renews every third of the time to live. The lease counts as lost — and the run stops before its next
    /// commit — when any later generation exists (taken over), or when a third of the time to live is left without a
    /// renewal (the lake unreachable, the process stalled): so the holder gives up before anyone else may take over.</summary>
    private async Task RenewAsync()
    {
        using var timer = new PeriodicTimer(_ttl / 3, _time);
        try
        {
            while (await timer.WaitForNextTickAsync(_stop.Token))
            {
                if (_time.GetUtcNow() >= _state.ExpiresAt - _ttl / 3)
                {
                    await _lost.CancelAsync();
                    return;
                }
                try
                {
                    await foreach (var o in _store.ListAsync(Prefix, ct: _stop.Token))
                        if (GenerationOf(o.Key) > _generation)
                        {
                            await _lost.CancelAsync();
                            return;
                        }
                    var renewed = _state with { ExpiresAt = _time.GetUtcNow() + _ttl };
                    // Not cancelled by the stop: an upload cut off mid-way may be kept truncated by the server, after
                    // (and over) the release that follows.
                    await _store.PutAsync(Key(_generation), new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(renewed, Json)), CancellationToken.None);
                    _state = renewed;
                }
                catch (Exception e) when (e is not OperationCanceledException)
                {
                    // The lake is unreachable for now: the next tick tries again, or gives the lease up in time.
                }
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>Stops renewing and marks the lease expired, so the next runner need not wait for it.</summary>
    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _renewal;
        if (!_lost.IsCancellationRequested)
        {
            try
            {
                var released = _state with { ExpiresAt = _time.GetUtcNow() };
                await _store.PutAsync(Key(_generation), new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(released, Json)));
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // Unreachable: the lease expires by itself.
            }
        }
        _stop.Dispose();
        _lost.Dispose();
    }
}
