using Caudal.Capture.Database;
using MySqlConnector;

namespace Caudal.Capture.Mysql;

/// <summary>MySQL/MariaDB column types → DuckDB buffer types (see docs/capture-types.md).</summary>
internal static class MySqlTypeMapping
{
    public static DatabaseColumn Map(MySqlDbColumn c)
    {
        var quoted = "`" + c.ColumnName.Replace("`", "``") + "`";
        var type = c.DataTypeName?.ToUpperInvariant() ?? "";
        string duck = c.ProviderType switch
        {
            MySqlDbType.Bool => "BOOLEAN",
            MySqlDbType.Byte => "TINYINT",
            MySqlDbType.UByte => "UTINYINT",
            MySqlDbType.Int16 => "SMALLINT",
            MySqlDbType.UInt16 => "USMALLINT",
            MySqlDbType.Int24 or MySqlDbType.Int32 => "INTEGER",
            MySqlDbType.UInt24 or MySqlDbType.UInt32 => "UINTEGER",
            MySqlDbType.Int64 => "BIGINT",
            MySqlDbType.UInt64 => "UBIGINT",
            MySqlDbType.Bit => c.ColumnSize == 1 ? "BOOLEAN" : "UBIGINT",
            MySqlDbType.Float => "FLOAT",
            MySqlDbType.Double => "DOUBLE",
            MySqlDbType.Decimal or MySqlDbType.NewDecimal when c.NumericPrecision is <= 38 and > 0 =>
                $"DECIMAL({c.NumericPrecision},{c.NumericScale ?? 0})",
            MySqlDbType.Decimal or MySqlDbType.NewDecimal => "VARCHAR",
            MySqlDbType.Year => "INTEGER",
            MySqlDbType.Date or MySqlDbType.Newdate => "DATE",
            MySqlDbType.DateTime or MySqlDbType.Timestamp => "TIMESTAMP",
            MySqlDbType.Geometry => "BLOB",
            MySqlDbType.Binary or MySqlDbType.VarBinary or MySqlDbType.TinyBlob or MySqlDbType.Blob or MySqlDbType.MediumBlob or MySqlDbType.LongBlob => "BLOB",
            _ => "VARCHAR", // CHAR, VARCHAR, TEXT, ENUM, SET, JSON, TIME, UUID, DECIMAL wider than 38 digits
        };
        var select = c.ProviderType switch
        {
            MySqlDbType.Geometry => $"ST_AsBinary({quoted}) AS {quoted}", // standard WKB, without MySQL's SRID prefix
            MySqlDbType.Time or MySqlDbType.Decimal or MySqlDbType.NewDecimal when duck == "VARCHAR" => $"CAST({quoted} AS CHAR) AS {quoted}",
            MySqlDbType.Time => $"CAST({quoted} AS CHAR) AS {quoted}",
            MySqlDbType.Guid => $"CAST({quoted} AS CHAR) AS {quoted}",
            _ => quoted,
        };
        var source = type + (c.ProviderType is MySqlDbType.UByte or MySqlDbType.UInt16 or MySqlDbType.UInt24 or MySqlDbType.UInt32 or MySqlDbType.UInt64 ? " UNSIGNED" : "");
        return new DatabaseColumn(c.ColumnName, source, duck, select);
    }
}
