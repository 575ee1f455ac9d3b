using System.Text.Json;

namespace Caudal.Serve.Pg;

/// <summary>What a statement's text says about one result column: PostgreSQL's name for it (null: the engine's), and
/// its PostgreSQL type where the engine's result cannot tell it (null: the engine's type decides).</summary>
internal sealed record PgColumnHint(string? Name, PgType? Type);

/// <summary>
/// Result columns as PostgreSQL names and types them where the engine's result differs. Names where the query gives
/// none (PostgreSQL's FigureColname): <c>count(*)</c> is <c>count</c>, <c>1</c> is <c>?column?</c>, <c>x::int</c> is
/// <c>x</c>, <c>1::int</c> is <c>int4</c>, <c>VALUES</c> has <c>column1</c>…; the engine's own names (<c>count_star()</c>, <c>CAST(1 AS INTEGER)</c>, <c>col0</c>) would be
/// what psql prints and what a DataFrame's columns are called. Types a result does not carry: an untyped NULL, JSON
/// built by a function. Read from the statement as the engine parsed it (<c>json_serialize_sql</c>).
/// </summary>
internal static class PgColumnNames
{
    private const string Unnamed = "?column?";

    /// <summary>The engine's names of functions PostgreSQL names otherwise (besides those the rewrite renamed, which
    /// <see cref="PgSql.PostgresName"/> knows).</summary>
    private static readonly Dictionary<string, string> Functions = new(StringComparer.OrdinalIgnoreCase)
    {
        ["count_star"] = "count",
        ["list_value"] = "array",
    };

    /// <summary>Functions whose result is the engine's JSON type, which its results carry as VARCHAR.</summary>
    private static readonly HashSet<string> JsonFunctions = new(StringComparer.OrdinalIgnoreCase)
    {
        "to_json", "json_object", "json_array", "json_group_array", "json_group_object", "json_quote", "array_to_json", "row_to_json",
        "json_merge_patch",
    };

    /// <summary>One hint per result column, or null when the select list has a <c>*</c> whose columns cannot be
    /// counted from the text (the engine's names are PostgreSQL's there).</summary>
    /// <param name="sql">The statement's text: an alias written without quotes is folded to lower case, as
    /// PostgreSQL folds every unquoted name (<c>AS Total</c> names the column <c>total</c>).</param>
    public static PgColumnHint[]? Of(JsonElement parsed, string sql)
    {
        if (!parsed.TryGetProperty("statements", out var statements) || statements.GetArrayLength() != 1) return null;
        var quoted = PgSql.Tokens(sql).Where(t => t.Kind == PgSql.Kind.QuotedName).Select(t => t.Text(sql)[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal))
            .ToHashSet(StringComparer.Ordinal);
        return Select(statements[0].GetProperty("node"), types: true, quoted);
    }

    private static PgColumnHint[]? Select(JsonElement node, bool types, IReadOnlySet<string> quoted)
    {
        // UNION, INTERSECT, EXCEPT: the first branch names the columns (their types are the branches' together).
        while (node.TryGetProperty("type", out var type) && type.GetString() == "SET_OPERATION_NODE")
        {
            node = node.GetProperty("left");
            types = false;
        }
        if (!node.TryGetProperty("select_list", out var list)) return null;
        var items = list.EnumerateArray().ToList();
        if (items is [{ } only] && Class(only) == "STAR" && node.TryGetProperty("from_table", out var from) && from.TryGetProperty("type", out var fromType) &&
            fromType.GetString() == "EXPRESSION_LIST" && from.TryGetProperty("values", out var values) && values.GetArrayLength() > 0)
            return Enumerable.Range(1, values[0].GetArrayLength()).Select(n => new PgColumnHint($"column{n}", null)).ToArray();
        if (items.Any(i => Class(i) is "STAR" or "COLUMNS")) return null;
        // A column read as it is keeps the engine's name (as stored); an alias, the name as written, folded unless quoted.
        return items.Select(i => new PgColumnHint(
                i.TryGetProperty("alias", out var a) && a.GetString() is { Length: > 0 } alias
                    ? quoted.Contains(alias) || alias == alias.ToLowerInvariant() ? null : alias.ToLowerInvariant()
                    : Class(i) == "COLUMN_REF" ? null : Name(i, quoted).Name,
                types ? TypeOf(i) : null))
            .ToArray();
    }

