using Caudal.Lake;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Pipeline;

/// <summary>
/// A run killed after uploading its API payloads but before its commit leaves a scratch folder and payloads no version
/// references. Vacuum and the next run remove them; a run that is still going (paused at the same point) keeps all of
/// its files; payloads a committed run wrote are never removed.
/// </summary>
public sealed class LeftoverTests : IDisposable
{
    private const string Point = "capture:raw.worldbank_observations:before-commit";
    private readonly Quickstart _qs = new(scale: 0.05);

    private string Workspace(string run) => Path.Combine(_qs.Folder, ".caudal", "tmp", run);

    private string Payloads(string run) => Path.Combine(_qs.LakePath, "raw", "worldbank_observations", "_payloads", run);

    private async Task<List<RunRecord>> RunsAsync() =>
        (await new RunStore(DataLake.Open(SpecLoader.Load(_qs.SpecPath).Lake).Store).ListAsync()).ToList();

    [Fact]
    public async Task Leftovers_of_killed_runs_are_removed_and_a_live_runs_files_are_not()
    {
        var committed = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.True(committed.ExitCode == 0, committed.Stderr);
        var first = (await RunsAsync()).Single().RunId;
        var kept = Directory.GetFiles(Payloads(first), "*", SearchOption.AllDirectories);
        Assert.NotEmpty(kept);

        await CliProcess.KillAtAsync(_qs.Folder, Point, "run");
        var killed = (await RunsAsync()).Single(r => r.Status == RunStatus.Running).RunId;
        Assert.True(Directory.Exists(Workspace(killed)));
        Assert.NotEmpty(Directory.GetFiles(Payloads(killed), "*", SearchOption.AllDirectories));

        using (var live = await CliProcess.StartPausedAsync(_qs.Folder, Point, "run"))
        {
            // The next run began by removing what the killed one left.
            Assert.False(Directory.Exists(Workspace(killed)));
            Assert.DoesNotContain(Directory.GetFiles(Path.GetDirectoryName(Payloads(killed))!, "*", SearchOption.AllDirectories),
                f => f.Contains(killed, StringComparison.Ordinal));
            var running = (await RunsAsync()).Single(r => r.Status == RunStatus.Running && r.RunId != killed).RunId;
            var stagedBefore = StagedParquet();

            // Even with no retention at all, vacuum touches nothing of the live run.
            var vacuum = await CliProcess.RunAsync(_qs.Folder, "vacuum", "--retention", "0s");
            Assert.True(vacuum.ExitCode == 0, vacuum.Stderr);
            Assert.DoesNotContain(running, vacuum.Stdout);
            Assert.True(Directory.Exists(Workspace(running)));
            Assert.NotEmpty(Directory.GetFiles(Payloads(running), "*", SearchOption.AllDirectories));
            Assert.Equal(stagedBefore, StagedParquet()); // the live run's staged data files are still there
            Assert.All(kept, f => Assert.True(File.Exists(f), f)); // the committed run's payloads stay

            live.Kill(entireProcessTree: true);
            await live.WaitForExitAsync();
            // Dead now: vacuum removes its workspace and its payloads, and names them.
            var after = await CliProcess.RunAsync(_qs.Folder, "vacuum", "--retention", "7d");
            Assert.True(after.ExitCode == 0, after.Stderr);
            Assert.Contains($"deleted .caudal/tmp/{running}/ (left by a run that died)", after.Stdout);
            Assert.Contains($"raw/worldbank_observations/_payloads/{running}/", after.Stdout);
            Assert.False(Directory.Exists(Workspace(running)));
            Assert.False(Directory.Exists(Payloads(running)) && Directory.GetFiles(Payloads(running), "*", SearchOption.AllDirectories).Length > 0);
        }
        var rerun = await CliProcess.RunAsync(_qs.Folder, "run");
        Assert.True(rerun.ExitCode == 0, rerun.Stderr);
        Assert.All(kept, f => Assert.True(File.Exists(f), f));
        var last = (await RunsAsync()).Where(r => r.Status == RunStatus.Succeeded).MaxBy(r => r.StartedAt)!.RunId;
        Assert.NotEmpty(Directory.GetFiles(Payloads(last), "*", SearchOption.AllDirectories));
        Assert.Empty(Directory.GetDirectories(Path.Combine(_qs.Folder, ".caudal", "tmp")));

        // Every payload left is referenced by a committed row; every committed row's payload exists.
        using var session = await Caudal.Processing.QuerySession.OpenAsync(SpecLoader.Load(_qs.SpecPath));
        var referenced = session.Query("SELECT DISTINCT _payload FROM raw.worldbank_observations").Rows.Select(r => r[0]!).Order().ToList();
        var stored = Directory.GetFiles(Path.Combine(_qs.LakePath, "raw", "worldbank_observations", "_payloads"), "*", SearchOption.AllDirectories)
            .Select(f => Path.GetRelativePath(Path.Combine(_qs.LakePath, "raw", "worldbank_observations", "_payloads"), f)).Order().ToList();
        Assert.Equal(referenced, stored);
    }

    private List<string> StagedParquet() =>
        Directory.GetFiles(Path.Combine(_qs.LakePath, "raw", "worldbank_observations"), "*.parquet", SearchOption.AllDirectories).Order().ToList();

    public void Dispose() => _qs.Dispose();
}
