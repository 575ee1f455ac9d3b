using Caudal.Lake.Delta;
using Caudal.Lake.Files;

namespace Caudal.Capture;

/// <summary>A row a source could not take, with where it came from and why.</summary>
public sealed record QuarantinedRow(string File, long? Line, string? Column, string Reason, string? Raw);

/// <summary>
/// Where a source writes one dataset's rows during a capture. A source may open several writers (one per key range
/// read in parallel, one per API request) and discard a writer whose part must be read again; only what
/// <see cref="Finish"/> returns is committed, in one commit, together with the new cursor watermark.
/// </summary>
public sealed class CaptureSink : IDisposable
{
    private readonly Func<IReadOnlyList<CaptureColumn>, RowStamp?, RawBatchWriter> _newWriter;
    private readonly Func<IReadOnlyDictionary<string, string>, JsonBatchWriter>? _newJsonWriter;
    private readonly List<IBatchWriter> _writers = [];
    private readonly List<IRowWriter> _keyWriters = [];
    private readonly List<(string Name, string LocalPath)> _payloads = [];
    private readonly string _staging;
    private readonly Lock _lock = new();

    /// <summary>What sources that write Parquet themselves need: the engine settings, the lineage select-list, the
    /// ingest-date partition value and the table's current schema (to widen to it).</summary>
    public EngineSettings Engine { get; init; } = new(Path.GetTempPath());
    public string Lineage { get; init; } = "";

    /// <summary>The Parquet version of the raw files written (<see cref="Spec.RunSettings.RawParquetVersion"/>).</summary>
    public int ParquetVersion { get; init; } = 1;
    public string IngestDate { get; init; } = "";
    public DeltaSchema? ExistingSchema { get; init; }
    public string StagingDirectory => _staging;

    /// <summary>The span of source time this run captures (backfill, scheduled runs), or null: everything new.</summary>
    public CaptureWindow? Window { get; init; }

    internal CaptureSink(IReadOnlyList<CaptureColumn> columns, long? since, Func<IReadOnlyList<CaptureColumn>, RowStamp?, RawBatchWriter> newWriter,
        Func<IReadOnlyDictionary<string, string>, JsonBatchWriter>? newJsonWriter = null, string? staging = null)
    {
        Columns = columns;
        Since = since;
        _newWriter = newWriter;
        _newJsonWriter = newJsonWriter;
        _staging = staging ?? Path.GetTempPath();
    }

    /// <summary>A writer for JSON records (APIs, JSON files); <paramref name="declared"/> fixes some columns' types.</summary>
    public JsonBatchWriter NewJsonWriter(IReadOnlyDictionary<string, string> declared)
    {
        var writer = (_newJsonWriter ?? throw new InvalidOperationException("this capture takes no JSON records"))(declared);
        lock (_lock) _writers.Add(writer);
        return writer;
    }

    /// <summary>Payload names start with the run's id (<c>{run-id}/</c>), so the payloads of a run killed before its
    /// commit can be found and removed (<see cref="Runs.Leftovers"/>).</summary>
    public string PayloadPrefix { get; init; } = "";

    /// <summary>Keeps an original response body (gzipped) to be stored beside the table as <c>_payloads/{name}</c>
    /// in the same run; returns the name records use to point at it.</summary>
    public string AddPayload(string name, byte[] gzipped)
    {
        Directory.CreateDirectory(_staging);
        var local = Path.Combine(_staging, $"payload-{Guid.NewGuid():N}.gz");
        File.WriteAllBytes(local, gzipped);
        name = PayloadPrefix + name;
        lock (_lock) _payloads.Add((name, local));
        return name;
    }

    /// <summary>Drops payloads whose names start with <paramref name="prefix"/> (a request set captured again).</summary>
    public void DiscardPayloads(string prefix)
    {
        prefix = PayloadPrefix + prefix;
        lock (_lock)
        {
            foreach (var p in _payloads.Where(p => p.Name.StartsWith(prefix, StringComparison.Ordinal)).ToList())
            {
                File.Delete(p.LocalPath);
                _payloads.Remove(p);
            }
        }
    }

    public IReadOnlyList<(string Name, string LocalPath)> Payloads => _payloads;

    private readonly List<QuarantinedRow> _quarantine = [];

    /// <summary>Parquet files a source wrote itself (through DuckDB readers of CSV, JSON or Parquet files).</summary>
    public void AddFiles(IEnumerable<DataFile> files, DeltaSchema schema)
    {
        lock (_lock) _writers.Add(new WrittenFiles(files.ToList(), schema));
    }

    /// <summary>A row that did not fit: kept (file, line, reason), never silently dropped.</summary>
    public void Quarantine(QuarantinedRow row)
    {
        lock (_lock) _quarantine.Add(row);
    }

    public IReadOnlyList<QuarantinedRow> Quarantined => _quarantine;

    private readonly List<string> _warnings = [];

    /// <summary>Something the capture did that the run record should say (rows left out or read again by policy).</summary>
    public void Warn(string message)
    {
        lock (_lock) _warnings.Add(message);
    }

    public IReadOnlyList<string> Warnings => _warnings;

    /// <summary>Where <see cref="Report"/> goes: the run's observer (live progress, logs).</summary>
    public Action<string>? Progress { get; init; }

    /// <summary>What the capture is doing now that someone watching should know (a request being retried).</summary>
    public void Report(string message) => Progress?.Invoke(Spec.Secrets.Redact(message));

    public IReadOnlyList<CaptureColumn> Columns { get; }

