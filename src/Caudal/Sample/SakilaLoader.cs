using System.Globalization;
using Caudal.Capture.Mysql;
using Caudal.Capture.Postgres;
using Microsoft.Data.Sqlite;
using MySqlConnector;
using Npgsql;
using NpgsqlTypes;

namespace Caudal.Sample;

/// <summary>Loads a generated Sakila (SQLite) into a real MySQL/MariaDB or PostgreSQL database with the servers' bulk
/// paths: MySqlBulkCopy (LOAD DATA LOCAL INFILE) and PostgreSQL binary COPY. The target database is created if needed;
/// the Sakila tables in it are replaced.</summary>
public static class SakilaLoader
{
    public static async Task<Dictionary<string, long>> LoadAsync(string sqlitePath, string target, CancellationToken ct = default)
    {
        using var sqlite = new SqliteConnection($"Data Source={sqlitePath};Mode=ReadOnly;Pooling=False");
        sqlite.Open();
        if (target.StartsWith("mysql://", StringComparison.Ordinal) || target.StartsWith("mariadb://", StringComparison.Ordinal))
            return await MySqlAsync(sqlite, target.Replace("mariadb://", "mysql://"), ct);
        if (target.StartsWith("postgres://", StringComparison.Ordinal) || target.StartsWith("postgresql://", StringComparison.Ordinal))
            return await PostgresAsync(sqlite, target.Replace("postgresql://", "postgres://"), ct);
        throw new ArgumentException($"--target '{target}' is not a mysql://, mariadb:// or postgres:// URL.");
    }

    private static SqliteDataReader Read(SqliteConnection sqlite, string table)
    {
        var command = sqlite.CreateCommand();
        command.CommandText = $"SELECT * FROM {table}";
        return command.ExecuteReader();
    }

    private static async Task<Dictionary<string, long>> MySqlAsync(SqliteConnection sqlite, string url, CancellationToken ct)
    {
        var builder = MySqlSource.Builder(url);
        var database = string.IsNullOrEmpty(builder.Database) ? "sakila" : builder.Database;
        builder.Database = "";
        builder.AllowLoadLocalInfile = true;
        await using var connection = new MySqlConnection(builder.ConnectionString);
        await connection.OpenAsync(ct);
        await Exec(connection, $"CREATE DATABASE IF NOT EXISTS `{database}` CHARACTER SET utf8mb4");
        await connection.ChangeDatabaseAsync(database, ct);
        await Exec(connection, "SET FOREIGN_KEY_CHECKS = 0; " + string.Join(" ", SakilaServerSchema.Tables.Select(t => $"DROP TABLE IF EXISTS {t};")));
        await Exec(connection, SakilaServerSchema.MySql);
        var counts = new Dictionary<string, long>();
        foreach (var table in SakilaServerSchema.Tables)
        {
            using var reader = Read(sqlite, table);
            var bulk = new MySqlBulkCopy(connection) { DestinationTableName = table, BulkCopyTimeout = 0 };
            for (var i = 0; i < reader.FieldCount; i++)
            {
                var column = reader.GetName(i);
                // MariaDB's geometry functions refuse LOAD DATA's blob variables: the point travels as WKT text.
                bulk.ColumnMappings.Add(table == "address" && column == "location"
                    ? new MySqlBulkCopyColumnMapping(i, "@location", "location = ST_GeomFromText(@location)")
                    : new MySqlBulkCopyColumnMapping(i, column));
            }
            var result = table == "address"
                ? await bulk.WriteToServerAsync(WithWktLocation(reader), ct)
                : await bulk.WriteToServerAsync(reader, ct);
            if (result.Warnings.Count > 0)
                throw new InvalidOperationException($"loading {table}: {string.Join("; ", result.Warnings.Select(w => w.Message))}");
            counts[table] = result.RowsInserted;
        }
        return counts;
    }

    /// <summary>The address rows with <c>location</c> as WKT (address has one row per customer: small enough to hold).</summary>
    private static System.Data.DataTable WithWktLocation(SqliteDataReader reader)
    {
        var table = new System.Data.DataTable();
        table.Load(reader);
        var wkt = new System.Data.DataColumn("location_wkt", typeof(string));
        table.Columns.Add(wkt);
        var index = table.Columns["location"]!.Ordinal;
        foreach (System.Data.DataRow row in table.Rows)
        {
            var wkb = (byte[])row["location"];
            row[wkt] = string.Create(CultureInfo.InvariantCulture, $"POINT({BitConverter.ToDouble(wkb, 5):R} {BitConverter.ToDouble(wkb, 13):R})");
        }
        table.Columns.Remove("location");
        wkt.SetOrdinal(index);
        wkt.ColumnName = "location";
        return table;
    }

