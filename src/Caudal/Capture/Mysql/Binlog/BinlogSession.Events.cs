using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using DuckDB.NET.Data;

namespace Caudal.Capture.Mysql.Binlog;

/// <summary>The events of a binlog read: each event's header and body, the transactions they make (GTID/BEGIN …
/// XID/COMMIT), the table maps, the row images of captured tables, and the statements that make a table's rows in this
/// read untrustworthy alone (so datasets read it whole again).</summary>
internal sealed partial class BinlogSession
{
    private sealed class ReadState
    {
        public int File { get; set; }
        public string FileName { get; set; } = "";
        public long Offset { get; set; }
        public bool Checksum { get; set; }
        public Dictionary<ulong, TableMap> Maps { get; } = [];
        public long Transaction { get; set; }
        public bool InTransaction { get; set; }
        public bool TransactionHasRows { get; set; }
        public string? Gtid { get; set; }
        public long TransactionStart { get; set; }

        /// <summary>The captured tables the open transaction wrote rows of.</summary>
        public HashSet<TableChanges> Touched { get; } = [];
    }

    private void Handle(ReadOnlyMemory<byte> memory, ReadState state)
    {
        var header = memory.Span;
        var type = header[4];
        var size = (int)BinaryPrimitives.ReadUInt32LittleEndian(header[9..]);
        var next = BinaryPrimitives.ReadUInt32LittleEndian(header[13..]);
        // A FORMAT_DESCRIPTION ends with its file's checksum algorithm (1: CRC32) and four checksum bytes: the events
        // after it in that file carry a CRC32 or not by it (the events before it, by the server's setting).
        if (type == FormatDescriptionEvent && size >= 24) state.Checksum = header[size - 5] == 1;
        var body = memory[19..(size - (state.Checksum ? 4 : 0))]; // without the CRC32 (TCP checks the bytes; the server checked the sum)
        var start = next == 0 ? state.Offset : next - size;
        switch (type)
        {
            case RotateEvent:
                var rotate = new PacketReader(body);
                state.Offset = (long)rotate.UInt64(); // where the next event is: 4 in a new file, the requested position in the first
                state.FileName = Encoding.UTF8.GetString(rotate.Bytes(rotate.Remaining));
                state.File = BinlogPosition.Number(state.FileName);
                return;
            case MariaGtidEvent:
                Begin(state, start, MariaGtid(body.Span, BinaryPrimitives.ReadUInt32LittleEndian(header[5..])));
                break;
            case MySqlGtidEvent:
                Begin(state, start, MySqlGtid(body.Span));
                break;
            case MySqlAnonymousGtidEvent:
                Begin(state, start, null);
                break;
            case QueryEvent:
                Query(body, state, start, next);
                break;
            case XidEvent:
                Commit(state, next);
                break;
            case TableMapEvent:
                var (id, map) = ReadTableMap(body);
                state.Maps[id] = map;
                break;
            case WriteRowsV1 or UpdateRowsV1 or DeleteRowsV1 or WriteRowsV2 or UpdateRowsV2 or DeleteRowsV2:
                if (!state.InTransaction) Begin(state, start, null);
                Rows(type, body, state, start + 19);
                break;
            case XaPrepare:
                Mark(state, state.Touched, start, "a two-phase XA transaction was prepared (its rows count once it commits)");
                state.InTransaction = false;
                break;
            case BeginLoadQuery or ExecuteLoadQuery:
                Mark(state, AllTables, start, "LOAD DATA was logged as a statement, not as rows");
                break;
            case Incident:
                Mark(state, AllTables, start, "an incident event: the server says changes may be missing from the binlog");
                break;
            case PartialUpdateRows:
                throw new CaptureException("the binlog holds partial JSON updates (binlog_row_value_options=PARTIAL_JSON), which mode: cdc cannot apply: turn that option off.");
            case TransactionPayload:
                throw new CaptureException("the binlog holds compressed transactions (binlog_transaction_compression=ON), which mode: cdc does not read: turn it off.");
            case >= MariaCompressedFirst and <= MariaCompressedLast:
                throw new CaptureException("the binlog holds compressed events (log_bin_compress), which mode: cdc does not read: turn it off.");
        }
        if (next != 0) state.Offset = next;
    }

    /// <summary>A MySQL GTID_LOG_EVENT's GTID, <c>source_uuid:transaction_number</c> (flags, 16-byte SID, 8-byte GNO).</summary>
    internal static string MySqlGtid(ReadOnlySpan<byte> body)
    {
        var sid = Convert.ToHexStringLower(body.Slice(1, 16));
        var gno = BinaryPrimitives.ReadInt64LittleEndian(body[17..]);
        return $"{sid[..8]}-{sid[8..12]}-{sid[12..16]}-{sid[16..20]}-{sid[20..]}:{gno}";
    }

