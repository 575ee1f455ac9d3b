using System.Globalization;
using System.Text;
using System.Text.Json;
using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using Caudal.Processing.Engine;

namespace Caudal.Serve;

/// <summary>A request's query string is wrong: the message says which parameter and how to fix it (HTTP 400).</summary>
public sealed class BadRequestException(string message) : Exception(message);

/// <summary>
/// The rows a table request asks for, as parameterised SQL over the mounted snapshot: <c>columns=a,b</c>, filters
/// PostgREST-style (<c>col=eq.x</c>, neq, gt, gte, lt, lte, <c>in.(a,b)</c>, like, <c>is.null</c>,
/// <c>not.is.null</c>; values are bound, never spliced), <c>order=col.desc,col2</c>, <c>limit</c> (default 100, at most
/// 10,000; <c>limit=all</c> streams the whole result, the default for Parquet and Arrow) and <c>next</c>, an opaque
/// keyset cursor: the version the first page read (so every page comes from the same version) and the identity of the
/// last row sent (its data file and row number). Rows are in a total order (the requested order, then file and row), so
/// pages neither repeat nor skip a row, and a deep page costs no more than the first.
/// </summary>
public sealed record TableQuery(IReadOnlyList<string> Columns, string Where, IReadOnlyList<object?> Parameters, IReadOnlyList<(string Column, bool Descending)> Order,
    int? Limit, long? Version, (string File, long Row)? After, IReadOnlyList<(string Column, string Op, IReadOnlyList<string> Values)> Filters)
{
    public const int DefaultLimit = 100;
    public const int MaxLimit = 10_000;
    private static readonly string[] Reserved = ["columns", "order", "limit", "next", "format", "version", "as_of"];

    public static TableQuery Parse(IEnumerable<KeyValuePair<string, string>> query, DeltaSchema schema, bool wholeByDefault = false)
    {
        var pairs = query.ToList();
        string? Get(string key) => pairs.LastOrDefault(p => p.Key == key).Value;
        DeltaField Field(string name, string where) => schema.Find(name) is { } f && f.Name == name ? f
            : throw new BadRequestException($"{where}: no column '{name}' in this table (columns: {string.Join(", ", schema.Fields.Select(c => c.Name))}).");

        var columns = Get("columns") is { Length: > 0 } c
            ? c.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries).Select(n => Field(n, "columns").Name).ToList()
            : schema.Fields.Select(f => f.Name).ToList();

        var conditions = new List<string>();
        var parameters = new List<object?>();
        var filters = new List<(string, string, IReadOnlyList<string>)>();
        foreach (var (key, value) in pairs.Where(p => !Reserved.Contains(p.Key)))
        {
            var field = Field(key, $"filter '{key}'");
            var column = "t." + Sql.Ident(field.Name);
            var type = DeltaTypes.ToDuck(field.Type);
            string Bound(string text)
            {
                parameters.Add(text);
                return $"CAST(? AS {type})";
            }
            var (op, operand) = value.IndexOf('.') is var dot and > 0 ? (value[..dot], value[(dot + 1)..]) : (value, "");
            if (op == "eq") filters.Add((field.Name, op, [operand]));
            else if (op == "in" && operand.StartsWith('(') && operand.EndsWith(')')) filters.Add((field.Name, op, operand[1..^1].Split(',').Select(v => v.Trim()).ToList()));
            conditions.Add(op switch
            {
                "eq" => $"{column} = {Bound(operand)}",
                "neq" => $"{column} <> {Bound(operand)}",
                "gt" => $"{column} > {Bound(operand)}",
                "gte" => $"{column} >= {Bound(operand)}",
                "lt" => $"{column} < {Bound(operand)}",
                "lte" => $"{column} <= {Bound(operand)}",
                "like" => $"CAST({column} AS VARCHAR) LIKE {Bound(operand).Replace($" AS {type}", " AS VARCHAR")}",
                "in" when operand.StartsWith('(') && operand.EndsWith(')') =>
                    $"{column} IN ({string.Join(", ", operand[1..^1].Split(',').Select(v => Bound(v.Trim())))})",
                "is" when operand == "null" => $"{column} IS NULL",
                "not" when operand == "is.null" => $"{column} IS NOT NULL",
                _ => throw new BadRequestException($"filter '{key}={value}': write {key}=eq.value (or neq, gt, gte, lt, lte, like, in.(a,b), is.null, not.is.null)."),
            });
        }

        var order = new List<(string, bool)>();
        foreach (var part in (Get("order") ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var bits = part.Split('.');
            var descending = bits.Length == 2 && bits[1] == "desc";
            if (bits.Length > 2 || (bits.Length == 2 && bits[1] is not ("asc" or "desc")))
                throw new BadRequestException($"order '{part}': write column, column.asc or column.desc.");
            var field = Field(bits[0], "order");
            if (!IsOrderable(field.Type)) throw new BadRequestException($"order '{part}': {field.Name} is a {field.Type} column, which has no order.");
            order.Add((field.Name, descending));
        }

        int? limit = wholeByDefault ? null : DefaultLimit;
        if (Get("limit") is { } l)
        {
            if (l == "all") limit = null;
            else if (int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxLimit) limit = n;
            else throw new BadRequestException($"limit '{l}': a whole number from 1 to {MaxLimit:N0}, or all (the whole result, streamed).");
        }
        long? version = null;
        if (Get("version") is { } v)
            version = long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
                : throw new BadRequestException($"version '{v}': a table version number (see /v1/tables).");
        (string, long)? after = null;
        if (Get("next") is { } next)
        {
            var cursor = Cursor.Decode(next);
            if (version != null && version != cursor.Version) throw new BadRequestException("next: the cursor belongs to another version than ?version=.");
            if (cursor.Order != OrderText(order)) throw new BadRequestException("next: the cursor belongs to another order; keep the same order= while paging.");
            (version, after) = (cursor.Version, (cursor.File, cursor.Row));
        }
        return new TableQuery(columns, string.Join(" AND ", conditions), parameters, order, limit, version, after, filters);
    }

    private static string OrderText(IEnumerable<(string Column, bool Descending)> order) =>
        string.Join(",", order.Select(o => o.Column + (o.Descending ? ".desc" : "")));

    private static bool IsOrderable(string deltaType) => deltaType is not ("binary") && !deltaType.StartsWith('{') && !deltaType.StartsWith('[');

    /// <summary>The page's SQL over a view mounted with row identity: its <see cref="Parameters"/> come first, then
    /// (for a page after the first) the last row's file and row number twice over.</summary>
    /// <summary>Whether the rows need their identity: a page (for its next cursor) or a page after a cursor. A whole
    /// result without a cursor does not, and is read in storage order unless an order is asked for.</summary>
    public bool NeedsIdentity => Limit != null || After != null;

    public string ToSql(string view)
    {
        if (!NeedsIdentity)
        {
            var whole = $"SELECT {string.Join(", ", Columns.Select(c => "t." + Sql.Ident(c)))} FROM {view} t" + (Where.Length > 0 ? $" WHERE {Where}" : "");
            return Order.Count == 0 ? whole
                : whole + " ORDER BY " + string.Join(", ", Order.Select(o => $"t.{Sql.Ident(o.Column)} {(o.Descending ? "DESC" : "ASC")} NULLS LAST"));
        }
        var file = DuckDbEngine.FileColumn;
        var row = DuckDbEngine.RowColumn;
        var sql = new StringBuilder();
        var conditions = new List<string>();
        if (Where.Length > 0) conditions.Add(Where);
        if (After != null)
        {
            // The last row's order values, read from the same version by its identity; then "after it" in the total
            // order: greater on the first key, or equal on it and after on the next (NULLs sort last).
            sql.Append($"WITH s AS (SELECT {string.Join(", ", Order.Select(o => Sql.Ident(o.Column)).Append(file).Append(row))} FROM {view} WHERE {file} = ? AND {row} = ?) ");
            var after = $"(t.{file} > s.{file} OR (t.{file} = s.{file} AND t.{row} > s.{row}))";
            foreach (var (column, descending) in Order.Reverse())
            {
                var c = Sql.Ident(column);
                var beyond = $"(s.{c} IS NOT NULL AND (t.{c} {(descending ? "<" : ">")} s.{c} OR t.{c} IS NULL))";
                after = $"({beyond} OR (t.{c} IS NOT DISTINCT FROM s.{c} AND {after}))";
            }
            conditions.Add(after);
        }
        sql.Append($"SELECT {string.Join(", ", Columns.Select(c => "t." + Sql.Ident(c)))}, t.{file}, t.{row} FROM {view} t");
        if (After != null) sql.Append(", s");
        if (conditions.Count > 0) sql.Append(" WHERE ").Append(string.Join(" AND ", conditions.Select(c => $"({c})")));
        sql.Append(" ORDER BY ").Append(string.Join(", ", Order.Select(o => $"t.{Sql.Ident(o.Column)} {(o.Descending ? "DESC" : "ASC")} NULLS LAST")
            .Append($"t.{file}").Append($"t.{row}")));
        if (Limit is { } limit) sql.Append($" LIMIT {limit + 1}");
        return sql.ToString();
    }

    /// <summary>The values bound to <see cref="ToSql"/>'s placeholders, in order.</summary>
    public IReadOnlyList<object?> SqlParameters => After is { } a ? [a.File, a.Row, .. Parameters] : Parameters;

    /// <summary>The cursor of the page after the one whose last row is (<paramref name="file"/>, <paramref name="row"/>).</summary>
    public string NextCursor(long version, string file, long row) => Cursor.Encode(new Cursor(version, file, row, OrderText(Order)));

    /// <summary>Whether a data file can hold rows the filters keep, from its partition values alone (equality and
    /// <c>in</c> filters on partition columns of text, integer or date type); null when no filter prunes.</summary>
    public Func<AddFile, bool>? PartitionFilter(DeltaSchema schema, IReadOnlyList<string> partitionColumns)
    {
        // A filter prunes only when each of its values is written the one way the partition value would be: any other
        // spelling ("05", "2026-11-30T00:00") is left to the query, which casts it, so no file is skipped that it keeps.
        var prunable = Filters
            .Select(f => (f.Column, Type: partitionColumns.Contains(f.Column) ? schema.Find(f.Column)?.Type : null, f.Values))
            .Where(f => f.Type is "string" or "integer" or "long" or "short" or "byte" or "date" && f.Values.All(v => Canonical(f.Type, v) != null))
            .ToList();
        if (prunable.Count == 0) return null;
        return file => prunable.All(f => file.PartitionValues.GetValueOrDefault(f.Column) is { } value &&
                                         f.Values.Any(v => Canonical(f.Type!, value) is { } a && a == Canonical(f.Type!, v)));
    }

    /// <summary>A value in one spelling per type (null when it is not one of the type's plain spellings).</summary>
    private static string? Canonical(string type, string value) => type switch
    {
        "string" => value,
        "date" => DateOnly.TryParseExact(value, "yyyy-MM-dd", CultureInfo.InvariantCulture, DateTimeStyles.None, out var d) ? d.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture) : null,
        _ => long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) && n.ToString(CultureInfo.InvariantCulture) == value.TrimStart('+') ? value.TrimStart('+') : null,
    };

    private sealed record Cursor(long Version, string File, long Row, string Order)
    {
        public static string Encode(Cursor c) =>
            Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(new object[] { c.Version, c.File, c.Row, c.Order })).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        public static Cursor Decode(string text)
        {
            try
            {
                var base64 = text.Replace('-', '+').Replace('_', '/');
                using var json = JsonDocument.Parse(Convert.FromBase64String(base64.PadRight(base64.Length + (4 - base64.Length % 4) % 4, '=')));
                if (json.RootElement is { ValueKind: JsonValueKind.Array } a && a.GetArrayLength() == 4 && a[0].TryGetInt64(out var version) && version >= 0 &&
                    a[1].GetString() is { Length: > 0 } file && a[2].TryGetInt64(out var row) && row >= 0 && a[3].GetString() is { } order)
                    return new Cursor(version, file, row, order);
            }
            catch (Exception e) when (e is FormatException or JsonException or InvalidOperationException)
            {
            }
            throw new BadRequestException("next: not a cursor this server gave (take it from the previous page's 'next').");
        }
    }

    internal static string CsvField(string? value) =>
        value == null ? "" : value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;

    internal static StringBuilder CsvLine(StringBuilder line, IEnumerable<string?> values) => line.AppendJoin(',', values.Select(CsvField)).Append("\r\n");
}
