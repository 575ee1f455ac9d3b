using System.Data.Common;
using System.Globalization;
using Caudal.Capture.Database;
using Caudal.Spec;
using DuckDB.NET.Data;
using Microsoft.Data.Sqlite;

namespace Caudal.Capture.Sqlite;

/// <summary>
/// Captures tables or queries from a SQLite database file (opened read-only), streaming rows as they are read: full
/// or incremental, large tables split by integer primary key and read over several connections, like the server
/// databases. SQLite is dynamically typed: values are converted to each column's declared type, and a value that
/// does not fit fails the dataset naming its row and column.
/// </summary>
public sealed class SqliteSource(SourceSpec spec, string baseDirectory) : DatabaseSource(spec)
{
    public static readonly SourceKind Kind = new(
        "sqlite",
        DatabaseOptions.Declared.File,
        Open: (spec, baseDir) => new SqliteSource(spec, baseDir),
        Validate: (spec, baseDir, error) =>
        {
            if (spec.Options.Text(DatabaseOptions.Declared.Path) is { } p && !File.Exists(Path.Combine(baseDir, p)))
                error($"SQLite file '{p}' of source '{spec.Name}' does not exist.",
                    "fix 'path' (relative to the spec's folder), or create it with 'caudal sample sakila --out " + p + "'.");
        },
        Discover: (spec, baseDir) =>
        {
            if (spec.Options.Text(DatabaseOptions.Declared.Path) is not { } p || !File.Exists(Path.Combine(baseDir, p))) return null;
            using var source = new SqliteSource(spec, baseDir);
            using var connection = source.Open();
            using var command = connection.CreateCommand();
            command.CommandText = source.ListTablesSql;
            using var reader = command.ExecuteReader();
            var tables = new List<string>();
            while (reader.Read()) tables.Add(reader.GetString(0));
            return tables;
        },
        Incremental: true,
        Unbounded: DatabaseOptions.Unbounded);

    private readonly string _path = Path.GetFullPath(Path.Combine(baseDirectory, DatabaseOptions.From(spec).Path!));

    private SqliteConnection Open()
    {
        if (!File.Exists(_path)) throw new CaptureException($"Source '{Name}': SQLite file '{_path}' does not exist.");
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = _path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        connection.Open();
        return connection;
    }

    protected override Task<DbConnection> OpenAsync(CancellationToken ct) => Task.FromResult<DbConnection>(Open());

    protected override string Quote(string identifier) => "\"" + identifier.Replace("\"", "\"\"") + "\"";

    protected override string ListTablesSql =>
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";

    protected override string PrimaryKeySql => "SELECT name FROM pragma_table_info(@t) WHERE pk > 0 ORDER BY pk";

    protected override Task<List<DatabaseColumn>> ColumnsAsync(DbConnection connection, string from, CancellationToken ct)
    {
        using var command = connection.CreateCommand();
        command.CommandText = $"SELECT * FROM {from} LIMIT 0";
        using var reader = (SqliteDataReader)command.ExecuteReader();
        // The full declared type (DECIMAL(5,2), not the DECIMAL the reader reports) of the table column each result
        // column comes from, also through a query; expressions have none and become VARCHAR.
        var origins = reader.GetSchemaTable().Rows.Cast<System.Data.DataRow>()
            .Select(r => (Table: r["BaseTableName"] as string, Column: r["BaseColumnName"] as string)).ToList();
        var declared = new Dictionary<string, Dictionary<string, string>>(StringComparer.OrdinalIgnoreCase);
        var columns = Enumerable.Range(0, reader.FieldCount).Select(i =>
        {
            var (table, column) = origins[i];
            var type = table != null && column != null
                ? (declared.TryGetValue(table, out var types) ? types : declared[table] = DeclaredTypes((SqliteConnection)connection, table)).GetValueOrDefault(column)
                : null;
            type ??= DeclaredType(reader, i);
            return new DatabaseColumn(reader.GetName(i), type, SqliteTypeMapping.ToDuck(type), Quote(reader.GetName(i)));
        }).ToList();
        return Task.FromResult(columns);
    }

    private static Dictionary<string, string> DeclaredTypes(SqliteConnection connection, string table)
    {
        using var command = connection.CreateCommand();
        command.CommandText = "SELECT name, type FROM pragma_table_info($table)";
        command.Parameters.AddWithValue("$table", table);
        using var reader = command.ExecuteReader();
        var types = new Dictionary<string, string>(StringComparer.OrdinalIgnoreCase);
        while (reader.Read()) types[reader.GetString(0)] = reader.GetString(1);
        return types;
    }

    private static string DeclaredType(SqliteDataReader reader, int ordinal)
    {
        try
        {
            return reader.GetDataTypeName(ordinal);
        }
        catch (InvalidOperationException)
        {
            return "";
        }
    }

    /// <summary>SQLite keeps times as text and compares them as text: a time cursor is bound in the same canonical
    /// form SQLite's own date functions write ('YYYY-MM-DD HH:MM:SS', 'YYYY-MM-DD' for dates).</summary>
    protected override object CursorParameter(DateTime time, DatabaseColumn cursor) => cursor.DuckType == "DATE"
        ? time.ToString("yyyy-MM-dd", CultureInfo.InvariantCulture)
        : time.ToString("yyyy-MM-dd HH:mm:ss.FFFFFFF", CultureInfo.InvariantCulture);

