using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Lake.Files;

namespace Caudal.Processing.Engine;

/// <summary>
/// Runs models' SQL over lake tables. The engine sees only snapshots (the files a table's log lists) and hands back
/// files; committing them is the caller's job, so an engine can never publish half a result.
/// </summary>
public interface IEngine : IDisposable
{
    /// <summary>Makes a table's snapshot queryable as <c>zone.name</c>.</summary>
    Task MountAsync(TableId id, DeltaTable table, Snapshot snapshot, CancellationToken ct = default);

    /// <summary>Runs a SELECT and writes its result to Parquet, split by <paramref name="partitionBy"/>. Columns that
    /// <paramref name="conformTo"/> (the target's current schema) holds with a wider type are widened to it. An engine
    /// that writes into the lake itself may leave its files under <paramref name="tableRoot"/> (the target table's
    /// root) to be committed where they are.</summary>
    Task<DataFiles> MaterializeAsync(string select, IReadOnlyList<string> partitionBy, DeltaSchema? conformTo = null, string? tableRoot = null,
        CancellationToken ct = default);

    /// <summary>Makes materialized (staged, unpublished) files queryable as <paramref name="name"/>, for checks.</summary>
    Task MountOutputAsync(string name, DataFiles output, CancellationToken ct = default);

    /// <summary>Runs a query that returns one number.</summary>
    Task<long> CountAsync(string sql, CancellationToken ct = default);

    /// <summary>Runs a statement, e.g. to keep an intermediate result as a temporary table for a later step.</summary>
    void Execute(string sql);

    /// <summary>Streams a query's rows: the same record, advanced row by row (read its values before the next one).</summary>
    IEnumerable<System.Data.IDataRecord> Rows(string sql);

    /// <summary>Creates a scratch table (never part of the lake) and fills it with rows computed outside SQL (an ML step's results).</summary>
    void CreateTable(string name, IReadOnlyList<(string Name, string Type)> columns, IEnumerable<object?[]> rows);

    /// <summary>The engine that materializes <paramref name="model"/> (an engine may hand some models to another).</summary>
    IEngine For(Spec.ModelSpec model) => this;

    /// <summary>The embedded engine: the one checks, charts and ML steps read with (this one, or the one beside a remote engine).</summary>
    IEngine Embedded => this;
}
