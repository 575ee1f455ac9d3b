using System.Text;
using Caudal.Lake;
using Caudal.Lake.Delta;

namespace Caudal.Processing.Spark;

/// <summary>What a model's SQL and the lake's tables become on Spark.</summary>
public static class SparkSql
{
    /// <summary>The temporary view a lake table is on Spark: views cannot be qualified there, so
    /// <c>trusted.rentals</c> is <c>trusted__rentals</c>.</summary>
    public static string ViewName(TableId id) => $"{id.ZoneName}__{id.Name}";

    /// <summary>The model's SQL with each <c>zone.name</c> of <paramref name="tables"/> written as its view name and
    /// comments dropped (a ';' in a comment ends a statement for some spark-sql versions); string literals and quoted
    /// identifiers are left as they are.</summary>
    public static string Rewrite(string sql, IEnumerable<TableId> tables)
    {
        var names = tables.ToDictionary(t => t.ToString(), ViewName, StringComparer.OrdinalIgnoreCase);
        var result = new StringBuilder(sql.Length);
        for (var i = 0; i < sql.Length;)
        {
            var c = sql[i];
            if (c is '\'' or '"' or '`')
            {
                var end = sql.IndexOf(c, i + 1);
                while (end > 0 && end + 1 < sql.Length && sql[end + 1] == c) end = sql.IndexOf(c, end + 2); // doubled quote
                end = end < 0 ? sql.Length : end + 1;
                result.Append(sql, i, end - i);
                i = end;
            }
            else if (c == '-' && i + 1 < sql.Length && sql[i + 1] == '-')
            {
                var end = sql.IndexOf('\n', i);
                i = end < 0 ? sql.Length : end; // the newline stays
            }
            else if (c == '/' && i + 1 < sql.Length && sql[i + 1] == '*')
            {
                var end = sql.IndexOf("*/", i + 2, StringComparison.Ordinal);
                i = end < 0 ? sql.Length : end + 2;
                result.Append(' ');
            }
            else if (char.IsLetter(c) || c == '_')
            {
                var start = i;
                while (i < sql.Length && (char.IsLetterOrDigit(sql[i]) || sql[i] is '_' or '.')) i++;
                var word = sql[start..i];
                // A qualified name preceded by a dot (alias.column) is not a table.
                var table = start > 0 && sql[start - 1] == '.' ? null : names.GetValueOrDefault(word);
                result.Append(table ?? word);
            }
            else
            {
                result.Append(c);
                i++;
            }
        }
        return result.ToString();
    }

    /// <summary>A Delta schema as Spark DDL (<c>id BIGINT, name STRING, day DATE</c>), given to Spark as the files'
    /// schema so partition columns and old files missing a column read with the table's types.</summary>
    public static string Ddl(DeltaSchema schema) =>
        string.Join(", ", schema.Fields.Select(f => $"`{f.Name.Replace("`", "``", StringComparison.Ordinal)}` {Catalog.HiveTypes.Of(f.Type)}"));

    /// <summary>A SELECT of no rows with <paramref name="schema"/>'s columns: the view of an empty table (Spark cannot
    /// read zero files).</summary>
    public static string EmptySelect(DeltaSchema schema) =>
        "SELECT " + string.Join(", ", schema.Fields.Select(f => $"CAST(NULL AS {Catalog.HiveTypes.Of(f.Type)}) AS `{f.Name.Replace("`", "``", StringComparison.Ordinal)}`")) + " WHERE 1 = 0";

    /// <summary>The URI a cluster reads a lake key at (<c>s3a://bucket/prefix/key</c>).</summary>
    public static string Uri(LakeLocation lake, string key) =>
        "s3a://" + lake.Uri["s3://".Length..].TrimEnd('/') + "/" + key.TrimStart('/');
}