    /// <summary>The cursor watermark the previous capture committed (epoch microseconds for time cursors), or null.</summary>
    public long? Since { get; }

    /// <summary>The highest cursor value captured; the source sets it for incremental datasets.</summary>
    public long? Watermark { get; private set; }

    public long Rows => _writers.Sum(w => w.Rows);

    /// <summary>The writers in the order their files and columns are committed: rows, then JSON records, then files
    /// the source wrote itself (each kind in the order it was opened).</summary>
    private IEnumerable<IBatchWriter> Ordered => _writers.OrderBy(w => w switch { RawBatchWriter => 0, JsonBatchWriter => 1, _ => 2 });

    /// <summary>The schema of what was written: the union of every writer's columns, in order of appearance.</summary>
    public DeltaSchema? Schema
    {
        get
        {
            var schemas = Ordered.Select(w => w.Schema).OfType<DeltaSchema>().ToList();
            if (schemas.Count == 0) return null;
            var fields = new List<DeltaField>();
            foreach (var f in schemas.SelectMany(s => s.Fields))
                if (!fields.Any(x => string.Equals(x.Name, f.Name, StringComparison.OrdinalIgnoreCase))) fields.Add(f);
            return new DeltaSchema(fields);
        }
    }

    /// <summary>A writer of rows with the source's columns; <paramref name="stamp"/> says what happened to them, for
    /// sources that know (databases).</summary>
    public RawBatchWriter NewWriter(RowStamp? stamp = null)
    {
        var writer = _newWriter(Columns, stamp);
        lock (_lock) _writers.Add(writer);
        return writer;
    }

    /// <summary>The primary key whose live values in raw are compared with the source's (<c>deletes: detect</c>), or
    /// null when deletes are not detected.</summary>
    public IReadOnlyList<string>? DeleteKey { get; private set; }

    /// <summary>True when the source's keys were read apart (<see cref="NewKeyWriter"/>); false when the rows read are
    /// the whole table, so their keys are the source's keys.</summary>
    public bool KeysReadApart { get; private set; }

    /// <summary>Compares the source's keys with raw's (<c>deletes: detect</c>); set by the capture stage, which owns the lake.</summary>
    public IKeyComparer? KeyComparer { get; init; }

    private IKeyComparer Comparer => KeyComparer ?? throw new InvalidOperationException("this capture cannot compare keys");

    /// <summary>Once the rows are read: deletes are detected by <paramref name="key"/>, with the source's keys read
    /// apart next, or not (the rows read are the whole table).</summary>
    public void DetectDeletes(IReadOnlyList<string> key, bool keysReadApart, KeyBitmap? bitmap = null)
    {
        DeleteKey = key;
        KeysReadApart = keysReadApart;
        SourceKeys = bitmap;
        Comparer.Start(this);
    }

    /// <summary>The source's keys as bits, when its key is one dense integer column read apart; null otherwise.</summary>
    public KeyBitmap? SourceKeys { get; private set; }

    /// <summary>A writer of the source's primary-key values (never committed: they are compared with raw's live keys).</summary>
    public IRowWriter NewKeyWriter()
    {
        var key = DeleteKey ?? throw new InvalidOperationException("deletes are not detected for this capture");
        var writer = Comparer.NewKeyWriter([.. key.Select(k => Columns.First(c => string.Equals(c.Name, k, StringComparison.OrdinalIgnoreCase)))]);
        lock (_lock) _keyWriters.Add(writer);
        return writer;
    }

    /// <summary>The source's key writers, finished.</summary>
    public IReadOnlyList<IRowWriter> KeyWriters()
    {
        foreach (var w in _keyWriters) w.Finish();
        return _keyWriters;
    }

    /// <summary>The files of the rows read so far (their writers are finished: later reads open new ones).</summary>
    public IReadOnlyList<DataFile> RowFiles() => _writers.OfType<RawBatchWriter>().SelectMany(w => w.Finish()).ToList();

    /// <summary>Once the rows (and, for a windowed read, the keys) are read: finds the deleted keys, to be committed
    /// with the rows, and returns the keys the source has that raw lacks, for the source to read.</summary>
    public Task<MissingKeys> CompareKeysAsync(CancellationToken ct) => Comparer.CompareAsync(this, ct);

    /// <summary>Drops every row read so far (the table is read again whole).</summary>
    public void DiscardRows()
    {
        foreach (var w in _writers.OfType<RawBatchWriter>().ToList()) Discard(w);
    }

    /// <summary>Drops a writer and every file it wrote (its rows will be read again).</summary>
    public void Discard(IBatchWriter writer)
    {
        lock (_lock)
        {
            _writers.Remove(writer);
            if (writer is IRowWriter keys) _keyWriters.Remove(keys);
        }
        writer.Discard();
        writer.Dispose();
    }

    public void RaiseWatermark(long value)
    {
        lock (_lock) Watermark = Watermark is { } w ? Math.Max(w, value) : value;
    }

    public IReadOnlyList<DataFile> Finish()
    {
        // Nothing read: an empty batch with the source's columns, or nothing at all when they are unknown (a files source
        // that matched no file).
        if (_writers.Count == 0 && Columns.Count > 0) NewWriter();
        return Ordered.SelectMany(w => w.Finish()).ToList();
    }

    public void DiscardAll()
    {
        foreach (var w in _writers) w.Discard();
        DiscardPayloads("");
    }

    public void Dispose()
    {
        foreach (var w in _writers) w.Dispose();
        foreach (var w in _keyWriters) w.Dispose();
    }
}
