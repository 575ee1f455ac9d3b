using System.Text;

namespace Caudal.Lake.Delta;

/// <summary>Hive-style partition directories and the URI encoding of paths in add/remove actions.</summary>
public static class PartitionPath
{
    public const string NullValue = "__HIVE_DEFAULT_PARTITION__";
    private const string HiveEscaped = "\"#%'*/:=?\\{[]^";

    /// <summary>The on-disk directory for the values, e.g. <c>day=2026-01-01/</c>; empty when unpartitioned.</summary>
    public static string Directory(IReadOnlyList<string> columns, IReadOnlyDictionary<string, string?> values)
    {
        var sb = new StringBuilder();
        foreach (var c in columns)
            sb.Append(Escape(c)).Append('=').Append(values[c] is { } v ? Escape(v) : NullValue).Append('/');
        return sb.ToString();
    }

    private static string Escape(string s)
    {
        var sb = new StringBuilder(s.Length);
        foreach (var ch in s)
        {
            if (ch < 0x20 || ch == 0x7F || HiveEscaped.Contains(ch)) sb.Append('%').Append(((int)ch).ToString("X2"));
            else sb.Append(ch);
        }
        return sb.ToString();
    }

    /// <summary>Percent-encodes a relative on-disk path for the log (decoded once by readers).</summary>
    public static string ToLogPath(string relativePath)
    {
        var sb = new StringBuilder();
        foreach (var b in Encoding.UTF8.GetBytes(relativePath))
        {
            var c = (char)b;
            if (b < 0x80 && (char.IsAsciiLetterOrDigit(c) || "-._~/=".Contains(c))) sb.Append(c);
            else sb.Append('%').Append(b.ToString("X2"));
        }
        return sb.ToString();
    }

    /// <summary>The relative on-disk path a log path names.</summary>
    public static string FromLogPath(string logPath) => Uri.UnescapeDataString(logPath);
}
