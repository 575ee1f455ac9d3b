using System.Buffers.Binary;
using System.Text;
using System.Text.RegularExpressions;
using Caudal.Lake.Delta;
using Caudal.Lake.Files;
using DuckDB.NET.Data;
using MySqlConnector;

namespace Caudal.Capture.Mysql.Binlog;

/// <summary>
/// One read of a MySQL/MariaDB binlog in a run (<c>mode: cdc</c>): the server is checked (binlog on, ROW format, FULL
/// row images), its binlog's end now is the fence, and the binlog is read as a replica reads it
/// (<see cref="ReplicaConnection"/>) from the earliest position a dataset committed up to that fence. Each captured
/// table's row images are kept apart in DuckDB (spilling to disk) with their operation, their position and their
/// transaction; each transaction's end position and GTID are kept beside them, so each dataset takes the changes of the
/// transactions that ended after its own committed position. The server keeps the binlog, not a slot: nothing is
/// confirmed, and a position whose file was purged is lost (<see cref="Available"/>).
/// </summary>
internal sealed class BinlogSession : IDisposable
{
    private const byte QueryEvent = 2, RotateEvent = 4, FormatDescriptionEvent = 15, XidEvent = 16, TableMapEvent = 19,
        WriteRowsV1 = 23, UpdateRowsV1 = 24, DeleteRowsV1 = 25, WriteRowsV2 = 30, UpdateRowsV2 = 31, DeleteRowsV2 = 32,
        MySqlGtidEvent = 33, MySqlAnonymousGtidEvent = 34, PartialUpdateRows = 39, TransactionPayload = 40,
        MariaGtidEvent = 162, MariaCompressedFirst = 165, MariaCompressedLast = 171, BeginLoadQuery = 17, ExecuteLoadQuery = 18, Incident = 26,
        XaPrepare = 38;

    private readonly DuckDBConnection _spill;
    private readonly Dictionary<string, TableChanges> _tables = new(StringComparer.OrdinalIgnoreCase);
    private readonly DuckDBAppender _commits;
    private readonly Lock _lock = new();
    private readonly string _database;
    private bool _commitsClosed;
    private bool _checksum;
    private long _readFrom;

    private BinlogSession(DuckDBConnection spill, string database)
    {
        _spill = spill;
        _database = database;
        ParquetOutput.Execute(spill, "CREATE TABLE commits (txn BIGINT, position BIGINT, gtid VARCHAR, binlog VARCHAR)");
        _commits = spill.CreateAppender("commits");
    }

    /// <summary>Where this run's read ends (the binlog's end when the run began): the position each dataset commits.</summary>
    public long Fence { get; private set; }

    /// <summary>The binlog files the server has now, by sequence number.</summary>
    public IReadOnlyDictionary<int, string> Files { get; private set; } = new Dictionary<int, string>();

    public bool IsMariaDb { get; private set; }

    private sealed class TableChanges(string name, IReadOnlyList<BinlogColumn> columns, DuckDBAppender appender)
    {
        public string Name { get; } = name;
        public IReadOnlyList<BinlogColumn> Columns { get; } = columns;
        public DuckDBAppender Appender { get; } = appender;
        public bool Closed { get; set; }
        public long? ChangedAt { get; set; }
        public string? Change { get; set; }
    }

    private sealed record TableMap(string Database, string Table, byte[] Types, ushort[] Metadata)
    {
        /// <summary>Whether its columns are the captured table's columns now (worked out at its first rows event).</summary>
        public bool? Fits { get; set; }
    }

    /// <summary>A position is readable when its file is still on the server and it is not past the binlog's end (a
    /// binlog reset, or another server).</summary>
    public bool Available(long position) => Files.ContainsKey(BinlogPosition.File(position)) && position <= Fence;

    public string Describe(long position) => BinlogPosition.Text(position, Files);

    public static async Task<BinlogSession> OpenAsync(MySqlConnectionStringBuilder settings, uint serverId,
        IReadOnlyDictionary<string, IReadOnlyList<BinlogColumn>> tables, IReadOnlyCollection<long> positions, EngineSettings engine, CancellationToken ct)
    {
        var session = new BinlogSession(ParquetOutput.Open(engine), settings.Database ?? "");
        try
        {
            foreach (var (name, columns) in tables) session.Add(name, columns);
            await using (var connection = new MySqlConnection(settings.ConnectionString))
            {
                await connection.OpenAsync(ct);
                await session.CheckServerAsync(connection, ct);
            }
            var readable = positions.Where(session.Available).ToList();
            session._readFrom = readable.Count > 0 ? readable.Min() : session.Fence;
            if (session._readFrom < session.Fence) await session.ReadAsync(settings, serverId, session._readFrom, ct);
            return session;
        }
        catch
        {
            session.Dispose();
            throw;
        }
    }

