namespace Caudal.Values;

/// <summary>The "(did you mean 'x'?)" hint for a name that is close to a known one: an option, a key, a table.</summary>
public static class DidYouMean
{
    /// <summary>" (did you mean 'x'?)" for the candidate closest to <paramref name="given"/>, or "".</summary>
    public static string Suggest(string? given, IEnumerable<string> candidates) =>
        Closest(given, candidates) is { } best ? $" (did you mean '{best}'?)" : "";

    /// <summary>The candidate closest to <paramref name="given"/>, if one is close enough to be what was meant.</summary>
    public static string? Closest(string? given, IEnumerable<string> candidates)
    {
        if (string.IsNullOrEmpty(given)) return null;
        return candidates.Select(c => (c, d: Distance(given, c))).Where(x => x.d <= Math.Max(2, given.Length / 3)).OrderBy(x => x.d).FirstOrDefault().c;
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
