using System.Globalization;

namespace Caudal.Capture;

/// <summary>
/// The span of source time one run is about, [<see cref="From"/>, <see cref="To"/>): set by <c>caudal backfill</c> (one
/// run per window, <see cref="Backfill"/>) and by scheduled runs (the span since the previous slot). Templates in http
/// urls and file paths are filled from any window; a backfill window also bounds what sources read: Data360 by years,
/// incremental database datasets by their cursor (their watermark left alone).
/// </summary>
public sealed record CaptureWindow(DateTimeOffset From, DateTimeOffset To, string Name, bool Backfill = true)
{
    public const string Help = "{from} and {to} (yyyy-MM-dd, 'to' exclusive), {name} (the window), and in file paths {yyyy}, {MM}, {dd}";

    private static readonly string[] Placeholders = ["{from}", "{to}", "{name}"];

    /// <summary>Whether <paramref name="text"/> uses the window (so a run without one cannot fill it in).</summary>
    public static bool IsTemplate(string text) => Placeholders.Any(p => text.Contains(p, StringComparison.Ordinal));

    /// <summary><paramref name="text"/> with {from}, {to} and {name} filled in: ISO dates when the window starts and
    /// ends at midnight UTC, ISO date-times (UTC) otherwise.</summary>
    public string Fill(string text) => text
        .Replace("{from}", Iso(From), StringComparison.Ordinal)
        .Replace("{to}", Iso(To), StringComparison.Ordinal)
        .Replace("{name}", Name, StringComparison.Ordinal);

    private bool DayAligned => From.UtcDateTime.TimeOfDay == TimeSpan.Zero && To.UtcDateTime.TimeOfDay == TimeSpan.Zero;

    private string Iso(DateTimeOffset t) =>
        t.UtcDateTime.ToString(DayAligned ? "yyyy-MM-dd" : "yyyy-MM-dd'T'HH:mm:ss'Z'", CultureInfo.InvariantCulture);

    /// <summary>The days the window completes, for paths with date parts ({yyyy}/{MM}/{dd}): a day is read once its
    /// end is inside the window, so a daily job at 02:00 reads yesterday's folder (whole) and a folder is never read
    /// while its day is still being written; a window shorter than a day may complete none.</summary>
    public IEnumerable<DateOnly> Days()
    {
        for (var day = DateOnly.FromDateTime(From.UtcDateTime); day.ToDateTime(TimeOnly.MinValue) < To.UtcDateTime; day = day.AddDays(1))
        {
            var end = new DateTimeOffset(day.AddDays(1).ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);
            if (end > From && end <= To) yield return day;
        }
    }

    /// <summary>Consecutive windows from <paramref name="from"/> to <paramref name="to"/> (both dates inclusive) of
    /// <paramref name="step"/>: Nd (days) or Nmo (calendar months).</summary>
    public static IReadOnlyList<CaptureWindow> Split(DateOnly from, DateOnly to, string step)
    {
        if (from > to) throw new ArgumentException($"--from {from:yyyy-MM-dd} is after --to {to:yyyy-MM-dd}.");
        var months = step.EndsWith("mo", StringComparison.Ordinal);
        if (!int.TryParse(months ? step[..^2] : step.TrimEnd('d'), NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n < 1
            || (!months && !step.EndsWith('d')))
            throw new ArgumentException($"--step '{step}' is neither days (1d, 7d) nor months (1mo, 3mo).");
        var windows = new List<CaptureWindow>();
        var end = to.AddDays(1);
        for (var start = from; start < end;)
        {
            var next = months ? start.AddMonths(n) : start.AddDays(n);
            if (next > end) next = end;
            var name = months && n == 1 && start.Day == 1 && next == start.AddMonths(1) ? start.ToString("yyyy-MM", CultureInfo.InvariantCulture)
                : !months && next == start.AddDays(1) ? start.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
                : $"{start:yyyy-MM-dd}_{next.AddDays(-1):yyyy-MM-dd}";
            windows.Add(new CaptureWindow(Utc(start), Utc(next), name));
            start = next;
        }
        return windows;
    }

    private static DateTimeOffset Utc(DateOnly day) => new(day.ToDateTime(TimeOnly.MinValue), TimeSpan.Zero);

    public override string ToString() => $"{Name} [{From:yyyy-MM-dd}, {To:yyyy-MM-dd})";
}