    private void Add(string name, IReadOnlyList<BinlogColumn> columns)
    {
        var table = $"changes_{_tables.Count}";
        ParquetOutput.Execute(_spill, $"CREATE TABLE {table} ({string.Join(", ", columns.Select(c => $"{Sql.Ident(c.Name)} {RawBatchWriter.BufferType(c.DuckType)}"))}, " +
            $"{ChangeOp.Column} VARCHAR, {ChangeOp.LsnColumn} BIGINT, __txn BIGINT)");
        _tables[name] = new TableChanges(table, columns, _spill.CreateAppender(table));
    }

    private async Task CheckServerAsync(MySqlConnection connection, CancellationToken ct)
    {
        var version = (string)(await ScalarAsync(connection, "SELECT VERSION()", ct))!;
        IsMariaDb = version.Contains("MariaDB", StringComparison.OrdinalIgnoreCase);
        var settings = await RowAsync(connection, "SELECT @@global.log_bin, @@global.binlog_format, @@global.binlog_row_image, @@global.binlog_checksum", ct);
        _checksum = settings[3] == "CRC32";
        if (settings[0] is not ("1" or "ON"))
            throw new CaptureException("mode: cdc reads the binlog, and the server's binlog is off. Start the server with log_bin (and binlog_format=ROW, " +
                "binlog_row_image=FULL, a server_id), e.g. --log-bin=mysql-bin --binlog-format=ROW --binlog-row-image=FULL --server-id=1.");
        if (settings[1] != "ROW")
            throw new CaptureException($"mode: cdc needs binlog_format=ROW (each changed row in the log), and the server has '{settings[1]}'. " +
                "Set binlog_format=ROW in the server's configuration (SET GLOBAL binlog_format='ROW' lasts until a restart).");
        if (settings[2] != "FULL")
            throw new CaptureException($"mode: cdc needs binlog_row_image=FULL (every column of a changed row in the log), and the server has '{settings[2]}'. " +
                "Set binlog_row_image=FULL in the server's configuration.");
        if (IsMariaDb && (await RowAsync(connection, "SELECT @@global.log_bin_compress", ct))[0] is "1" or "ON")
            throw new CaptureException("mode: cdc does not read compressed binlog events, and the server has log_bin_compress on. Turn it off.");
        var status = await StatusAsync(connection, ct);
        if (status.Length < 2 || status[0] == null)
            throw new CaptureException("the server reports no binlog position (SHOW MASTER STATUS is empty): the binlog is off, or the user lacks REPLICATION CLIENT (BINLOG MONITOR on MariaDB).");
        Fence = BinlogPosition.Of(BinlogPosition.Number(status[0]!), long.Parse(status[1]!, System.Globalization.CultureInfo.InvariantCulture));
        var files = new Dictionary<int, string>();
        await using (var command = new MySqlCommand("SHOW BINARY LOGS", connection))
        await using (var reader = await command.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) files[BinlogPosition.Number(reader.GetString(0))] = reader.GetString(0);
        Files = files;
    }

    /// <summary>Reads the binlog from <paramref name="from"/> to the fence, keeping the row images of captured tables.</summary>
    private async Task ReadAsync(MySqlConnectionStringBuilder settings, uint serverId, long from, CancellationToken ct)
    {
        var state = new ReadState { File = BinlogPosition.File(from), FileName = Files[BinlogPosition.File(from)], Offset = BinlogPosition.Offset(from) };
        for (var attempt = 1; !await DumpAsync(settings, serverId, from, state, ct); attempt++)
        {
            // The stream ended short of the fence: the end the server reported may be written but not yet readable by a
            // replica (a group commit being flushed). Read on from where it stopped, a few times, before calling it a reset.
            if (attempt == 20)
                throw new CaptureException($"the binlog ended at {state.FileName}:{state.Offset} before this run's end {Describe(Fence)}: was it reset (RESET MASTER)?");
            await Task.Delay(TimeSpan.FromMilliseconds(50 * attempt), ct);
        }
    }

