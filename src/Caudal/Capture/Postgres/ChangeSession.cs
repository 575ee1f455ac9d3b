using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using DuckDB.NET.Data;
using Npgsql;
using Npgsql.Replication;
using Npgsql.Replication.PgOutput;
using Npgsql.Replication.PgOutput.Messages;
using NpgsqlTypes;

namespace Caudal.Capture.Postgres;

/// <summary>
/// One read of a PostgreSQL source's replication slot in a run (<c>mode: cdc</c>): the publication and the slot are
/// created or reused, a fence message is written to the WAL (<c>pg_logical_emit_message</c>), and the slot is read
/// from its confirmed position up to that fence, so a batch run knows where "now" ends even when nothing changed. The
/// changes of every table are kept apart in DuckDB (spilling to disk) with their operation, their own LSN and their
/// transaction's commit LSN; each dataset then takes its table's changes from its own committed position on. The slot
/// is advanced to the fence only once every dataset has committed (<see cref="AdvanceAsync"/>): a run killed before
/// that reads the same changes again, and each table skips what it already committed.
/// </summary>
internal sealed class ChangeSession : IDisposable
{
    private const string FencePrefix = "caudal";

    private readonly DuckDBConnection _spill;
    private readonly Dictionary<string, TableChanges> _tables = new(StringComparer.OrdinalIgnoreCase);
    private readonly Lock _lock = new();

    private ChangeSession(DuckDBConnection spill, string slot)
    {
        _spill = spill;
        Slot = slot;
    }

    public string Slot { get; }

    /// <summary>Where this run's read of the slot ended (the fence's LSN): the position each dataset commits.</summary>
    public long Fence { get; private set; }

    /// <summary>The slot's confirmed position before this run; null when the slot was created (or re-created after
    /// being invalidated) by this run, so any position a table committed before is gone.</summary>
    public long? Confirmed { get; private set; }

    public string? SlotNote { get; private set; }

    /// <summary>Changes read for each table, kept in DuckDB in segments of one column set each (a new segment when
    /// ALTER TABLE changes the columns).</summary>
    private sealed class TableChanges(string name, IReadOnlyDictionary<string, string> types, IReadOnlyList<string> key)
    {
        public string Name { get; } = name;
        public IReadOnlyDictionary<string, string> Types { get; } = types;

        /// <summary>The table's primary key columns (a change of their values ends the old key's life).</summary>
        public IReadOnlyList<string> Key { get; } = key;
        public List<Segment> Segments { get; } = [];
        public long? TruncatedAt { get; set; }
        public long? UnchangedToastAt { get; set; }
    }

    private sealed record Segment(string Table, string Signature, IReadOnlyList<(string Name, string Type)> Columns, DuckDBAppender Appender)
    {
        public long Rows { get; set; }
        public bool Closed { get; set; }
    }

