using Caudal.Lake.Delta;

namespace Caudal.Lake.Files;

/// <summary>How DuckDB types become Delta types, and the casts applied before writing so that every file is
/// readable by Spark, Athena, DuckDB and delta-rs (see docs/architecture.md, "Types").</summary>
internal static class DeltaTypes
{
    /// <summary>The expression that makes a column Delta-safe, e.g. TIMESTAMP → TIMESTAMPTZ (UTC micros).</summary>
    public static string SafeCast(string column, string duckType)
    {
        var c = Sql.Ident(column);
        var t = duckType.ToUpperInvariant();
        return t switch
        {
            // The same instant, without the per-value ICU calendar work a CAST does (17x cheaper, measured); the CAST
            // stays for ±infinity, which have no epoch.
            "TIMESTAMP" or "DATETIME" => $"CASE WHEN isfinite({c}) THEN make_timestamptz(epoch_us({c})) ELSE CAST({c} AS TIMESTAMPTZ) END AS {c}",
            "TIMESTAMP_S" or "TIMESTAMP_MS" or "TIMESTAMP_NS" => $"CAST({c} AS TIMESTAMPTZ) AS {c}",
            "UUID" or "TIME" or "TIME WITH TIME ZONE" or "INTERVAL" or "BIT" => $"CAST({c} AS VARCHAR) AS {c}",
            "HUGEINT" or "UHUGEINT" => $"CAST({c} AS DECIMAL(38,0)) AS {c}",
            "UBIGINT" => $"CAST({c} AS DECIMAL(20,0)) AS {c}",
            "UINTEGER" => $"CAST({c} AS BIGINT) AS {c}",
            "USMALLINT" => $"CAST({c} AS INTEGER) AS {c}",
            "UTINYINT" => $"CAST({c} AS SMALLINT) AS {c}",
            _ when t.StartsWith("STRUCT") || t.StartsWith("MAP") || t.StartsWith("UNION") => $"CAST(to_json({c}) AS VARCHAR) AS {c}",
            // A one-value ENUM (Sql.Constant) is written as it is: a UTF8 string in the file like a VARCHAR, and with one
            // value its statistics cannot differ from a string's (an ENUM's own order could, with more).
            _ when t.StartsWith("ENUM") && IsOneValueEnum(duckType) => c,
            _ when t.StartsWith("ENUM") || t == "JSON" => $"CAST({c} AS VARCHAR) AS {c}",
            _ => c,
        };
    }

    /// <summary>Whether a DuckDB type is <c>ENUM('…')</c> with exactly one value (quotes inside doubled).</summary>
    internal static bool IsOneValueEnum(string duckType) => OneEnumValue(duckType) != null;

    /// <summary>The value of a one-value <c>ENUM('…')</c> type, or null for any other type.</summary>
    internal static string? OneEnumValue(string duckType)
    {
        var t = duckType.Trim();
        if (!t.StartsWith("ENUM('", StringComparison.OrdinalIgnoreCase) || !t.EndsWith("')", StringComparison.Ordinal)) return null;
        var inner = t["ENUM('".Length..^"')".Length];
        for (var i = 0; i < inner.Length; i++)
        {
            if (inner[i] != '\'') continue;
            if (i + 1 < inner.Length && inner[i + 1] == '\'') i++; // a doubled quote inside the value
            else return null; // a quote that ends the value before the last: more than one value
        }
        return inner.Replace("''", "'", StringComparison.Ordinal);
    }

