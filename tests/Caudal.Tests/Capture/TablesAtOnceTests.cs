using Caudal.Lake;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Capture;

/// <summary>A database's tables captured several at once (<c>tables_at_once</c>): they do overlap, each is still its own
/// whole commit, a table that fails takes nothing else with it, and the run record lists them in the source's order.</summary>
public sealed class TablesAtOnceTests : IDisposable
{
    private readonly Quickstart _qs = new(0.05);

    [Fact]
    public async Task Tables_overlap_each_commits_whole_and_a_failing_one_fails_alone()
    {
        // Every Sakila table, and one the database does not have, in an order of our own.
        var order = _qs.Counts.Keys.OrderByDescending(t => t, StringComparer.Ordinal).Append("no_such_table").ToList();
        var text = File.ReadAllText(_qs.SpecPath);
        Assert.Contains("    datasets: \"*\"\n", text);
        File.WriteAllText(_qs.SpecPath, text.Replace("    path: data/sakila.db\n", "    path: data/sakila.db\n    tables_at_once: 4\n", StringComparison.Ordinal)
            .Replace("    datasets: \"*\"\n", $"    datasets: [{string.Join(", ", order)}]\n", StringComparison.Ordinal));
        var spec = SpecLoader.Load(_qs.SpecPath);
        var observer = new Overlap();
        var run = await new PipelineRunner(spec, observer, new RunOptions { Sources = ["sakila"] }).RunAsync();

        Assert.True(observer.MostAtOnce >= 2, $"at most {observer.MostAtOnce} capture(s) in flight");
        Assert.True(observer.MostAtOnce <= 4, $"{observer.MostAtOnce} captures in flight, more than tables_at_once");
        var captures = run.Stages.Where(s => s.Stage == "capture").ToList();
        Assert.Equal(order.Select(t => $"raw.sakila_{t}"), captures.Select(s => s.Table)); // the spec's order, whichever finished first
        var lake = DataLake.Open(spec.Lake);
        foreach (var stage in captures.Where(s => s.Status == RunStatus.Succeeded))
        {
            var snapshot = (await lake.Table(TableId.Parse(stage.Table)).SnapshotAsync())!;
            Assert.Equal(stage.Rows, snapshot.Files.Values.Sum(f => f.NumRecords));
        }
        foreach (var (table, rows) in _qs.Counts)
            Assert.Equal(rows, captures.Single(s => s.Table == $"raw.sakila_{table}").Rows);
        var failed = Assert.Single(captures, s => s.Status == RunStatus.Failed);
        Assert.Equal("raw.sakila_no_such_table", failed.Table);
        Assert.Null(await lake.Table(TableId.Parse(failed.Table)).SnapshotAsync());
    }

    private sealed class Overlap : IRunObserver
    {
        private int _now;
        public int MostAtOnce { get; private set; }

        public void StageStarted(StageRecord stage)
        {
            if (stage.Stage != "capture") return;
            var now = Interlocked.Increment(ref _now);
            lock (this) MostAtOnce = Math.Max(MostAtOnce, now);
            Thread.Sleep(50); // hold the slot a moment, so overlap does not depend on the tables' sizes
        }

        public void StageFinished(StageRecord stage)
        {
            if (stage.Stage == "capture") Interlocked.Decrement(ref _now);
        }
    }

    public void Dispose() => _qs.Dispose();
}
