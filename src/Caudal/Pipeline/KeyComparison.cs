using Caudal.Capture;
using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using Caudal.Processing;
using Caudal.Processing.Engine;

namespace Caudal.Pipeline;

/// <summary>
/// <c>deletes: detect</c>: compares the keys a source has now with the keys live in its raw table (a key whose newest
/// row is not a delete) and the keys of the rows this capture read. Keys live but gone from the source are written as
/// <c>delete</c> rows (the key, NULL elsewhere), committed with the rows read, so the cursor, the rows and the deletes
/// land in one commit or not at all. Keys the source has that are neither live nor read (a row inserted or restored
/// with a cursor value behind the watermark) are handed back to the source to read. Everything runs in DuckDB over
/// files (spilling to disk): no set of keys is held in this process's memory, beyond the missing keys handed back.
/// </summary>
internal sealed class KeyComparison(TableId id, DeltaTable table, Snapshot? existing, EngineSettings settings, string deleteLineage, int parquetVersion)
{
    /// <summary>At most this many missing keys are handed back to be read by key; beyond it the source reads the table whole.</summary>
    public const int MaxMissing = 100_000;

    public IReadOnlyList<DataFile> DeleteFiles { get; private set; } = [];
    public long Deleted { get; private set; }
    public bool Done { get; private set; }

    public async Task<MissingKeys> CompareAsync(CaptureSink sink, CancellationToken ct)
    {
        var key = sink.DeleteKey ?? throw new InvalidOperationException("deletes are not detected for this capture");
        Done = true;
        var readNow = Files(sink.RowFiles(), key);
        var source = sink.KeysReadApart ? Files(sink.KeyFiles(), key) : readNow;
        // A read writes a file even when it finds no row, so no file means nothing was read: never "every key deleted".
        if (source == null) throw new InvalidOperationException($"{id}: no key of the source was read; deletes cannot be detected.");
        var missingColumns = key.Where(k => existing != null && existing.Schema.Find(k) == null).ToList();
        if (missingColumns.Count > 0)
            throw new CaptureException($"{id}: deletes: detect compares the primary key ({string.Join(", ", key)}), and the raw table has no column " +
                $"{string.Join(", ", missingColumns)}. Capture the key columns, or declare 'primary_key' with columns raw holds.");
        using var engine = new DuckDbEngine(settings);
        var columns = string.Join(", ", key.Select(Sql.Ident));
        string live;
        if (existing == null) live = $"SELECT {columns} FROM ({source}) WHERE false"; // nothing was live before the first capture
        else
        {
            await engine.MountAsync(id, table, existing, ct);
            var isDelete = existing.Schema.Find(ChangeOp.Column) != null ? $"coalesce({ChangeOp.Column} = '{ChangeOp.Delete}', false)" : "false";
            // The newest row decides; a delete and a row of the same run: the delete is newer (keys are read after rows).
            live = $"SELECT {columns} FROM {id.ZoneName}.{Sql.Ident(id.Name)} GROUP BY ALL " +
                   $"HAVING NOT arg_max({isDelete}, epoch_us({RawBatchWriter.IngestedAtColumn}) * 2 + {isDelete}::BIGINT)";
        }
        var known = readNow != null && sink.KeysReadApart ? $"{live} UNION {readNow}" : live;
        engine.Execute($"CREATE TEMP TABLE source_keys AS {source}");
        engine.Execute($"CREATE TEMP TABLE known_keys AS {known}");
        var match = string.Join(" AND ", key.Select(k => $"s.{Sql.Ident(k)} IS NOT DISTINCT FROM l.{Sql.Ident(k)}"));
        engine.Execute($"CREATE TEMP TABLE deleted AS SELECT {columns} FROM known_keys AS l WHERE NOT EXISTS (SELECT 1 FROM source_keys AS s WHERE {match})");
        Deleted = await engine.CountAsync("SELECT count(*) FROM deleted", ct);
        if (Deleted > 0)
            DeleteFiles = ParquetOutput.WriteFiles(engine.Connection, $"(SELECT *, {deleteLineage} FROM deleted)", [RawBatchWriter.IngestDateColumn],
                Path.Combine(settings.TempDirectory, "staging"), existing?.Schema, parquetVersion: parquetVersion).Files;
        if (!sink.KeysReadApart) return new MissingKeys(0, []); // the rows read are the whole table
        var missing = $"SELECT {columns} FROM source_keys AS l WHERE NOT EXISTS (SELECT 1 FROM known_keys AS s WHERE {match})";
        var count = await engine.CountAsync($"SELECT count(*) FROM ({missing})", ct);
        if (count == 0 || count > MaxMissing) return new MissingKeys(count, []);
        var keys = new List<object?[]>();
        foreach (var row in engine.Rows(missing))
        {
            var values = new object?[key.Count];
            for (var i = 0; i < values.Length; i++) values[i] = row.IsDBNull(i) ? null : row.GetValue(i);
            keys.Add(values);
        }
        return new MissingKeys(count, keys);
    }

    /// <summary>The key columns of local Parquet files, or null when there are none.</summary>
    private static string? Files(IReadOnlyList<DataFile> files, IReadOnlyList<string> key) => files.Count == 0
        ? null
        : $"SELECT {string.Join(", ", key.Select(Sql.Ident))} FROM read_parquet([{string.Join(", ", files.Select(f => Sql.Literal(f.LocalPath)))}], union_by_name = true)";
}
