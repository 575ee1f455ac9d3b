using System.Data.Common;
using System.Globalization;
using Caudal.Capture.Database;
using Caudal.Spec;
using DuckDB.NET.Data;
using Npgsql;
using Npgsql.Schema;
using NpgsqlTypes;

namespace Caudal.Capture.Postgres;

/// <summary>Captures tables or queries from PostgreSQL through the binary COPY protocol (Npgsql), in UTC, split by
/// primary-key ranges read in parallel.</summary>
public sealed partial class PostgresSource(SourceSpec spec, string folder) : DatabaseSource(spec)
{
    public static readonly SourceKind Kind = new("postgres", [.. Database.DatabaseOptions.Declared.Server, .. ChangeOptions.Declared.All],
        (spec, folder) => new PostgresSource(spec, folder), Incremental: true, Unbounded: Database.DatabaseOptions.Unbounded, Cdc: true);

    private readonly Dictionary<string, NpgsqlDbType> _readAs = [];

    protected override string Quote(string identifier) =>
        string.Join(".", identifier.Split('.').Select(p => "\"" + p.Replace("\"", "\"\"") + "\""));

    public static NpgsqlConnectionStringBuilder Builder(string connection)
    {
        var builder = new NpgsqlConnectionStringBuilder();
        if (ConnectionUrl.IsUrl(connection))
        {
            var (host, port, user, password, database) = ConnectionUrl.Parse(connection);
            builder.Host = host;
            if (port != null) builder.Port = port.Value;
            if (user != null) builder.Username = user;
            if (password != null) builder.Password = password;
            if (database != null) builder.Database = database;
        }
        else builder.ConnectionString = connection;
        builder.Timezone = "UTC";
        builder.CommandTimeout = 0;
        builder.Pooling = false;
        return builder;
    }

    protected override async Task<DbConnection> OpenAsync(CancellationToken ct)
    {
        var connection = new NpgsqlConnection(Builder(ConnectionString).ConnectionString);
        await connection.OpenAsync(ct);
        return connection;
    }

    protected override string ListTablesSql =>
        "SELECT table_name FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name";

    protected override string PrimaryKeySql =>
        "SELECT a.attname::text FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) " +
        "WHERE i.indrelid = @t::regclass AND i.indisprimary ORDER BY array_position(i.indkey, a.attnum)";

    protected override string KeyParameter(string table) => Quote(table);

    protected override async Task<List<DatabaseColumn>> ColumnsAsync(DbConnection connection, string from, CancellationToken ct)
    {
        List<PostgresTypeMapping.Mapped> mapped;
        await using (var command = new NpgsqlCommand($"SELECT * FROM {from} LIMIT 0", (NpgsqlConnection)connection))
        await using (var reader = await command.ExecuteReaderAsync(ct))
            mapped = (await reader.GetColumnSchemaAsync(ct)).Cast<NpgsqlDbColumn>().Select(PostgresTypeMapping.Map).ToList();
        lock (_readAs)
            foreach (var m in mapped) _readAs[m.Column.Name] = m.ReadAs;
        return mapped.Select(m => m.Column).ToList();
    }

    protected override async Task ReadAsync(DbConnection connection, string sql, IReadOnlyList<(string Name, object Value)> parameters,
        DatabaseRead read, IRowWriter writer, Action<long>? cursorSeen, CancellationToken ct)
    {
        sql = Inline(sql, parameters);
        var columns = read.Columns;
        NpgsqlDbType[] readAs;
        lock (_readAs) readAs = columns.Select(c => _readAs[c.Name]).ToArray();
        var cursorIndex = read.Cursor == null || cursorSeen == null ? -1 : columns.ToList().IndexOf(read.Cursor);
        await using var export = await ((NpgsqlConnection)connection).BeginBinaryExportAsync($"COPY ({sql}) TO STDOUT (FORMAT BINARY)", ct);
        while (export.StartRow() != -1)
        {
            var row = writer.BeginRow();
            for (var i = 0; i < readAs.Length; i++)
            {
                if (export.IsNull)
                {
                    export.Skip();
                    row.AppendNullValue();
                    continue;
                }
                if (i == cursorIndex) cursorSeen!(Append(row, export, readAs[i], asCursor: true));
                else Append(row, export, readAs[i], asCursor: false);
            }
            writer.EndRow(row);
            if (writer.Rows % 65536 == 0) ct.ThrowIfCancellationRequested();
        }
    }

