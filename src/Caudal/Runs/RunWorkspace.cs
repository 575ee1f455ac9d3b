namespace Caudal.Runs;

/// <summary>
/// A run's local scratch folder, <c>.caudal/tmp/{run-id}/</c> beside the spec (staged Parquet, JSON lines, payloads
/// before upload). It holds an exclusive lock on its <c>.lock</c> file for as long as the run lives; the operating
/// system releases the lock when the process dies, however it dies (SIGKILL, power loss), so a folder whose lock can
/// be taken belongs to no live run and may be cleaned.
/// </summary>
public sealed class RunWorkspace : IDisposable
{
    private const string LockName = ".lock";

    /// <summary>A folder without a lock file (a run killed before it took its lock, or an older Caudal) is left this
    /// long before it counts as abandoned, so a workspace being created is never mistaken for one.</summary>
    private static readonly TimeSpan Unlocked = TimeSpan.FromMinutes(10);

    private readonly FileStream _lock;

    private RunWorkspace(string path, FileStream lockFile)
    {
        Path = path;
        _lock = lockFile;
    }

    public string Path { get; }

    public static string Root(string specDirectory) => System.IO.Path.Combine(specDirectory, ".caudal", "tmp");

    public static RunWorkspace Create(string specDirectory, string name)
    {
        var path = System.IO.Path.Combine(Root(specDirectory), name);
        Directory.CreateDirectory(path);
        var lockFile = new FileStream(System.IO.Path.Combine(path, LockName), FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
        return new RunWorkspace(path, lockFile);
    }

    /// <summary>Workspaces under <paramref name="specDirectory"/> that no live process owns: (name, path).</summary>
    public static IReadOnlyList<(string Name, string Path)> FindAbandoned(string specDirectory) =>
        Scan(specDirectory).Where(w => !w.Live).Select(w => (w.Name, w.Path)).ToList();

    /// <summary>Names of the workspaces a live run (or query) on this machine holds.</summary>
    public static IReadOnlyList<string> FindLive(string specDirectory) =>
        Scan(specDirectory).Where(w => w.Live).Select(w => w.Name).ToList();

    /// <summary>A minute before the oldest live run on this machine started (vacuum keeps every file newer than that,
    /// whatever the retention), or null when no run is live.</summary>
    public static DateTimeOffset? KeepSince(string specDirectory) =>
        FindLive(specDirectory).Select(RunRecord.StartOf).Min()?.AddMinutes(-1);

    private static IEnumerable<(string Name, string Path, bool Live)> Scan(string specDirectory)
    {
        var root = Root(specDirectory);
        if (!Directory.Exists(root)) yield break;
        foreach (var dir in Directory.EnumerateDirectories(root))
        {
            var name = System.IO.Path.GetFileName(dir);
            var lockPath = System.IO.Path.Combine(dir, LockName);
            if (!File.Exists(lockPath))
            {
                yield return (name, dir, DateTime.UtcNow - Directory.GetLastWriteTimeUtc(dir) <= Unlocked);
                continue;
            }
            bool live;
            try
            {
                using var probe = new FileStream(lockPath, FileMode.Open, FileAccess.ReadWrite, FileShare.None);
                live = false;
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                live = true; // locked: a live run (or query) owns it
            }
            yield return (name, dir, live);
        }
    }

    /// <summary>Deletes an abandoned workspace; a workspace taken again meanwhile is left alone.</summary>
    public static void Delete(string path)
    {
        try
        {
            Directory.Delete(path, recursive: true);
        }
        catch (Exception e) when (e is DirectoryNotFoundException or IOException or UnauthorizedAccessException)
        {
            // Gone already (another process cleaned it), or not removable now: the next cleanup tries again.
        }
    }

    public void Dispose()
    {
        _lock.Dispose();
        Delete(Path);
    }
}
