using Caudal.Lake.Delta;
using Caudal.Lake.Files;

namespace Caudal.Capture;

/// <summary>What every writer of captured data is to the <see cref="CaptureSink"/>: rows written so far, the schema
/// they have, the Parquet files they make when finished, and a way to drop all of it (a key range or a request read
/// again). Rows from a database (<see cref="RawBatchWriter"/>), JSON records (<see cref="JsonBatchWriter"/>) and files a
/// source wrote itself (<see cref="WrittenFiles"/>) are all committed the same way.</summary>
public interface IBatchWriter : IDisposable
{
    long Rows { get; }
    DeltaSchema? Schema { get; }
    IReadOnlyList<DataFile> Finish();
    void Discard();
}

/// <summary>Parquet files a source wrote itself (through DuckDB's readers of CSV, JSON or Parquet files).</summary>
public sealed class WrittenFiles(IReadOnlyList<DataFile> files, DeltaSchema schema) : IBatchWriter
{
    public long Rows => files.Sum(f => f.Rows);
    public DeltaSchema? Schema => schema;
    public IReadOnlyList<DataFile> Finish() => files;

    public void Discard()
    {
        foreach (var f in files) File.Delete(f.LocalPath);
    }

    public void Dispose()
    {
    }
}
