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
            reason = $"changed at {session.Describe(changed.At)} by '{changed.What}': read whole again";

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
                    tables[dataset.Table!] = await BinlogColumnsAsync((MySqlConnection)connection, dataset.Table!, ct);
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

    /// <summary>The table's columns in order, each as the full capture buffers it, with ENUM/SET labels and text encodings.</summary>
    private async Task<IReadOnlyList<BinlogColumn>> BinlogColumnsAsync(MySqlConnection connection, string table, CancellationToken ct)
    {
        var mapped = await ColumnsAsync(connection, Quote(table), ct);
        var details = new Dictionary<string, (string Type, string? Charset)>(StringComparer.OrdinalIgnoreCase);
        await using (var command = new MySqlCommand("SELECT column_name, column_type, character_set_name FROM information_schema.columns " +
                                                    "WHERE table_schema = DATABASE() AND table_name = @t", connection))
        {
            command.Parameters.AddWithValue("@t", table);
            await using var reader = await command.ExecuteReaderAsync(ct);
            while (await reader.ReadAsync(ct)) details[reader.GetString(0)] = (reader.GetString(1), reader.IsDBNull(2) ? null : reader.GetString(2));
        }
        return mapped.Select(c =>
        {
            var (type, charset) = details.GetValueOrDefault(c.Name, ("", null));
            return new BinlogColumn(c.Name, c.DuckType, Labels(type), Encoding(charset));
        }).ToList();
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

    private static Encoding? Encoding(string? charset) => charset switch
    {
        null or "binary" => null,
        "latin1" => System.Text.Encoding.Latin1,
        "ascii" => System.Text.Encoding.ASCII,
        "ucs2" or "utf16" => System.Text.Encoding.BigEndianUnicode,
        "utf16le" => System.Text.Encoding.Unicode,
        "utf32" => new UTF32Encoding(bigEndian: true, byteOrderMark: false),
        _ => System.Text.Encoding.UTF8,
    };

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
                await using (var command = new MySqlCommand("SHOW MASTER STATUS", connection))
                await using (var reader = await command.ExecuteReaderAsync(ct))
                {
                    await reader.ReadAsync(ct);
                    point = Binlog.BinlogPosition.Of(Binlog.BinlogPosition.Number(reader.GetString(0)), reader.GetInt64(1));
                }
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
        await using (var command = new MySqlCommand("SELECT @@global.expire_logs_days", connection))
        {
            var days = Convert.ToDouble(await command.ExecuteScalarAsync(ct), System.Globalization.CultureInfo.InvariantCulture);
            retention = days > 0 ? $"binlogs expire after {days:0.#} d" : "binlogs never expire";
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