    /// <summary>Types a result does not carry: an untyped NULL is text (the engine's result says INTEGER), JSON built
    /// by a function is json (the engine's result says VARCHAR).</summary>
    private static PgType? TypeOf(JsonElement e) => Class(e) switch
    {
        "CONSTANT" when e.TryGetProperty("value", out var v) && v.TryGetProperty("is_null", out var isNull) && isNull.ValueKind == JsonValueKind.True &&
                        v.TryGetProperty("type", out var t) && t.TryGetProperty("id", out var id) && id.GetString() == "NULL" => PgType.Text,
        "FUNCTION" when JsonFunctions.Contains(e.GetProperty("function_name").GetString() ?? "") => PgType.Json,
        _ => null,
    };

    private static string Class(JsonElement e) => e.TryGetProperty("class", out var c) ? c.GetString() ?? "" : "";

    /// <summary>The name and how strongly the expression names it (PostgreSQL's strength: 2 a real name, 1 a
    /// fallback such as "case", 0 none), which decides whether a cast names the column by its type.</summary>
    private static (string Name, int Strength) Name(JsonElement e, IReadOnlySet<string> quoted)
    {
        switch (Class(e))
        {
            case "COLUMN_REF" when e.TryGetProperty("column_names", out var names) && names.GetArrayLength() > 0:
                return (names[names.GetArrayLength() - 1].GetString() ?? Unnamed, 2);
            case "FUNCTION":
                var function = e.GetProperty("function_name").GetString() ?? "";
                if (e.TryGetProperty("is_operator", out var op) && op.ValueKind == JsonValueKind.True || !function.Any(char.IsLetter)) return (Unnamed, 0);
                return (Functions.GetValueOrDefault(function) ?? PgSql.PostgresName(function)) is { } pg ? (pg, 2) : (function, function is "row" ? 1 : 2);
            case "CAST":
                var inner = Name(e.GetProperty("child"), quoted);
                return inner.Strength > 1 ? inner : (TypeName(e.GetProperty("cast_type")), 1);
            case "CASE":
                return ("case", 1);
            case "OPERATOR" when e.TryGetProperty("type", out var type) && type.GetString() is "OPERATOR_COALESCE" or "ARRAY_CONSTRUCTOR":
                return type.GetString() == "OPERATOR_COALESCE" ? ("coalesce", 2) : ("array", 2);
            case "SUBQUERY":
                var kind = e.TryGetProperty("subquery_type", out var k) ? k.GetString() : null;
                if (kind == "EXISTS") return ("exists", 2);
                if (kind == "SCALAR" && e.GetProperty("subquery").TryGetProperty("node", out var node) && Select(node, types: false, quoted) is [{ Name: { } first }, ..])
                    return (first, 2);
                return (Unnamed, 0);
            default:
                return (Unnamed, 0);
        }
    }

    /// <summary>PostgreSQL's name of a cast's type (<c>1::int</c> is <c>int4</c>).</summary>
    private static string TypeName(JsonElement type)
    {
        var id = type.TryGetProperty("id", out var i) ? i.GetString() ?? "" : "";
        return id switch
        {
            "BOOLEAN" => "bool",
            "SMALLINT" => "int2",
            "INTEGER" => "int4",
            "BIGINT" => "int8",
            "FLOAT" => "float4",
            "DOUBLE" => "float8",
            "DECIMAL" => "numeric",
            "VARCHAR" => "text",
            "BLOB" => "bytea",
            "TIMESTAMP WITH TIME ZONE" => "timestamptz",
            "TIME WITH TIME ZONE" => "timetz",
            _ => id.ToLowerInvariant(),
        };
    }
}
