using Caudal.Capture.Database;
using Npgsql.PostgresTypes;
using Npgsql.Schema;
using NpgsqlTypes;

namespace Caudal.Capture.Postgres;

/// <summary>PostgreSQL column types → DuckDB buffer types and the NpgsqlDbType used to read them from binary COPY
/// (see docs/capture-types.md). Types without a binary reader here (enums, intervals, geometry, tsvector…) are
/// selected as text.</summary>
internal static class PostgresTypeMapping
{
    public sealed record Mapped(DatabaseColumn Column, NpgsqlDbType ReadAs);

    public static Mapped Map(NpgsqlDbColumn c)
    {
        var quoted = "\"" + c.ColumnName.Replace("\"", "\"\"") + "\"";
        var pgType = c.PostgresType is PostgresDomainType domain ? domain.BaseType : c.PostgresType;
        var name = pgType?.Name ?? c.DataTypeName;
        var source = c.PostgresType is PostgresDomainType d ? $"{d.Name} (domain over {name})" : c.DataTypeName;

        Mapped As(string duck, NpgsqlDbType read, string? select = null) =>
            new(new DatabaseColumn(c.ColumnName, source, duck, select ?? quoted), read);
        Mapped Text() => As("VARCHAR", NpgsqlDbType.Text, $"{quoted}::text AS {quoted}");

        if (pgType is PostgresArrayType array)
        {
            return array.Element.Name switch
            {
                "smallint" or "integer" or "bigint" => As("BIGINT[]", NpgsqlDbType.Array | NpgsqlDbType.Bigint, $"{quoted}::bigint[] AS {quoted}"),
                "real" or "double precision" => As("DOUBLE[]", NpgsqlDbType.Array | NpgsqlDbType.Double, $"{quoted}::float8[] AS {quoted}"),
                "boolean" => As("BOOLEAN[]", NpgsqlDbType.Array | NpgsqlDbType.Boolean),
                _ => As("VARCHAR[]", NpgsqlDbType.Array | NpgsqlDbType.Text, $"{quoted}::text[] AS {quoted}"),
            };
        }
        return name switch
        {
            "boolean" => As("BOOLEAN", NpgsqlDbType.Boolean),
            "smallint" => As("SMALLINT", NpgsqlDbType.Smallint),
            "integer" => As("INTEGER", NpgsqlDbType.Integer),
            "bigint" => As("BIGINT", NpgsqlDbType.Bigint),
            "real" => As("FLOAT", NpgsqlDbType.Real),
            "double precision" => As("DOUBLE", NpgsqlDbType.Double),
            "numeric" when c.NumericPrecision is > 0 and <= 38 =>
                As($"DECIMAL({c.NumericPrecision},{c.NumericScale ?? 0})", NpgsqlDbType.Numeric),
            "text" => As("VARCHAR", NpgsqlDbType.Text),
            "character varying" => As("VARCHAR", NpgsqlDbType.Varchar),
            "character" => As("VARCHAR", NpgsqlDbType.Char), // read as stored: CHAR(n) keeps its padding
            "name" or "citext" => Text(),
            "date" => As("DATE", NpgsqlDbType.Date),
            "timestamp without time zone" => As("TIMESTAMP", NpgsqlDbType.Timestamp),
            "timestamp with time zone" => As("TIMESTAMP", NpgsqlDbType.TimestampTz), // the UTC instant
            "bytea" => As("BLOB", NpgsqlDbType.Bytea),
            _ => Text(), // numeric without precision, uuid, json(b), enums, time, interval, money, inet, tsvector, geometry…
        };
    }
}
