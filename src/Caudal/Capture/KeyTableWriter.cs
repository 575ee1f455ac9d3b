using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using Caudal.Processing;
using DuckDB.NET.Data;

namespace Caudal.Capture;

/// <summary>
/// Appends a source's primary-key values into a table of the DuckDB database that compares them with raw's keys
/// (<c>deletes: detect</c>): no Parquet is written for them, and DuckDB spills to disk past its memory limit. Each writer
/// (a key range) has its own connection and table, so ranges append at once; a range read again drops its table.
/// </summary>
public sealed class KeyTableWriter : IRowWriter
{
    private readonly DuckDBConnection _connection;
    private readonly DuckDBAppender _appender;
    private bool _closed;

    public KeyTableWriter(DuckDBConnection database, string table, IReadOnlyList<CaptureColumn> key)
    {
        Table = table;
        _connection = database.Duplicate();
        _connection.Open();
        ParquetOutput.Execute(_connection, $"CREATE TABLE {Sql.Ident(table)} ({string.Join(", ", key.Select(c => $"{Sql.Ident(c.Name)} {RawBatchWriter.BufferType(c.DuckType)}"))})");
        _appender = _connection.CreateAppender(table);
    }

    /// <summary>The table holding the keys appended.</summary>
    public string Table { get; }
    public long Rows { get; private set; }
    public DeltaSchema? Schema => null;

    public IDuckDBAppenderRow BeginRow() => _appender.CreateRow();

    public void EndRow(IDuckDBAppenderRow row)
    {
        row.EndRow();
        Rows++;
    }

    /// <summary>Makes every key appended visible in the table; there are no files: keys are never committed.</summary>
    public IReadOnlyList<DataFile> Finish()
    {
        Close();
        return [];
    }

    public void Discard()
    {
        Close();
        ParquetOutput.Execute(_connection, $"DROP TABLE IF EXISTS {Sql.Ident(Table)}");
        Rows = 0;
    }

    private void Close()
    {
        if (_closed) return;
        _closed = true;
        _appender.Close();
    }

    public void Dispose()
    {
        try
        {
            _appender.Dispose();
        }
        catch (Exception)
        {
            // A failed append leaves the appender closed; nothing else to release.
        }
        _connection.Dispose();
    }
}
