using System.Globalization;
using System.Text;
using DuckDB.NET.Data;

namespace Caudal.Capture.Postgres;

/// <summary>
/// Values of logical replication (pgoutput, text format) appended as the full capture buffers them, so a change row
/// and a snapshot row of the same value are equal: the text PostgreSQL prints is parsed per the column's DuckDB type
/// (<see cref="PostgresTypeMapping"/>); columns the full capture reads as text keep PostgreSQL's text.
/// </summary>
internal static class ChangeValues
{
    public static void Append(IDuckDBAppenderRow row, string duckType, string text)
    {
        switch (duckType)
        {
            case "BOOLEAN": row.AppendValue(text == "t"); break;
            case "SMALLINT": row.AppendValue(short.Parse(text, CultureInfo.InvariantCulture)); break;
            case "INTEGER": row.AppendValue(int.Parse(text, CultureInfo.InvariantCulture)); break;
            case "BIGINT": row.AppendValue(long.Parse(text, CultureInfo.InvariantCulture)); break;
            case "FLOAT": row.AppendValue(float.Parse(text, CultureInfo.InvariantCulture)); break;
            case "DOUBLE": row.AppendValue(double.Parse(text, CultureInfo.InvariantCulture)); break;
            case "DATE": row.AppendValue(DateOnly.ParseExact(text, "yyyy-MM-dd", CultureInfo.InvariantCulture)); break;
            case "TIMESTAMP" or "TIMESTAMPTZ": row.AppendValue(Timestamp(text)); break;
            case "BLOB": row.AppendValue(Convert.FromHexString(text.AsSpan(2))); break; // bytea_output hex: \x0102…
            case "BIGINT[]": row.AppendValue(Array(text).Select(v => v == null ? (long?)null : long.Parse(v, CultureInfo.InvariantCulture)).ToArray()); break;
            case "DOUBLE[]": row.AppendValue(Array(text).Select(v => v == null ? (double?)null : double.Parse(v, CultureInfo.InvariantCulture)).ToArray()); break;
            case "BOOLEAN[]": row.AppendValue(Array(text).Select(v => v == null ? (bool?)null : v == "t").ToArray()); break;
            case "VARCHAR[]": row.AppendValue(Array(text).ToArray()); break;
            default:
                if (duckType.StartsWith("DECIMAL", StringComparison.Ordinal)) row.AppendValue(decimal.Parse(text, NumberStyles.Float, CultureInfo.InvariantCulture));
                else row.AppendValue(text);
                break;
        }
    }

    /// <summary>A timestamp as the session (UTC) prints it, with or without an offset: the UTC instant.</summary>
    private static DateTime Timestamp(string text)
    {
        var styles = DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal;
        return DateTime.SpecifyKind(DateTime.Parse(text, CultureInfo.InvariantCulture, styles), DateTimeKind.Utc);
    }

    /// <summary>The elements of a one-dimensional array's text form (<c>{1,NULL,"a b"}</c>); NULL elements are null.</summary>
    internal static List<string?> Array(string text)
    {
        var values = new List<string?>();
        if (text.Length < 2 || text[0] != '{' || text[^1] != '}') throw new FormatException($"'{text}' is not an array's text form.");
        var i = 1;
        while (i < text.Length - 1)
        {
            var value = new StringBuilder();
            var quoted = text[i] == '"';
            if (quoted)
            {
                for (i++; text[i] != '"'; i++) value.Append(text[i] == '\\' ? text[++i] : text[i]);
                i++;
            }
            else
                for (; text[i] != ',' && text[i] != '}'; i++) value.Append(text[i]);
            values.Add(!quoted && value.ToString() == "NULL" ? null : value.ToString());
            if (text[i] == ',') i++;
        }
        return values;
    }
}
