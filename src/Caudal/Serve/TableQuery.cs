using System.Globalization;
using System.Text;
using System.Text.Json;
using Caudal.Lake.Delta;
using Caudal.Processing;
using Caudal.Processing.Engine;

namespace Caudal.Serve;

/// <summary>A request's query string is wrong: the message says which parameter and how to fix it (HTTP 400).</summary>
public sealed class BadRequestException(string message) : Exception(message);

/// <summary>
/// The rows a table request asks for, as parameterised SQL over the mounted snapshot: <c>columns=a,b</c>, filters
/// PostgREST-style (<c>col=eq.x</c>, neq, gt, gte, lt, lte, <c>in.(a,b)</c>, like, <c>is.null</c>,
/// <c>not.is.null</c>; values are bound, never spliced), <c>order=col.desc,col2</c>, <c>limit</c> (default 100, at most
/// 10,000; <c>limit=all</c> streams the whole result, the default for Parquet and Arrow) and <c>next</c>, an opaque cursor bound to the snapshot version the first page read, so every page comes
/// from the same version. Rows are in a total order (the requested columns, then every column), so pages neither
/// repeat nor skip a row.
/// </summary>
public sealed record TableQuery(IReadOnlyList<string> Columns, string Where, IReadOnlyList<object?> Parameters, string OrderBy, int? Limit, long Offset, long? Version)
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
        foreach (var (key, value) in pairs.Where(p => !Reserved.Contains(p.Key)))
        {
            var field = Field(key, $"filter '{key}'");
            var column = Sql.Ident(field.Name);
            var type = DeltaTypes.ToDuck(field.Type);
            string Bound(string text)
            {
                parameters.Add(text);
                return $"CAST(? AS {type})";
            }
            var (op, operand) = value.IndexOf('.') is var dot and > 0 ? (value[..dot], value[(dot + 1)..]) : (value, "");
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

        var order = new List<string>();
        foreach (var part in (Get("order") ?? "").Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var bits = part.Split('.');
            var descending = bits.Length == 2 && bits[1] == "desc";
            if (bits.Length > 2 || (bits.Length == 2 && bits[1] is not ("asc" or "desc")))
                throw new BadRequestException($"order '{part}': write column, column.asc or column.desc.");
            order.Add($"{Sql.Ident(Field(bits[0], "order").Name)} {(descending ? "DESC" : "ASC")} NULLS LAST");
        }
        // Then every column: a total order (identical rows are interchangeable), so offsets within one version are exact.
        order.AddRange(schema.Fields.Where(f => IsOrderable(f.Type)).Select(f => $"{Sql.Ident(f.Name)} ASC NULLS LAST"));

        int? limit = wholeByDefault ? null : DefaultLimit;
        if (Get("limit") is { } l)
        {
            if (l == "all") limit = null;
            else if (int.TryParse(l, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n is >= 1 and <= MaxLimit) limit = n;
            else throw new BadRequestException($"limit '{l}': a whole number from 1 to {MaxLimit:N0}, or all (the whole result, streamed).");
        }
        long offset = 0;
        long? version = null;
        if (Get("version") is { } v)
            version = long.TryParse(v, NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
                : throw new BadRequestException($"version '{v}': a table version number (see /v1/tables).");
        if (Get("next") is { } next)
        {
            var cursor = Cursor.Decode(next);
            if (version != null && version != cursor.Version) throw new BadRequestException("next: the cursor belongs to another version than ?version=.");
            (offset, version) = (cursor.Offset, cursor.Version);
        }
        return new TableQuery(columns, conditions.Count == 0 ? "" : " WHERE " + string.Join(" AND ", conditions), parameters,
            " ORDER BY " + string.Join(", ", order), limit, offset, version);
    }

    private static bool IsOrderable(string deltaType) => deltaType is not ("binary") && !deltaType.StartsWith('{') && !deltaType.StartsWith('[');

    public string ToSql(string view) =>
        $"SELECT {string.Join(", ", Columns.Select(Sql.Ident))} FROM {view}{Where}{OrderBy}" +
        (Limit is { } limit ? $" LIMIT {limit + 1}" : "") + (Offset > 0 ? $" OFFSET {Offset}" : "");

    /// <summary>The cursor of the page after this one (read from <paramref name="version"/>).</summary>
    public string NextCursor(long version) => Cursor.Encode(new Cursor(version, Offset + (Limit ?? 0)));

    private sealed record Cursor(long Version, long Offset)
    {
        public static string Encode(Cursor c) => Convert.ToBase64String(JsonSerializer.SerializeToUtf8Bytes(new[] { c.Version, c.Offset })).TrimEnd('=').Replace('+', '-').Replace('/', '_');

        public static Cursor Decode(string text)
        {
            try
            {
                var base64 = text.Replace('-', '+').Replace('_', '/');
                var values = JsonSerializer.Deserialize<long[]>(Convert.FromBase64String(base64.PadRight(base64.Length + (4 - base64.Length % 4) % 4, '=')));
                if (values is [>= 0 and var version, >= 0 and var offset]) return new Cursor(version, offset);
            }
            catch (Exception e) when (e is FormatException or JsonException)
            {
            }
            throw new BadRequestException("next: not a cursor this server gave (take it from the previous page's 'next').");
        }
    }

    internal static string CsvField(string? value) =>
        value == null ? "" : value.IndexOfAny([',', '"', '\n', '\r']) >= 0 ? "\"" + value.Replace("\"", "\"\"") + "\"" : value;

    internal static StringBuilder CsvLine(StringBuilder line, IEnumerable<string?> values) => line.AppendJoin(',', values.Select(CsvField)).Append("\r\n");
}
