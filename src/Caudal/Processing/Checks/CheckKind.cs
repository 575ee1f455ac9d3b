
namespace Caudal.Processing.Checks;

/// <summary>
/// A kind of data-quality check, declared once: its name, the settings it takes (none: it takes a list of columns),
/// how to write it (for messages), the SQL that counts the rows breaking it over the model's new (not yet published)
/// output, and how to say what it found. A new check kind is one entry in <see cref="CheckKinds.All"/>.
/// </summary>
public sealed record CheckKind(string Name, IReadOnlyList<string>? Settings, string Example, Func<CheckSpec, string, string> Failing,
    Func<CheckSpec, long, string> Message)
{
    /// <summary>Takes a list of columns (<c>not_null: [id]</c>) rather than a mapping of settings.</summary>
    public bool TakesColumns => Settings == null;
}

public static class CheckKinds
{
    private static string Col(CheckSpec c, int i = 0) => Sql.Ident(c.Columns[i]);

    public static readonly IReadOnlyDictionary<string, CheckKind> All = new CheckKind[]
    {
        new("not_null", null, "not_null: [id]",
            (c, output) => $"SELECT count(*) FROM {output} WHERE {string.Join(" OR ", c.Columns.Select(x => $"{Sql.Ident(x)} IS NULL"))}",
            (c, failing) => $"{failing} rows have NULL in {string.Join(" or ", c.Columns)}"),
        new("unique", null, "unique: [id]",
            (c, output) => $"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {output} GROUP BY {string.Join(", ", c.Columns.Select(Sql.Ident))} HAVING count(*) > 1)",
            (c, failing) => $"{failing} rows repeat a value of ({string.Join(", ", c.Columns)})"),
        new("accepted_values", ["column", "values"], "accepted_values: {column: rating, values: [G, PG]}",
            (c, output) => $"SELECT count(*) FROM {output} WHERE {Col(c)} IS NOT NULL AND CAST({Col(c)} AS VARCHAR) NOT IN ({string.Join(", ", c.Values.Select(Sql.Literal))})",
            (c, failing) => $"{failing} rows have a {c.Columns[0]} outside [{string.Join(", ", c.Values)}]"),
        new("range", ["column", "min", "max"], "range: {column: amount, min: 0, max: 100}",
            (c, output) => $"SELECT count(*) FROM {output} WHERE " + string.Join(" OR ",
                new[] { c.Min == null ? null : $"{Col(c)} < {c.Min}", c.Max == null ? null : $"{Col(c)} > {c.Max}" }.OfType<string>()),
            (c, failing) => $"{failing} rows have {c.Columns[0]} outside [{c.Min ?? "-inf"}, {c.Max ?? "+inf"}]"),
        new("relationships", ["column", "to", "field"], "relationships: {column: customer_id, to: trusted.customers, field: customer_id}",
            (c, output) => $"SELECT count(*) FROM {output} o WHERE o.{Col(c)} IS NOT NULL AND NOT EXISTS " +
                           $"(SELECT 1 FROM {c.To!.Value.ZoneName}.{Sql.Ident(c.To.Value.Name)} t WHERE t.{Sql.Ident(c.ToColumn!)} = o.{Col(c)})",
            (c, failing) => $"{failing} rows have a {c.Columns[0]} missing from {c.To}.{c.ToColumn}"),
        new("row_count", ["min", "max"], "row_count: {min: 1}",
            (c, output) => $"SELECT CASE WHEN count(*) < {c.Min ?? "0"} OR count(*) > {c.Max ?? long.MaxValue.ToString()} THEN 1 ELSE 0 END FROM {output}",
            (c, _) => $"the row count is outside [{c.Min ?? "0"}, {c.Max ?? "∞"}]"),
        new("freshness", ["column", "max_age"], "freshness: {column: updated_at, max_age: 2d}",
            (c, output) => $"SELECT CASE WHEN max({Col(c)}) IS NULL OR max({Col(c)}) < now() - INTERVAL '{(long)c.MaxAge!.Value.TotalSeconds} seconds' THEN 1 ELSE 0 END FROM {output}",
            (c, _) => $"the newest {c.Columns[0]} is older than {c.MaxAge}"),
    }.ToDictionary(k => k.Name);

    /// <summary>The SQL counting the rows of <paramref name="output"/> that break <paramref name="check"/> (row_count and
    /// freshness return 0 or 1).</summary>
    public static string Failing(CheckSpec check, string output) => All[check.Kind].Failing(check, output);

    public static string Message(CheckSpec check, long failing) => All[check.Kind].Message(check, failing);
}
