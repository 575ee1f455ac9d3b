using System.Diagnostics;
using System.Text;
using Caudal.Lake;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Schedule;

/// <summary>
/// Real `caudal schedule` processes on one lake: never two runs at once, every slot run exactly once, a killed lease
/// holder taken over after its lease expires, SIGTERM stopping cleanly; and a manual `caudal run` honouring the lease.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class SchedulerProcessTests : IDisposable
{
    private readonly Quickstart _qs = new(scale: 0.05);
    private readonly List<Process> _processes = [];

    private void Schedule(string cron, string extra = "") =>
        File.AppendAllText(_qs.SpecPath, $"\nschedule:\n  cron: \"{cron}\"\n  catch_up: all\n  lease_ttl: 6s\n{extra}");

    private sealed record Scheduler(Process Process, StringBuilder Output);

    private Scheduler Start()
    {
        var process = Process.Start(CliProcess.StartInfo(_qs.Folder, null, "schedule"))!;
        _processes.Add(process);
        var output = new StringBuilder();
        process.OutputDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.ErrorDataReceived += (_, e) => { if (e.Data != null) lock (output) output.AppendLine(e.Data); };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return new Scheduler(process, output);
    }

    private static async Task<int> TerminateAsync(Scheduler scheduler)
    {
        using (var kill = Process.Start("kill", ["-TERM", scheduler.Process.Id.ToString()])!) await kill.WaitForExitAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(90));
        await scheduler.Process.WaitForExitAsync(timeout.Token);
        return scheduler.Process.ExitCode;
    }

    private async Task<List<RunRecord>> RunsAsync() =>
        [.. await new RunStore(DataLake.Open(SpecLoader.Load(_qs.SpecPath).Lake).Store).ListAsync(1000)];

    [Fact]
    public async Task Two_schedulers_on_one_lake_never_overlap_and_run_every_slot_once()
    {
        Schedule("*/5 * * * * *");
        var a = Start();
        var b = Start();
        await Eventually.WaitUntilAsync(async () => (await RunsAsync()).Count(r => r.Status == RunStatus.Succeeded) >= 5, TimeSpan.FromMinutes(2), "five scheduled runs");
        Assert.Equal(0, await TerminateAsync(a));
        Assert.Equal(0, await TerminateAsync(b));

        var runs = (await RunsAsync()).OrderBy(r => r.StartedAt).ToList();
        Assert.All(runs, r => Assert.Equal(Triggers.Schedule, r.Trigger));
        Assert.All(runs, r => Assert.NotNull(r.FinishedAt)); // stopped cleanly: nothing left "running"
        for (var i = 1; i < runs.Count; i++)
            Assert.True(runs[i].StartedAt >= runs[i - 1].FinishedAt, $"runs {runs[i - 1].RunId} and {runs[i].RunId} overlap");
        var slots = runs.Select(r => r.ScheduledFor!.Value).ToList();
        Assert.Equal(slots.Distinct().Count(), slots.Count); // no slot twice
        for (var i = 1; i < slots.Count; i++) Assert.Equal(TimeSpan.FromSeconds(5), slots[i] - slots[i - 1]); // none skipped
        Assert.True(runs.Select(r => r.Host).Distinct().Count() >= 1);
        var text = a.Output.ToString() + b.Output;
        Assert.DoesNotContain("Exception", text);
        Assert.Contains("waits for the lease", text); // the two really contended
        Assert.Null(await RunLease.HolderAsync(DataLake.Open(SpecLoader.Load(_qs.SpecPath).Lake).Store)); // released
    }

    [Fact]
    public async Task A_killed_lease_holder_is_taken_over_and_the_lake_converges()
    {
        Schedule("*/5 * * * * *");
        var a = Start();
        var b = Start();
        var store = DataLake.Open(SpecLoader.Load(_qs.SpecPath).Lake).Store;
        LeaseHolder? holder = null;
        await Eventually.WaitUntilAsync(async () => (holder = await RunLease.HolderAsync(store)) != null &&
            (await RunsAsync()).Any(r => r.Status == RunStatus.Running), TimeSpan.FromMinutes(1), "a run holding the lease");
        var victim = new[] { a, b }.Single(s => holder!.Holder.Contains($":{s.Process.Id}@", StringComparison.Ordinal));
        var survivor = victim == a ? b : a;
        victim.Process.Kill(entireProcessTree: true); // SIGKILL mid-run: no release, the lease must expire
        var killedAt = DateTimeOffset.UtcNow;
        await victim.Process.WaitForExitAsync();

        await Eventually.WaitUntilAsync(async () => (await RunsAsync()).Any(r => r.StartedAt > killedAt && r.Status == RunStatus.Succeeded && r.Host!.Contains($":{survivor.Process.Id}@", StringComparison.Ordinal)),
            TimeSpan.FromMinutes(1), "the survivor to run");
        Assert.Equal(0, await TerminateAsync(survivor));

        // The killed run committed nothing partial: every raw batch is whole and trusted equals the source.
        var spec = SpecLoader.Load(_qs.SpecPath);
        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        foreach (var (table, rows) in _qs.Counts)
            Assert.All(session.Query($"SELECT count(*) FROM raw.sakila_{table} GROUP BY _caudal_run_id").Rows, r => Assert.Equal(rows.ToString(), r[0]));
        Assert.Equal($"{_qs.Counts["rental"]}|{_qs.Counts["rental"]}", LakeReader.Flat(session.Query("SELECT count(*), count(DISTINCT rental_id) FROM trusted.rentals").Rows[0]));
    }

    /// <summary>A holder on another machine cannot be checked for being alive: its lease is waited out, then taken.</summary>
    [Fact]
    public async Task A_lease_held_elsewhere_is_taken_only_after_it_expires()
    {
        var store = DataLake.Open(SpecLoader.Load(_qs.SpecPath).Lake).Store;
        var expires = DateTimeOffset.UtcNow.AddSeconds(4);
        var remote = new LeaseHolder("other-machine:4242@0badf00d", "job nightly", DateTimeOffset.UtcNow, expires);
        Assert.True(await store.PutIfAbsentAsync("_caudal/lease/000000000001.json",
            System.Text.Json.JsonSerializer.SerializeToUtf8Bytes(remote, new System.Text.Json.JsonSerializerOptions { PropertyNamingPolicy = System.Text.Json.JsonNamingPolicy.SnakeCaseLower })));
        var (early, heldBy) = await RunLease.TryAcquireAsync(store, "manual run", TimeSpan.FromSeconds(10));
        Assert.Null(early);
        Assert.Equal("other-machine:4242@0badf00d", heldBy!.Holder);
        Assert.Equal(1, (await CliProcess.RunAsync(_qs.Folder, "run")).ExitCode);

        await Task.Delay(expires - DateTimeOffset.UtcNow + TimeSpan.FromMilliseconds(200));
        var (lease, _) = await RunLease.TryAcquireAsync(store, "manual run", TimeSpan.FromSeconds(10));
        await using (lease)
        {
            Assert.NotNull(lease);
            Assert.Equal(2, lease.Generation);
            Assert.Equal(RunLease.ThisHost, (await RunLease.HolderAsync(store))!.Holder);
        }
        Assert.Null(await RunLease.HolderAsync(store)); // released on dispose
    }

    /// <summary>An upload cut off mid-way can leave a truncated lease object (a server that keeps what it got): it is
    /// held for a moment after its last write — it may be being written — and never for ever.</summary>
    [Fact]
    public async Task A_truncated_lease_object_holds_the_lake_only_briefly()
    {
        var store = DataLake.Open(SpecLoader.Load(_qs.SpecPath).Lake).Store;
        await store.PutAsync("_caudal/lease/000000000003.json", new MemoryStream("{\"holder\":\"other-mach"u8.ToArray()));
        var held = await RunLease.HolderAsync(store);
        Assert.NotNull(held);
        Assert.Contains("unreadable _caudal/lease/000000000003.json", held.Holder);
        Assert.InRange(held.ExpiresAt - DateTimeOffset.UtcNow, TimeSpan.FromSeconds(20), TimeSpan.FromSeconds(31));
        var (early, _) = await RunLease.TryAcquireAsync(store, "manual run", TimeSpan.FromSeconds(10));
        Assert.Null(early);

        File.SetLastWriteTimeUtc(store.LocalPathOf("_caudal/lease/000000000003.json")!, DateTime.UtcNow.AddMinutes(-1));
        Assert.Null(await RunLease.HolderAsync(store));
        var (lease, _) = await RunLease.TryAcquireAsync(store, "manual run", TimeSpan.FromSeconds(10));
        await using (lease)
        {
            Assert.NotNull(lease);
            Assert.Equal(4, lease.Generation);
        }
    }

    [Fact]
    public async Task A_manual_run_waits_for_no_one_it_refuses_while_the_lease_is_held_unless_forced()
    {
        var store = DataLake.Open(SpecLoader.Load(_qs.SpecPath).Lake).Store;
        var (lease, _) = await RunLease.TryAcquireAsync(store, "job nightly slot 2026-11-30 02:00:00Z", TimeSpan.FromMinutes(5));
        await using (lease)
        {
            Assert.NotNull(lease);
            var refused = await CliProcess.RunAsync(_qs.Folder, "run");
            Assert.Equal(1, refused.ExitCode);
            Assert.Contains("is being run: job nightly slot 2026-11-30 02:00:00Z by", refused.Stderr);
            Assert.Contains("--force", refused.Stderr);
            Assert.Empty(await RunsAsync());

            var forced = await CliProcess.RunAsync(_qs.Folder, "run", "--force");
            Assert.True(forced.ExitCode == 0, forced.Stderr);
            Assert.Contains("warning: running with --force while the lease is held", forced.Stderr);
        }
        var after = await CliProcess.RunAsync(_qs.Folder, "run"); // released: runs
        Assert.True(after.ExitCode == 0, after.Stderr);
        Assert.Equal(2, (await RunsAsync()).Count(r => r.Trigger == Triggers.Manual && r.Status == RunStatus.Succeeded));
    }

    public void Dispose()
    {
        foreach (var p in _processes)
        {
            if (!p.HasExited) p.Kill(entireProcessTree: true);
            p.Dispose();
        }
        _qs.Dispose();
    }
}
