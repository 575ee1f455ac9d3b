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

    /// <summary>A file's min and max of <paramref name="column"/> as text (numbers as written), null where the stats
    /// have none. A long string's min is a prefix of it (still a lower bound); its max is only ever whole.</summary>
    public static (string? Min, string? Max) Bounds(string? stats, string column)
    {
        if (string.IsNullOrEmpty(stats)) return (null, null);
        using var doc = JsonDocument.Parse(stats);
        string? Value(string side) =>
            doc.RootElement.TryGetProperty(side, out var values) && values.ValueKind == JsonValueKind.Object && values.TryGetProperty(column, out var v)
                ? v.ValueKind switch
                {
                    JsonValueKind.String => v.GetString(),
                    JsonValueKind.Number => v.GetRawText(),
                    _ => null,
                }
                : null;
        return (Value("minValues"), Value("maxValues"));
    }

    /// <summary>A file's count of NULLs in <paramref name="column"/>, or null where the stats have none.</summary>
    public static long? NullCount(string? stats, string column)
    {
        if (string.IsNullOrEmpty(stats)) return null;
        using var doc = JsonDocument.Parse(stats);
        return doc.RootElement.TryGetProperty("nullCount", out var counts) && counts.ValueKind == JsonValueKind.Object &&
               counts.TryGetProperty(column, out var n) && n.ValueKind == JsonValueKind.Number ? n.GetInt64() : null;
    }

    /// <summary>The stats with <c>tightBounds</c> false: once a deletion vector hides some of a file's rows, its min, max
    /// and null counts still bound the live rows but may no longer be reached by them.</summary>
    public static string? Wide(string? stats)
    {
        if (string.IsNullOrEmpty(stats)) return stats;
        var node = System.Text.Json.Nodes.JsonNode.Parse(stats)!.AsObject();
        node["tightBounds"] = false;
        return node.ToJsonString(new JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });
    }
}
