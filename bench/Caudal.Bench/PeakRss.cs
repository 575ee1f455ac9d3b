namespace Caudal.Bench;

internal static class PeakRss
{
    /// <summary>The process's peak resident set (VmHWM) in MB, from /proc (Linux).</summary>
    public static long Mb()
    {
        var line = File.ReadLines("/proc/self/status").FirstOrDefault(l => l.StartsWith("VmHWM:"));
        return line == null ? -1 : long.Parse(line.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1]) / 1024;
    }
}
