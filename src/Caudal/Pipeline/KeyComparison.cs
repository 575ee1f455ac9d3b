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
/// with a cursor value behind the watermark) are handed back to the source to read.
/// </summary>
/// <remarks>
/// Everything runs in one DuckDB database (spilling to disk past its memory limit): the source's keys are appended
/// straight into its tables, raw's live keys are computed while they stream in, and one hash join then finds both
/// kinds of difference. No set of keys is held in this process's memory beyond the missing keys handed back.
/// </remarks>
internal sealed class KeyComparison(TableId id, DeltaTable table, Snapshot? existing, EngineSettings settings, string deleteLineage, int parquetVersion)
    : IKeyComparer, IDisposable
{
    /// <summary>At most this many missing keys are handed back to be read by key; beyond it the source reads the table whole.</summary>
    public const int MaxMissing = 100_000;

    private DuckDbEngine? _engine;
    private Task? _known;
    private int _keyTables;

    public IReadOnlyList<DataFile> DeleteFiles { get; private set; } = [];
    public long Deleted { get; private set; }
    public bool Done { get; private set; }

    private DuckDbEngine Engine => _engine ?? throw new InvalidOperationException("the key comparison was not started");

    public void Start(CaptureSink sink)
    {
        var key = sink.DeleteKey!;
        var missingColumns = key.Where(k => existing != null && existing.Schema.Find(k) == null).ToList();
        if (missingColumns.Count > 0)
            throw new CaptureException($"{id}: deletes: detect compares the primary key ({string.Join(", ", key)}), and the raw table has no column " +
                $"{string.Join(", ", missingColumns)}. Capture the key columns, or declare 'primary_key' with columns raw holds.");
        _engine = new DuckDbEngine(settings);
        var columns = Columns(key);
        var readNow = Files(sink.RowFiles(), columns)
            ?? throw new InvalidOperationException($"{id}: no row file was written; deletes cannot be detected."); // a read writes one even when it finds no row
        if (sink.SourceKeys != null)
        {
            _known = Task.Run(() => LiveBitsAsync(key[0], readNow));
            return;
        }
        var known = Task.Run(async () =>
        {
            string live;
            if (existing == null) live = $"SELECT {columns} FROM ({readNow}) WHERE false"; // nothing was live before the first capture
            else
            {
                await _engine.MountAsync(id, table, existing);
                var isDelete = existing.Schema.Find(ChangeOp.Column) != null ? IsDelete : "false";
                // The newest row decides; a delete and a row of the same run: the delete is newer (keys are read after rows).
                live = $"SELECT {columns} FROM {id.ZoneName}.{Sql.Ident(id.Name)} GROUP BY ALL " +
                       $"HAVING NOT arg_max({isDelete}, epoch_us({RawBatchWriter.IngestedAtColumn}) * 2 + {isDelete}::BIGINT)";
            }
            _engine.Execute($"CREATE TABLE known_keys AS {(sink.KeysReadApart ? $"{live} UNION {readNow}" : live)}");
        });
        _known = known;
    }

    private KeyBitmap? _live, _readNow;

    /// <summary>Raw's live keys and the keys just read, as bits (a dense integer key).</summary>
    private async Task LiveBitsAsync(string key, string readNow)
    {
        var engine = Engine;
        _live = new KeyBitmap();
        _readNow = new KeyBitmap();
        var column = Sql.Ident(key);
        if (existing != null)
        {
            await engine.MountAsync(id, table, existing);
            var view = $"{id.ZoneName}.{Sql.Ident(id.Name)}";
            var hasOp = existing.Schema.Find(ChangeOp.Column) != null;
            var add = _live.Adder();
            foreach (var row in engine.Rows($"SELECT {column}::BIGINT FROM {view}{(hasOp ? $" WHERE {ChangeOp.Column} IS DISTINCT FROM '{ChangeOp.Delete}'" : "")}")) add(row.GetInt64(0));
            // A key whose newest row is a delete is not live (a delete and a row of the same run: the delete is newer).
            if (hasOp)
                foreach (var row in engine.Rows($"""
                    SELECT {column}::BIGINT FROM {view} WHERE {column} IN (SELECT {column} FROM {view} WHERE {ChangeOp.Column} = '{ChangeOp.Delete}')
                    GROUP BY ALL HAVING arg_max({IsDelete}, epoch_us({RawBatchWriter.IngestedAtColumn}) * 2 + {IsDelete}::BIGINT)
                    """)) _live.Remove(row.GetInt64(0));
        }
        var read = _readNow.Adder();
        foreach (var row in engine.Rows($"SELECT {column}::BIGINT FROM ({readNow})")) read(row.GetInt64(0));
    }

    /// <summary>The bitmap comparison: deleted = live − source; missing = source − live − read now.</summary>
    private async Task<MissingKeys> CompareBitsAsync(CaptureSink sink, KeyBitmap source, CancellationToken ct)
    {
        await _known!.WaitAsync(ct);
        var engine = Engine;
        var key = sink.DeleteKey![0];
        var type = sink.Columns.First(c => string.Equals(c.Name, key, StringComparison.OrdinalIgnoreCase)).DuckType;
        engine.Execute("CREATE TABLE deleted_keys (k BIGINT)");
        using (var appender = engine.Connection.CreateAppender("deleted_keys"))
            foreach (var k in _live!.Except(source))
            {
                appender.CreateRow().AppendValue(k).EndRow();
                Deleted++;
            }
        if (Deleted > 0)
            DeleteFiles = ParquetOutput.WriteFiles(engine.Connection, $"(SELECT k::{type} AS {Sql.Ident(key)}, {deleteLineage} FROM deleted_keys)",
                [RawBatchWriter.IngestDateColumn], Path.Combine(settings.TempDirectory, "staging"), existing?.Schema, parquetVersion: parquetVersion).Files;
        var count = 0L;
        var keys = new List<object?[]>();
        foreach (var k in source.Except(_live, _readNow!))
            if (++count <= MaxMissing) keys.Add([k]);
        return new MissingKeys(count, count > MaxMissing ? [] : keys);
    }

    public IRowWriter NewKeyWriter(IReadOnlyList<CaptureColumn> key) =>
        new KeyTableWriter(Engine.Connection, $"source_keys_{Interlocked.Increment(ref _keyTables)}", key);

    public async Task<MissingKeys> CompareAsync(CaptureSink sink, CancellationToken ct)
    {
        Done = true;
        if (sink.SourceKeys is { } bits) return await CompareBitsAsync(sink, bits, ct);
        var engine = Engine;
        var columns = Columns(sink.DeleteKey!);
        var tables = sink.KeyWriters().OfType<KeyTableWriter>().Select(w => $"SELECT {columns} FROM {Sql.Ident(w.Table)}").ToList();
        var source = sink.KeysReadApart ? (tables.Count > 0 ? string.Join(" UNION ALL ", tables) : null) : Files(sink.RowFiles(), columns);
        // A read writes a file or a table even when it finds no row, so none means nothing was read: never "every key deleted".
        if (source == null) throw new InvalidOperationException($"{id}: no key of the source was read; deletes cannot be detected.");
        await _known!.WaitAsync(ct);
        // One join finds both: keys known to raw the source lacks (deleted) and keys of the source raw lacks (missing).
        var key = sink.DeleteKey!;
        var match = string.Join(" AND ", key.Select(k => $"s.{Sql.Ident(k)} IS NOT DISTINCT FROM l.{Sql.Ident(k)}"));
        engine.Execute($"""
            CREATE TABLE differences AS
            SELECT {string.Join(", ", key.Select((k, i) => $"l.{Sql.Ident(k)} AS raw_{i}, s.{Sql.Ident(k)} AS source_{i}"))}, l.in_raw IS NOT NULL AS deleted
            FROM (SELECT *, true AS in_raw FROM known_keys) AS l FULL JOIN (SELECT *, true AS in_source FROM ({source})) AS s ON {match}
            WHERE l.in_raw IS NULL OR s.in_source IS NULL
            """);
        Deleted = await engine.CountAsync("SELECT count(*) FROM differences WHERE deleted", ct);
        if (Deleted > 0)
        {
            var deleted = $"SELECT {string.Join(", ", key.Select((k, i) => $"raw_{i} AS {Sql.Ident(k)}"))} FROM differences WHERE deleted";
            DeleteFiles = ParquetOutput.WriteFiles(engine.Connection, $"(SELECT *, {deleteLineage} FROM ({deleted}))", [RawBatchWriter.IngestDateColumn],
                Path.Combine(settings.TempDirectory, "staging"), existing?.Schema, parquetVersion: parquetVersion).Files;
        }
        if (!sink.KeysReadApart) return new MissingKeys(0, []); // the rows read are the whole table
        var count = await engine.CountAsync("SELECT count(*) FROM differences WHERE NOT deleted", ct);
        if (count == 0 || count > MaxMissing) return new MissingKeys(count, []);
        var keys = new List<object?[]>();
        foreach (var row in engine.Rows($"SELECT {string.Join(", ", key.Select((_, i) => $"source_{i}"))} FROM differences WHERE NOT deleted"))
        {
            var values = new object?[key.Count];
            for (var i = 0; i < values.Length; i++) values[i] = row.IsDBNull(i) ? null : row.GetValue(i);
            keys.Add(values);
        }
        return new MissingKeys(count, keys);
    }

    private static readonly string IsDelete = $"coalesce({ChangeOp.Column} = '{ChangeOp.Delete}', false)";

    private static string Columns(IReadOnlyList<string> key) => string.Join(", ", key.Select(Sql.Ident));

    /// <summary>The key columns of local Parquet files, or null when there are none.</summary>
    private static string? Files(IReadOnlyList<DataFile> files, string columns) => files.Count == 0
        ? null
        : $"SELECT {columns} FROM read_parquet([{string.Join(", ", files.Select(f => Sql.Literal(f.LocalPath)))}], union_by_name = true)";

    public void Dispose()
    {
        try
        {
            _known?.Wait();
        }
        catch (Exception)
        {
            // A failed computation of raw's keys was reported by CompareAsync, or the capture failed before it.
        }
        _engine?.Dispose();
    }
}
