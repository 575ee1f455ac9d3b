using Caudal.Lake.Delta;
using Caudal.Processing.Engine;

namespace Caudal.Capture;

/// <summary>
/// Where a source writes one dataset's rows during a capture. A source may open several writers (one per key range
/// read in parallel) and discard a writer whose range must be read again; only what <see cref="Finish"/> returns is
/// committed, in one commit, together with the new cursor watermark.
/// </summary>
public sealed class CaptureSink : IDisposable
{
    private readonly Func<RawBatchWriter> _newWriter;
    private readonly List<RawBatchWriter> _writers = [];
    private readonly Lock _lock = new();

    internal CaptureSink(IReadOnlyList<CaptureColumn> columns, long? since, Func<RawBatchWriter> newWriter)
    {
        Columns = columns;
        Since = since;
        _newWriter = newWriter;
    }

    public IReadOnlyList<CaptureColumn> Columns { get; }

    /// <summary>The cursor watermark the previous capture committed (epoch microseconds for time cursors), or null.</summary>
    public long? Since { get; }

    /// <summary>The highest cursor value captured; the source sets it for incremental datasets.</summary>
    public long? Watermark { get; private set; }

    public long Rows => _writers.Sum(w => w.Rows);

    public DeltaSchema? Schema => _writers.Select(w => w.Schema).FirstOrDefault(s => s != null);

    public RawBatchWriter NewWriter()
    {
        var writer = _newWriter();
        lock (_lock) _writers.Add(writer);
        return writer;
    }

    /// <summary>Drops a writer and every file it wrote (its rows will be read again).</summary>
    public void Discard(RawBatchWriter writer)
    {
        lock (_lock) _writers.Remove(writer);
        writer.Discard();
        writer.Dispose();
    }

    public void RaiseWatermark(long value)
    {
        lock (_lock) Watermark = Watermark is { } w ? Math.Max(w, value) : value;
    }

    public IReadOnlyList<DataFile> Finish()
    {
        if (_writers.Count == 0) NewWriter();
        return _writers.SelectMany(w => w.Finish()).ToList();
    }

    public void DiscardAll()
    {
        foreach (var w in _writers) w.Discard();
    }

    public void Dispose()
    {
        foreach (var w in _writers) w.Dispose();
    }
}
