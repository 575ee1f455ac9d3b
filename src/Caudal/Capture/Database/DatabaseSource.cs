using System.Data.Common;
using System.Text.RegularExpressions;
using Caudal.Spec;

namespace Caudal.Capture.Database;

/// <summary>
/// What MySQL/MariaDB and PostgreSQL share: datasets chosen by name or glob pattern, full or incremental reads with an
/// inclusive watermark and lookback, large tables split into primary-key ranges read in parallel, and a range that
/// fails mid-stream (a killed connection) read again from scratch — its partial files are discarded, never committed.
/// </summary>
public abstract class DatabaseSource(SourceSpec spec) : ISource
{
    private const int RangeAttempts = 3;

    protected SourceSpec Spec { get; } = spec;
    public string Name => Spec.Name;

    /// <summary>The source's settings (connection, parallelism, split size), read once from its spec.</summary>
    protected DatabaseOptions Options { get; } = DatabaseOptions.From(spec);

    /// <summary>The connection string, from the spec's <c>connection</c> (an ADO.NET string or a URL).</summary>
    protected string ConnectionString => Options.Connection!;

    protected int Parallelism => Options.Parallelism;

    public int DatasetsAtOnce => Options.TablesAtOnce;

    protected long SplitRows => Options.SplitRows;

    protected abstract Task<DbConnection> OpenAsync(CancellationToken ct);
    /// <summary>SQL listing the base tables of the connection's database/schema, one name per row.</summary>
    protected abstract string ListTablesSql { get; }

    protected Task<IReadOnlyList<string>> ListTablesAsync(DbConnection connection, CancellationToken ct) =>
        StringsAsync(connection, ListTablesSql, [], ct);

