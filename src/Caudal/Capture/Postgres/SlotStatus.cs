namespace Caudal.Capture.Postgres;

/// <summary>A change-capture source's replication slot as the server reports it: whether it exists, its state
/// (<c>wal_status</c>: reserved, extended, unreserved or lost), the position it confirmed, and how many bytes of WAL
/// the server keeps for it (from the confirmed position to the server's current one).</summary>
public sealed record SlotStatus(string Source, string Slot, bool Exists, string? WalStatus, bool Active, string? Confirmed, long? LagBytes);
