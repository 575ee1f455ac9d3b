using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using DuckDB.NET.Data;

namespace Caudal.Capture;

/// <summary>
/// Buffers captured rows in DuckDB through its appender (columnar, no per-row objects kept) and spills them to a
/// Parquet file every <c>rowsPerFile</c> rows, so memory stays bounded whatever the table's size. Each file gets the
/// raw zone's lineage columns and the <c>ingest_date</c> partition, and, for a database source's rows, what happened to
/// the row (<see cref="ChangeOp"/>).
/// </summary>
/// <remarks>
/// Two buffers take turns: while one is written to Parquet on a background thread, the source keeps appending to
/// the other, so reading from the source never waits for the encoder (at most one write is in flight: memory stays
/// at two buffers). Timestamps are buffered as TIMESTAMPTZ, the type the raw zone stores (an instant in UTC), so
/// nothing is converted when the file is written.
/// </remarks>
public sealed class RawBatchWriter : IRowWriter
{
    public const string IngestDateColumn = "ingest_date";
    public const string RunIdColumn = "_caudal_run_id";
    public const string IngestedAtColumn = "_caudal_ingested_at";

    private static readonly string[] Buffers = ["batch_0", "batch_1"];

    private readonly DuckDBConnection _connection;
    private readonly DuckDBConnection _flushConnection;
    private readonly string _staging;
    private readonly int _rowsPerFile;
    private readonly string _lineage;
    private readonly Dictionary<string, string?> _partition;
    private readonly IReadOnlyList<CaptureColumn> _columns;
    private readonly DeltaSchema? _existing;
    private readonly int _parquetVersion;
    private readonly string _bufferColumns;
    private readonly List<DataFile> _files = [];
    private DuckDBAppender _appender;
    private int _current;
    private long _buffered;
    private Task? _flushing;
    private bool _finished;

    public RawBatchWriter(EngineSettings settings, IReadOnlyList<CaptureColumn> columns, string runId, DateTimeOffset ingestedAt, int rowsPerFile,
        DeltaSchema? existing = null, int parquetVersion = 1, RowStamp? stamp = null)
    {
        _parquetVersion = parquetVersion;
        _existing = existing;
        foreach (var reserved in new[] { IngestDateColumn, RunIdColumn, IngestedAtColumn, ChangeOp.Column, ChangeOp.LsnColumn, ChangeOp.GtidColumn, ChangeOp.BinlogColumn })
            if (columns.Any(c => string.Equals(c.Name, reserved, StringComparison.OrdinalIgnoreCase)))
                throw new CaptureException($"Column '{reserved}' is reserved for Caudal's lineage in the raw zone; rename it with a query.");
        _columns = columns;
        _rowsPerFile = rowsPerFile;
        _staging = Path.Combine(settings.TempDirectory, "staging");
        _connection = ParquetOutput.Open(settings with { Threads = 1 });
        _flushConnection = _connection.Duplicate();
        _flushConnection.Open();
        _bufferColumns = string.Join(", ", columns.Select(c => $"{Sql.Ident(c.Name)} {BufferType(c.DuckType)}"));
        foreach (var buffer in Buffers) ParquetOutput.Execute(_connection, $"CREATE TABLE {buffer} ({_bufferColumns})");
        _appender = _connection.CreateAppender(Buffers[0]);
        _lineage = Lineage(runId, ingestedAt, stamp);
        _partition = new() { [IngestDateColumn] = ingestedAt.UtcDateTime.ToString("yyyy-MM-dd") };
    }

    /// <summary>The type a column is buffered as: the source's, except naive timestamps, which are UTC instants here.</summary>
    internal static string BufferType(string duckType) =>
        duckType.ToUpperInvariant() is "TIMESTAMP" or "DATETIME" ? "TIMESTAMPTZ" : duckType;