    /// <summary>The Delta type of a (Delta-safe) DuckDB type.</summary>
    public static string ToDelta(string duckType, string columnForErrors)
    {
        var t = duckType.ToUpperInvariant();
        if (t.EndsWith("[]"))
            return $$"""{"type":"array","elementType":{{Quote(ToDelta(duckType[..^2], columnForErrors))}},"containsNull":true}""";
        if (t.StartsWith("DECIMAL")) return "decimal" + t["DECIMAL".Length..].Replace(" ", "");
        return t switch
        {
            "BOOLEAN" => "boolean",
            "TINYINT" => "byte",
            "SMALLINT" => "short",
            "INTEGER" => "integer",
            "BIGINT" => "long",
            "FLOAT" => "float",
            "DOUBLE" => "double",
            "VARCHAR" => "string",
            _ when t.StartsWith("ENUM") && IsOneValueEnum(duckType) => "string",
            "BLOB" => "binary",
            "DATE" => "date",
            "TIMESTAMP WITH TIME ZONE" or "TIMESTAMPTZ" => "timestamp",
            _ => throw new DeltaException($"Column '{columnForErrors}' has DuckDB type {duckType}, which Caudal cannot store in a Delta table; cast it in the model."),
        };
    }

    /// <summary>The Delta type of a Delta-safe DuckDB type, or null when Caudal cannot store it.</summary>
    public static string? TryToDelta(string duckType)
    {
        try
        {
            return ToDelta(duckType, "");
        }
        catch (DeltaException)
        {
            return null;
        }
    }

    private static string Quote(string deltaType) => deltaType.StartsWith('{') ? deltaType : $"\"{deltaType}\"";

    /// <summary>The DuckDB type for a Delta type (to declare empty tables and typed partition values).</summary>
    public static string ToDuck(string deltaType)
    {
        if (deltaType.StartsWith('{'))
        {
            var node = System.Text.Json.Nodes.JsonNode.Parse(deltaType)!;
            if ((string?)node["type"] == "array")
            {
                var element = node["elementType"]!;
                var inner = element.GetValueKind() == System.Text.Json.JsonValueKind.String ? element.GetValue<string>() : element.ToJsonString();
                return ToDuck(inner) + "[]";
            }
            return "VARCHAR";
        }
        if (deltaType.StartsWith("decimal")) return "DECIMAL" + deltaType["decimal".Length..];
        return deltaType switch
        {
            "boolean" => "BOOLEAN",
            "byte" => "TINYINT",
            "short" => "SMALLINT",
            "integer" => "INTEGER",
            "long" => "BIGINT",
            "float" => "FLOAT",
            "double" => "DOUBLE",
            "binary" => "BLOB",
            "date" => "DATE",
            "timestamp" => "TIMESTAMPTZ",
            "timestamp_ntz" => "TIMESTAMP",
            _ => "VARCHAR",
        };
    }

    /// <summary>Whether values of <paramref name="from"/> fit losslessly in <paramref name="to"/> (integer, float and decimal
    /// widening), so a write can be cast to a table's existing column type instead of changing the table's schema.</summary>
    public static bool Widens(string from, string to)
    {
        string[] integers = ["byte", "short", "integer", "long"];
        var (fi, ti) = (Array.IndexOf(integers, from), Array.IndexOf(integers, to));
        if (fi >= 0 && ti >= 0) return fi < ti;
        if (from == "float" && to == "double") return true;
        if (fi >= 0 && to.StartsWith("decimal")) return Decimal(to) is var (p, s) && p - s >= new[] { 3, 5, 10, 19 }[fi];
        if (from.StartsWith("decimal") && to.StartsWith("decimal"))
            return Decimal(from) is var (p1, s1) && Decimal(to) is var (p2, s2) && s2 >= s1 && p2 - s2 >= p1 - s1 && (p1, s1) != (p2, s2);
        return false;
    }

    private static (int Precision, int Scale) Decimal(string type)
    {
        var parts = type["decimal(".Length..^1].Split(',');
        return (int.Parse(parts[0]), int.Parse(parts[1]));
    }

    /// <summary>Types whose min/max Caudal records in file stats (others get nullCount only, which is always safe).</summary>
    public static bool HasMinMax(string deltaType) =>
        deltaType is "byte" or "short" or "integer" or "long" or "date" or "timestamp" or "string" || deltaType.StartsWith("decimal");

    /// <summary>Types a table may be partitioned by (readable as partition values by every engine).</summary>
    public static bool Partitionable(string deltaType) =>
        deltaType is "boolean" or "byte" or "short" or "integer" or "long" or "date" or "string" || deltaType.StartsWith("decimal");
}
