namespace Caudal.Runs;

/// <summary>
/// Named points of a run where crash tests stop the process. When <c>CAUDAL_PAUSE_AT</c> names the point, the run
/// prints <c>CAUDAL_PAUSED point</c> to stderr and waits there, so the test can SIGKILL it at exactly that moment —
/// or, when <c>CAUDAL_RESUME_FILE</c> is set, change the world (stop the lake's server) and then create that file to
/// let the run go on. Unset (always, outside tests), it costs one environment lookup.
/// </summary>
internal static class CrashPoint
{
    private static readonly string? PauseAt = Environment.GetEnvironmentVariable("CAUDAL_PAUSE_AT");
    private static readonly string? ResumeFile = Environment.GetEnvironmentVariable("CAUDAL_RESUME_FILE");

    public static void Reach(string point)
    {
        if (PauseAt == null || PauseAt != point) return;
        Console.Error.WriteLine($"CAUDAL_PAUSED {point}");
        Console.Error.Flush();
        if (ResumeFile == null) Thread.Sleep(Timeout.Infinite);
        while (!File.Exists(ResumeFile)) Thread.Sleep(50);
    }
}
