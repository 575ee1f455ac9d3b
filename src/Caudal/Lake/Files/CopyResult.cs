using System.Collections;
using System.Data.Common;
using System.Globalization;
using System.Text.RegularExpressions;
using Caudal.Lake.Delta;

namespace Caudal.Lake.Files;

/// <summary>
/// What DuckDB's writer counted while writing one Parquet file of a COPY (<c>RETURN_STATS</c>): its rows,
/// and each column's null count and min/max as text. From these, a file's Delta statistics need no second read of the
/// file; a figure missing, or in a form not understood here, sends the file to its footer or a scan instead.
/// </summary>
internal sealed partial record CopyResult(string Path, long? Rows, IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>>? Columns)
{
    /// <summary>One row of a <c>COPY … (RETURN_STATS true)</c> result.</summary>
    public static CopyResult From(DbDataReader reader)
    {
        var path = reader.GetString(reader.GetOrdinal("filename"));
        var rows = Convert.ToInt64(reader.GetValue(reader.GetOrdinal("count")), CultureInfo.InvariantCulture);
        var columns = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.Ordinal);
        if (reader.GetValue(reader.GetOrdinal("column_statistics")) is IDictionary statistics)
            foreach (DictionaryEntry column in statistics)
                if (column.Key is string name && column.Value is IDictionary figures)
                {
                    var texts = new Dictionary<string, string>(StringComparer.Ordinal);
                    foreach (DictionaryEntry figure in figures)
                        if (figure is { Key: string key, Value: string value }) texts[key] = value;
                    columns[Unquote(name)] = texts;
                }
        return new CopyResult(path, rows, columns);
    }

    /// <summary>The writer names columns as quoted identifiers (<c>"a""b"</c>).</summary>
    private static string Unquote(string name) =>
        name.Length >= 2 && name[0] == '"' && name[^1] == '"' ? name[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal) : name;

    /// <summary>The file's Delta statistics, exactly as <see cref="ParquetOutput.Stats(DuckDB.NET.Data.DuckDBConnection, string, DeltaSchema, IReadOnlyCollection{string})"/>
    /// computes them from the footer or a scan; null when the writer's figures do not give every one of them.
    /// <paramref name="constants"/>: columns written as one-value ENUMs (<see cref="Sql.Constant"/>) and their value —
    /// the writer gives no min/max for an ENUM, and the value is both.</summary>
    public string? Stats(IReadOnlyList<DeltaField> fields, IReadOnlyDictionary<string, string>? constants = null)
    {
        if (Rows is not { } rows || Columns == null) return null;
        var min = new Dictionary<string, (string Value, bool Quoted)>();
        var max = new Dictionary<string, (string Value, bool Quoted)>();
        var nulls = new Dictionary<string, long>();
        foreach (var f in fields)
        {
            if (!Columns.TryGetValue(f.Name, out var figures) || !figures.TryGetValue("null_count", out var counted) ||
                !long.TryParse(counted, NumberStyles.None, CultureInfo.InvariantCulture, out var nullCount))
                return null;
            nulls[f.Name] = nullCount;
            if (!DeltaTypes.HasMinMax(f.Type) || nullCount >= rows) continue; // all nulls: no bounds, as from the footer
            if (!figures.TryGetValue("min", out var low) || !figures.TryGetValue("max", out var high))
            {
                if (constants?.GetValueOrDefault(f.Name) is not { } value) return null;
                (low, high) = (value, value);
            }
            var quoted = f.Type is "string" or "date" or "timestamp";
            switch (f.Type)
            {
                case "string":
                    // As the footer path: the first 32 characters of the min (a prefix is never greater), the max only
                    // when it is whole.
                    min[f.Name] = (Prefix(low, ParquetOutput.StringStatsPrefix), quoted);
                    if (Characters(high) <= ParquetOutput.StringStatsPrefix) max[f.Name] = (high, quoted);
                    break;
                case "date":
                    if (!IsDate(low) || !IsDate(high)) return null;
                    (min[f.Name], max[f.Name]) = ((low, quoted), (high, quoted));
                    break;
                case "timestamp":
                    if (Millis(low) is not { } from || Millis(high) is not { } to) return null;
                    (min[f.Name], max[f.Name]) = ((from, quoted), (to, quoted));
                    break;
                default: // integers and decimals, written as JSON numbers
                    (low, high) = (ParquetOutput.JsonNumber(low), ParquetOutput.JsonNumber(high));
                    if (!Number().IsMatch(low) || !Number().IsMatch(high)) return null;
                    (min[f.Name], max[f.Name]) = ((low, quoted), (high, quoted));
                    break;
            }
        }
        return ParquetOutput.StatsJson(rows, min, max, nulls);
    }

    private static int Characters(string text) => text.EnumerateRunes().Count();

    private static string Prefix(string text, int characters)
    {
        var length = 0;
        foreach (var rune in text.EnumerateRunes())
        {
            if (characters-- == 0) break;
            length += rune.Utf16SequenceLength;
        }
        return text[..length];
    }

    private static bool IsDate(string text) => DateOnly.TryParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out _);

    /// <summary>A UTC timestamp as DuckDB prints it (<c>2005-05-24 22:53:44.123456+00</c>) in Delta's form, cut to the
    /// millisecond as the footer path's <c>strftime(…, '%g')</c> does.</summary>
    private static string? Millis(string text)
    {
        if (!text.EndsWith("+00", StringComparison.Ordinal) ||
            !DateTime.TryParseExact(text[..^3], ["yyyy-MM-dd HH:mm:ss", "yyyy-MM-dd HH:mm:ss.FFFFFF"], CultureInfo.InvariantCulture,
                DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at))
            return null;
        return new DateTime(at.Ticks - at.Ticks % TimeSpan.TicksPerMillisecond, DateTimeKind.Utc).ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture);
    }

    [GeneratedRegex(@"^-?[0-9]+(\.[0-9]+)?$")]
    private static partial Regex Number();
}