    protected override async Task ReadKeysAsync(DbConnection connection, string sql, IReadOnlyList<(string Name, object Value)> parameters,
        DatabaseColumn column, Action<long> key, CancellationToken ct)
    {
        sql = Inline(sql, parameters);
        NpgsqlDbType type;
        lock (_readAs) type = _readAs[column.Name];
        await using var export = await ((NpgsqlConnection)connection).BeginBinaryExportAsync($"COPY ({sql}) TO STDOUT (FORMAT BINARY)", ct);
        for (var n = 0L; export.StartRow() != -1; n++)
        {
            if ((n & 0xFFFF) == 0) ct.ThrowIfCancellationRequested();
            key(type switch
            {
                NpgsqlDbType.Smallint => export.Read<short>(type),
                NpgsqlDbType.Integer => export.Read<int>(type),
                _ => export.Read<long>(type),
            });
        }
    }

    /// <summary>Appends one value; returns it as a watermark number when asked and it can be a cursor (integers and times).</summary>
    private static long Append(IDuckDBAppenderRow row, NpgsqlBinaryExporter export, NpgsqlDbType type, bool asCursor)
    {
        switch (type)
        {
            case NpgsqlDbType.Boolean: row.AppendValue(export.Read<bool>(type)); return 0;
            case NpgsqlDbType.Smallint: var s = export.Read<short>(type); row.AppendValue(s); return s;
            case NpgsqlDbType.Integer: var n = export.Read<int>(type); row.AppendValue(n); return n;
            case NpgsqlDbType.Bigint: var l = export.Read<long>(type); row.AppendValue(l); return l;
            case NpgsqlDbType.Real: row.AppendValue(export.Read<float>(type)); return 0;
            case NpgsqlDbType.Double: row.AppendValue(export.Read<double>(type)); return 0;
            case NpgsqlDbType.Numeric: row.AppendValue(export.Read<decimal>(type)); return 0;
            case NpgsqlDbType.Date:
                var d = export.Read<DateOnly>(type);
                row.AppendValue(d);
                return asCursor ? Watermark.FromTime(d.ToDateTime(TimeOnly.MinValue, DateTimeKind.Utc)) : 0;
            case NpgsqlDbType.Timestamp or NpgsqlDbType.TimestampTz:
                var t = DateTime.SpecifyKind(export.Read<DateTime>(type), DateTimeKind.Utc);
                row.AppendValue(t);
                return asCursor ? Watermark.FromTime(t) : 0;
            case NpgsqlDbType.Bytea: row.AppendValue(export.Read<byte[]>(type)); return 0;
            case NpgsqlDbType.Array | NpgsqlDbType.Bigint: row.AppendValue(export.Read<long?[]>(type)); return 0;
            case NpgsqlDbType.Array | NpgsqlDbType.Double: row.AppendValue(export.Read<double?[]>(type)); return 0;
            case NpgsqlDbType.Array | NpgsqlDbType.Boolean: row.AppendValue(export.Read<bool?[]>(type)); return 0;
            case NpgsqlDbType.Array | NpgsqlDbType.Text: row.AppendValue(export.Read<string?[]>(type)); return 0;
            default: row.AppendValue(export.Read<string>(type)); return 0;
        }
    }

    /// <summary>COPY takes no parameters: the values are Caudal's own (watermarks, key bounds, keys), written as literals,
    /// longest names first (@key_1_10 is not @key_1_1 followed by a 0).</summary>
    private static string Inline(string sql, IReadOnlyList<(string Name, object Value)> parameters)
    {
        foreach (var (name, value) in parameters.OrderByDescending(p => p.Name.Length)) sql = sql.Replace("@" + name, Literal(value));
        return sql;
    }

    private static string Literal(object value) => value switch
    {
        DateTime t => $"'{t:yyyy-MM-dd HH:mm:ss.ffffff}'",
        long or int or short or sbyte or byte or ushort or uint or ulong => Convert.ToString(value, CultureInfo.InvariantCulture)!,
        string text => "E'" + text.Replace("\\", "\\\\").Replace("'", "''") + "'", // an escape string: the same whatever standard_conforming_strings says
        DBNull => "NULL",
        _ => throw new ArgumentException($"unexpected parameter {value}"),
    };

    protected override async Task<string?> ExportSnapshotAsync(DbConnection connection, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SELECT pg_export_snapshot()";
        return (string?)await command.ExecuteScalarAsync(ct);
    }

    protected override async Task UseSnapshotAsync(DbConnection connection, string snapshot, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = $"BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY; SET TRANSACTION SNAPSHOT '{snapshot.Replace("'", "''")}'";
        await command.ExecuteNonQueryAsync(ct);
    }

    protected override bool IsTransient(Exception e) => e switch
    {
        NpgsqlException n => n.IsTransient || n is PostgresException { SqlState: "57P01" or "57P02" or "57P03" or "08006" or "08003" } || n.InnerException is IOException or EndOfStreamException,
        IOException or EndOfStreamException => true,
        _ => false,
    };
}
