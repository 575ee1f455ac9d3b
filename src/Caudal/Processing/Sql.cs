namespace Caudal;

/// <summary>Quoting for SQL text built by Caudal (DuckDB dialect).</summary>
internal static class Sql
{
    /// <summary>Escapes a value for use inside single quotes.</summary>
    public static string Escape(string value) => value.Replace("'", "''");

    public static string Literal(string value) => "'" + Escape(value) + "'";

    public static string Ident(string name) => "\"" + name.Replace("\"", "\"\"") + "\"";
}
