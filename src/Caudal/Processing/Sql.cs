namespace Caudal;

/// <summary>Quoting for SQL text built by Caudal (DuckDB dialect).</summary>
internal static class Sql
{
    /// <summary>Escapes a value for use inside single quotes.</summary>
    public static string Escape(string value) => value.Replace("'", "''");

    public static string Literal(string value) => "'" + Escape(value) + "'";

    /// <summary>A string that is the same in every row of a write (a run id, a source file), typed as an ENUM of that one
    /// value. In Parquet it is the same UTF8 column with the same dictionary and statistics as a VARCHAR, but DuckDB's
    /// writer takes the dictionary from the type instead of hashing every row's string: the raw zone's lineage columns
    /// cost DuckDB's writer about 0.01 instead of 0.04 µs per row (5M rows, DuckDB alone; docs/benchmarks.md). See
    /// <see cref="Processing.Engine.DeltaTypes.SafeCast"/>.</summary>
    public static string Constant(string value) => $"CAST({Literal(value)} AS ENUM({Literal(value)}))";

    public static string Ident(string name) => "\"" + name.Replace("\"", "\"\"") + "\"";
}
