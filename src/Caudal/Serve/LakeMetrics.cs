using System.Diagnostics.Metrics;
using Caudal.Lake;
using Caudal.Runs;

namespace Caudal.Serve;

/// <summary>
/// The pipeline's health as OpenTelemetry instruments (exported at <c>/metrics</c> in Prometheus format): runs by
/// status and trigger, rows captured per raw table, each stage's duration in the latest finished run, the lag of each
/// table (now minus its last commit) and who holds the lease. Everything is read from the lake —
/// <c>refined.caudal_runs</c>, the tables' logs, the lease objects — so a server shows every runner's work, not only
/// its own process's. <see cref="RefreshAsync"/> re-reads it (the run history only when its version changed).
/// </summary>
public sealed class LakeMetrics : IDisposable
{
    public const string MeterName = "Caudal";
    private static readonly TableId History = new(Zone.Refined, "caudal_runs");

    private sealed record State(
        IReadOnlyList<(string Status, string Trigger, long Runs)> Runs,
        IReadOnlyList<(string Table, long Rows)> Captured,
        IReadOnlyList<(string Stage, string Table, double Seconds)> LastRun,
        IReadOnlyList<(string Table, DateTimeOffset Commit)> Commits,
        LeaseHolder? Lease);

    private readonly Meter _meter = new(MeterName);
    private readonly TableCatalog _catalog;
    private readonly string _scratch;
    private readonly TimeProvider _time;
    private State _state = new([], [], [], [], null);
    private long? _historyVersion;

    public LakeMetrics(TableCatalog catalog, string scratch, TimeProvider? time = null)
    {
        _catalog = catalog;
        _scratch = scratch;
        _time = time ?? TimeProvider.System;
        _meter.CreateObservableCounter("caudal.runs", () => _state.Runs.Select(r =>
            new Measurement<long>(r.Runs, new("status", r.Status), new("trigger", r.Trigger))), description: "Finished runs, by status and trigger.");
        _meter.CreateObservableCounter("caudal.rows.captured", () => _state.Captured.Select(c =>
            new Measurement<long>(c.Rows, new KeyValuePair<string, object?>("table", c.Table))), description: "Rows captured into each raw table by finished runs.");
        _meter.CreateObservableGauge("caudal.stage.duration", () => _state.LastRun.Select(s =>
            new Measurement<double>(s.Seconds, new("stage", s.Stage), new("table", s.Table))), unit: "s", description: "Each stage's duration in the latest finished run.");
        _meter.CreateObservableGauge("caudal.table.lag", () => _state.Commits.Select(c =>
            new Measurement<double>((_time.GetUtcNow() - c.Commit).TotalSeconds, new KeyValuePair<string, object?>("table", c.Table))),
            unit: "s", description: "Seconds since each table's last commit.");
        _meter.CreateObservableGauge<long>("caudal.lease.held", () => _state.Lease is { } l
            ? [new Measurement<long>(1, new("holder", l.Holder), new("purpose", l.Purpose))]
            : [new Measurement<long>(0)], description: "1 while a runner holds the lake's lease (labelled with who and what for).");
        // The serving process's own memory: what a long-running `caudal up` holds, managed (the GC's heap) and in all.
        _meter.CreateObservableGauge("caudal.process.memory", () => new[]
        {
            new Measurement<long>(Environment.WorkingSet, new KeyValuePair<string, object?>("kind", "resident")),
            new Measurement<long>(GC.GetGCMemoryInfo().HeapSizeBytes, new KeyValuePair<string, object?>("kind", "managed_heap")),
            new Measurement<long>(GC.GetTotalMemory(false), new KeyValuePair<string, object?>("kind", "managed_live")),
        }, unit: "By", description: "This process's memory: resident, the managed heap, and the managed objects alive.");
    }

    public async Task RefreshAsync(CancellationToken ct)
    {
        var commits = new List<(string, DateTimeOffset)>();
        foreach (var id in await _catalog.TablesAsync(ct))
            if (await _catalog.SnapshotAsync(id, null, ct) is { LastCommit.Timestamp: { } ts })
                commits.Add((id.ToString(), DateTimeOffset.FromUnixTimeMilliseconds(ts)));
        var lease = await RunLease.HolderAsync(_catalog.Lake.Store, _time, ct);
        var state = _state with { Commits = commits, Lease = lease };
        if (await _catalog.SnapshotAsync(History, null, ct) is { } history && history.Version != _historyVersion)
        {
            using var engine = RequestEngines.Open(RequestEngines.Work.Metrics, _scratch);
            await engine.MountAsync(History, _catalog.Lake.Table(History), history, ct);
            const string runs = "refined.caudal_runs";
            state = state with
            {
                Runs = engine.Rows($"SELECT run_status, trigger, count(DISTINCT run_id) FROM {runs} GROUP BY ALL")
                    .Select(r => (r.GetString(0), r.GetString(1), r.GetInt64(2))).ToList(),
                Captured = engine.Rows($"SELECT table_name, CAST(sum(rows) AS BIGINT) FROM {runs} WHERE stage = 'capture' GROUP BY ALL")
                    .Select(r => (r.GetString(0), r.GetInt64(1))).ToList(),
                LastRun = engine.Rows($"SELECT stage, table_name, seconds FROM {runs} WHERE run_id = (SELECT max(run_id) FROM {runs})")
                    .Select(r => (r.GetString(0), r.GetString(1), r.GetDouble(2))).ToList(),
            };
            _historyVersion = history.Version;
        }
        _state = state;
    }

    public void Dispose() => _meter.Dispose();
}
