using Caudal.Spec;

namespace Caudal.Capture.Database;

/// <summary>
/// Incremental cursors as numbers, so they fit a Delta <c>txn</c> version (kept in every snapshot and checkpoint):
/// time cursors as microseconds since 1970-01-01 UTC, integer cursors as themselves.
/// </summary>
internal static class Watermark
{
    public static bool IsTime(string duckType) => duckType is "TIMESTAMP" or "TIMESTAMPTZ" or "DATE";

    public static long FromTime(DateTime utc) => (utc.ToUniversalTime() - DateTime.UnixEpoch).Ticks / 10;

    public static DateTime ToTime(long micros) => DateTime.SpecifyKind(DateTime.UnixEpoch.AddTicks(micros * 10), DateTimeKind.Utc);

    /// <summary>The lowest cursor value to read again: the watermark minus the lookback (inclusive), so rows committed
    /// late with an older cursor value are not missed.</summary>
    public static long From(long watermark, DatasetSpec dataset, string cursorType)
    {
        if (dataset.Lookback == null) return watermark;
        if (IsTime(cursorType))
            return watermark - (long)(Values.Duration.Parse(dataset.Lookback)?.Span ?? TimeSpan.Zero).TotalMicroseconds;
        return watermark - (long.TryParse(dataset.Lookback, out var n) ? n : 0);
    }
}
