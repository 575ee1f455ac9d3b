namespace Caudal.Processing.Checks;

/// <summary>Each check as one SQL query over the model's new (not yet published) output, returning the number of rows
/// that break it (row_count and freshness return 0 or 1).</summary>
internal static class CheckSql
{
    public static string Failing(CheckSpec c, string output)
    {
        string Col(int i = 0) => Sql.Ident(c.Columns[i]);
        return c.Kind switch
        {
            "not_null" => $"SELECT count(*) FROM {output} WHERE {string.Join(" OR ", c.Columns.Select(x => $"{Sql.Ident(x)} IS NULL"))}",
            "unique" => $"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {output} GROUP BY {string.Join(", ", c.Columns.Select(Sql.Ident))} HAVING count(*) > 1)",
            "accepted_values" => $"SELECT count(*) FROM {output} WHERE {Col()} IS NOT NULL AND CAST({Col()} AS VARCHAR) NOT IN ({string.Join(", ", c.Values.Select(Sql.Literal))})",
            "range" => $"SELECT count(*) FROM {output} WHERE " + string.Join(" OR ",
                new[] { c.Min == null ? null : $"{Col()} < {c.Min}", c.Max == null ? null : $"{Col()} > {c.Max}" }.OfType<string>()),
            "relationships" => $"SELECT count(*) FROM {output} o WHERE o.{Col()} IS NOT NULL AND NOT EXISTS " +
                               $"(SELECT 1 FROM {c.To!.Value.ZoneName}.{Sql.Ident(c.To.Value.Name)} t WHERE t.{Sql.Ident(c.ToColumn!)} = o.{Col()})",
            "row_count" => $"SELECT CASE WHEN count(*) < {c.Min ?? "0"} OR count(*) > {c.Max ?? long.MaxValue.ToString()} THEN 1 ELSE 0 END FROM {output}",
            "freshness" => $"SELECT CASE WHEN max({Col()}) IS NULL OR max({Col()}) < now() - INTERVAL '{(long)c.MaxAge!.Value.TotalSeconds} seconds' THEN 1 ELSE 0 END FROM {output}",
            _ => throw new ArgumentException($"unknown check kind {c.Kind}"),
        };
    }

    public static string Message(CheckSpec c, long failing) => c.Kind switch
    {
        "not_null" => $"{failing} rows have NULL in {string.Join(" or ", c.Columns)}",
        "unique" => $"{failing} rows repeat a value of ({string.Join(", ", c.Columns)})",
        "accepted_values" => $"{failing} rows have a {c.Columns[0]} outside [{string.Join(", ", c.Values)}]",
        "range" => $"{failing} rows have {c.Columns[0]} outside [{c.Min ?? "-inf"}, {c.Max ?? "+inf"}]",
        "relationships" => $"{failing} rows have a {c.Columns[0]} missing from {c.To}.{c.ToColumn}",
        "row_count" => $"the row count is outside [{c.Min ?? "0"}, {c.Max ?? "∞"}]",
        "freshness" => $"the newest {c.Columns[0]} is older than {c.MaxAge}",
        _ => "",
    };
}
