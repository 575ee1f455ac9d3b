using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using DuckDB.NET.Data;

namespace Caudal.Tests.Support;

/// <summary>Writes small test tables through the same path models use: DuckDB → Parquet files → stage → commit.</summary>
public sealed class TableWriter : IDisposable
{
    private readonly TempDir _temp = new("writer");
    private readonly DuckDBConnection _connection;

    public TableWriter()
    {
        _connection = ParquetOutput.Open(new EngineSettings(_temp.Path, 1, "256MB"));
    }

    /// <summary>Stages the rows of <paramref name="select"/> into <paramref name="table"/> without committing.</summary>
    public async Task<(IReadOnlyList<AddFile> Adds, DeltaSchema Schema)> StageAsync(DeltaTable table, string select, params string[] partitionBy)
    {
        var existing = await table.SnapshotAsync();
        var output = ParquetOutput.WriteFiles(_connection, $"({select})", partitionBy, _temp.File("staging"), existing?.Schema);
        return ((await table.StageAsync(output.Files, partitionBy)).Files, output.Schema);
    }

    public async Task<long> WriteAsync(DeltaTable table, string select, WriteMode mode = WriteMode.Append, string[]? partitionBy = null,
        Dictionary<string, string>? config = null, TxnAction? txn = null)
    {
        partitionBy ??= [];
        var (adds, schema) = await StageAsync(table, select, partitionBy);
        return await table.CommitAsync(new TableWrite
        {
            Mode = mode,
            Schema = schema,
            PartitionColumns = partitionBy,
            Files = adds,
            RunId = "test",
            Txns = txn == null ? [] : [txn],
            CreateConfiguration = config ?? [],
        });
    }

    public void Dispose()
    {
        _connection.Dispose();
        _temp.Dispose();
    }
}
