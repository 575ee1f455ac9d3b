using Caudal.Capture;
using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using Caudal.Processing;
using Caudal.Processing.Engine;

namespace Caudal.Pipeline;

/// <summary>
/// <c>deletes: detect</c>: the keys live in a raw table (a key's newest row is not a delete), together with the keys of
/// the rows this capture read, minus the keys the source has now, are the keys deleted at the source. They are written
/// as <c>delete</c> rows (the key, NULL elsewhere) to be committed with the rows read, so the cursor, the rows and the
/// deletes land in one commit or not at all. Everything runs in DuckDB over files (spilling to disk): no set of keys is
/// held in this process's memory.
/// </summary>
internal static class DeletedKeys
{
    /// <summary>The delete rows' files, and how many keys were deleted.</summary>
    public static async Task<(IReadOnlyList<DataFile> Files, long Deleted)> FindAsync(TableId id, DeltaTable table, Snapshot? existing, CaptureSink sink,
        IReadOnlyList<DataFile> rowFiles, EngineSettings settings, string lineage, int parquetVersion, CancellationToken ct)
    {
        var key = sink.DeleteKey!;
        if (existing == null) return ([], 0); // nothing was live before the first capture
        var missing = key.Where(k => existing.Schema.Find(k) == null).ToList();
        if (missing.Count > 0)
            throw new CaptureException($"{id}: deletes: detect compares the primary key ({string.Join(", ", key)}), and the raw table has no column " +
                $"{string.Join(", ", missing)}. Capture the key columns, or declare 'primary_key' with columns raw holds.");
        using var engine = new DuckDbEngine(settings);
        await engine.MountAsync(id, table, existing, ct);
        var columns = string.Join(", ", key.Select(Sql.Ident));
        var view = $"{id.ZoneName}.{Sql.Ident(id.Name)}";
        var isDelete = existing.Schema.Find(ChangeOp.Column) != null ? $"coalesce({ChangeOp.Column} = '{ChangeOp.Delete}', false)" : "false";
        // A key is live when its newest row is not a delete; a delete and a row of the same run: the delete is newer
        // (the keys are read after the rows).
        var live = $"SELECT {columns} FROM {view} GROUP BY ALL HAVING NOT arg_max({isDelete}, epoch_us({RawBatchWriter.IngestedAtColumn}) * 2 + {isDelete}::BIGINT)";
        var readNow = Files(rowFiles, columns);
        var source = sink.KeysReadApart ? Files(sink.KeyFiles(), columns) : readNow;
        var candidates = sink.KeysReadApart && readNow != null ? $"{live} UNION {readNow}" : live;
        var match = string.Join(" AND ", key.Select(k => $"s.{Sql.Ident(k)} IS NOT DISTINCT FROM l.{Sql.Ident(k)}"));
        // A read writes a file even when it finds no row, so no file means nothing was read: never "every key deleted".
        if (source == null) throw new InvalidOperationException($"{id}: no key of the source was read; deletes cannot be detected.");
        var deleted = $"SELECT {columns} FROM ({candidates}) AS l WHERE NOT EXISTS (SELECT 1 FROM ({source}) AS s WHERE {match})";
        engine.Execute($"CREATE TEMP TABLE deleted AS {deleted}");
        var count = await engine.CountAsync("SELECT count(*) FROM deleted", ct);
        if (count == 0) return ([], 0);
        var output = ParquetOutput.WriteFiles(engine.Connection, $"(SELECT *, {lineage} FROM deleted)", [RawBatchWriter.IngestDateColumn],
            Path.Combine(settings.TempDirectory, "staging"), existing.Schema, parquetVersion: parquetVersion);
        return (output.Files, count);
    }

    /// <summary>The key columns of local Parquet files, or null when there are none.</summary>
    private static string? Files(IReadOnlyList<DataFile> files, string columns) => files.Count == 0
        ? null
        : $"SELECT {columns} FROM read_parquet([{string.Join(", ", files.Select(f => Sql.Literal(f.LocalPath)))}], union_by_name = true)";
}
