using System.Text.Json;
using Caudal.Processing.Engine;
using Caudal.Spec;
using DuckDB.NET.Data;

namespace Caudal.Processing.Spark;

/// <summary>One place where a model's SQL would not mean the same on Spark, with the portable way to write it.</summary>
public sealed record PortabilityProblem(SpecPosition Position, string Problem, string Portable)
{
    public override string ToString() => $"{Position}: {Problem}; portable: {Portable}";
}

/// <summary>
/// Checks a model's SQL against the core that DuckDB and Spark SQL read alike, using DuckDB's own parser
/// (<c>json_serialize_sql</c> gives the syntax tree, with each node's place in the text): QUALIFY, <c>* EXCLUDE</c>
/// and <c>* REPLACE</c>, lambdas, DuckDB-only functions, <c>x::T</c> casts, double-quoted identifiers (a string on
/// Spark), and an ascending ORDER BY without NULLS FIRST/LAST (DuckDB puts NULLs last, Spark first).
/// </summary>
public static class PortableSql
{
    /// <summary>DuckDB functions Spark does not have (or has with another meaning), with what to write instead.</summary>
    private static readonly Dictionary<string, string> Functions = new(StringComparer.OrdinalIgnoreCase)
    {
        ["strftime"] = "year(), month(), date_trunc('month', ts) or CAST(… AS DATE); formatting belongs in the consumer",
        ["strptime"] = "CAST(text AS DATE) or CAST(text AS TIMESTAMP) on ISO text",
        ["epoch_ms"] = "CAST(… AS TIMESTAMP) from ISO text, or keep the number",
        ["epoch_us"] = "CAST(… AS TIMESTAMP) from ISO text, or keep the number",
        ["epoch"] = "keep the timestamp, or compute the difference in SQL both read (EXTRACT)",
        ["make_timestamptz"] = "CAST(… AS TIMESTAMP)",
        ["regexp_matches"] = "a LIKE pattern (regular expressions are spelled differently: RLIKE on Spark)",
        ["string_split"] = "split_part(text, sep, n)",
        ["str_split"] = "split_part(text, sep, n)",
        ["list_value"] = "an array is not portable: keep one row per value",
        ["list_extract"] = "an array is not portable: keep one row per value",
        ["array_length"] = "an array is not portable: count rows instead",
        ["len"] = "length(text)",
        ["arg_max"] = "max_by(value, key), which both engines have",
        ["arg_min"] = "min_by(value, key), which both engines have",
        ["quantile_cont"] = "percentile_cont(p) WITHIN GROUP (ORDER BY x)",
        ["quantile_disc"] = "percentile_disc(p) WITHIN GROUP (ORDER BY x)",
        ["approx_quantile"] = "percentile_cont(p) WITHIN GROUP (ORDER BY x)",
        ["string_agg"] = "one row per value (string aggregation is spelled differently on each engine)",
        ["list"] = "one row per value (collect_list on Spark)",
        ["today"] = "current_date",
        ["now"] = "current_timestamp",
        ["isfinite"] = "x IS NOT NULL (Caudal stores infinite timestamps as NULL-free values only when asked)",
        ["read_parquet"] = "read inputs as lake tables (zone.name)",
        ["read_csv"] = "read inputs as lake tables (zone.name)",
        ["read_csv_auto"] = "read inputs as lake tables (zone.name)",
        ["read_json"] = "read inputs as lake tables (zone.name)",
        ["glob"] = "read inputs as lake tables (zone.name)",
        ["date_diff"] = "EXTRACT or date arithmetic both read the same way (datediff's arguments differ between engines)",
        ["datediff"] = "EXTRACT or date arithmetic both read the same way (datediff's arguments differ between engines)",
        ["struct_pack"] = "separate columns",
        ["row"] = "separate columns",
    };

