using System.Globalization;
using System.Text.RegularExpressions;

namespace Caudal.Capture.Sqlite;

/// <summary>
/// Maps SQLite declared types (which keep MySQL-style names such as <c>SMALLINT UNSIGNED</c>, <c>DECIMAL(5,2)</c>,
/// <c>DATETIME</c>) to DuckDB types, and converts SQLite's dynamically typed values to them.
/// </summary>
internal static partial class SqliteTypeMapping
{
    [GeneratedRegex(@"^(DECIMAL|NUMERIC)\s*\(\s*(\d+)\s*(?:,\s*(\d+)\s*)?\)", RegexOptions.IgnoreCase)]
    private static partial Regex Decimal();

    public static string ToDuck(string declared)
    {
        var t = declared.Trim().ToUpperInvariant();
        if (Decimal().Match(t) is { Success: true } d)
        {
            var p = int.Parse(d.Groups[2].Value, CultureInfo.InvariantCulture);
            var s = d.Groups[3].Success ? int.Parse(d.Groups[3].Value, CultureInfo.InvariantCulture) : 0;
            return p <= 38 && s <= p ? $"DECIMAL({p},{s})" : "DOUBLE";
        }
        if (t.StartsWith("BOOL")) return "BOOLEAN";
        if (t.Contains("INT")) return "BIGINT"; // SQLite integers are 64-bit whatever the declared width
        if (t.StartsWith("YEAR")) return "INTEGER";
        if (t.Contains("REAL") || t.Contains("FLOA") || t.Contains("DOUB")) return "DOUBLE";
        if (t.StartsWith("DATETIME") || t.StartsWith("TIMESTAMP")) return "TIMESTAMP";
        if (t == "DATE") return "DATE";
        if (t.Contains("BLOB") || t.Contains("BINARY") || t == "GEOMETRY") return "BLOB";
        return "VARCHAR"; // TEXT, CHAR, VARCHAR, ENUM, SET, TIME, JSON, and no declared type
    }

    private static readonly string[] TimestampFormats =
    [
        "yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFFF", "yyyy-MM-ddTHH:mm:ss", "yyyy-MM-ddTHH:mm:ss.FFFFFFF",
        "yyyy-MM-dd HH:mm", "yyyy-MM-dd", "yyyy-MM-ddTHH:mm:ssZ", "yyyy-MM-ddTHH:mm:ss.FFFFFFFZ",
    ];

    public static DateTime ParseTimestamp(object value) => value switch
    {
        string s when TryParseCommon(s, out var t) => t,
        string s when DateTime.TryParseExact(s, TimestampFormats, CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal, out var t) => t,
        long seconds => DateTime.UnixEpoch.AddSeconds(seconds),
        _ => throw new FormatException($"'{value}' is not a timestamp (expected 'YYYY-MM-DD HH:MM:SS')"),
    };

    /// <summary>'YYYY-MM-DD HH:MM:SS' with an optional fraction of up to 7 digits (space or 'T' between), the form
    /// SQLite's date functions write, read without the general parser; anything else falls through to it.</summary>
    private static bool TryParseCommon(string s, out DateTime value)
    {
        value = default;
        if (s.Length < 19 || s.Length == 20 || s.Length > 27 || s[4] != '-' || s[7] != '-' || (s[10] != ' ' && s[10] != 'T')
            || s[13] != ':' || s[16] != ':' || (s.Length > 19 && s[19] != '.'))
            return false;
        if (!Number(s, 0, 4, out var year) || !Number(s, 5, 2, out var month) || !Number(s, 8, 2, out var day)
            || !Number(s, 11, 2, out var hour) || !Number(s, 14, 2, out var minute) || !Number(s, 17, 2, out var second))
            return false;
        var ticks = 0;
        if (s.Length > 19)
        {
            if (!Number(s, 20, s.Length - 20, out ticks)) return false;
            for (var i = s.Length - 20; i < 7; i++) ticks *= 10;
        }
        if (year < 1 || month is < 1 or > 12 || day < 1 || day > DateTime.DaysInMonth(year, month) || hour > 23 || minute > 59 || second > 59)
            return false;
        value = new DateTime(year, month, day, hour, minute, second, DateTimeKind.Utc).AddTicks(ticks);
        return true;
    }

    private static bool Number(string s, int start, int length, out int value)
    {
        value = 0;
        for (var i = start; i < start + length; i++)
        {
            var digit = s[i] - '0';
            if ((uint)digit > 9) return false;
            value = value * 10 + digit;
        }
        return true;
    }

    public static DateOnly ParseDate(object value) => value switch
    {
        string s when DateOnly.TryParseExact(s, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) => d,
        string s => DateOnly.FromDateTime(ParseTimestamp(s)),
        _ => throw new FormatException($"'{value}' is not a date (expected 'YYYY-MM-DD')"),
    };

    public static long ParseInteger(object value) => value switch
    {
        long l => l,
        double d when d == Math.Floor(d) && Math.Abs(d) < 9e18 => (long)d,
        string s when long.TryParse(s, NumberStyles.Integer, CultureInfo.InvariantCulture, out var l) => l,
        _ => throw new FormatException($"'{value}' is not an integer"),
    };

    public static double ParseDouble(object value) => value switch
    {
        double d => d,
        long l => l,
        string s when double.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) => d,
        _ => throw new FormatException($"'{value}' is not a number"),
    };

    public static decimal ParseDecimal(object value, int scale)
    {
        var d = value switch
        {
            long l => l,
            double x => (decimal)x,
            string s when decimal.TryParse(s, NumberStyles.Float, CultureInfo.InvariantCulture, out var m) => m,
            _ => throw new FormatException($"'{value}' is not a decimal number"),
        };
        // SQLite stores DECIMAL as REAL: round the binary float back to the declared scale.
        return Math.Round(d, scale, MidpointRounding.AwayFromZero);
    }

    public static bool ParseBoolean(object value) => value switch
    {
        long l => l != 0,
        string s when s is "1" or "true" or "TRUE" => true,
        string s when s is "0" or "false" or "FALSE" => false,
        _ => throw new FormatException($"'{value}' is not a boolean"),
    };

    public static string ToText(object value) => value switch
    {
        string s => s,
        double d => d.ToString("R", CultureInfo.InvariantCulture),
        byte[] b => Convert.ToBase64String(b),
        _ => Convert.ToString(value, CultureInfo.InvariantCulture)!,
    };
}
