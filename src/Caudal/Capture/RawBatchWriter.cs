using Caudal.Lake.Delta;
using Caudal.Processing.Engine;
using DuckDB.NET.Data;

namespace Caudal.Capture;

/// <summary>
/// Buffers captured rows in DuckDB through its appender (columnar, no per-row objects kept) and spills them to a
/// Parquet file every <c>rowsPerFile</c> rows, so memory stays bounded whatever the table's size. Each file gets the
/// raw zone's lineage columns and the <c>ingest_date</c> partition.
/// </summary>
public sealed class RawBatchWriter : IDisposable
{
    public const string IngestDateColumn = "ingest_date";
    public const string RunIdColumn = "_caudal_run_id";
    public const string IngestedAtColumn = "_caudal_ingested_at";

    private readonly DuckDBConnection _connection;
    private readonly string _staging;
    private readonly int _rowsPerFile;
    private readonly string _lineage;
    private DuckDBAppender _appender;
    private long _buffered;
    private readonly List<DataFile> _files = [];
    private readonly IReadOnlyList<CaptureColumn> _columns;
    private readonly DeltaSchema? _existing;
    private readonly string _createBatch;

    public RawBatchWriter(EngineSettings settings, IReadOnlyList<CaptureColumn> columns, string runId, DateTimeOffset ingestedAt, int rowsPerFile,
        DeltaSchema? existing = null)
    {
        _existing = existing;
        foreach (var reserved in new[] { IngestDateColumn, RunIdColumn, IngestedAtColumn })
            if (columns.Any(c => string.Equals(c.Name, reserved, StringComparison.OrdinalIgnoreCase)))
                throw new CaptureException($"Column '{reserved}' is reserved for Caudal's lineage in the raw zone; rename it with a query.");
        _columns = columns;
        _rowsPerFile = rowsPerFile;
        _staging = Path.Combine(settings.TempDirectory, "staging");
        _connection = ParquetOutput.Open(settings with { Threads = 1 });
        _createBatch = $"CREATE TABLE batch ({string.Join(", ", columns.Select(c => $"{Sql.Ident(c.Name)} {c.DuckType}"))})";
        ParquetOutput.Execute(_connection, _createBatch);
        _appender = _connection.CreateAppender("batch");
        _lineage = Lineage(runId, ingestedAt);
    }

    /// <summary>The SQL select-list of the raw zone's lineage columns and ingest-date partition.</summary>
    internal static string Lineage(string runId, DateTimeOffset ingestedAt)
    {
        var at = ingestedAt.UtcDateTime;
        return $"{Sql.Literal(runId)} AS {RunIdColumn}, TIMESTAMPTZ '{at:yyyy-MM-dd HH:mm:ss.ffffff}+00' AS {IngestedAtColumn}, " +
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

    private void Flush()
    {
        _appender.Close();
        _appender.Dispose();
        if (_buffered > 0 || _files.Count == 0)
        {
            var output = DuckDbEngine.WriteFiles(_connection, $"(SELECT *, {_lineage} FROM batch)", [IngestDateColumn], _staging, _existing);
            Schema ??= output.Schema;
            _files.AddRange(output.Files);
            ParquetOutput.Execute(_connection, "DROP TABLE batch; " + _createBatch); // cheaper than deleting every row
        }
        _buffered = 0;
        _appender = _connection.CreateAppender("batch");
    }

    /// <summary>Writes what is still buffered and returns every file of the capture. Idempotent; afterwards the
    /// writer holds no buffer (its DuckDB instance is closed), only the list of its files.</summary>
    public IReadOnlyList<DataFile> Finish()
    {
        if (_finished) return _files;
        Flush();
        _finished = true;
        _appender.Dispose();
        _connection.Dispose();
        return _files;
    }

    private bool _finished;

    /// <summary>Deletes staged files that were never committed (a failed capture or a range read again).</summary>
    public void Discard()
    {
        foreach (var f in _files) File.Delete(f.LocalPath);
        _files.Clear();
        Rows = 0;
    }

    public void Dispose()
    {
        if (_finished) return;
        try
        {
            _appender.Dispose();
        }
        catch (Exception)
        {
            // The appender may already be closed by a failed flush; nothing else to release.
        }
        _connection.Dispose();
    }
}
