using System.Security.Cryptography;
using System.Text;
using Caudal.Spec;
using Npgsql;
using Npgsql.Replication;
using Npgsql.Replication.PgOutput;

namespace Caudal.Capture.Postgres;

/// <summary>
/// <c>mode: cdc</c>: a dataset's changes from the source's replication slot (<see cref="ChangeSession"/>, read once per
/// run for every such dataset), after the position the table last committed. A table with no position yet, or one
/// whose position is gone, truncated, or missing a large value, is read whole in the snapshot of a temporary slot
/// (its consistent point becomes the table's position: nothing before it is applied again, nothing after it missed),
/// and its keys gone since are detected.
/// </summary>
public sealed partial class PostgresSource : ILogSource
{
    private readonly ChangeOptions _changes = ChangeOptions.From(spec);
    private readonly Lock _sessionLock = new();
    private Task<ChangeSession>? _session;

    /// <summary>The slot: as configured, or named after the source and the pipeline's folder and database, so two
    /// pipelines reading one database never share (and steal from) one slot.</summary>
    internal string SlotName => _changes.Slot ?? $"caudal_{Identifier(Name)}_{Suffix()}";

    private string Publication => _changes.Publication ?? $"caudal_{Identifier(Name)}_{Suffix()}";

    private string Suffix()
    {
        var database = Builder(ConnectionString).Database ?? "";
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes($"{Path.GetFullPath(folder)}\n{database}")))[..10];
    }

    private static string Identifier(string name) => new string(name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '_').ToArray())[..Math.Min(name.Length, 40)];

    private string ReplicationConnectionString => Builder(ConnectionString).ConnectionString;

    protected override async Task CaptureChangesAsync(DatasetSpec dataset, CaptureSink sink, CancellationToken ct)
    {
        var table = dataset.Table ?? throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': mode 'cdc' reads a table's changes, not a query's.");
        var session = await SessionAsync(sink, ct);
        var since = sink.Since;
        string? reason = null;
        if (since != null && (session.Confirmed is not { } confirmed || confirmed > since))
        {
            var what = session.Confirmed is { } moved
                ? $"replication slot '{session.Slot}' is at {ChangeSession.Text(moved)}, past this table's position {ChangeSession.Text(since.Value)}: it was advanced or re-created elsewhere"
                : session.SlotNote;
            if (!_changes.Resnapshot)
                throw new CaptureException($"Source '{Name}', dataset '{dataset.Name}': the table's position in the log is lost ({what}), so changes since " +
                    $"{ChangeSession.Text(since.Value)} may be missing. Set 'on_position_lost: resnapshot' to read the table whole again (deletes detected), " +
                    "or investigate the slot first.");
            reason = $"the table's position in the log was lost ({what}): read whole again";
        }
        else if (since != null && session.TruncatedAt(table) is { } truncated)
            reason = $"truncated (commit {ChangeSession.Text(truncated)}): read whole again";
        else if (since != null && session.UnchangedToastAt(table) is { } toast)
            reason = $"an update (commit {ChangeSession.Text(toast)}) left an unchanged large value out of the log: read whole again " +
                     $"(ALTER TABLE {Quote(table)} REPLICA IDENTITY FULL has such values sent)";

        long from;
        if (since == null || reason != null)
        {
            if (reason != null) sink.Warn(reason);
            from = await SnapshotAsync(dataset, sink, ct);
        }
        else from = since.Value;
        var parts = session.Files(table, from, sink.Lineage, Path.Combine(sink.StagingDirectory, "changes"), sink.ExistingSchema,
            new Dictionary<string, string?> { [RawBatchWriter.IngestDateColumn] = sink.IngestDate }, sink.ParquetVersion, out var counts);
        foreach (var (files, schema) in parts) sink.AddFiles(files, schema);
        if (counts.Count > 0)
            sink.Report($"{string.Join(", ", counts.OrderBy(c => c.Key).Select(c => $"{c.Value:N0} {c.Key}"))} from the log");
        sink.RaiseWatermark(Math.Max(from, session.Fence));
    }

    private Task<ChangeSession> SessionAsync(CaptureSink sink, CancellationToken ct)
    {
        lock (_sessionLock) return _session ??= OpenSessionAsync(sink, ct);
    }

    private async Task<ChangeSession> OpenSessionAsync(CaptureSink sink, CancellationToken ct)
    {
        var tables = new Dictionary<string, IReadOnlyDictionary<string, string>>(StringComparer.OrdinalIgnoreCase);
        var keys = new Dictionary<string, IReadOnlyList<string>>(StringComparer.OrdinalIgnoreCase);
        await using (var connection = await OpenChecked(ct))
            foreach (var dataset in Resolved.Where(d => d.Mode == CaptureMode.Cdc && d.Table != null))
            {
                try
                {
                    tables[dataset.Table!] = (await ColumnsAsync(connection, Quote(dataset.Table!), ct)).ToDictionary(c => c.Name, c => c.DuckType);
                    keys[dataset.Table!] = await StringsAsync(connection, PrimaryKeySql, [("t", KeyParameter(dataset.Table!))], ct);
                }
                catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.UndefinedTable)
                {
                    // That dataset fails on its own, naming the table; the others still read the log.
                }
            }
        try
        {
            return await ChangeSession.OpenAsync(ReplicationConnectionString, SlotName, Publication, Guid.NewGuid().ToString("N"), tables, keys, sink.Engine, ct);
        }
        catch (PostgresException e)
        {
            throw new CaptureException($"Source '{Name}': reading the log (slot '{SlotName}', publication '{Publication}'): {e.MessageText}" +
                (e.SqlState is "42501" ? " — the user needs the REPLICATION attribute and to own the tables (or an existing publication named with 'publication:')." : ""), e);
        }
    }

    /// <summary>Reads the dataset's table whole in the snapshot a temporary slot exports; returns its consistent point.</summary>
    private async Task<long> SnapshotAsync(DatasetSpec dataset, CaptureSink sink, CancellationToken ct)
    {
        await using var replication = new LogicalReplicationConnection(ReplicationConnectionString);
        await replication.Open(ct);
        var temporary = await replication.CreatePgOutputReplicationSlot($"{SlotName}_{Guid.NewGuid():N}"[..Math.Min(63, SlotName.Length + 9)],
            temporarySlot: true, slotSnapshotInitMode: LogicalSlotSnapshotInitMode.Export, cancellationToken: ct);
        var point = (long)(ulong)temporary.ConsistentPoint;
        // The replication connection stays open (and idle) while the snapshot is read: that keeps the snapshot alive.
        await ReadWholeAsync(dataset, sink, temporary.SnapshotName!, new RowStamp(ChangeOp.Snapshot, point), ct);
        return point;
    }

    /// <summary>The slot of this source's <c>mode: cdc</c> datasets, as the server reports it now: its <c>wal_status</c>
    /// (reserved, extended, unreserved or lost), the position it confirmed, and the WAL kept for it.</summary>
    public async Task<LogStatus> LogStatusAsync(IReadOnlyDictionary<string, long> committed, CancellationToken ct)
    {
        await using var connection = await OpenChecked(ct);
        await using var command = connection.CreateCommand();
        command.CommandText = "SELECT wal_status, active, confirmed_flush_lsn::text, (pg_current_wal_lsn() - confirmed_flush_lsn)::bigint " +
                              "FROM pg_replication_slots WHERE slot_name = @s";
        AddParameter(command, "s", SlotName);
        await using var reader = await command.ExecuteReaderAsync(ct);
        if (!await reader.ReadAsync(ct)) return new LogStatus(Name, SlotName, "missing", null, null, Lost: true);
        var state = reader.IsDBNull(0) ? "?" : reader.GetString(0);
        return new LogStatus(Name, SlotName, state + (reader.GetBoolean(1) ? ", active" : ""), reader.IsDBNull(2) ? null : reader.GetString(2),
            reader.IsDBNull(3) ? null : reader.GetInt64(3), Lost: state == "lost");
    }

    public override async Task CommittedAsync(bool everyDatasetCommitted, CancellationToken ct)
    {
        if (!everyDatasetCommitted || _session is not { IsCompletedSuccessfully: true } opened) return;
        await opened.Result.AdvanceAsync(ReplicationConnectionString, ct);
    }

    public override void Dispose()
    {
        if (_session is { IsCompletedSuccessfully: true } opened) opened.Result.Dispose();
        base.Dispose();
    }
}
