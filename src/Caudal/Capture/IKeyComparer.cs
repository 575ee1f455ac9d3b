namespace Caudal.Capture;

/// <summary>Compares a source's primary keys with the keys live in its raw table (<c>deletes: detect</c>). The capture
/// stage provides it (it owns the lake); a source only appends keys and reads back the rows raw lacks.</summary>
public interface IKeyComparer
{
    /// <summary>The rows are read: starts reading raw's live keys, while the source's keys are read.</summary>
    void Start(CaptureSink sink);

    /// <summary>A writer of the source's key values (one per key range).</summary>
    IRowWriter NewKeyWriter(IReadOnlyList<CaptureColumn> key);

    /// <summary>Finds the deleted keys (committed with the rows) and returns the keys the source has that raw lacks.</summary>
    Task<MissingKeys> CompareAsync(CaptureSink sink, CancellationToken ct);
}
