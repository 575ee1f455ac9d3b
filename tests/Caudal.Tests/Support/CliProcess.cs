using System.Diagnostics;
using System.Text;

namespace Caudal.Tests.Support;

/// <summary>Runs the real <c>caudal</c> CLI as a separate process (the build output of Caudal.Cli).</summary>
public static class CliProcess
{
    public sealed record Result(int ExitCode, string Stdout, string Stderr);

    /// <summary>The CLI's own build output (same configuration as the tests): run from the test folder it would load
    /// the test host's framework set (ASP.NET Core) instead of its own dependencies.</summary>
    internal static string Dll
    {
        get
        {
            var relative = Path.GetRelativePath(Path.Combine(Quickstart.RepoRoot, "tests", "Caudal.Tests"), AppContext.BaseDirectory);
            return Path.Combine(Quickstart.RepoRoot, "src", "Caudal.Cli", relative, "Caudal.Cli.dll");
        }
    }

    public static ProcessStartInfo StartInfo(string workingDirectory, IDictionary<string, string>? env, params string[] args)
    {
        var start = new ProcessStartInfo("dotnet", [Dll, .. args])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        foreach (var (k, v) in env ?? new Dictionary<string, string>()) start.Environment[k] = v;
        return start;
    }

    public static async Task<Result> RunAsync(string workingDirectory, params string[] args) =>
        await RunAsync(workingDirectory, null, args);

    public static async Task<Result> RunAsync(string workingDirectory, IDictionary<string, string>? env, params string[] args)
    {
        using var process = Process.Start(StartInfo(workingDirectory, env, args))!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, await stdout, await stderr);
    }

    /// <summary>Runs the CLI as a person types it: in a pseudo-terminal (util-linux <c>script</c>), so stdout is a TTY
    /// and the CLI draws its live progress. Returns the exit code and what the terminal showed (stdout and stderr
    /// interleaved, ANSI escape sequences removed).</summary>
    public static async Task<Result> RunInTerminalAsync(string workingDirectory, params string[] args)
    {
        // An 80-column terminal, the narrowest a person is likely to use.
        var command = "stty cols 80 rows 40; " + string.Join(' ', new[] { "dotnet", Dll }.Concat(args).Select(ShellQuote));
        var start = new ProcessStartInfo("script", ["-qefc", command, "/dev/null"])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            RedirectStandardInput = true,
        };
        start.Environment["TERM"] = "xterm-256color";
        start.Environment.Remove("NO_COLOR");
        using var process = Process.Start(start)!;
        process.StandardInput.Close();
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(3));
        await process.WaitForExitAsync(timeout.Token);
        return new Result(process.ExitCode, StripAnsi(await stdout).Replace("\r", ""), await stderr);
    }

    private static string ShellQuote(string s) => "'" + s.Replace("'", "'\\''") + "'";

    /// <summary>Removes CSI and OSC escape sequences (colours, cursor moves) from terminal output.</summary>
    public static string StripAnsi(string s) =>
        System.Text.RegularExpressions.Regex.Replace(s, @"\x1B(\[[0-9;?]*[ -/]*[@-~]|\][^\x07]*\x07|[@-Z\\-_=>])", "");

    /// <summary>Starts a run that stops at <paramref name="pausePoint"/>, then SIGKILLs it there. Returns what it printed.</summary>
    public static async Task<string> KillAtAsync(string workingDirectory, string pausePoint, params string[] args)
    {
        using var process = await StartPausedAsync(workingDirectory, pausePoint, args);
        process.Kill(entireProcessTree: true); // SIGKILL: no finally blocks, no flushing
        await process.WaitForExitAsync();
        return process.PausedOutput;
    }

    /// <summary>A CLI process held at a crash point (alive, its files in place) until the test kills or resumes it.</summary>
    public sealed class PausedProcess(Process process, StringBuilder output) : IDisposable
    {
        /// <summary>What it printed so far, stdout and stderr interleaved.</summary>
        public string Output { get { lock (output) return output.ToString(); } }

        public string PausedOutput => Output;

        public void Kill(bool entireProcessTree) => process.Kill(entireProcessTree);

        public int Id => process.Id;

        public Task WaitForExitAsync() => process.WaitForExitAsync();

        public async Task<int> WaitForExitCodeAsync(TimeSpan timeout)
        {
            using var cts = new CancellationTokenSource(timeout);
            await process.WaitForExitAsync(cts.Token);
            return process.ExitCode;
        }

        public void Dispose()
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            process.Dispose();
        }
    }

    /// <summary>Starts a run and returns once it waits at <paramref name="pausePoint"/>.</summary>
    public static Task<PausedProcess> StartPausedAsync(string workingDirectory, string pausePoint, params string[] args) =>
        StartPausedAsync(workingDirectory, pausePoint, new Dictionary<string, string>(), args);

    public static async Task<PausedProcess> StartPausedAsync(string workingDirectory, string pausePoint, IDictionary<string, string> env, params string[] args)
    {
        var process = Process.Start(StartInfo(workingDirectory, new Dictionary<string, string>(env) { ["CAUDAL_PAUSE_AT"] = pausePoint }, args))!;
        var output = new StringBuilder();
        var paused = new TaskCompletionSource();
        process.ErrorDataReceived += (_, e) =>
        {
            if (e.Data == null) return;
            lock (output) output.AppendLine(e.Data);
            if (e.Data.StartsWith("CAUDAL_PAUSED", StringComparison.Ordinal)) paused.TrySetResult();
        };
        process.OutputDataReceived += (_, e) =>
        {
            if (e.Data != null) lock (output) output.AppendLine(e.Data);
        };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        var exited = process.WaitForExitAsync();
        var first = await Task.WhenAny(paused.Task, exited, Task.Delay(TimeSpan.FromMinutes(2)));
        if (first != paused.Task)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"the run never reached {pausePoint}; output:\n{output}");
        }
        return new PausedProcess(process, output);
    }

    /// <summary>Starts a run and SIGKILLs it after <paramref name="delay"/>, wherever it is.</summary>
    public static Task KillAfterAsync(string workingDirectory, TimeSpan delay, params string[] args) => KillAfterAsync(workingDirectory, null, delay, args);

    public static async Task KillAfterAsync(string workingDirectory, IDictionary<string, string>? env, TimeSpan delay, params string[] args)
    {
        using var process = Process.Start(StartInfo(workingDirectory, env, args))!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginErrorReadLine();
        process.BeginOutputReadLine();
        await Task.WhenAny(process.WaitForExitAsync(), Task.Delay(delay));
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        await process.WaitForExitAsync();
    }
}
