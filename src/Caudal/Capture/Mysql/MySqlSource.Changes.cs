using System.Data.Common;
using System.Text;
using Caudal.Capture.Mysql.Binlog;
using Caudal.Lake.Files;
using Caudal.Spec;
using MySqlConnector;

namespace Caudal.Capture.Mysql;

/// <summary>
/// <c>mode: cdc</c>: a dataset's changes from the binlog (<see cref="BinlogSession"/>, read once per run for every such
/// dataset, from the earliest position one committed), after the position the table last committed. A table with no
/// position yet, or one whose binlog was purged, or changed by a statement (ALTER, TRUNCATE…), is read whole in a
/// consistent snapshot whose binlog position becomes the table's: nothing before it is applied again, nothing after it
/// missed; its keys gone since are detected.
/// </summary>
public sealed partial class MySqlSource : ILogSource
{
    private readonly BinlogOptions _binlog = BinlogOptions.From(spec);
    private readonly Lock _sessionLock = new();
    private Task<BinlogSession>? _session;

    protected override async Task CaptureChangesAsync(DatasetSpec dataset, CaptureSink sink, CancellationToken ct)
    {
        var table = dataset.Table ?? throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': mode 'cdc' reads a table's changes, not a query's.");
        var session = await SessionAsync(sink, ct);
        if (_refused.TryGetValue(table, out var refused)) throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': {refused}.");
        if (_cascades.TryGetValue(table, out var cascade)) sink.Warn(cascade);
        var since = sink.Since;
        string? reason = null;
        if (since != null && !session.Available(since.Value))
        {
            var what = since.Value > session.Fence
                ? $"it is past the binlog's end {session.Describe(session.Fence)}: the binlog was reset, or this is another server"
                : $"binlog file {Binlog.BinlogPosition.FileName(since.Value, session.Files)} is no longer on the server (purged; the oldest is {session.Files.OrderBy(f => f.Key).Select(f => f.Value).FirstOrDefault()})";
            if (!_binlog.Resnapshot)
                throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': the table's position in the binlog is lost ({what}), so changes since " +
                    $"{session.Describe(since.Value)} may be missing. Set 'on_position_lost: resnapshot' to read the table whole again (deletes detected), " +
                    "or keep binlogs longer (binlog_expire_logs_seconds / expire_logs_days) than the time between runs.");
            reason = $"the table's position in the binlog was lost ({what}): read whole again";
        }
        else if (since != null && session.ChangedAt(table) is { } changed && changed.At > since.Value)
            reason = $"{changed.What} at {session.Describe(changed.At)}: read whole again";