    public static async Task<ChangeSession> OpenAsync(string connectionString, string slot, string publication, string fenceId,
        IReadOnlyDictionary<string, IReadOnlyDictionary<string, string>> tables, IReadOnlyDictionary<string, IReadOnlyList<string>> keys, EngineSettings engine,
        CancellationToken ct)
    {
        var session = new ChangeSession(ParquetOutput.Open(engine), slot);
        try
        {
            foreach (var (name, types) in tables) session._tables[Relation(name)] = new TableChanges(name, types, keys.GetValueOrDefault(name) ?? []);
            await using (var connection = new NpgsqlConnection(connectionString))
            {
                await connection.OpenAsync(ct);
                await session.PrepareAsync(connection, connectionString, publication, tables.Keys.ToList(), ct);
                await using var fence = new NpgsqlCommand("SELECT pg_logical_emit_message(false, @p, @id)::text", connection);
                fence.Parameters.AddWithValue("p", FencePrefix);
                fence.Parameters.AddWithValue("id", fenceId);
                session.Fence = Lsn((string)(await fence.ExecuteScalarAsync(ct))!);
            }
            await session.ReadAsync(connectionString, publication, fenceId, ct);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    /// <summary>Checks the server, creates or completes the publication, and creates the slot when it is missing or was
    /// invalidated (its WAL removed).</summary>
    private async Task PrepareAsync(NpgsqlConnection connection, string connectionString, string publication, IReadOnlyList<string> tables, CancellationToken ct)
    {
        if (await ScalarAsync(connection, "SHOW wal_level", [], ct) is not "logical")
            throw new CaptureException("mode: cdc reads PostgreSQL's logical replication, and the server's wal_level is not 'logical'. " +
                "Set wal_level = logical in postgresql.conf (and max_replication_slots, max_wal_senders) and restart the server.");
        foreach (var table in tables)
        {
            // A published table without a replica identity refuses UPDATE and DELETE: never publish one.
            var identity = await ScalarAsync(connection, """
                SELECT CASE WHEN c.relreplident = 'f' THEN 'full'
                            WHEN c.relreplident = 'd' AND EXISTS (SELECT 1 FROM pg_index i WHERE i.indrelid = c.oid AND i.indisprimary) THEN 'key'
                            WHEN c.relreplident = 'i' THEN 'index' ELSE 'none' END
                FROM pg_class c WHERE c.oid = to_regclass(@t)
                """, [("t", Quote(table))], ct);
            if (identity is "none" or null)
                throw new CaptureException($"Table '{table}' has no primary key and no REPLICA IDENTITY FULL: PostgreSQL would refuse its UPDATEs and DELETEs " +
                    $"once published. Add a primary key, or run ALTER TABLE {Quote(table)} REPLICA IDENTITY FULL, or capture it with mode: incremental.");
        }
        var published = await StringsAsync(connection, "SELECT format('%I.%I', schemaname, tablename) FROM pg_publication_tables WHERE pubname = @p", [("p", publication)], ct);
        var exists = await ScalarAsync(connection, "SELECT count(*)::text FROM pg_publication WHERE pubname = @p", [("p", publication)], ct) != "0";
        var missing = new List<string>();
        foreach (var table in tables)
            if (!published.Contains(await ScalarAsync(connection, "SELECT format('%I.%I', n.nspname, c.relname) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.oid = to_regclass(@t)",
                    [("t", Quote(table))], ct) ?? table)) missing.Add(table);
        if (!exists) await ExecuteAsync(connection, $"CREATE PUBLICATION {Quote(publication)} FOR TABLE {string.Join(", ", tables.Select(Quote))}", ct);
        else if (missing.Count > 0) await ExecuteAsync(connection, $"ALTER PUBLICATION {Quote(publication)} ADD TABLE {string.Join(", ", missing.Select(Quote))}", ct);

        var state = await StringsAsync(connection,
            "SELECT coalesce(confirmed_flush_lsn::text, '') || '|' || coalesce(wal_status, '') FROM pg_replication_slots WHERE slot_name = @s", [("s", Slot)], ct);
        if (state.Count == 1 && state[0].Split('|') is [var confirmed, var walStatus] && walStatus != "lost" && confirmed.Length > 0)
        {
            Confirmed = Lsn(confirmed);
            return;
        }
        if (state.Count == 1)
        {
            await ExecuteAsync(connection, $"SELECT pg_drop_replication_slot('{Slot.Replace("'", "''")}')", ct);
            SlotNote = $"replication slot '{Slot}' was invalidated (its WAL was removed): re-created";
        }
        else SlotNote = $"replication slot '{Slot}' created";
        await using var replication = new LogicalReplicationConnection(connectionString); // the opened connection's string has no password
        await replication.Open(ct);
        await replication.CreatePgOutputReplicationSlot(Slot, slotSnapshotInitMode: LogicalSlotSnapshotInitMode.NoExport, cancellationToken: ct);
    }

    /// <summary>Reads the slot up to the fence message, keeping each change of a captured table.</summary>
    private async Task ReadAsync(string connectionString, string publication, string fenceId, CancellationToken ct)
    {
        await using var replication = new LogicalReplicationConnection(connectionString);
        await replication.Open(ct);
        var options = new PgOutputReplicationOptions(publication, PgOutputProtocolVersion.V1, binary: false, messages: true);
        long commit = 0;
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(ct);
        await foreach (var message in replication.StartReplication(new PgOutputReplicationSlot(Slot), options, stop.Token))
        {
            switch (message)
            {
                case BeginMessage begin:
                    commit = (long)(ulong)begin.TransactionFinalLsn;
                    break;
                case InsertMessage insert:
                    await AppendAsync(insert.Relation, insert.NewRow, null, ChangeOp.Insert, message.WalStart, commit, ct);
                    break;
                case FullUpdateMessage update:
                    var old = await ValuesAsync(update.OldRow, ct);
                    var newRow = await AppendAsync(update.Relation, update.NewRow, old, ChangeOp.Update, message.WalStart, commit, ct);
                    DeleteOldKey(update.Relation, old, newRow, message.WalStart, commit);
                    break;
                case IndexUpdateMessage update:
                    // Sent when the update changed the replica identity's columns: the old key's values.
                    var oldKey = await ValuesAsync(update.Key, ct);
                    DeleteOldKey(update.Relation, oldKey, await AppendAsync(update.Relation, update.NewRow, null, ChangeOp.Update, message.WalStart, commit, ct),
                        message.WalStart, commit);
                    break;
                case UpdateMessage update:
                    await AppendAsync(update.Relation, update.NewRow, null, ChangeOp.Update, message.WalStart, commit, ct);
                    break;
                case FullDeleteMessage delete:
                    await AppendAsync(delete.Relation, delete.OldRow, null, ChangeOp.Delete, message.WalStart, commit, ct);
                    break;
                case KeyDeleteMessage delete:
                    await AppendAsync(delete.Relation, delete.Key, null, ChangeOp.Delete, message.WalStart, commit, ct);
                    break;
                case TruncateMessage truncate:
                    foreach (var relation in truncate.Relations)
                        if (_tables.TryGetValue(relation.RelationName, out var table)) table.TruncatedAt ??= commit;
                    break;
                case LogicalDecodingMessage fence when fence.Prefix == FencePrefix:
                    using (var reader = new StreamReader(fence.Data)) if (await reader.ReadToEndAsync(ct) == fenceId) stop.Cancel();
                    break;
            }
            if (stop.IsCancellationRequested) break;
        }
    }

    /// <summary>An old row's values as text (null: NULL or not sent), read before the new row (the wire's order).</summary>
    private static async Task<string?[]> ValuesAsync(ReplicationTuple tuple, CancellationToken ct)
    {
        var values = new string?[tuple.NumColumns];
        var i = 0;
        await foreach (var value in tuple.WithCancellation(ct))
            values[i++] = value.IsDBNull || value.IsUnchangedToastedValue ? null : await value.Get<string>(ct);
        return values;
    }

    /// <summary>An update that changed the primary key ends the old key's life: a delete of the old row (or old key),
    /// when the old values hold the whole primary key and it differs from the new row's.</summary>
    private void DeleteOldKey(RelationMessage relation, string?[] old, string?[]? updated, NpgsqlLogSequenceNumber lsn, long commit)
    {
        if (updated == null || !_tables.TryGetValue(relation.RelationName, out var table) || table.Key.Count == 0) return;
        var changed = false;
        foreach (var column in table.Key)
        {
            var i = relation.Columns.ToList().FindIndex(c => c.ColumnName == column);
            if (i < 0 || old[i] == null) return; // the old values do not hold the key: nothing to compare
            changed |= old[i] != updated[i];
        }
        if (changed) AppendValues(relation, old, ChangeOp.Delete, lsn, commit);
    }

    /// <summary>Appends a row from text values already read (an old row, or an old key).</summary>
    private void AppendValues(RelationMessage relation, string?[] values, string op, NpgsqlLogSequenceNumber lsn, long commit)
    {
        if (!_tables.TryGetValue(relation.RelationName, out var table)) return;
        var segment = SegmentFor(table, relation);
        var row = segment.Appender.CreateRow();
        for (var i = 0; i < values.Length; i++)
        {
            if (values[i] is { } text) ChangeValues.Append(row, segment.Columns[i].Type, text);
            else row.AppendNullValue();
        }
        row.AppendValue(op).AppendValue((long)(ulong)lsn).AppendValue(commit).EndRow();
        segment.Rows++;
    }

    /// <summary>Appends a change's row as it streams; returns its values as text (null when the table is not captured).</summary>
    private async Task<string?[]?> AppendAsync(RelationMessage relation, ReplicationTuple tuple, string?[]? old, string op, NpgsqlLogSequenceNumber lsn, long commit, CancellationToken ct)
    {
        if (!_tables.TryGetValue(relation.RelationName, out var table)) return null; // published, but not a dataset of this source
        var segment = SegmentFor(table, relation);
        var row = segment.Appender.CreateRow();
        var texts = new string?[tuple.NumColumns];
        var i = 0;
        await foreach (var value in tuple.WithCancellation(ct))
        {
            var (name, type) = segment.Columns[i];
            if (value.IsDBNull) row.AppendNullValue();
            else if (value.IsUnchangedToastedValue)
            {
                // A large value the update left alone is not sent; the old row has it only with REPLICA IDENTITY FULL.
                if (old?[i] is { } kept) ChangeValues.Append(row, type, kept);
                else
                {
                    row.AppendNullValue();
                    table.UnchangedToastAt ??= commit;
                }
            }
            else
            {
                var text = await value.Get<string>(ct);
                texts[i] = text;
                try
                {
                    ChangeValues.Append(row, type, text);
                }
                catch (FormatException e)
                {
                    throw new CaptureException($"Table '{table.Name}', column '{name}' ({type}), change at LSN {lsn}: '{text}' {e.Message}", e);
                }
            }
            i++;
        }
        row.AppendValue(op).AppendValue((long)(ulong)lsn).AppendValue(commit).EndRow();
        segment.Rows++;
        return texts;
    }

    private Segment SegmentFor(TableChanges table, RelationMessage relation)
    {
        var signature = string.Join(",", relation.Columns.Select(c => $"{c.ColumnName}:{c.DataTypeId}:{c.TypeModifier}"));
        if (table.Segments.LastOrDefault() is { } last && last.Signature == signature) return last;
        var columns = relation.Columns.Select(c => (c.ColumnName, RawBatchWriter.BufferType(table.Types.GetValueOrDefault(c.ColumnName) ?? TypeOf(c.DataTypeId, c.TypeModifier)))).ToList();
        var name = $"changes_{_tables.Values.Sum(t => t.Segments.Count)}";
        ParquetOutput.Execute(_spill, $"CREATE TABLE {name} ({string.Join(", ", columns.Select(c => $"{Sql.Ident(c.Item1)} {c.Item2}"))}, " +
            $"{ChangeOp.Column} VARCHAR, {ChangeOp.LsnColumn} BIGINT, __commit_lsn BIGINT)");
        var segment = new Segment(name, signature, columns, _spill.CreateAppender(name));
        table.Segments.Add(segment);
        return segment;
    }

    /// <summary>The type of a column the table did not have when the run began (ALTER TABLE … ADD COLUMN), by its OID.</summary>
    private static string TypeOf(uint oid, int modifier) => oid switch
    {
        16 => "BOOLEAN",
        21 => "SMALLINT",
        23 => "INTEGER",
        20 => "BIGINT",
        700 => "FLOAT",
        701 => "DOUBLE",
        1700 when modifier >= 4 && ((modifier - 4) >> 16) is > 0 and <= 38 => $"DECIMAL({(modifier - 4) >> 16},{(modifier - 4) & 0xFFFF})",
        1082 => "DATE",
        1114 or 1184 => "TIMESTAMP",
        17 => "BLOB",
        1005 or 1007 or 1016 => "BIGINT[]",
        1021 or 1022 => "DOUBLE[]",
        1000 => "BOOLEAN[]",
        _ => "VARCHAR",
    };

    /// <summary>The commit LSN at which the table was truncated in this read, or null.</summary>
    public long? TruncatedAt(string table) => _tables.GetValueOrDefault(Relation(table))?.TruncatedAt;

    /// <summary>The commit LSN of the first update whose unchanged large (TOASTed) value was not sent, or null.</summary>
    public long? UnchangedToastAt(string table) => _tables.GetValueOrDefault(Relation(table))?.UnchangedToastAt;

    /// <summary>The table's changes of transactions committed at or after <paramref name="from"/>, as raw files with
    /// the run's lineage; and the counts of each operation.</summary>
    public IReadOnlyList<(IReadOnlyList<DataFile> Files, DeltaSchema Schema)> Files(string table, long from, string lineage, string staging,
        DeltaSchema? existing, IReadOnlyDictionary<string, string?> partition, int parquetVersion, out IReadOnlyDictionary<string, long> counts)
    {
        var result = new List<(IReadOnlyList<DataFile>, DeltaSchema)>();
        var ops = new Dictionary<string, long>();
        lock (_lock)
        {
            foreach (var segment in _tables[Relation(table)].Segments)
            {
                if (!segment.Closed)
                {
                    segment.Appender.Close();
                    segment.Closed = true;
                }
                var where = $"WHERE __commit_lsn >= {from}";
                var rows = 0L;
                using (var command = _spill.CreateCommand())
                {
                    command.CommandText = $"SELECT {ChangeOp.Column}, count(*) FROM {segment.Table} {where} GROUP BY ALL";
                    using var reader = command.ExecuteReader();
                    while (reader.Read())
                    {
                        ops[reader.GetString(0)] = ops.GetValueOrDefault(reader.GetString(0)) + reader.GetInt64(1);
                        rows += reader.GetInt64(1);
                    }
                }
                if (rows == 0) continue;
                var output = ParquetOutput.WriteFiles(_spill, $"(SELECT * EXCLUDE (__commit_lsn), {lineage} FROM {segment.Table} {where} ORDER BY {ChangeOp.LsnColumn})",
                    [RawBatchWriter.IngestDateColumn], staging, existing, partition, parquetVersion);
                result.Add((output.Files, output.Schema));
            }
        }
        counts = ops;
        return result;
    }

    /// <summary>Confirms the fence to the slot: the WAL before it may be recycled, and the next run starts there.</summary>
    public async Task AdvanceAsync(string connectionString, CancellationToken ct)
    {
        await using var connection = new NpgsqlConnection(connectionString);
        await connection.OpenAsync(ct);
        await using var command = new NpgsqlCommand(
            "SELECT pg_replication_slot_advance(@s, @l::pg_lsn) FROM pg_replication_slots WHERE slot_name = @s AND confirmed_flush_lsn < @l::pg_lsn", connection);
        command.Parameters.AddWithValue("s", Slot);
        command.Parameters.AddWithValue("l", Text(Fence));
        await command.ExecuteNonQueryAsync(ct);
    }

    public static long Lsn(string text) => (long)(ulong)NpgsqlLogSequenceNumber.Parse(text);

    public static string Text(long lsn) => new NpgsqlLogSequenceNumber((ulong)lsn).ToString();

    /// <summary>A table name, schema-qualified or not, quoted part by part.</summary>
    private static string Quote(string identifier) => string.Join(".", identifier.Split('.').Select(p => "\"" + p.Replace("\"", "\"\"") + "\""));

    /// <summary>The name the log gives a table (without its schema).</summary>
    private static string Relation(string table) => table[(table.LastIndexOf('.') + 1)..];

    private static async Task<string?> ScalarAsync(NpgsqlConnection connection, string sql, IReadOnlyList<(string, object)> parameters, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        return await command.ExecuteScalarAsync(ct) as string;
    }

    private static async Task<List<string>> StringsAsync(NpgsqlConnection connection, string sql, IReadOnlyList<(string, object)> parameters, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        foreach (var (name, value) in parameters) command.Parameters.AddWithValue(name, value);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var values = new List<string>();
        while (await reader.ReadAsync(ct)) values.Add(reader.GetString(0));
        return values;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken ct)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct);
    }

    public void Dispose()
    {
        foreach (var segment in _tables.Values.SelectMany(t => t.Segments))
        {
            try
            {
                segment.Appender.Dispose();
            }
            catch (Exception)
            {
                // Closed already, or failed mid-row: nothing left to release.
            }
        }
        _spill.Dispose();
    }
}