    /// <summary>A MariaDB GTID_EVENT's GTID, <c>domain-server-sequence</c> (the server id is the event header's).</summary>
    internal static string MariaGtid(ReadOnlySpan<byte> body, uint serverId) =>
        $"{BinaryPrimitives.ReadUInt32LittleEndian(body[8..])}-{serverId}-{BinaryPrimitives.ReadUInt64LittleEndian(body)}";

    private void Begin(ReadState state, long start, string? gtid)
    {
        if (state.InTransaction && state.TransactionHasRows)
            throw new CaptureException($"the transaction at {state.FileName}:{state.TransactionStart} has no end the binlog reader knows before {state.FileName}:{start}: " +
                "its rows cannot be placed (please report it with the output of mariadb-binlog/mysqlbinlog around that position).");
        state.Transaction++;
        state.InTransaction = true;
        state.TransactionHasRows = false;
        state.Gtid = gtid;
        state.TransactionStart = start;
        state.Touched.Clear();
    }

    private void Commit(ReadState state, long end)
    {
        if (state.InTransaction && state.TransactionHasRows)
        {
            var row = _commits.CreateRow();
            row.AppendValue(state.Transaction).AppendValue(BinlogPosition.Of(state.File, end));
            if (state.Gtid == null) row.AppendNullValue();
            else row.AppendValue(state.Gtid);
            row.AppendValue($"{state.FileName}:{state.TransactionStart}").EndRow();
        }
        state.InTransaction = false;
    }

    private IEnumerable<TableChanges> AllTables => _tables.Values;

    /// <summary>Marks tables whose rows in this read cannot be trusted alone: each dataset whose position is before
    /// <paramref name="at"/> reads its table whole again, and says why.</summary>
    private void Mark(ReadState state, IEnumerable<TableChanges> tables, long at, string why)
    {
        lock (_lock)
            foreach (var table in tables.ToList())
            {
                table.ChangedAt = BinlogPosition.Of(state.File, at);
                table.Change = why;
            }
    }

    private static readonly Regex Control = new(
        @"^\s*(?<word>BEGIN|COMMIT|ROLLBACK\s+(WORK\s+)?TO\b|ROLLBACK|XA\s+(START|BEGIN|END)\b|XA\s+PREPARE\b|XA\s+COMMIT\b.*\bONE\s+PHASE\s*$|XA\s+(COMMIT|ROLLBACK)\b|SAVEPOINT\b|RELEASE\s+SAVEPOINT\b)",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant | RegexOptions.Singleline);

    private static readonly Regex Manipulation = new(@"^\s*(INSERT|UPDATE|DELETE|REPLACE|LOAD|CALL|DO|WITH|SELECT|HANDLER)\b",
        RegexOptions.IgnoreCase | RegexOptions.CultureInvariant);