        long from;
        if (since == null || reason != null)
        {
            if (reason != null) sink.Warn(reason);
            from = await SnapshotAsync(dataset, sink, session.IsMariaDb, ct);
        }
        else from = since.Value;
        var part = session.FilesOf(table, from, sink.Lineage, Path.Combine(sink.StagingDirectory, "changes"), sink.ExistingSchema,
            new Dictionary<string, string?> { [RawBatchWriter.IngestDateColumn] = sink.IngestDate }, sink.ParquetVersion, out var counts);
        if (part is var (files, schema)) sink.AddFiles(files, schema);
        if (counts.Count > 0)
            sink.Report($"{string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Value:N0} {c.Key}"))} from the binlog");
        sink.RaiseWatermark(Math.Max(from, session.Fence));
    }

    private Task<BinlogSession> SessionAsync(CaptureSink sink, CancellationToken ct)
    {
        lock (_sessionLock) return _session ??= OpenSessionAsync(sink.Engine, ct);
    }

    private async Task<BinlogSession> OpenSessionAsync(EngineSettings engine, CancellationToken ct)
    {
        var tables = new Dictionary<string, IReadOnlyList<BinlogColumn>>(StringComparer.OrdinalIgnoreCase);
        var cdc = Resolved.Where(d => d.Mode == CaptureMode.Cdc && d.Table != null).ToList();
        await using (var connection = await OpenChecked(ct))
            foreach (var dataset in cdc)
            {
                try
                {
                    var (columns, refused) = await BinlogColumnsAsync((MySqlConnection)connection, dataset.Table!, ct);
                    if (refused != null) _refused[dataset.Table!] = refused;
                    else tables[dataset.Table!] = columns;
                    if (await CascadesAsync((MySqlConnection)connection, dataset.Table!, ct) is { } cascade) _cascades[dataset.Table!] = cascade;
                }
                catch (MySqlException e) when (e.ErrorCode == MySqlErrorCode.NoSuchTable)
                {
                    // That dataset fails on its own, naming the table; the others still read the binlog.
                }
            }
        var positions = cdc.Where(d => CommittedPositions.ContainsKey(d.Name)).Select(d => CommittedPositions[d.Name]).ToList();
        try
        {
            return await BinlogSession.OpenAsync(Builder(ConnectionString), _binlog.ServerId ?? (uint)Random.Shared.NextInt64(1u << 30, uint.MaxValue),
                tables, positions, engine, ct);
        }
        catch (Exception e) when (e is MySqlException or ReplicaException or IOException or System.Net.Sockets.SocketException)
        {
            throw new CaptureException($"Source '{Name}': reading the binlog: {e.Message}" +
                (e is ReplicaException { Code: 1227 or 1045 } or MySqlException { Number: 1227 }
                    ? " — the user needs REPLICATION SLAVE and REPLICATION CLIENT (MariaDB: BINLOG MONITOR) to read the binlog." : ""), e);
        }
    }

    private readonly Dictionary<string, string> _refused = new(StringComparer.OrdinalIgnoreCase);
    private readonly Dictionary<string, string> _cascades = new(StringComparer.OrdinalIgnoreCase);

    /// <summary>The table's columns in order, each as the full capture buffers it, with ENUM/SET labels, text encodings,
    /// key columns and fractional digits; or why the binlog reader cannot read the table.</summary>
    private async Task<(IReadOnlyList<BinlogColumn> Columns, string? Refused)> BinlogColumnsAsync(MySqlConnection connection, string table, CancellationToken ct)
    {
        var mapped = await ColumnsAsync(connection, Quote(table), ct);
        var details = new Dictionary<string, (string DataType, string Type, string? Charset, bool Key, int Fsp)>(StringComparer.OrdinalIgnoreCase);
        await using (var command = new MySqlCommand("SELECT column_name, data_type, column_type, character_set_name, column_key = 'PRI', coalesce(datetime_precision, 0) " +
                                                    "FROM information_schema.columns WHERE table_schema = DATABASE() AND table_name = @t", connection))
        {
            command.Parameters.AddWithValue("@t", table);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct))
                details[reader.GetString(0)] = (reader.GetString(1).ToLowerInvariant(), reader.GetString(2), reader.IsDBNull(3) ? null : reader.GetString(3),
                    Convert.ToInt64(reader.GetValue(4)) == 1, Convert.ToInt32(reader.GetValue(5)));
        }
        var columns = new List<BinlogColumn>();
        foreach (var column in mapped)
        {
            var (dataType, type, charset, key, fsp) = details.GetValueOrDefault(column.Name, ("", "", null, false, 0));
            if (dataType is "uuid" or "inet4" or "inet6")
                return ([], $"column '{column.Name}' is MariaDB's {dataType.ToUpperInvariant()}, which the binlog reader does not decode; capture the table with mode: incremental");
            if (charset != null && !Encodings.ContainsKey(charset))
                return ([], $"column '{column.Name}' is in character set {charset}, which the binlog reader does not decode; capture the table with mode: incremental");
            columns.Add(new BinlogColumn(column.Name, column.DuckType, Labels(type), charset == null ? null : Encodings[charset], key, fsp));
        }
        return (columns, null);
    }

    /// <summary>A warning when a foreign key of the table changes its rows by cascade (ON DELETE/UPDATE CASCADE or SET
    /// NULL): MySQL and MariaDB apply cascades inside the storage engine and never write them to the binlog.</summary>
    private static async Task<string?> CascadesAsync(MySqlConnection connection, string table, CancellationToken ct)
    {
        await using var command = new MySqlCommand("SELECT constraint_name, delete_rule, update_rule FROM information_schema.referential_constraints " +
                                                   "WHERE constraint_schema = DATABASE() AND table_name = @t AND (delete_rule IN ('CASCADE', 'SET NULL', 'SET DEFAULT') " +
                                                   "OR update_rule IN ('CASCADE', 'SET NULL', 'SET DEFAULT')) ORDER BY constraint_name", connection);
        command.Parameters.AddWithValue("@t", table);
        await using var reader = await command.ExecuteReaderAsync(ct);
        var found = new List<string>();
        while (await reader.ReadAsync(ct)) found.Add($"{reader.GetString(0)} (ON DELETE {reader.GetString(1)}, ON UPDATE {reader.GetString(2)})");
        return found.Count == 0 ? null
            : $"foreign key {string.Join(", ", found)} changes this table's rows by cascade, and the binlog never holds cascaded changes: " +
              "rows changed that way are missed until the table is read whole (use mode: full or incremental with deletes: detect for it)";
    }

    /// <summary>The labels of an <c>enum('a','b')</c> or <c>set(…)</c> column type, in order; null for other types.</summary>
    internal static IReadOnlyList<string>? Labels(string columnType)
    {
        if (!columnType.StartsWith("enum(", StringComparison.OrdinalIgnoreCase) && !columnType.StartsWith("set(", StringComparison.OrdinalIgnoreCase)) return null;
        var labels = new List<string>();
        var text = columnType[(columnType.IndexOf('(') + 1)..^1];
        for (var i = 0; i < text.Length; i++)
        {
            if (text[i] != '\'') continue;
            var label = new StringBuilder();
            for (i++; i < text.Length; i++)
            {
                if (text[i] == '\'' && i + 1 < text.Length && text[i + 1] == '\'') label.Append(text[++i]);
                else if (text[i] == '\\' && i + 1 < text.Length) label.Append(text[++i]);
                else if (text[i] == '\'') break;
                else label.Append(text[i]);
            }
            labels.Add(label.ToString());
        }
        return labels;
    }

    /// <summary>MySQL's character sets the binlog reader decodes (its latin1 is Windows-1252), by name.</summary>
    private static readonly Dictionary<string, Encoding?> Encodings = BuildEncodings();

    private static Dictionary<string, Encoding?> BuildEncodings()
    {
        Encoding Page(int codePage) => CodePagesEncodingProvider.Instance.GetEncoding(codePage) ?? System.Text.Encoding.GetEncoding(codePage);
        return new(StringComparer.OrdinalIgnoreCase)
        {
            ["binary"] = null,
            ["utf8mb4"] = System.Text.Encoding.UTF8,
            ["utf8mb3"] = System.Text.Encoding.UTF8,
            ["utf8"] = System.Text.Encoding.UTF8,
            ["ascii"] = System.Text.Encoding.ASCII,
            ["latin1"] = Page(1252),
            ["latin2"] = Page(28592),
            ["cp1250"] = Page(1250),
            ["cp1251"] = Page(1251),
            ["cp1256"] = Page(1256),
            ["cp1257"] = Page(1257),
            ["greek"] = Page(28597),
            ["hebrew"] = Page(28598),
            ["latin5"] = Page(28599),
            ["latin7"] = Page(28603),
            ["koi8r"] = Page(20866),
            ["koi8u"] = Page(21866),
            ["cp866"] = Page(866),
            ["cp850"] = Page(850),
            ["cp852"] = Page(852),
            ["tis620"] = Page(874),
            ["sjis"] = Page(932),
            ["cp932"] = Page(932),
            ["gbk"] = Page(936),
            ["gb2312"] = Page(936),
            ["big5"] = Page(950),
            ["euckr"] = Page(51949),
            ["ucs2"] = System.Text.Encoding.BigEndianUnicode,
            ["utf16"] = System.Text.Encoding.BigEndianUnicode,
            ["utf16le"] = System.Text.Encoding.Unicode,
            ["utf32"] = new UTF32Encoding(bigEndian: true, byteOrderMark: false),
        };
    }

    /// <summary>Reads the dataset's table whole in a consistent snapshot; returns the snapshot's binlog position. MariaDB
    /// gives the position of its snapshot without a lock (<c>binlog_snapshot_file/position</c>); MySQL's needs a brief
    /// global read lock (FLUSH TABLES WITH READ LOCK, the RELOAD privilege), as mysqldump --single-transaction does.</summary>
    private async Task<long> SnapshotAsync(DatasetSpec dataset, CaptureSink sink, bool mariaDb, CancellationToken ct)
    {
        await using var connection = (MySqlConnection)await OpenChecked(ct);
        long point;
        try
        {
            if (mariaDb)
            {
                await ExecuteAsync(connection, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", ct);
                await ExecuteAsync(connection, "START TRANSACTION WITH CONSISTENT SNAPSHOT", ct);
                var status = new Dictionary<string, string>();
                await using (var command = new MySqlCommand("SHOW STATUS LIKE 'binlog_snapshot_%'", connection))
                await using (var reader = await command.ExecuteReaderAsync(ct))
                    while (await reader.ReadAsync(ct)) status[reader.GetString(0).ToLowerInvariant()] = reader.GetString(1);
                point = Binlog.BinlogPosition.Of(Binlog.BinlogPosition.Number(status["binlog_snapshot_file"]), long.Parse(status["binlog_snapshot_position"], System.Globalization.CultureInfo.InvariantCulture));
            }
            else
            {
                await ExecuteAsync(connection, "FLUSH TABLES WITH READ LOCK", ct);
                await ExecuteAsync(connection, "SET SESSION TRANSACTION ISOLATION LEVEL REPEATABLE READ", ct);
                await ExecuteAsync(connection, "START TRANSACTION WITH CONSISTENT SNAPSHOT", ct);
                var status = await BinlogSession.StatusAsync(connection, ct);
                point = Binlog.BinlogPosition.Of(Binlog.BinlogPosition.Number(status[0]!), long.Parse(status[1]!, System.Globalization.CultureInfo.InvariantCulture));
                await ExecuteAsync(connection, "UNLOCK TABLES", ct);
            }
        }
        catch (MySqlException e)
        {
            throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': taking a consistent snapshot for the table's first read: {e.Message}", e);
        }
        await ReadWholeAsync(dataset, sink, (DbConnection)connection, new RowStamp(ChangeOp.Snapshot, point), ct);
        return point;
    }

    /// <summary>Where this source's <c>mode: cdc</c> datasets stand in the binlog: the oldest position a table committed,
    /// whether the server still has it, the binlog bytes past it, and how long the server keeps binlogs.</summary>
    public async Task<LogStatus> LogStatusAsync(IReadOnlyDictionary<string, long> committed, CancellationToken ct)
    {
        await using var connection = (MySqlConnection)await OpenChecked(ct);
        var files = new List<(int Number, string Name, long Size)>();
        await using (var command = new MySqlCommand("SHOW BINARY LOGS", connection))
        await using (var reader = await command.ExecuteReaderAsync(ct))
            while (await reader.ReadAsync(ct)) files.Add((Binlog.BinlogPosition.Number(reader.GetString(0)), reader.GetString(0), Convert.ToInt64(reader.GetValue(1))));
        var names = files.ToDictionary(f => f.Number, f => f.Name);
        var log = files.Count > 0 ? "binlog " + files[0].Name[..files[0].Name.LastIndexOf('.')] : "binlog";
        string retention;
        await using (var command = new MySqlCommand("SELECT @@global.binlog_expire_logs_seconds", connection))
        {
            // MySQL 8 and MariaDB 10.6+ (MariaDB keeps it in step with expire_logs_days).
            var seconds = Convert.ToDouble(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
            retention = seconds <= 0 ? "binlogs never expire"
                : seconds % 86400 == 0 ? $"binlogs expire after {seconds / 86400:0} d" : $"binlogs expire after {seconds / 3600:0.#} h";
        }
        var positions = committed.Values.ToList();
        if (positions.Count == 0) return new LogStatus(Name, log, $"no position yet (the first run reads a snapshot); {retention}", null, null, Lost: false);
        var oldest = positions.Min();
        var (file, offset) = (Binlog.BinlogPosition.File(oldest), Binlog.BinlogPosition.Offset(oldest));
        var text = Binlog.BinlogPosition.Text(oldest, names);
        if (!names.ContainsKey(file)) return new LogStatus(Name, log, "purged: the oldest table's position is gone", text, null, Lost: true);
        var behind = files.Where(f => f.Number >= file).Sum(f => f.Size) - offset;
        if (behind < 0) return new LogStatus(Name, log, "past the binlog's end (reset?)", text, null, Lost: true);
        return new LogStatus(Name, log, $"kept; {retention}", text, behind, Lost: false);
    }

    private static async Task ExecuteAsync(MySqlConnection connection, string sql, CancellationToken ct)
    {
        await using var command = new MySqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(ct);
    }

    public override void Dispose()
    {
        if (_session is { IsCompletedSuccessfully: true } opened) opened.Result.Dispose();
        base.Dispose();
    }
}