    /// <summary>Every problem in <paramref name="sql"/>, placed in <paramref name="file"/> (1-based line and column).</summary>
    public static IReadOnlyList<PortabilityProblem> Check(string sql, string file)
    {
        using var connection = new DuckDBConnection("DataSource=:memory:");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)";
        command.Parameters.Add(new DuckDBParameter(sql));
        using var ast = JsonDocument.Parse((string)command.ExecuteScalar()!);
        var problems = new List<PortabilityProblem>();
        SpecPosition At(long offset)
        {
            var before = sql[..(int)Math.Clamp(offset, 0, sql.Length)];
            var line = before.Count(c => c == '\n') + 1;
            return new SpecPosition(file, line, before.Length - before.LastIndexOf('\n'));
        }
        if (ast.RootElement.TryGetProperty("error", out var error) && error.GetBoolean())
        {
            problems.Add(new PortabilityProblem(At(0), $"not one SELECT: {ast.RootElement.GetProperty("error_message").GetString()}", "a single SELECT (WITH … SELECT)"));
            return problems;
        }
        Walk(ast.RootElement.GetProperty("statements"), -1, problems, At, sql);
        Tokens(sql, problems, At);
        return problems.OrderBy(p => p.Position.Line).ThenBy(p => p.Position.Column).ToList();
    }

    private static void Walk(JsonElement node, long near, List<PortabilityProblem> problems, Func<long, SpecPosition> at, string sql)
    {
        switch (node.ValueKind)
        {
            case JsonValueKind.Array:
                foreach (var item in node.EnumerateArray()) Walk(item, near, problems, at, sql);
                return;
            case JsonValueKind.Object:
                break;
            default:
                return;
        }
        if (node.TryGetProperty("query_location", out var location) && location.ValueKind == JsonValueKind.Number && location.TryGetInt64(out var l) && l >= 0 && l < int.MaxValue)
            near = l;
        var type = node.TryGetProperty("type", out var t) && t.ValueKind == JsonValueKind.String ? t.GetString() : null;
        if (type == "SELECT_NODE" && node.TryGetProperty("qualify", out var qualify) && qualify.ValueKind == JsonValueKind.Object)
            problems.Add(new PortabilityProblem(at(Keyword(sql, "qualify", Location(qualify, near))), "QUALIFY is DuckDB's",
                "compute row_number() OVER (…) AS rn in a subquery and filter WHERE rn = 1 outside it"));
        if (type == "STAR" && (NonEmpty(node, "exclude_list") || NonEmpty(node, "replace_list") || NonEmpty(node, "rename_list")))
            problems.Add(new PortabilityProblem(at(near), "* EXCLUDE / REPLACE / RENAME are DuckDB's", "list the columns"));
        if (type == "LAMBDA")
            problems.Add(new PortabilityProblem(at(near), "lambdas are DuckDB's", "one row per value, and SQL over the rows"));
        if (type is "PIVOT" or "UNPIVOT")
            problems.Add(new PortabilityProblem(at(near), $"{type} is spelled differently on Spark", "CASE WHEN … aggregates, or UNION ALL"));
        var function = node.TryGetProperty("function_name", out var name) ? name.GetString() : null;
        // percentile_cont(p) WITHIN GROUP (ORDER BY x) reaches the tree as quantile_cont with an ORDER BY: portable.
        var withinGroup = function is "quantile_cont" or "quantile_disc" && NonEmpty(node.GetProperty("order_bys"), "orders");
        if (function != null && !withinGroup && Functions.TryGetValue(function, out var portable))
            problems.Add(new PortabilityProblem(at(near), $"{function}() is DuckDB's", portable));
        if (type is "ORDER_DEFAULT" or "ASCENDING" && node.TryGetProperty("null_order", out var nulls) && nulls.GetString() == "ORDER_DEFAULT"
            && node.TryGetProperty("expression", out var ordered))
            problems.Add(new PortabilityProblem(at(Location(ordered, near)), "an ascending ORDER BY without NULLS FIRST/LAST puts NULLs last on DuckDB and first on Spark",
                "write ASC NULLS LAST (or NULLS FIRST) explicitly"));
        foreach (var property in node.EnumerateObject())
        {
            // An aggregate's own ORDER BY (WITHIN GROUP, an ordered aggregate) ignores NULLs: its null order does not matter.
            if (function != null && property.Name == "order_bys") continue;
            if (property.Value.ValueKind is JsonValueKind.Object or JsonValueKind.Array) Walk(property.Value, near, problems, at, sql);
        }
    }

    /// <summary>Where the keyword before <paramref name="offset"/> starts (the tree places a clause at its expression).</summary>
    private static long Keyword(string sql, string keyword, long offset)
    {
        var i = sql.LastIndexOf(keyword, (int)Math.Min(offset, sql.Length - 1), StringComparison.OrdinalIgnoreCase);
        return i >= 0 ? i : offset;
    }

    private static bool NonEmpty(JsonElement node, string property) =>
        node.TryGetProperty(property, out var list) && list.ValueKind == JsonValueKind.Array && list.GetArrayLength() > 0;

    private static long Location(JsonElement node, long fallback) =>
        node.ValueKind == JsonValueKind.Object && node.TryGetProperty("query_location", out var l) && l.TryGetInt64(out var v) && v is >= 0 and < int.MaxValue ? v : fallback;

    /// <summary>What the syntax tree does not keep: <c>::</c> casts and double-quoted identifiers.</summary>
    private static void Tokens(string sql, List<PortabilityProblem> problems, Func<long, SpecPosition> at)
    {
        for (var i = 0; i < sql.Length; i++)
        {
            switch (sql[i])
            {
                case '\'':
                    i = Skip(sql, i, '\'');
                    break;
                case '-' when i + 1 < sql.Length && sql[i + 1] == '-':
                    i = sql.IndexOf('\n', i) is var n and >= 0 ? n : sql.Length;
                    break;
                case '/' when i + 1 < sql.Length && sql[i + 1] == '*':
                    i = sql.IndexOf("*/", i + 2, StringComparison.Ordinal) is var e and >= 0 ? e + 1 : sql.Length;
                    break;
                case '"':
                    problems.Add(new PortabilityProblem(at(i), "a double-quoted name is a string on Spark", "an unquoted lower-case name (rename the column)"));
                    i = Skip(sql, i, '"');
                    break;
                case ':' when i + 1 < sql.Length && sql[i + 1] == ':':
                    problems.Add(new PortabilityProblem(at(i), "x::TYPE is DuckDB's cast", "CAST(x AS TYPE)"));
                    i++;
                    break;
            }
        }
    }

    private static int Skip(string sql, int start, char quote)
    {
        var i = start + 1;
        while (i < sql.Length && !(sql[i] == quote && (i + 1 >= sql.Length || sql[i + 1] != quote))) i += sql[i] == quote ? 2 : 1;
        return i;
    }

    /// <summary>Every problem of every model that runs on Spark (all SQL models with <paramref name="all"/>).</summary>
    public static IReadOnlyList<PortabilityProblem> Check(PipelineSpec spec, bool all) =>
        spec.Models.Where(m => !m.EmbeddedOnly && (all || (m.Engine ?? spec.Run.Engine) == EngineKind.Spark))
            .SelectMany(m => Check(m.Sql, Path.GetRelativePath(spec.BaseDirectory, m.SqlFile)))
            .ToList();
}
