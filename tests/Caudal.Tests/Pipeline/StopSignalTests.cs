using System.Diagnostics;
using System.Text;
using Caudal.Lake;
using Caudal.Runs;
using Caudal.Tests.Support;

namespace Caudal.Tests.Pipeline;

/// <summary><c>caudal run</c> stopped by SIGTERM (<c>kill</c>) or by Ctrl-C in a real pseudo-terminal: the run is
/// cancelled before its next commit, recorded as cancelled with the stage it was in (JSON record and
/// refined.caudal_runs), the lease is released, and the process exits 130; the terminal gets its cursor back.</summary>
public sealed class StopSignalTests : IDisposable
{
    private readonly Quickstart _qs = new(scale: 0.05);

    private async Task AssertCancelledAsync(string reason, bool modelsRunAfter = true)
    {
        var lake = DataLake.Open(Caudal.Spec.SpecLoader.Load(_qs.SpecPath).Lake);
        var run = Assert.Single(await new RunStore(lake.Store).ListAsync());
        Assert.Equal(RunStatus.Cancelled, run.Status);
        Assert.Equal($"cancelled: {reason}", run.Error);
        var stage = Assert.Single(run.Stages, s => s.Status == RunStatus.Cancelled);
        Assert.Equal("trusted.rentals", stage.Table);
        Assert.Null(await lake.Table(TableId.Parse("trusted.rentals")).SnapshotAsync()); // abandoned before its commit
        Assert.NotNull(await lake.Table(TableId.Parse("raw.sakila_rental")).SnapshotAsync()); // what came before stays

        // The lease was released (no --force needed), and the history table has the cancelled run.
        var next = await CliProcess.RunAsync(_qs.Folder, "run", "--models-only");
        Assert.DoesNotContain("is being run", next.Stderr);
        Assert.True(next.ExitCode == 0 || !modelsRunAfter, next.Stdout + next.Stderr);
        var history = await CliProcess.RunAsync(_qs.Folder, "query", "--csv",
            $"SELECT DISTINCT run_status FROM refined.caudal_runs WHERE run_id = '{run.RunId}'");
        Assert.Equal("run_status\ncancelled\n", history.Stdout.Replace("\r", ""));
    }

    [Fact]
    public async Task Sigterm_cancels_the_run_records_it_and_exits_130()
    {
        var resume = Path.Combine(_qs.Folder, "resume");
        using var run = await CliProcess.StartPausedAsync(_qs.Folder, "model:trusted.rentals:before-commit",
            new Dictionary<string, string> { ["CAUDAL_RESUME_FILE"] = resume }, "run");
        using (var kill = Process.Start("kill", ["-TERM", run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        await Eventually.WaitUntilAsync(() => Task.FromResult(run.Output.Contains("cancelling the run")), TimeSpan.FromSeconds(20), "run.Output.Contains('cancelling the run')");
        File.WriteAllText(resume, "");
        Assert.Equal(130, await run.WaitForExitCodeAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("cancelled: SIGTERM in trusted.rentals", run.Output);
        await AssertCancelledAsync("SIGTERM");
    }

    [Fact]
    public async Task Sigterm_cancels_a_backfill_the_same_way()
    {
        var resume = Path.Combine(_qs.Folder, "resume");
        using var run = await CliProcess.StartPausedAsync(_qs.Folder, "model:trusted.rentals:before-commit",
            new Dictionary<string, string> { ["CAUDAL_RESUME_FILE"] = resume }, "backfill", "--from", "2026-01-01", "--to", "2026-01-02");
        using (var kill = Process.Start("kill", ["-TERM", run.Id.ToString(System.Globalization.CultureInfo.InvariantCulture)])) await kill.WaitForExitAsync();
        await Eventually.WaitUntilAsync(() => Task.FromResult(run.Output.Contains("cancelling the run")), TimeSpan.FromSeconds(20), "the cancel line");
        File.WriteAllText(resume, "");
        Assert.Equal(130, await run.WaitForExitCodeAsync(TimeSpan.FromMinutes(1)));
        Assert.Contains("backfill cancelled: SIGTERM in window 2026-01-01", run.Output);
        // One run: the second window never started. (A backfill of 2026 windows captured no World Bank rows, so the
        // models-only run after it fails on that, not on the lease.)
        await AssertCancelledAsync("SIGTERM", modelsRunAfter: false);
    }

    [Fact]
    public async Task Ctrl_c_in_a_terminal_cancels_the_run_and_gives_the_cursor_back()
    {
        var resume = Path.Combine(_qs.Folder, "resume");
        var command = $"stty cols 80 rows 40; CAUDAL_PAUSE_AT=model:trusted.rentals:before-commit CAUDAL_RESUME_FILE='{resume}' dotnet '{CliProcess.Dll}' run";
        var start = new ProcessStartInfo("script", ["-qefc", command, "/dev/null"])
        {
            WorkingDirectory = _qs.Folder,
            RedirectStandardOutput = true,
            RedirectStandardInput = true,
        };
        start.Environment["TERM"] = "xterm-256color";
        using var script = Process.Start(start)!;
        var output = new StringBuilder();
        var reader = Task.Run(async () =>
        {
            var buffer = new char[4096];
            int n;
            while ((n = await script.StandardOutput.ReadAsync(buffer)) > 0) lock (output) output.Append(buffer, 0, n);
        });
        string Shown() { lock (output) return output.ToString(); }
        await Eventually.WaitUntilAsync(() => Task.FromResult(Shown().Contains("CAUDAL_PAUSED")), TimeSpan.FromMinutes(2), "Shown().Contains('CAUDAL_PAUSED')");
        await script.StandardInput.WriteAsync('\u0003'); // Ctrl-C, as the terminal's line discipline turns it into SIGINT
        await script.StandardInput.FlushAsync();
        await Eventually.WaitUntilAsync(() => Task.FromResult(Shown().Contains("cancelling the run")), TimeSpan.FromSeconds(20), "Shown().Contains('cancelling the run')");
        File.WriteAllText(resume, "");
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(1));
        await script.WaitForExitAsync(timeout.Token);
        await reader;
        Assert.Equal(130, script.ExitCode);
        var shown = Shown();
        Assert.Contains("cancelled: Ctrl-C (SIGINT) in trusted.rentals", CliProcess.StripAnsi(shown).Replace("\r", "").Replace("\n", " "));
        // Spectre hid the cursor while drawing; the terminal has it back (the last cursor command shows it).
        Assert.True(shown.LastIndexOf("\u001b[?25h", StringComparison.Ordinal) > shown.LastIndexOf("\u001b[?25l", StringComparison.Ordinal), "the cursor is left hidden");
        await AssertCancelledAsync("Ctrl-C (SIGINT)");
    }

    public void Dispose() => _qs.Dispose();
}