    /// <summary>
    /// A QUERY event: the bounds of a transaction, or a statement. A DDL statement that names a captured table (ALTER,
    /// TRUNCATE, RENAME, DROP…) changes what its rows mean; data changed by a statement logged as SQL (a session with
    /// binlog_format STATEMENT or MIXED), rolled back after a non-transactional table was written (ROLLBACK, ROLLBACK TO
    /// SAVEPOINT), or in a two-phase XA transaction cannot be followed row by row. In each case the tables concerned
    /// are read whole again by datasets whose position is before it — never skipped.
    /// </summary>
    private void Query(ReadOnlyMemory<byte> body, ReadState state, long start, long end)
    {
        var reader = new PacketReader(body);
        reader.Skip(8);
        var databaseLength = reader.Byte();
        reader.Skip(2);
        var statusLength = reader.UInt16();
        reader.Skip(statusLength);
        var database = reader.Fixed(databaseLength);
        reader.Skip(1);
        var sql = Encoding.UTF8.GetString(reader.Bytes(reader.Remaining));
        var control = Control.Match(sql);
        if (control.Success)
        {
            var word = Regex.Replace(control.Groups["word"].Value.ToUpperInvariant(), @"\s+", " ");
            if (word is "BEGIN" || word.StartsWith("XA START", StringComparison.Ordinal) || word.StartsWith("XA BEGIN", StringComparison.Ordinal))
            {
                if (!state.InTransaction) Begin(state, start, null);
            }
            else if (word == "COMMIT" || word.EndsWith("PHASE", StringComparison.Ordinal)) Commit(state, end);
            else if (word == "ROLLBACK")
            {
                Mark(state, state.Touched, start, "a transaction that wrote a non-transactional table rolled back");
                state.InTransaction = false;
            }
            else if (word.StartsWith("ROLLBACK", StringComparison.Ordinal))
                Mark(state, state.Touched, start, "a transaction that wrote a non-transactional table rolled back to a savepoint");
            else if (word.StartsWith("XA PREPARE", StringComparison.Ordinal))
            {
                Mark(state, state.Touched, start, "a two-phase XA transaction was prepared (its rows count once it commits)");
                state.InTransaction = false;
            }
            else if (word.StartsWith("XA COMMIT", StringComparison.Ordinal) || word.StartsWith("XA ROLLBACK", StringComparison.Ordinal))
            {
                Mark(state, AllTables, start, $"'{Short(sql)}' ended a prepared XA transaction whose tables the binlog does not name");
                state.InTransaction = false;
            }
            return;
        }
        var here = _database.Length == 0 || database.Equals(_database, StringComparison.OrdinalIgnoreCase) || sql.Contains(_database, StringComparison.OrdinalIgnoreCase);
        if (Manipulation.IsMatch(sql))
        {
            // Rows changed by SQL the reader cannot replay (a view, a trigger or a function may reach any table).
            if (here) Mark(state, AllTables, start, $"'{Short(sql)}' was logged as a statement, not as rows (binlog_format STATEMENT or MIXED in a session)");
            return;
        }
        if (!state.InTransaction) Begin(state, start, null);
        if (here)
            lock (_lock)
                foreach (var (name, table) in _tables)
                    if (Regex.IsMatch(sql, $@"(^|[^\w$]){Regex.Escape(name)}([^\w$]|$)", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant))
                    {
                        table.ChangedAt = BinlogPosition.Of(state.File, end);
                        table.Change = $"'{Short(sql)}'";
                    }
        Commit(state, end); // a statement commits on its own (DDL ends any transaction)
    }

    private static string Short(string sql) => sql.Length > 80 ? sql[..80] + "…" : sql;

    private static (ulong Id, TableMap Map) ReadTableMap(ReadOnlyMemory<byte> body)
    {
        var reader = new PacketReader(body);
        var id = reader.UInt48();
        reader.Skip(2);
        var database = reader.Fixed(reader.Byte());
        reader.Skip(1);
        var table = reader.Fixed(reader.Byte());
        reader.Skip(1);
        var count = (int)reader.LengthEncoded();
        var types = reader.Bytes(count).ToArray();
        reader.LengthEncoded();
        var metadata = new ushort[count];
        for (var i = 0; i < count; i++)
        {
            var n = BinlogValues.MetadataSize(types[i]);
            metadata[i] = BinlogValues.Metadata(types[i], reader.Bytes(n));
        }
        return (id, new TableMap(database, table, types, metadata));
    }