    /// <summary>The first column of every row of a query, as text.</summary>
    protected static async Task<IReadOnlyList<string>> StringsAsync(DbConnection connection, string sql,
        IReadOnlyList<(string Name, object Value)> parameters, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters) AddParameter(command, name, value);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var values = new List<string>();
        while (await reader.ReadAsync(ct)) values.Add(reader.GetString(0));
        return values;
    }
    /// <summary>The columns of <c>SELECT * FROM {from}</c>, mapped to buffer types.</summary>
    protected abstract Task<List<DatabaseColumn>> ColumnsAsync(DbConnection connection, string from, CancellationToken ct);

    /// <summary>SQL returning a table's primary-key columns in order; its one parameter <c>@t</c> is <see cref="KeyParameter"/>.</summary>
    protected abstract string PrimaryKeySql { get; }

    protected virtual string KeyParameter(string table) => table;

    private static readonly string[] SplittableTypes = ["TINYINT", "UTINYINT", "SMALLINT", "USMALLINT", "INTEGER", "UINTEGER", "BIGINT"];

    /// <summary>How a dataset is read: its columns, the integer primary key to split it by (if any), its cursor column.</summary>
    private async Task<DatabaseRead> PlanAsync(DbConnection connection, DatasetSpec dataset, CancellationToken ct)
    {
        var from = dataset.Query != null ? $"({dataset.Query}) AS q" : Quote(dataset.Table!);
        var columns = await ColumnsAsync(connection, from, ct);
        DatabaseColumn? Column(string name) => columns.FirstOrDefault(c => c.Name.Equals(name, StringComparison.OrdinalIgnoreCase));

        string? splitKey = null;
        var key = dataset.PrimaryKey ?? (dataset.Table != null ? await StringsAsync(connection, PrimaryKeySql, [("t", KeyParameter(dataset.Table))], ct) : []);
        var keyColumns = new List<DatabaseColumn>();
        foreach (var name in key)
            keyColumns.Add(Column(name) ?? throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': primary key column '{name}' is not a column of " +
                $"{(dataset.Table != null ? $"table '{dataset.Table}'" : "the query")}{Values.DidYouMean.Suggest(name, columns.Select(c => c.Name))}."));
        if (dataset.Table != null && keyColumns.Count == 1 && SplittableTypes.Contains(keyColumns[0].DuckType)) splitKey = keyColumns[0].Name;
        var cursor = dataset.Cursor == null ? null : Column(dataset.Cursor);
        if (dataset.Mode == CaptureMode.Incremental && dataset.Cursor != null && cursor == null && dataset.Table == null)
            throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': the query has no cursor column '{dataset.Cursor}'.");
        if (dataset.Deletes == DeleteDetection.Detect && keyColumns.Count == 0)
            throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': deletes: detect compares primary keys, and " +
                $"{(dataset.Table != null ? $"table '{dataset.Table}' has no primary key" : "a query has none")}. Declare the columns that identify a row " +
                "with 'primary_key: [..]' on the dataset, or set 'deletes: ignore' for it.");
        return new DatabaseRead(dataset.Name, from, columns, splitKey, cursor, keyColumns);
    }
    protected abstract string Quote(string identifier);

    /// <summary>Streams the rows of <paramref name="sql"/> into <paramref name="writer"/>; reports each row's cursor value.</summary>
    protected abstract Task ReadAsync(DbConnection connection, string sql, IReadOnlyList<(string Name, object Value)> parameters,
        DatabaseRead read, IRowWriter writer, Action<long>? cursorSeen, CancellationToken ct);

    /// <summary>The datasets of this run, once <see cref="ResolveDatasetsAsync"/> has expanded the patterns.</summary>
    protected IReadOnlyList<DatasetSpec> Resolved { get; private set; } = [];

    public async Task<IReadOnlyList<DatasetSpec>> ResolveDatasetsAsync(CancellationToken ct = default) => Resolved = await ExpandAsync(ct);

    private async Task<IReadOnlyList<DatasetSpec>> ExpandAsync(CancellationToken ct)
    {
        var patterns = Spec.Datasets.Where(d => d.Query == null && (d.Name == "*" || d.Table?.Contains('*') == true)).ToList();
        if (patterns.Count == 0) return Spec.Datasets;
        await using var connection = await OpenChecked(ct);
        var tables = await ListTablesAsync(connection, ct);
        var resolved = Spec.Datasets.Except(patterns).ToList();
        foreach (var pattern in patterns)
        {
            var glob = new Regex("^" + Regex.Escape(pattern.Table ?? "*").Replace("\\*", ".*") + "$", RegexOptions.IgnoreCase);
            foreach (var table in tables.Where(t => glob.IsMatch(t) && resolved.All(d => d.Name != t.ToLowerInvariant())))
                resolved.Add(pattern with { Name = table.ToLowerInvariant(), Table = table });
        }
        return resolved;
    }

    public async Task<IReadOnlyList<CaptureColumn>> DescribeAsync(DatasetSpec dataset, CancellationToken ct = default)
    {
        await using var connection = await OpenChecked(ct);
        var read = await PlanChecked(connection, dataset, ct);
        return read.Columns.Select(c => new CaptureColumn(c.Name, c.DuckType)).ToList();
    }

    protected async Task<DbConnection> OpenChecked(CancellationToken ct)
    {
        try
        {
            return await OpenAsync(ct);
        }
        catch (Exception e) when (e is DbException or InvalidOperationException or ArgumentException or System.Net.Sockets.SocketException)
        {
            throw new CaptureException($"Source '{Name}': cannot connect: {e.Message}", e);
        }
    }

    private async Task<DatabaseRead> PlanChecked(DbConnection connection, DatasetSpec dataset, CancellationToken ct)
    {
        if (dataset.Table != null)
        {
            var tables = await ListTablesAsync(connection, ct);
            if (!tables.Contains(dataset.Table, StringComparer.OrdinalIgnoreCase))
                throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': table '{dataset.Table}' does not exist or is not visible to this user" +
                    $"{Values.DidYouMean.Suggest(dataset.Table, tables)}.");
        }
        try
        {
            return await PlanAsync(connection, dataset, ct);
        }
        catch (DbException e)
        {
            throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': {e.Message}", e);
        }
    }

    public async Task CaptureAsync(DatasetSpec dataset, CaptureSink sink, CancellationToken ct = default)
    {
        if (dataset.Mode == CaptureMode.Cdc)
        {
            await CaptureChangesAsync(dataset, sink, ct);
            return;
        }
        List<string> where = [];
        List<(string, object)> parameters = [];
        long? min = null, max = null;
        string? snapshot = null;
        // The planning connection stays open while the ranges are read: where the server can share its snapshot
        // (PostgreSQL), every range and the bounds read the very same snapshot, so a parallel read is exact.
        await using var connection = await OpenChecked(ct);
        var read = await PlanChecked(connection, dataset, ct);
        var split = read.SplitKey != null && Parallelism > 1;
        if (split) snapshot = await ExportSnapshotAsync(connection, ct);
        var incremental = dataset.Mode == CaptureMode.Incremental && read.Cursor != null;
        if (incremental && sink.Window is { Backfill: true } span)
        {
            // A backfill window: the rows whose cursor falls in it, wherever the watermark is (which it leaves alone).
            var cursor = read.Cursor!;
            if (!Watermark.IsTime(CursorType(cursor)))
                throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': cursor '{cursor.Name}' is not a date or time, so the window {span} cannot bound it.");
            where.Add($"{Quote(cursor.Name)} >= @window_from AND {Quote(cursor.Name)} < @window_to");
            parameters.Add(("window_from", CursorParameter(span.From.UtcDateTime, cursor)));
            parameters.Add(("window_to", CursorParameter(span.To.UtcDateTime, cursor)));
            if (split) (min, max, _, _) = await BoundsAsync(connection, read, split, incremental: false, where, parameters, ct);
            await ReadRangesAsync(dataset, read, where, parameters, min, max, snapshot, sink, Rows(sink), cursorSeen: null, ct);
            return; // a window of older rows says nothing of what was deleted since
        }
        // The cursor window: from the watermark minus the lookback (once there is one) up to the newest value when
        // the read began. A row whose cursor is NULL has no place in it; the dataset's policy decides (see below).
        List<string> window = [];
        if (incremental && sink.Since is { } since)
        {
            var from = Watermark.From(since, dataset, CursorType(read.Cursor!));
            window.Add($"{Quote(read.Cursor!.Name)} >= @cursor_from");
            parameters.Add(("cursor_from", Watermark.IsTime(CursorType(read.Cursor)) ? CursorParameter(Watermark.ToTime(from), read.Cursor) : from));
        }
        if (incremental || split)
        {
            var bounds = await BoundsAsync(connection, read, split, incremental, window.Count == 0 ? [] : [$"({window[0]} OR {Quote(read.Cursor!.Name)} IS NULL)"], parameters, ct);
            // The watermark can only move up to the newest cursor value when the read began: a row changed while
            // the key ranges are being read gets a later cursor value and is read by the next run, even when
            // another range has already seen later rows.
            if (bounds.CursorMax != null)
            {
                window.Add($"{Quote(read.Cursor!.Name)} <= @cursor_to");
                parameters.Add(("cursor_to", bounds.CursorMax));
            }
            (min, max) = (bounds.KeyMin, bounds.KeyMax);
            if (incremental) where.AddRange(CursorPolicy(dataset, read, window, bounds.CursorMissing, sink));
        }

        var cursorSeen = dataset.Mode == CaptureMode.Incremental && read.Cursor != null ? sink.RaiseWatermark : (Action<long>?)null;
        await ReadRangesAsync(dataset, read, where, parameters, min, max, snapshot, sink, Rows(sink), cursorSeen, ct);
        if (dataset.Deletes != DeleteDetection.Detect) return;
        // A read without a cursor window holds every key; a windowed one reads the keys apart, after the rows (in the same
        // snapshot where the server shares one), so a row read and then deleted is seen as deleted. Rows a policy leaves
        // out (a NULL cursor, on_cursor_value_missing: exclude) are left out of the keys too.
        var windowed = incremental && window.Count > 0;
        List<string> notNull = incremental && dataset.OnCursorValueMissing == CursorValueMissing.Exclude ? [$"{Quote(read.Cursor!.Name)} IS NOT NULL"] : [];
        if (!windowed) sink.DetectDeletes([.. read.Key.Select(k => k.Name)], keysReadApart: false);
        else
        {
            var keys = read with { Columns = read.Key, Cursor = null };
            var (keyMin, keyMax) = await KeyBoundsAsync(connection, keys, notNull, ct);
            // An integer key in a range small enough is compared as bits (no key is written anywhere); any other in DuckDB.
            var bitmap = keyMin is { } first && keyMax is { } last && KeyBitmap.Fits(first, last) ? new KeyBitmap()
                : keyMin == null && read.Key.Count == 1 && SplittableTypes.Contains(read.Key[0].DuckType) ? new KeyBitmap() // no rows
                : null;
            sink.DetectDeletes([.. read.Key.Select(k => k.Name)], keysReadApart: true, bitmap);
            var (lo, hi) = split && keyMax - keyMin + 1 >= SplitRows ? (keyMin, keyMax) : (null, null);
            if (bitmap == null) await ReadRangesAsync(dataset, keys, notNull, [], lo, hi, snapshot, sink, sink.NewKeyWriter, cursorSeen: null, ct);
            else await ReadRangesAsync(dataset, keys, notNull, [], lo, hi, snapshot,
                (c, sql, values, token) => ReadKeysAsync(c, sql, values, read.Key[0], bitmap.Adder(), token), ct); // read again, a key is set again: nothing to undo
        }
        var missing = await sink.CompareKeysAsync(ct);
        if (missing.Count == 0) return;
        // Rows the cursor could not see (inserted or restored with a cursor value behind the watermark): read by key when
        // they are few, else the table whole. The watermark stays where the cursor read left it.
        if (missing.Keys.Count > 0 && read.Key.All(k => KeyTypes.Contains(k.DuckType)))
        {
            sink.Warn($"{missing.Count:N0} row(s) behind the cursor's watermark (absent from raw) read by their key");
            foreach (var batch in missing.Keys.Chunk(KeysPerQuery))
            {
                var (match, values) = KeyMatch(read.Key, batch);
                await ReadRangesAsync(dataset, read, [match, .. notNull], values, null, null, snapshot, sink, Rows(sink), cursorSeen: null, ct);
            }
            return;
        }
        sink.Warn($"{missing.Count:N0} key(s) of the source absent from raw, behind the cursor's watermark: the table was read whole");
        sink.DiscardRows();
        var (min2, max2, _, _) = split ? await BoundsAsync(connection, read, split, incremental: false, notNull, [], ct) : (null, null, null, 0);
        await ReadRangesAsync(dataset, read, notNull, [], min2, max2, snapshot, sink, Rows(sink), cursorSeen: null, ct);
    }

    private static Func<RawBatchWriter> Rows(CaptureSink sink) => () => sink.NewWriter(RowStamp.Snapshot);

    /// <summary>Key types whose values read back from the lake bind as parameters every server compares exactly.</summary>
    private static readonly string[] KeyTypes = [.. SplittableTypes, "UINTEGER", "UBIGINT", "VARCHAR"];

    private const int KeysPerQuery = 500;

    /// <summary>A condition matching the rows of <paramref name="keys"/>, and its parameters.</summary>
    private (string Where, List<(string, object)> Parameters) KeyMatch(IReadOnlyList<DatabaseColumn> key, object?[][] keys)
    {
        var parameters = new List<(string, object)>();
        var rows = keys.Select((values, row) => "(" + string.Join(" AND ", key.Select((column, i) =>
        {
            parameters.Add(($"key_{row}_{i}", values[i] ?? DBNull.Value));
            return $"{Quote(column.Name)} = @key_{row}_{i}";
        })) + ")");
        return ("(" + string.Join(" OR ", rows) + ")", parameters);
    }

    /// <summary>Reads one range: the query, its parameters, on a connection of its own (already in the shared snapshot).</summary>
    private delegate Task RangeRead(DbConnection connection, string sql, IReadOnlyList<(string Name, object Value)> parameters, CancellationToken ct);

    /// <summary>Reads a dataset's changes from the database's log (<c>mode: cdc</c>), where the kind can.</summary>
    protected virtual Task CaptureChangesAsync(DatasetSpec dataset, CaptureSink sink, CancellationToken ct) =>
        throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': mode 'cdc' is not available for this kind of source.");

    /// <summary>Reads a table whole in an exported snapshot, every row stamped with <paramref name="stamp"/>, and detects
    /// the keys gone from it: a change capture's first read, or its read again.</summary>
    protected async Task ReadWholeAsync(DatasetSpec dataset, CaptureSink sink, string snapshot, RowStamp stamp, CancellationToken ct)
    {
        await using var connection = await OpenChecked(ct);
        await UseSnapshotAsync(connection, snapshot, ct);
        var read = await PlanChecked(connection, dataset, ct);
        if (read.Key.Count == 0)
            throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': table '{dataset.Table}' has no primary key, which a change capture needs " +
                "to follow a row's changes. Declare the columns that identify a row with 'primary_key: [..]' on the dataset.");
        var split = read.SplitKey != null && Parallelism > 1;
        var (min, max, _, _) = split ? await BoundsAsync(connection, read, split, incremental: false, [], [], ct) : (null, null, null, 0);
        await ReadRangesAsync(dataset, read, [], [], min, max, snapshot, sink, () => sink.NewWriter(stamp), cursorSeen: null, ct);
        sink.DetectDeletes([.. read.Key.Select(k => k.Name)], keysReadApart: false);
        await sink.CompareKeysAsync(ct);
    }

    /// <summary>Reads a table whole on one connection whose transaction holds the snapshot (where a server cannot share
    /// a snapshot between connections: MySQL/MariaDB), every row stamped with <paramref name="stamp"/>, and detects the
    /// keys gone from it.</summary>
    protected async Task ReadWholeAsync(DatasetSpec dataset, CaptureSink sink, DbConnection snapshot, RowStamp stamp, CancellationToken ct)
    {
        var read = await PlanChecked(snapshot, dataset, ct);
        if (read.Key.Count == 0)
            throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': table '{dataset.Table}' has no primary key, which a change capture needs " +
                "to follow a row's changes. Declare the columns that identify a row with 'primary_key: [..]' on the dataset.");
        var writer = sink.NewWriter(stamp);
        try
        {
            await ReadAsync(snapshot, $"SELECT {string.Join(", ", read.Columns.Select(c => c.SelectExpression))} FROM {read.From}", [], read, writer, null, ct);
            writer.Finish();
        }
        catch (Exception e) when (e is DbException or IOException or InvalidOperationException)
        {
            sink.Discard(writer);
            throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': {e.Message}", e);
        }
        sink.DetectDeletes([.. read.Key.Select(k => k.Name)], keysReadApart: false);
        await sink.CompareKeysAsync(ct);
    }

    /// <summary>Reads the rows matching <paramref name="where"/> into writers from <paramref name="newWriter"/>.</summary>
    private Task ReadRangesAsync(DatasetSpec dataset, DatabaseRead read, List<string> where, List<(string, object)> parameters,
        long? min, long? max, string? snapshot, CaptureSink sink, Func<IRowWriter> newWriter, Action<long>? cursorSeen, CancellationToken ct) =>
        ReadRangesAsync(dataset, read, where, parameters, min, max, snapshot, async (connection, sql, values, token) =>
        {
            var writer = newWriter();
            try
            {
                await ReadAsync(connection, sql, values, read, writer, cursorSeen, token);
                writer.Finish(); // frees the range's buffer now: memory is bounded by the readers running, not by the ranges
            }
            catch (Exception)
            {
                sink.Discard(writer); // the range is read again from its start: no partial rows, no duplicates
                throw;
            }
        }, ct);

    /// <summary>Reads the query's rows split into key ranges between min and max when given, each range on its own
    /// connection and read again from its start if its connection dies.</summary>
    private async Task ReadRangesAsync(DatasetSpec dataset, DatabaseRead read, List<string> where, List<(string, object)> parameters,
        long? min, long? max, string? snapshot, RangeRead readRange, CancellationToken ct)
    {
        var ranges = SplitRanges(min, max);
        await Parallel.ForEachAsync(ranges, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = ct }, async (range, token) =>
        {
            var rangeWhere = new List<string>(where);
            var rangeParameters = new List<(string, object)>(parameters);
            if (range is var (lo, hi))
            {
                rangeWhere.Add($"{Quote(read.SplitKey!)} >= @range_lo AND {Quote(read.SplitKey!)} <= @range_hi");
                rangeParameters.Add(("range_lo", lo));
                rangeParameters.Add(("range_hi", hi));
            }
            var sql = $"SELECT {string.Join(", ", read.Columns.Select(c => c.SelectExpression))} FROM {read.From}" +
                      (rangeWhere.Count > 0 ? " WHERE " + string.Join(" AND ", rangeWhere) : "");
            for (var attempt = 1; ; attempt++)
            {
                try
                {
                    await using var connection = await OpenChecked(token);
                    if (snapshot != null) await UseSnapshotAsync(connection, snapshot, token);
                    await readRange(connection, sql, rangeParameters, token);
                    return;
                }
                catch (Exception e) when (attempt < RangeAttempts && IsTransient(e) && !token.IsCancellationRequested)
                {
                    await Task.Delay(TimeSpan.FromMilliseconds(200 * attempt), token);
                }
                catch (Exception e) when (e is DbException or IOException or InvalidOperationException)
                {
                    throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': {e.Message} (after {attempt} attempt{(attempt > 1 ? "s" : "")})", e);
                }
            }
        });
    }

    /// <summary>Streams the one integer column of <paramref name="sql"/>'s rows (a primary key) to <paramref name="key"/>.</summary>
    protected abstract Task ReadKeysAsync(DbConnection connection, string sql, IReadOnlyList<(string Name, object Value)> parameters,
        DatabaseColumn column, Action<long> key, CancellationToken ct);

    /// <summary>Starts a transaction on <paramref name="connection"/> whose snapshot other connections can join; returns
    /// its id, or null where the server cannot share snapshots (each range then reads its own).</summary>
    protected virtual Task<string?> ExportSnapshotAsync(DbConnection connection, CancellationToken ct) => Task.FromResult<string?>(null);

    /// <summary>Makes <paramref name="connection"/> read the exported snapshot.</summary>
    protected virtual Task UseSnapshotAsync(DbConnection connection, string snapshot, CancellationToken ct) => Task.CompletedTask;

    /// <summary>Connection losses and server restarts are worth another attempt; bad SQL or permissions are not.</summary>
    protected abstract bool IsTransient(Exception e);

    /// <summary>One query for what the read needs to know first: the split key's range (null when the table is too small
    /// to split) and the newest cursor value.</summary>
    private async Task<(long? KeyMin, long? KeyMax, object? CursorMax, long CursorMissing)> BoundsAsync(DbConnection connection, DatabaseRead read, bool split,
        bool incremental, List<string> where, List<(string Name, object Value)> parameters, CancellationToken ct)
    {
        await using var command = connection.CreateCommand();
        var key = split ? Quote(read.SplitKey!) : "NULL";
        var cursor = incremental ? Quote(read.Cursor!.Name) : "NULL";
        command.CommandText = $"SELECT MIN({key}), MAX({key}), COUNT(*), MAX({cursor}), COUNT(*) - COUNT({cursor}) FROM {read.From}" +
                              (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "");
        foreach (var (name, value) in parameters) AddParameter(command, name, value);
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        var cursorMax = incremental && !reader.IsDBNull(3) ? reader.GetValue(3) : null;
        var cursorMissing = incremental ? Convert.ToInt64(reader.GetValue(4), System.Globalization.CultureInfo.InvariantCulture) : 0;
        if (!split || reader.IsDBNull(0) || Convert.ToInt64(reader.GetValue(2)) < SplitRows) return (null, null, cursorMax, cursorMissing);
        return (Convert.ToInt64(reader.GetValue(0)), Convert.ToInt64(reader.GetValue(1)), cursorMax, cursorMissing);
    }

    /// <summary>The lowest and highest value of a single-column integer key among the rows matching <paramref name="where"/>
    /// (an index lookup, not a scan), or nulls (another key, or no rows).</summary>
    private async Task<(long? Min, long? Max)> KeyBoundsAsync(DbConnection connection, DatabaseRead keys, List<string> where, CancellationToken ct)
    {
        if (keys.Columns.Count != 1 || !SplittableTypes.Contains(keys.Columns[0].DuckType)) return (null, null);
        var key = Quote(keys.Columns[0].Name);
        await using var command = connection.CreateCommand();
        command.CommandText = $"SELECT MIN({key}), MAX({key}) FROM {keys.From}" + (where.Count > 0 ? " WHERE " + string.Join(" AND ", where) : "");
        await using var reader = await command.ExecuteReaderAsync(ct);
        await reader.ReadAsync(ct);
        long? Value(int i) => reader.IsDBNull(i) ? null : Convert.ToInt64(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture);
        return (Value(0), Value(1));
    }

    /// <summary>The read's cursor condition under the dataset's policy for rows whose cursor is NULL (counted by the
    /// bounds query, never dropped without a word): included on every run (the default: they cannot be placed
    /// before or after the watermark, so they might have changed), excluded and counted, or the dataset fails.</summary>
    private IEnumerable<string> CursorPolicy(DatasetSpec dataset, DatabaseRead read, List<string> window, long missing, CaptureSink sink)
    {
        var cursor = Quote(read.Cursor!.Name);
        var inWindow = window.Count > 0 ? string.Join(" AND ", window) : null;
        switch (dataset.OnCursorValueMissing)
        {
            case CursorValueMissing.Raise when missing > 0:
                throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': {missing:N0} row(s) have no value (NULL) in the cursor " +
                    $"column '{read.Cursor.Name}', and on_cursor_value_missing is 'raise'. Set it to 'include' (read them on every run) or " +
                    "'exclude' (leave them out, counted in the run record), or give those rows a cursor value.");
            case CursorValueMissing.Exclude:
                if (missing > 0)
                    sink.Warn($"{missing:N0} row(s) with a NULL cursor '{read.Cursor.Name}' left out (on_cursor_value_missing: exclude)");
                return [inWindow ?? $"{cursor} IS NOT NULL"];
            default:
                if (missing > 0)
                    sink.Warn($"{missing:N0} row(s) with a NULL cursor '{read.Cursor.Name}' included; they are read again on every run (on_cursor_value_missing: include)");
                return inWindow == null ? [] : [$"(({inWindow}) OR {cursor} IS NULL)"];
        }
    }

    /// <summary>A time watermark as the server compares it with the cursor column.</summary>
    protected virtual object CursorParameter(DateTime time, DatabaseColumn cursor) => time;

    /// <summary>What the cursor's values are for its watermark (a time or an integer type): the column's own type,
    /// unless the source keeps times in another one (SQLite's TEXT).</summary>
    protected virtual string CursorType(DatabaseColumn cursor) => cursor.DuckType;

    private List<(long, long)?> SplitRanges(long? min, long? max)
    {
        if (min is not { } lo || max is not { } hi) return [null];
        var parts = Parallelism * 4; // more ranges than readers: a retried range costs less, and readers stay busy
        var size = Math.Max(1, (hi - lo + 1 + parts - 1) / parts);
        var ranges = new List<(long, long)?>();
        for (var start = lo; start <= hi; start += size) ranges.Add((start, Math.Min(hi, start + size - 1)));
        return ranges;
    }

    protected static void AddParameter(DbCommand command, string name, object value)
    {
        var p = command.CreateParameter();
        p.ParameterName = name;
        p.Value = value;
        command.Parameters.Add(p);
    }

    public virtual Task CommittedAsync(bool everyDatasetCommitted, CancellationToken ct) => Task.CompletedTask;

    /// <summary>The log position each <c>mode: cdc</c> dataset committed last, told before the run's captures.</summary>
    protected IReadOnlyDictionary<string, long> CommittedPositions { get; private set; } = new Dictionary<string, long>();

    public void Positions(IReadOnlyDictionary<string, long> committed) => CommittedPositions = committed;

    public virtual void Dispose()
    {
    }
}
