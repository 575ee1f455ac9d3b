using System.Data.Common;
using Caudal.Capture.Database;
using Caudal.Spec;
using DuckDB.NET.Data;
using MySqlConnector;

namespace Caudal.Capture.Mysql;

/// <summary>Captures tables or queries from MySQL or MariaDB with MySqlConnector, streaming rows (never buffering a
/// table), in UTC (the session time zone is set to +00:00), split by primary-key ranges read in parallel.</summary>
public sealed partial class MySqlSource(SourceSpec spec) : DatabaseSource(spec)
{
    public static readonly SourceKind Kind = new("mysql", [.. Database.DatabaseOptions.Declared.Server, .. BinlogOptions.Declared.All],
        (spec, _) => new MySqlSource(spec), Incremental: true, Unbounded: Database.DatabaseOptions.Unbounded, Cdc: true);

    protected override string Quote(string identifier) => "`" + identifier.Replace("`", "``") + "`";

    public static MySqlConnectionStringBuilder Builder(string connection)
    {
        var builder = new MySqlConnectionStringBuilder();
        if (ConnectionUrl.IsUrl(connection))
        {
            var (host, port, user, password, database) = ConnectionUrl.Parse(connection);
            builder.Server = host;
            if (port != null) builder.Port = (uint)port;
            if (user != null) builder.UserID = user;
            if (password != null) builder.Password = password;
            if (database != null) builder.Database = database;
        }
        else builder.ConnectionString = connection;
        builder.ConvertZeroDateTime = true; // '0000-00-00' becomes NULL below, not an exception
        builder.DefaultCommandTimeout = 0; // long reads are expected; cancellation stops them
        builder.IgnorePrepare = false;
        builder.Pooling = false;
        return builder;
    }

