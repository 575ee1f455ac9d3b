using Caudal.Lake;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Pipeline;

/// <summary>A run cancelled (Ctrl-C) while a capture's background Parquet write is in flight stops promptly, commits
/// nothing of that dataset, records the run as cancelled, leaves no scratch files, and the next run converges.</summary>
public sealed class CancelTests : IDisposable
{
    private readonly Quickstart _qs = new(scale: 5);

    [Fact]
    public async Task Cancelling_during_a_background_parquet_write_commits_nothing_and_leaves_nothing()
    {
        // 80,220 rentals written 1,000 rows per file: the raw writer swaps buffers 80 times, each swap a background write.
        File.WriteAllText(_qs.SpecPath, File.ReadAllText(_qs.SpecPath).Replace("run:\n", "run:\n  rows_per_file: 1000\n"));
        var spec = SpecLoader.Load(_qs.SpecPath);
        Assert.Equal(1000, spec.Run.RowsPerFile);
        var tmp = Path.Combine(_qs.Folder, ".caudal", "tmp");
        using var cancel = new CancellationTokenSource();
        // Cancel as soon as the rental capture has written its first background file: its next write is under way.
        var observer = new RentalStarted(() =>
        {
            while (!Directory.EnumerateFiles(tmp, "*.parquet", SearchOption.AllDirectories).Any()) Thread.Sleep(0);
            cancel.Cancel();
        });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => new PipelineRunner(spec, observer).RunAsync(cancel.Token));
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"cancel took {clock.Elapsed}");
        Assert.True(observer.Watcher!.Join(TimeSpan.FromSeconds(10)));

        var lake = DataLake.Open(spec.Lake);
        var run = (await new RunStore(lake.Store).ListAsync()).Single();
        Assert.Equal(RunStatus.Cancelled, run.Status); // recorded, not left "running"
        Assert.Equal("cancelled", run.Error);
        // The captures it stopped in (tables are captured two at a time): rental's, and whichever ran beside it.
        var stopped = run.Stages.Where(s => s.Error == "cancelled").ToList();
        Assert.Contains(stopped, s => s.Table == "raw.sakila_rental");
        Assert.InRange(stopped.Count, 1, 2);
        foreach (var s in stopped)
        {
            Assert.Null(s.Version);
            Assert.Null(await lake.Table(TableId.Parse(s.Table)).SnapshotAsync()); // nothing of it committed
        }
        Assert.Empty(Directory.GetDirectories(tmp)); // the run's scratch folder is gone, staged Parquet with it
        var tables = await lake.ListTablesAsync();
        foreach (var id in tables.Where(t => t.Zone == Zone.Raw))
        {
            var snapshot = (await lake.Table(id).SnapshotAsync())!;
            Assert.Equal(snapshot.Files.Count, snapshot.Files.Count(f => f.Value.NumRecords != null)); // every committed file is whole
        }
        // Stopped before any model: beyond raw only the run history, which holds the cancelled run.
        Assert.Equal(["refined.caudal_runs"], tables.Where(t => t.Zone != Zone.Raw).Select(t => t.ToString()));

        var rerun = await new PipelineRunner(spec).RunAsync();
        Assert.True(rerun.Status == RunStatus.Succeeded, rerun.Error);
        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        Assert.Equal(_qs.Counts["rental"].ToString(), session.Query("SELECT count(*) FROM trusted.rentals").Rows[0][0]);
        foreach (var (table, rows) in _qs.Counts)
            Assert.All(session.Query($"SELECT count(*) FROM raw.sakila_{table} GROUP BY _caudal_run_id").Rows, r => Assert.Equal(rows.ToString(), r[0]));
    }

    /// <summary>Starts <paramref name="watch"/> on a thread of its own when the rental capture starts.</summary>
    private sealed class RentalStarted(Action watch) : IRunObserver
    {
        public Thread? Watcher { get; private set; }

        public void StageStarted(StageRecord stage)
        {
            if (stage.Table != "raw.sakila_rental") return;
            Watcher = new Thread(() => watch()) { IsBackground = true };
            Watcher.Start();
        }
    }

    public void Dispose() => _qs.Dispose();
}
