using Caudal.Processing.Spark;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Spark;

/// <summary>The lint that keeps models in the SQL DuckDB and Spark read alike, and the quickstart within it.</summary>
public sealed class PortableSqlTests
{
    [Theory]
    [InlineData("SELECT * FROM t\nQUALIFY row_number() OVER (PARTITION BY k ORDER BY v DESC) = 1", 2, 1, "QUALIFY is DuckDB's", "WHERE rn = 1")]
    [InlineData("SELECT * EXCLUDE (a) FROM t", 1, 8, "* EXCLUDE / REPLACE / RENAME are DuckDB's", "list the columns")]
    [InlineData("SELECT\n  strftime(d, '%Y') AS y FROM t", 2, 3, "strftime() is DuckDB's", "year()")]
    [InlineData("SELECT quantile_cont(x, 0.5) FROM t", 1, 8, "quantile_cont() is DuckDB's", "percentile_cont(p) WITHIN GROUP")]
    [InlineData("SELECT arg_max(a, b) FROM t", 1, 8, "arg_max() is DuckDB's", "max_by(value, key)")]
    [InlineData("SELECT a::INTEGER FROM t", 1, 9, "x::TYPE is DuckDB's cast", "CAST(x AS TYPE)")]
    [InlineData("SELECT \"Weird Col\" FROM t", 1, 8, "a double-quoted name is a string on Spark", "unquoted")]
    [InlineData("SELECT a FROM t ORDER BY a", 1, 26, "NULLs last on DuckDB and first on Spark", "ASC NULLS LAST")]
    [InlineData("SELECT row_number() OVER (ORDER BY a ASC) FROM t", 1, 36, "NULLs last on DuckDB and first on Spark", "NULLS FIRST")]
    [InlineData("SELECT list_transform(xs, x -> x + 1) FROM t", 1, 29, "lambdas are DuckDB's", "one row per value")]
    [InlineData("SELECT * FROM read_parquet('x.parquet')", 1, 15, "read_parquet() is DuckDB's", "zone.name")]
    public void Each_duckdb_only_construct_is_named_at_its_place(string sql, int line, int column, string problem, string portable)
    {
        var found = PortableSql.Check(sql, "models/m.sql");
        var hit = found.FirstOrDefault(p => p.Problem.Contains(problem));
        Assert.True(hit != null, $"not found: {problem}; found: {string.Join(" | ", found)}");
        Assert.Equal(new SpecPosition("models/m.sql", line, column), hit.Position);
        Assert.Contains(portable, hit.Portable);
    }

    [Theory]
    [InlineData("SELECT a, CAST(b AS BIGINT) AS b FROM trusted.t WHERE c = 'x::y \"q\"' -- a::b \"c\"\nORDER BY a ASC NULLS LAST, b DESC")]
    [InlineData("SELECT k, percentile_cont(0.5) WITHIN GROUP (ORDER BY v) AS median, max_by(a, b), count(*) FILTER (WHERE v > 0) FROM t GROUP BY ALL")]
    [InlineData("WITH x AS (SELECT *, row_number() OVER (PARTITION BY k ORDER BY v DESC) AS rn FROM t) SELECT k FROM x WHERE rn = 1")]
    [InlineData("SELECT split_part(s, ';', n.i) FROM t CROSS JOIN (VALUES (1), (2)) AS n(i) WHERE s IS NOT NULL")]
    public void Portable_sql_passes(string sql) => Assert.Empty(PortableSql.Check(sql, "m.sql"));

    [Fact]
    public void The_quickstart_models_are_portable_to_spark()
    {
        using var qs = new Quickstart(scale: 0.01);
        Assert.Empty(PortableSql.Check(SpecLoader.Load(qs.SpecPath), all: true));
    }

    [Fact]
    public async Task Validate_with_engine_spark_names_each_place_and_exits_2()
    {
        using var qs = new Quickstart(scale: 0.01);
        File.WriteAllText(Path.Combine(qs.Folder, "models", "refined", "stats_country_global.sql"),
            "SELECT indicator, quantile_cont(obs_value, 0.5) AS m\nFROM trusted.wb_observations\nGROUP BY indicator\nQUALIFY m > 0");
        var result = await CliProcess.RunAsync(qs.Folder, "validate", "--engine", "spark");
        Assert.Equal(2, result.ExitCode);
        Assert.Contains("models/refined/stats_country_global.sql:1:19: quantile_cont() is DuckDB's; portable: percentile_cont(p) WITHIN GROUP (ORDER BY x)", result.Stderr);
        Assert.Contains("models/refined/stats_country_global.sql:4:1: QUALIFY is DuckDB's", result.Stderr);
        Assert.Equal(0, (await CliProcess.RunAsync(qs.Folder, "validate")).ExitCode); // on DuckDB the same models are fine
    }
}
