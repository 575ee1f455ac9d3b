using System.Diagnostics;
using System.Runtime.InteropServices;

namespace Caudal.Bench;

/// <summary>`caudal …` as a user runs it: a fresh process of the Release CLI (what `./caudal` builds), timed from
/// start to exit, with its CPU time and peak RSS (VmHWM, sampled until it exits).</summary>
internal static class FreshRun
{
    public sealed record Result(double Seconds, double CpuSeconds, long PeakRssMb, string Output);

    /// <summary>The CLI's entry assembly; built by the repository's <c>./caudal</c> wrapper when missing or stale.</summary>
    public static string Cli()
    {
        var root = Root();
        var build = Process.Start(new ProcessStartInfo(Path.Combine(root, "caudal"), ["--version"]) { RedirectStandardOutput = true })!;
        build.WaitForExit();
        if (build.ExitCode != 0) throw new InvalidOperationException("./caudal --version failed: the CLI does not build");
        return Path.Combine(root, ".build", "cli", "Caudal.Cli.dll");
    }

    public static string Command(string cli) => $"dotnet {cli}";

    private static string Root()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir != null; dir = dir.Parent)
            if (File.Exists(Path.Combine(dir.FullName, "Caudal.sln"))) return dir.FullName;
        throw new InvalidOperationException("run the bench from inside the repository");
    }

    public static async Task<Result> RunAsync(string cli, string folder, IEnumerable<string> args, IReadOnlyDictionary<string, string> env)
    {
        var start = new ProcessStartInfo("dotnet") { WorkingDirectory = folder, RedirectStandardOutput = true, RedirectStandardError = true };
        start.ArgumentList.Add(cli);
        foreach (var a in args) start.ArgumentList.Add(a);
        foreach (var (k, v) in env) start.Environment[k] = v;
        var cpuBefore = ChildrenCpuSeconds();
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        long peak = 0;
        while (!process.HasExited)
        {
            try
            {
                var status = await File.ReadAllLinesAsync($"/proc/{process.Id}/status");
                var hwm = status.FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
                if (hwm != null) peak = Math.Max(peak, long.Parse(hwm.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024);
            }
            catch (Exception e) when (e is IOException or InvalidOperationException or FormatException)
            {
                // it exited between the check and the read
            }
            await Task.Delay(20);
        }
        await process.WaitForExitAsync();
        var seconds = clock.Elapsed.TotalSeconds;
        var cpu = ChildrenCpuSeconds() - cpuBefore; // exact: the kernel's account of the waited-for child
        if (process.ExitCode != 0) throw new InvalidOperationException($"caudal {string.Join(' ', args)} exited {process.ExitCode}: {await stderr}{await stdout}");
        return new Result(seconds, cpu, peak, await stdout);
    }

    [StructLayout(LayoutKind.Sequential)]
    private struct RUsage
    {
        public long UserSeconds, UserMicros, SystemSeconds, SystemMicros;
        [MarshalAs(UnmanagedType.ByValArray, SizeConst = 14)] public long[] Rest;
    }

    [DllImport("libc", SetLastError = true)]
    private static extern int getrusage(int who, out RUsage usage);

    /// <summary>User + system CPU of every child process this one has waited for (RUSAGE_CHILDREN).</summary>
    private static double ChildrenCpuSeconds()
    {
        if (getrusage(-1, out var u) != 0) return 0;
        return u.UserSeconds + u.SystemSeconds + (u.UserMicros + u.SystemMicros) / 1e6;
    }
}
