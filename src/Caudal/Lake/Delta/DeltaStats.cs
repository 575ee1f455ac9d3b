using System.Text.Json;

namespace Caudal.Lake.Delta;

internal static class DeltaStats
{
    public static long? NumRecords(string? stats)
    {
        if (string.IsNullOrEmpty(stats)) return null;
        using var doc = JsonDocument.Parse(stats);
        return doc.RootElement.TryGetProperty("numRecords", out var n) && n.ValueKind == JsonValueKind.Number
            ? n.GetInt64()
            : null;
    }
}
