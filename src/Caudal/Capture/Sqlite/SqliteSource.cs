using Caudal.Spec;
using DuckDB.NET.Data;
using Microsoft.Data.Sqlite;

namespace Caudal.Capture.Sqlite;

/// <summary>Captures whole tables (or queries) from a SQLite database file, streaming rows as they are read.</summary>
public sealed class SqliteSource : ISource
{
    public static readonly SourceKind Kind = new(
        "sqlite",
        Required: ["path"],
        Optional: [],
        Open: (spec, baseDir) => new SqliteSource(spec, baseDir),
        Validate: (spec, baseDir, error) =>
        {
            if (spec.Options.TryGetValue("path", out var p) && !File.Exists(Path.Combine(baseDir, p)))
                error($"SQLite file '{p}' of source '{spec.Name}' does not exist.",
                    "fix 'path' (relative to the spec's folder), or create it with 'caudal sample sakila --out " + p + "'.");
        },
        Discover: (spec, baseDir) =>
        {
            if (!spec.Options.TryGetValue("path", out var p) || !File.Exists(Path.Combine(baseDir, p))) return null;
            using var source = new SqliteSource(spec, baseDir);
            return source.ListTables();
        });

    private readonly SourceSpec _spec;
    private readonly SqliteConnection _connection;

    public SqliteSource(SourceSpec spec, string baseDirectory)
    {
        _spec = spec;
        var path = Path.GetFullPath(Path.Combine(baseDirectory, spec.Options["path"]));
        if (!File.Exists(path))
            throw new CaptureException($"Source '{spec.Name}': SQLite file '{path}' does not exist.");
        _connection = new SqliteConnection(new SqliteConnectionStringBuilder
        {
            DataSource = path,
            Mode = SqliteOpenMode.ReadOnly,
            Pooling = false,
        }.ToString());
        _connection.Open();
    }

    public string Name => _spec.Name;

    private List<string> ListTables()
    {
        using var command = _connection.CreateCommand();
        command.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name";
        using var reader = command.ExecuteReader();
        var tables = new List<string>();
        while (reader.Read()) tables.Add(reader.GetString(0));
        return tables;
    }

    public Task<IReadOnlyList<DatasetSpec>> ResolveDatasetsAsync(CancellationToken ct = default)
    {
        if (!_spec.AllDatasets) return Task.FromResult(_spec.Datasets);
        IReadOnlyList<DatasetSpec> all = ListTables()
            .Select(t => new DatasetSpec(t.ToLowerInvariant(), t, null, _spec.Position))
            .ToList();
        return Task.FromResult(all);
    }

    private string SelectText(DatasetSpec dataset) =>
        dataset.Query ?? $"SELECT * FROM \"{dataset.Table!.Replace("\"", "\"\"")}\"";

    public Task<IReadOnlyList<CaptureColumn>> DescribeAsync(DatasetSpec dataset, CancellationToken ct = default)
    {
        if (dataset.Table != null && !ListTables().Contains(dataset.Table, StringComparer.OrdinalIgnoreCase))
            throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': table '{dataset.Table}' does not exist " +
                $"(tables: {string.Join(", ", ListTables())}).");
        try
        {
            using var command = _connection.CreateCommand();
            command.CommandText = SelectText(dataset);
            using var reader = command.ExecuteReader();
            var declared = dataset.Table != null ? DeclaredTypes(dataset.Table) : [];
            // Declared types (PRAGMA table_info) for tables; for queries SQLite reports the declared type of
            // columns taken straight from a table and nothing for expressions, which become VARCHAR.
            IReadOnlyList<CaptureColumn> columns = Enumerable.Range(0, reader.FieldCount)
                .Select(i => new CaptureColumn(reader.GetName(i),
                    SqliteTypeMapping.ToDuck(declared.GetValueOrDefault(reader.GetName(i)) ?? DeclaredType(reader, i))))
                .ToList();
            return Task.FromResult(columns);
        }
        catch (SqliteException e)
        {
            throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': {e.Message}", e);
        }
    }

    private Dictionary<string, string> DeclaredTypes(string table)
    {
        using var command = _connection.CreateCommand();
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

    public async Task CaptureAsync(DatasetSpec dataset, CaptureSink sink, CancellationToken ct = default)
    {
        var writer = sink.NewWriter();
        var converters = writer.Columns.Select(c => Converter(c.DuckType)).ToArray();
        await using var command = _connection.CreateCommand();
        command.CommandText = SelectText(dataset);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var values = new object[reader.FieldCount];
        long rowNumber = 0;
        while (await reader.ReadAsync(ct))
        {
            rowNumber++;
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
                    throw new CaptureException(
                        $"Source '{Name}', dataset '{dataset.Name}', row {rowNumber}, column '{writer.Columns[i].Name}' ({writer.Columns[i].DuckType}): {e.Message}.", e);
                }
            }
            writer.EndRow(row);
            if ((rowNumber & 0xFFFF) == 0) ct.ThrowIfCancellationRequested();
        }
    }

    private static Action<IDuckDBAppenderRow, object> Converter(string duckType)
    {
        if (duckType.StartsWith("DECIMAL"))
        {
            var scale = int.Parse(duckType[(duckType.IndexOf(',') + 1)..^1]);
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

    public void Dispose() => _connection.Dispose();
}
