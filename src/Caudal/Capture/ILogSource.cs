namespace Caudal.Capture;

/// <summary>A source whose <c>mode: cdc</c> datasets read the database's log: it can say where its log reading stands.</summary>
public interface ILogSource
{
    /// <summary>The log as the server reports it now, given the position each cdc dataset committed (by dataset name).</summary>
    Task<LogStatus> LogStatusAsync(IReadOnlyDictionary<string, long> committed, CancellationToken ct);
}

/// <summary>Where a change-capture source's log reading stands: what keeps its place (a replication slot, the binlog),
/// the state of that place, the position it confirmed, how many bytes of log the server keeps past that position, and
/// whether the place is gone (missing, lost, purged) — which fails <c>caudal cdc status</c>.</summary>
public sealed record LogStatus(string Source, string Log, string State, string? Confirmed, long? LagBytes, bool Lost);
