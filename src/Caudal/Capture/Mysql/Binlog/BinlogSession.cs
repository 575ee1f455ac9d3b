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
internal sealed partial class BinlogSession : IDisposable
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