    /// <summary>The row images of a WRITE/UPDATE/DELETE_ROWS event (v1 or v2) of a captured table: each row's image
    /// after the change (before it, for a delete), at its byte position in the file.</summary>
    private void Rows(byte type, ReadOnlyMemory<byte> body, ReadState state, long bodyStart)
    {
        var reader = new PacketReader(body);
        var id = reader.UInt48();
        reader.Skip(2);
        if (type >= WriteRowsV2) reader.Skip(reader.UInt16() - 2);
        if (!state.Maps.TryGetValue(id, out var map) || _database.Length > 0 && !map.Database.Equals(_database, StringComparison.OrdinalIgnoreCase)) return;
        TableChanges? table;
        lock (_lock) table = _tables.GetValueOrDefault(map.Table);
        if (table == null) return;
        var width = (int)reader.LengthEncoded();
        var bitmap = (width + 7) / 8;
        var present = reader.Bytes(bitmap).ToArray();
        var update = type is UpdateRowsV1 or UpdateRowsV2;
        var presentAfter = update ? reader.Bytes(bitmap).ToArray() : present;
        var op = type switch { WriteRowsV1 or WriteRowsV2 => ChangeOp.Insert, DeleteRowsV1 or DeleteRowsV2 => ChangeOp.Delete, _ => ChangeOp.Update };
        map.Fits ??= map.Types.Length == table.Columns.Count && map.Types.Select((t, i) => BinlogValues.Fits(t, table.Columns[i].DuckType)).All(f => f);
        for (var i = 0; map.Fits == true && i < map.Types.Length; i++)
            if (map.Types[i] is BinlogValues.Timestamp or BinlogValues.DateTime or BinlogValues.Time && table.Columns[i].Fsp > 0)
                throw new CaptureException($"Table '{map.Table}', column '{table.Columns[i].Name}': fractional seconds in MariaDB's old temporal format " +
                    "(a table created before MariaDB 10.1.2, or with mysql56_temporal_format=OFF), which the binlog reader does not decode. " +
                    $"Rewrite the table in the current format (ALTER TABLE `{map.Table}` FORCE), or capture it with mode: incremental.");
        if (width != map.Types.Length || map.Fits == false)
        {
            // Rows of a definition older than the table's now (an ALTER in between): a dataset whose position is before
            // this reads the table whole again; one whose position is after it never needs these rows.
            lock (_lock)
            {
                table.ChangedAt = BinlogPosition.Of(state.File, state.Offset);
                table.Change = $"its rows in the binlog ({width} columns) do not match its columns now ({table.Columns.Count})";
            }
            return;
        }
        if (!AllSet(present, width) || !AllSet(presentAfter, width))
        {
            // A session with binlog_row_image MINIMAL or NOBLOB: the row's other columns are unknown, so the table is read
            // whole again (by datasets whose position is before this).
            Mark(state, [table], bodyStart - 19, "a change was logged without all its columns (binlog_row_image MINIMAL or NOBLOB in a session)");
            return;
        }
        var data = body.Span;
        var offset = reader.Offset;
        state.TransactionHasRows = true;
        state.Touched.Add(table);
        try
        {
            while (offset < data.Length)
            {
                if (update)
                {
                    // An update that changes the key ends the old key's life: a delete of the before image, then the new row.
                    var before = offset;
                    _keyBefore.Clear();
                    offset = Image(data, offset, map, present, table, null, _keyBefore);
                    _keyAfter.Clear();
                    Image(data, offset, map, presentAfter, table, null, _keyAfter);
                    if (!_keyBefore.SequenceEqual(_keyAfter))
                    {
                        var old = table.Appender.CreateRow();
                        Image(data, before, map, present, table, old, null);
                        old.AppendValue(ChangeOp.Delete).AppendValue(BinlogPosition.Of(state.File, bodyStart + before)).AppendValue(state.Transaction).EndRow();
                    }
                }
                var position = BinlogPosition.Of(state.File, bodyStart + offset);
                var row = table.Appender.CreateRow();
                offset = Image(data, offset, map, presentAfter, table, row, null);
                row.AppendValue(op).AppendValue(position).AppendValue(state.Transaction).EndRow();
            }
        }
        catch (Exception e) when (e is NotSupportedException or ArgumentException or IndexOutOfRangeException or FormatException or OverflowException or InvalidDataException)
        {
            throw new CaptureException($"Table '{map.Table}', change at {state.FileName}:{bodyStart - 19}: {e.Message}.", e);
        }
    }

    private readonly List<byte> _keyBefore = [], _keyAfter = [];

    private static bool AllSet(byte[] bitmap, int width)
    {
        for (var i = 0; i < width; i++) if ((bitmap[i >> 3] & 1 << (i & 7)) == 0) return false;
        return true;
    }

    /// <summary>Decodes one row image at <paramref name="offset"/> into <paramref name="row"/> (or only skips it); returns
    /// the offset after it. <paramref name="key"/>, when given, collects the key columns' bytes (and NULLs).</summary>
    private static int Image(ReadOnlySpan<byte> data, int offset, TableMap map, byte[] present, TableChanges table, IDuckDBAppenderRow? row, List<byte>? key)
    {
        var count = 0;
        for (var i = 0; i < map.Types.Length; i++) if ((present[i >> 3] & 1 << (i & 7)) != 0) count++;
        var nulls = data.Slice(offset, (count + 7) / 8);
        offset += (count + 7) / 8;
        var n = 0;
        for (var i = 0; i < map.Types.Length; i++)
        {
            if ((present[i >> 3] & 1 << (i & 7)) == 0)
            {
                row?.AppendNullValue();
                continue;
            }
            var isKey = key != null && table.Columns[i].Key;
            if ((nulls[n >> 3] & 1 << (n & 7)) != 0)
            {
                row?.AppendNullValue();
                if (isKey) key!.Add(0xFF);
            }
            else
            {
                var start = offset;
                BinlogValues.Read(data, ref offset, map.Types[i], map.Metadata[i], table.Columns[i], row);
                if (isKey)
                {
                    key!.Add(0);
                    foreach (var b in data[start..offset]) key.Add(b);
                }
            }
            n++;
        }
        return offset;
    }
}