    private static async Task Exec(MySqlConnection connection, string sql)
    {
        await using var command = new MySqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync();
    }

    private static async Task<Dictionary<string, long>> PostgresAsync(SqliteConnection sqlite, string url, CancellationToken ct)
    {
        var builder = PostgresSource.Builder(url);
        var database = string.IsNullOrEmpty(builder.Database) ? "sakila" : builder.Database;
        builder.Database = "postgres";
        await using (var admin = new NpgsqlConnection(builder.ConnectionString))
        {
            await admin.OpenAsync(ct);
            await using var exists = new NpgsqlCommand("SELECT count(*) FROM pg_database WHERE datname = @d", admin);
            exists.Parameters.AddWithValue("d", database);
            if ((long)(await exists.ExecuteScalarAsync(ct))! == 0)
                await using (var create = new NpgsqlCommand($"CREATE DATABASE \"{database}\"", admin)) await create.ExecuteNonQueryAsync(ct);
        }
        builder.Database = database;
        await using var connection = new NpgsqlConnection(builder.ConnectionString);
        await connection.OpenAsync(ct);
        await using (var drop = new NpgsqlCommand(string.Join(" ", SakilaServerSchema.Tables.Select(t => $"DROP TABLE IF EXISTS {t};")) +
                                                  " DROP DOMAIN IF EXISTS year; DROP TYPE IF EXISTS mpaa_rating;", connection))
            await drop.ExecuteNonQueryAsync(ct);
        await using (var ddl = new NpgsqlCommand(SakilaServerSchema.Postgres, connection)) await ddl.ExecuteNonQueryAsync(ct);
        await connection.ReloadTypesAsync(ct);

        var counts = new Dictionary<string, long>();
        foreach (var table in SakilaServerSchema.Tables)
        {
            using var reader = Read(sqlite, table);
            var columns = Enumerable.Range(0, reader.FieldCount).Select(reader.GetName).ToList();
            var types = await PostgresTypesAsync(connection, table, columns, ct);
            await using var import = await connection.BeginBinaryImportAsync($"COPY {table} ({string.Join(", ", columns)}) FROM STDIN (FORMAT BINARY)", ct);
            long n = 0;
            while (reader.Read())
            {
                await import.StartRowAsync(ct);
                for (var i = 0; i < columns.Count; i++)
                {
                    if (reader.IsDBNull(i)) await import.WriteNullAsync(ct);
                    else await WriteAsync(import, reader.GetValue(i), types[i], ct);
                }
                n++;
            }
            await import.CompleteAsync(ct);
            counts[table] = n;
        }
        return counts;
    }

    private static async Task<List<string>> PostgresTypesAsync(NpgsqlConnection connection, string table, List<string> columns, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(
            "SELECT attname, format_type(atttypid, atttypmod) FROM pg_attribute WHERE attrelid = @t::regclass AND attnum > 0", connection);
        command.Parameters.AddWithValue("t", table);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var types = new Dictionary<string, string>();
        while (await reader.ReadAsync(ct)) types[reader.GetString(0)] = reader.GetString(1);
        return columns.Select(c => types[c]).ToList();
    }

    private static Task WriteAsync(NpgsqlBinaryImporter import, object value, string type, CancellationToken ct)
    {
        string Text() => Convert.ToString(value, CultureInfo.InvariantCulture)!;
        return type switch
        {
            "integer" or "year" => import.WriteAsync(Convert.ToInt32(value, CultureInfo.InvariantCulture), NpgsqlDbType.Integer, ct),
            "smallint" => import.WriteAsync(Convert.ToInt16(value, CultureInfo.InvariantCulture), NpgsqlDbType.Smallint, ct),
            "boolean" => import.WriteAsync(Convert.ToInt64(value, CultureInfo.InvariantCulture) != 0, NpgsqlDbType.Boolean, ct),
            "timestamp without time zone" => import.WriteAsync(DateTime.ParseExact(Text(), "yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture), NpgsqlDbType.Timestamp, ct),
            "bytea" => import.WriteAsync((byte[])value, NpgsqlDbType.Bytea, ct),
            "text[]" => import.WriteAsync(Text().Split(','), NpgsqlDbType.Array | NpgsqlDbType.Text, ct),
            "mpaa_rating" => import.WriteAsync(Text(), "mpaa_rating", ct),
            _ when type.StartsWith("numeric") => import.WriteAsync(Math.Round(Convert.ToDecimal(value, CultureInfo.InvariantCulture), 2), NpgsqlDbType.Numeric, ct),
            _ when type.StartsWith("character(") => import.WriteAsync(Text(), NpgsqlDbType.Char, ct),
            _ => import.WriteAsync(Text(), NpgsqlDbType.Varchar, ct),
        };
    }
}
