using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Caudal.Bench;

/// <summary><c>caudal serve</c> as a user starts it (the repository's <c>./caudal</c>, a Release build), ready once
/// a line of its log matches: the first group of that match is what the bench connects to (a URL, a port).</summary>
internal sealed class CaudalServeProcess(Process process, string ready) : IDisposable
{
    public string Ready => ready;

    public static async Task<CaudalServeProcess> StartAsync(string spec, Regex readyLine)
    {
        var start = new ProcessStartInfo(Path.Combine(RefinedBench.RepoRoot, "caudal"), ["serve", "--spec", spec, "--port", "0"])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        var process = Process.Start(start)!;
        var ready = new TaskCompletionSource<string>();
        void Line(string? line)
        {
            if (line != null && readyLine.Match(line) is { Success: true } m) ready.TrySetResult(m.Groups[1].Value);
        }
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (await Task.WhenAny(ready.Task, Task.Delay(TimeSpan.FromMinutes(5))) != ready.Task) throw new InvalidOperationException("caudal serve did not start");
        return new CaudalServeProcess(process, await ready.Task);
    }

    public long PeakRssMb()
    {
        var line = File.ReadLines($"/proc/{process.Id}/status").FirstOrDefault(l => l.StartsWith("VmHWM:", StringComparison.Ordinal));
        return line == null ? -1 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], CultureInfo.InvariantCulture) / 1024;
    }

    public void Dispose()
    {
        process.Kill(entireProcessTree: true);
        process.WaitForExit();
        process.Dispose();
    }
}
