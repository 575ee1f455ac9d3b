namespace Caudal.Capture;

/// <summary>Keys the source has that raw neither holds live nor read in this capture (rows inserted or restored with a
/// cursor value behind the watermark): <see cref="Keys"/> holds them when there are few enough to read by key, and is
/// empty when <see cref="Count"/> is beyond that (the table is then read whole).</summary>
public sealed record MissingKeys(long Count, IReadOnlyList<object?[]> Keys);