    protected override async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new MySqlConnection(Builder(ConnectionString).ConnectionString);
        await connection.OpenAsync(ct);
        await using var command = new MySqlCommand("SET time_zone = '+00:00'", connection);
        await command.ExecuteNonQueryAsync(ct);
        return connection;
    }

    protected override string ListTablesSql =>
        "SELECT table_name FROM information_schema.tables WHERE table_schema = DATABASE() AND table_type = 'BASE TABLE' ORDER BY table_name";

    protected override string PrimaryKeySql =>
        "SELECT column_name FROM information_schema.key_column_usage WHERE table_schema = DATABASE() AND table_name = @t " +
        "AND constraint_name = 'PRIMARY' ORDER BY ordinal_position";

    protected override async Task<List<DatabaseColumn>> ColumnsAsync(DbConnection connection, string from, CancellationToken ct)
    {
        await using var command = new MySqlCommand($"SELECT * FROM {from} LIMIT 0", (MySqlConnection)connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        return reader.GetColumnSchema().Cast<MySqlDbColumn>().Select(MySqlTypeMapping.Map).ToList();
    }

    protected override async Task ReadAsync(DbConnection connection, string sql, IReadOnlyList<(string Name, object Value)> parameters,
        DatabaseRead read, IRowWriter writer, Action<long>? cursorSeen, CancellationToken ct)
    {
        await using var command = new MySqlCommand(sql, (MySqlConnection)connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue("@" + name, value);
        await command.PrepareAsync(ct); // server-side prepared: rows arrive in the binary protocol, cheaper to decode
        await using var reader = await command.ExecuteReaderAsync(ct);
        var columns = read.Columns;
        var converters = columns.Select(c => Converter(c.DuckType)).ToArray();
        var cursorIndex = read.Cursor == null || cursorSeen == null ? -1 : columns.ToList().IndexOf(read.Cursor);
        var cursorIsTime = cursorIndex >= 0 && Watermark.IsTime(read.Cursor!.DuckType);
        // Read() rather than ReadAsync(): rows arrive in buffered packets, and the per-row async machinery cost ~10% of
        // the capture's CPU (measured with the mysql bench). The range runs on its own pool thread either way.
        for (var n = 0L; reader.Read(); n++)
        {
            if ((n & 0xFFFF) == 0) ct.ThrowIfCancellationRequested();
            var row = writer.BeginRow();
            for (var i = 0; i < converters.Length; i++)
            {
                if (reader.IsDBNull(i)) row.AppendNullValue();
                else converters[i](row, reader, i);
            }
            writer.EndRow(row);
            if (cursorIndex >= 0 && !reader.IsDBNull(cursorIndex))
                cursorSeen!(cursorIsTime ? Watermark.FromTime(DateTime.SpecifyKind(reader.GetDateTime(cursorIndex), DateTimeKind.Utc)) : reader.GetInt64(cursorIndex));
        }
    }

    protected override async Task ReadKeysAsync(DbConnection connection, string sql, IReadOnlyList<(string Name, object Value)> parameters,
        DatabaseColumn column, Action<long> key, CancellationToken ct)
    {
        await using var command = new MySqlCommand(sql, (MySqlConnection)connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue("@" + name, value);
        await command.PrepareAsync(ct);
        await using var reader = await command.ExecuteReaderAsync(ct);
        for (var n = 0L; reader.Read(); n++)
        {
            if ((n & 0xFFFF) == 0) ct.ThrowIfCancellationRequested();
            key(reader.GetInt64(0));
        }
    }

    private static Action<IDuckDBAppenderRow, MySqlDataReader, int> Converter(string duckType) => duckType switch
    {
        "BOOLEAN" => (row, r, i) => row.AppendValue(r.GetBoolean(i)),
        "TINYINT" => (row, r, i) => row.AppendValue(r.GetSByte(i)),
        "UTINYINT" => (row, r, i) => row.AppendValue(r.GetByte(i)),
        "SMALLINT" => (row, r, i) => row.AppendValue(r.GetInt16(i)),
        "USMALLINT" => (row, r, i) => row.AppendValue(r.GetUInt16(i)),
        "INTEGER" => (row, r, i) => row.AppendValue(r.GetInt32(i)),
        "UINTEGER" => (row, r, i) => row.AppendValue(r.GetUInt32(i)),
        "BIGINT" => (row, r, i) => row.AppendValue(r.GetInt64(i)),
        "UBIGINT" => (row, r, i) => row.AppendValue(r.GetUInt64(i)),
        "FLOAT" => (row, r, i) => row.AppendValue(r.GetFloat(i)),
        "DOUBLE" => (row, r, i) => row.AppendValue(r.GetDouble(i)),
        "DATE" => (row, r, i) =>
        {
            var d = r.GetDateTime(i);
            if (d == DateTime.MinValue) row.AppendNullValue(); // MySQL's zero date, as for DATETIME
            else row.AppendValue(DateOnly.FromDateTime(d));
        }
        ,
        "TIMESTAMP" => (row, r, i) =>
        {
            var t = r.GetDateTime(i);
            if (t == DateTime.MinValue) row.AppendNullValue(); // MySQL's zero date
            else row.AppendValue(t);
        }
        ,
        "BLOB" => (row, r, i) => row.AppendValue((byte[])r.GetValue(i)),
        _ when duckType.StartsWith("DECIMAL") => (row, r, i) => row.AppendValue(r.GetDecimal(i)),
        _ => (row, r, i) => row.AppendValue(r.GetValue(i) switch
        {
            string s => s,
            byte[] b => System.Text.Encoding.UTF8.GetString(b),
            var v => Convert.ToString(v, System.Globalization.CultureInfo.InvariantCulture),
        }),
    };

    protected override bool IsTransient(Exception e) => e switch
    {
        MySqlException m => m.IsTransient || m.ErrorCode is MySqlErrorCode.UnableToConnectToHost or MySqlErrorCode.QueryInterrupted
            || m.Number is 2013 or 2006 or 1927 || m.InnerException is IOException or EndOfStreamException,
        IOException or EndOfStreamException => true,
        _ => false,
    };
}