    /// <summary>Reads the binlog as a replica from where <paramref name="state"/> stands; true once the fence is reached,
    /// false when the server's stream ended before it.</summary>
    private async Task<bool> DumpAsync(MySqlConnectionStringBuilder settings, uint serverId, long from, ReadState state, CancellationToken ct)
    {
        await using var replica = await ReplicaConnection.OpenAsync(settings, ct);
        // The events come with the checksum the server writes (then stripped here); MariaDB sends its GTID events to a
        // replica that says it understands them.
        await replica.ExecuteAsync("SET @master_binlog_checksum = @@global.binlog_checksum, @source_binlog_checksum = @@global.binlog_checksum", ct);
        if (replica.IsMariaDb) await replica.ExecuteAsync("SET @mariadb_slave_capability = 4", ct);
        await replica.DumpAsync(state.FileName, (uint)state.Offset, serverId, nonBlocking: true, ct);
        state.Checksum = _checksum; // until the file's FORMAT_DESCRIPTION says otherwise
        while (true)
        {
            var packet = await replica.ReadPacketAsync(ct);
            var kind = packet.Span[0];
            if (kind == 0xFF)
            {
                var error = ReplicaConnection.Error(packet.Span);
                throw new CaptureException(error.IsPurged
                    ? $"the binlog at {Describe(from)} is no longer on the server ({error.Message}); it was purged while the run read it."
                    : $"reading the binlog from {Describe(from)}: {error.Message}");
            }
            if (kind == 0xFE && packet.Length < 9) return false;
            Handle(packet[1..], state);
            if (!state.InTransaction && BinlogPosition.Of(state.File, state.Offset) >= Fence) return true;
        }
    }

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

    /// <summary>The last place in this read where a statement changed the table's definition or emptied it (or its rows
    /// stopped matching its columns now), and what it was; or null.</summary>
    public (long At, string What)? ChangedAt(string table)
    {
        lock (_lock) return _tables.GetValueOrDefault(table) is { ChangedAt: { } at } t ? (at, t.Change!) : null;
    }

    /// <summary>The table's changes of transactions that ended after <paramref name="from"/>, as raw files with the run's
    /// lineage (each row with its transaction's GTID and binlog coordinates); and the counts of each operation.</summary>
    public (IReadOnlyList<DataFile> Files, DeltaSchema Schema)? FilesOf(string table, long from, string lineage, string staging,
        DeltaSchema? existing, IReadOnlyDictionary<string, string?> partition, int parquetVersion, out IReadOnlyDictionary<string, long> counts)
    {
        var ops = new Dictionary<string, long>();
        counts = ops;
        if (from < _readFrom)
            throw new CaptureException($"Table '{table}': its position {Describe(from)} is before where this run read the binlog from ({Describe(_readFrom)}); " +
                "nothing was committed. Run again.");
        lock (_lock)
        {
            if (!_commitsClosed)
            {
                _commits.Close();
                _commitsClosed = true;
            }
            var changes = _tables[table];
            if (!changes.Closed)
            {
                changes.Appender.Close();
                changes.Closed = true;
            }
            var select = $"""
                (SELECT c.* EXCLUDE (__txn), k.gtid AS {ChangeOp.GtidColumn}, k.binlog AS {ChangeOp.BinlogColumn}, {lineage}
                 FROM {changes.Name} c JOIN commits k ON k.txn = c.__txn WHERE k.position > {from} ORDER BY c.{ChangeOp.LsnColumn})
                """;
            var rows = 0L;
            using (var command = _spill.CreateCommand())
            {
                command.CommandText = $"SELECT {ChangeOp.Column}, count(*) FROM {select} GROUP BY ALL";
                using var reader = command.ExecuteReader();
                while (reader.Read())
                {
                    ops[reader.GetString(0)] = reader.GetInt64(1);
                    rows += reader.GetInt64(1);
                }
            }
            if (rows == 0) return null;
            var output = ParquetOutput.WriteFiles(_spill, select, [RawBatchWriter.IngestDateColumn], staging, existing, partition, parquetVersion);
            return (output.Files, output.Schema);
        }
    }

    /// <summary>The binlog's end now: SHOW MASTER STATUS, called SHOW BINARY LOG STATUS since MySQL 8.2.</summary>
    internal static async Task<string?[]> StatusAsync(MySqlConnection connection, CancellationToken ct)
    {
        try
        {
            return await RowAsync(connection, "SHOW MASTER STATUS", ct);
        }
        catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.ParseError)
        {
            return await RowAsync(connection, "SHOW BINARY LOG STATUS", ct);
        }
    }

    private static async Task<object?> ScalarAsync(MySqlConnection connection, string sql, CancellationToken ct)
    {
        await using var command = new MySqlCommand(sql, connection);
        return await command.ExecuteScalarAsync(ct);
    }

    private static async Task<string?[]> RowAsync(MySqlConnection connection, string sql, CancellationToken ct)
    {
        await using var command = new MySqlCommand(sql, connection);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return [];
        return Enumerable.Range(0, reader.FieldCount).Select(i => reader.IsDBNull(i) ? null : Convert.ToString(reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)).ToArray();
    }

    public void Dispose()
    {
        foreach (var appender in _tables.Values.Select(t => t.Appender).Append(_commits))
        {
            try
            {
                appender.Dispose();
            }
            catch (Exception)
            {
                // Closed already, or failed mid-row: nothing left to release.
            }
        }
        _spill.Dispose();
    }
}