    /// <summary>The SQL select-list of the raw zone's lineage columns and ingest-date partition, with the rows'
    /// <see cref="RowStamp"/> when given.</summary>
    internal static string Lineage(string runId, DateTimeOffset ingestedAt, RowStamp? stamp = null)
    {
        var at = ingestedAt.UtcDateTime;
        return (stamp?.SelectList ?? "") +
               $"{Sql.Constant(runId)} AS {RunIdColumn}, TIMESTAMPTZ '{at:yyyy-MM-dd HH:mm:ss.ffffff}+00' AS {IngestedAtColumn}, " +
               $"DATE '{at:yyyy-MM-dd}' AS {IngestDateColumn}";
    }

    public IReadOnlyList<CaptureColumn> Columns => _columns;
    public long Rows { get; private set; }
    public DeltaSchema? Schema { get; private set; }

    /// <summary>Starts a row; append one value per column in order, then call <see cref="EndRow"/>.</summary>
    public IDuckDBAppenderRow BeginRow() => _appender.CreateRow();

    public void EndRow(IDuckDBAppenderRow row)
    {
        row.EndRow();
        Rows++;
        if (++_buffered >= _rowsPerFile) Flush();
    }

    /// <summary>Hands the current buffer to the background writer (after the previous write is done) and switches
    /// the appender to the other buffer.</summary>
    private void Flush()
    {
        _appender.Close();
        _appender.Dispose();
        WaitForWrite();
        var buffer = Buffers[_current];
        if (_buffered > 0 || _files.Count == 0)
            // A thread of its own: the source's thread blocks on it, and pool threads may all be sources.
            _flushing = Task.Factory.StartNew(() => Write(buffer), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        _buffered = 0;
        _current = 1 - _current;
        _appender = _connection.CreateAppender(Buffers[_current]);
    }

    private void Write(string buffer)
    {
        var output = ParquetOutput.WriteFiles(_flushConnection, $"(SELECT *, {_lineage} FROM {buffer})", [IngestDateColumn], _staging, _existing, _partition, _parquetVersion);
        lock (_files)
        {
            Schema ??= output.Schema;
            _files.AddRange(output.Files);
        }
        ParquetOutput.Execute(_flushConnection, $"DROP TABLE {buffer}; CREATE TABLE {buffer} ({_bufferColumns})"); // cheaper than deleting every row
    }

    /// <summary>Waits for the buffer being written; a failed write surfaces here, on the source's thread.</summary>
    private void WaitForWrite()
    {
        if (_flushing == null) return;
        try
        {
            _flushing.GetAwaiter().GetResult();
        }
        finally
        {
            _flushing = null;
        }
    }

    /// <summary>Writes what is still buffered and returns every file of the capture. Idempotent; afterwards the
    /// writer holds no buffer (its DuckDB instance is closed), only the list of its files.</summary>
    public IReadOnlyList<DataFile> Finish()
    {
        if (_finished) return _files;
        Flush();
        WaitForWrite();
        _finished = true;
        _appender.Dispose();
        _flushConnection.Dispose();
        _connection.Dispose();
        return _files;
    }

    /// <summary>Deletes staged files that were never committed (a failed capture or a range read again).</summary>
    public void Discard()
    {
        try
        {
            WaitForWrite();
        }
        catch (Exception)
        {
            // The write being discarded failed: its files (if any) are deleted below either way.
        }
        lock (_files)
        {
            foreach (var f in _files) File.Delete(f.LocalPath);
            _files.Clear();
        }
        Rows = 0;
    }

    public void Dispose()
    {
        if (_finished) return;
        try
        {
            _flushing?.Wait();
        }
        catch (Exception)
        {
            // A failed background write has nothing left to release; its error was (or will never be) reported.
        }
        try
        {
            _appender.Dispose();
        }
        catch (Exception)
        {
            // The appender may already be closed by a failed flush; nothing else to release.
        }
        _flushConnection.Dispose();
        _connection.Dispose();
    }
}
