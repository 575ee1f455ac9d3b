namespace Caudal.Bench;

internal static class Rounds
{
    /// <summary>The middle value of repeated measurements (the upper middle for an even count).</summary>
    public static T Median<T>(IEnumerable<T> values)
    {
        var sorted = values.Order().ToList();
        return sorted[sorted.Count / 2];
    }
}
