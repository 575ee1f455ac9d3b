namespace Caudal.Capture.Database;

/// <summary>What a capture does about rows deleted at the source (a cursor never sees a deleted row).</summary>
public enum DeleteDetection
{
    /// <summary>Nothing: a deleted row stays live in raw (the default; say <c>deletes: detect</c> to follow them).</summary>
    Ignore,

    /// <summary>After the read, the source's primary keys are compared with the keys live in the lake; a key gone from
    /// the source becomes a <c>delete</c> row, committed with the rows read.</summary>
    Detect,
}