    /// <summary>A TEXT cursor holds times (the way SQLite users mostly keep them), in SQLite's canonical
    /// 'YYYY-MM-DD HH:MM:SS[.SSS]' text form, which sorts as it compares; any other text fails the read by its row.</summary>
    protected override string CursorType(DatabaseColumn cursor) => cursor.DuckType == "VARCHAR" ? "TIMESTAMP" : cursor.DuckType;

    protected override async Task ReadAsync(DbConnection connection, string sql, IReadOnlyList<(string Name, object Value)> parameters,
        DatabaseRead read, IRowWriter writer, Action<long>? cursorSeen, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) AddParameter(command, name, value);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var columns = read.Columns;
        var converters = columns.Select(c => Converter(c.DuckType)).ToArray();
        var cursorIndex = read.Cursor == null || cursorSeen == null ? -1 : columns.ToList().IndexOf(read.Cursor);
        var cursorIsTime = cursorIndex >= 0 && Watermark.IsTime(CursorType(read.Cursor!));
        var values = new object[reader.FieldCount];
        long rowNumber = 0;
        while (reader.Read())
        {
            rowNumber++;
            if ((rowNumber & 0xFFFF) == 0) ct.ThrowIfCancellationRequested();
            reader.GetValues(values);
            var row = writer.BeginRow();
            for (var i = 0; i < values.Length; i++)
            {
                if (values[i] is DBNull)
                {
                    row.AppendNullValue();
                    continue;
                }
                try
                {
                    converters[i](row, values[i]);
                }
                catch (FormatException e)
                {
                    throw new CaptureException($"Source '{Name}', dataset '{read.Dataset}', row {rowNumber}, column '{columns[i].Name}' ({columns[i].DuckType}): {e.Message}.", e);
                }
            }
            writer.EndRow(row);
            if (cursorIndex >= 0 && values[cursorIndex] is not DBNull)
                cursorSeen!(cursorIsTime ? Watermark.FromTime(TimeCursor(values[cursorIndex], read, rowNumber)) : SqliteTypeMapping.ParseInteger(values[cursorIndex]));
        }
    }

    protected override async Task ReadKeysAsync(DbConnection connection, string sql, IReadOnlyList<(string Name, object Value)> parameters,
        DatabaseColumn column, Action<long> key, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) AddParameter(command, name, value);
        await using var reader = await command.ExecuteReaderAsync(ct);
        for (var n = 0L; reader.Read(); n++)
        {
            if ((n & 0xFFFF) == 0) ct.ThrowIfCancellationRequested();
            key(SqliteTypeMapping.ParseInteger(reader.GetValue(0)));
        }
    }

    /// <summary>A time cursor value, which must be in the canonical text form: other forms ('T' between date and time,
    /// epoch numbers) sort differently as text, so the next run's <c>cursor &gt;= watermark</c> could skip rows.</summary>
    private DateTime TimeCursor(object value, DatabaseRead read, long rowNumber)
    {
        // A date alone is canonical in a DATE or DATETIME column; in TEXT it would sort before the same day's times.
        if (value is string s && ((s.Length == 10 && read.Cursor!.DuckType != "VARCHAR") || (s.Length >= 19 && s[10] == ' ')))
        {
            try
            {
                return SqliteTypeMapping.ParseTimestamp(s);
            }
            catch (FormatException)
            {
            }
        }
        throw new CaptureException($"Source '{Name}', dataset '{read.Dataset}', row {rowNumber}: cursor '{read.Cursor!.Name}' value '{value}' " +
            "is not in SQLite's canonical 'YYYY-MM-DD HH:MM:SS' text form, and SQLite compares times as text, so an incremental " +
            "read could skip rows. Store times with datetime(), or use an integer cursor (e.g. a version number).");
    }

    private static Action<IDuckDBAppenderRow, object> Converter(string duckType)
    {
        if (duckType.StartsWith("DECIMAL"))
        {
            var scale = int.Parse(duckType[(duckType.IndexOf(',') + 1)..^1], CultureInfo.InvariantCulture);
            return (row, v) => row.AppendValue(SqliteTypeMapping.ParseDecimal(v, scale));
        }
        return duckType switch
        {
            "BIGINT" => (row, v) => row.AppendValue(SqliteTypeMapping.ParseInteger(v)),
            "INTEGER" => (row, v) => row.AppendValue((int)SqliteTypeMapping.ParseInteger(v)),
            "BOOLEAN" => (row, v) => row.AppendValue(SqliteTypeMapping.ParseBoolean(v)),
            "DOUBLE" => (row, v) => row.AppendValue(SqliteTypeMapping.ParseDouble(v)),
            "TIMESTAMP" => (row, v) => row.AppendValue(SqliteTypeMapping.ParseTimestamp(v)),
            "DATE" => (row, v) => row.AppendValue(SqliteTypeMapping.ParseDate(v)),
            "BLOB" => (row, v) => row.AppendValue(v as byte[] ?? System.Text.Encoding.UTF8.GetBytes(SqliteTypeMapping.ToText(v))),
            _ => (row, v) => row.AppendValue(SqliteTypeMapping.ToText(v)),
        };
    }

    /// <summary>A database locked by a writer is worth another attempt; anything else is not.</summary>
    protected override bool IsTransient(Exception e) => e is SqliteException { SqliteErrorCode: 5 or 6 };
}
