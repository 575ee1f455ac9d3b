using System.Globalization;
using System.Text.RegularExpressions;

namespace Caudal.Values;

/// <summary>A span as people write it in the spec and on the command line: a whole number and a unit, <c>s</c>,
/// <c>m</c>, <c>h</c> or <c>d</c> (<c>30s</c>, <c>2d</c>). Timeouts, budgets, lookbacks, retention and idle times
/// are all read through it, so every place accepts the same forms.</summary>
public readonly partial record struct Duration(TimeSpan Span)
{
    [GeneratedRegex(@"^(\d+)\s*(s|m|h|d)$")]
    private static partial Regex Form();

    /// <summary>The forms accepted, for messages and the JSON schema's <c>pattern</c>.</summary>
    public const string Pattern = "^[0-9]+\\s*(s|m|h|d)$";

    public static Duration? Parse(string? text)
    {
        if (text == null || Form().Match(text.Trim()) is not { Success: true } m) return null;
        if (!int.TryParse(m.Groups[1].Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n)) return null;
        return new Duration(m.Groups[2].Value switch
        {
            "s" => TimeSpan.FromSeconds(n),
            "m" => TimeSpan.FromMinutes(n),
            "h" => TimeSpan.FromHours(n),
            _ => TimeSpan.FromDays(n),
        });
    }

    public static implicit operator TimeSpan(Duration d) => d.Span;

    /// <summary>The shortest exact form: <c>90s</c>, <c>30m</c>, <c>2d</c>.</summary>
    public override string ToString() =>
        Span.Ticks % TimeSpan.TicksPerDay == 0 && Span > TimeSpan.Zero ? $"{(long)Span.TotalDays}d"
        : Span.Ticks % TimeSpan.TicksPerHour == 0 && Span > TimeSpan.Zero ? $"{(long)Span.TotalHours}h"
        : Span.Ticks % TimeSpan.TicksPerMinute == 0 && Span > TimeSpan.Zero ? $"{(long)Span.TotalMinutes}m"
        : $"{(long)Span.TotalSeconds}s";
}
