using System.Diagnostics;
using System.Text;
using System.Text.RegularExpressions;

namespace Caudal.Tests.Support;

/// <summary>A <c>caudal serve</c> (or <c>up</c>) process started from a test, with the URL it printed and its output.</summary>
public sealed partial class ServeProcess(Process process, string url, StringBuilder output) : IDisposable
{
    public Process Process => process;
    public string Url => url;
    public string Output { get { lock (output) return output.ToString(); } }

    [GeneratedRegex(@"at (https?://127\.0\.0\.1:\d+)/v1/tables")]
    private static partial Regex Listening();

    /// <summary>Starts the CLI with <paramref name="args"/> in <paramref name="folder"/> and waits for the URL it serves at.</summary>
    public static Task<ServeProcess> StartAsync(string folder, params string[] args) => StartAsync(folder, null, args);

    /// <summary>The same, with environment variables for the process (e.g. Kestrel's endpoint configuration).</summary>
    public static async Task<ServeProcess> StartAsync(string folder, IDictionary<string, string>? env, params string[] args)
    {
        var process = Process.Start(CliProcess.StartInfo(folder, env, args))!;
        var output = new StringBuilder();
        var url = new TaskCompletionSource<string>();
        void Line(string? line)
        {
            if (line == null) return;
            lock (output) output.AppendLine(line);
            if (Listening().Match(line) is { Success: true } m) url.TrySetResult(m.Groups[1].Value);
        }
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        if (await Task.WhenAny(url.Task, process.WaitForExitAsync(), Task.Delay(TimeSpan.FromSeconds(60))) != url.Task)
        {
            if (!process.HasExited) process.Kill(entireProcessTree: true);
            throw new InvalidOperationException($"caudal {string.Join(' ', args)} did not start serving:\n{output}");
        }
        return new ServeProcess(process, await url.Task, output);
    }

    public void Dispose()
    {
        if (!process.HasExited) process.Kill(entireProcessTree: true);
        process.WaitForExit(10_000);
        process.Dispose();
    }
}
