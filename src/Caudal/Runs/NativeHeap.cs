using System.Runtime.InteropServices;

namespace Caudal.Runs;

/// <summary>
/// Gives the C heap's free pages back to the system after a run. Each run opens and closes DuckDB databases whose
/// memory glibc keeps in its arenas; in a process that runs for weeks (<c>caudal schedule</c>, <c>caudal up</c>)
/// those kept pages add up run after run. On other C libraries (or other systems) it does nothing.
/// </summary>
public static partial class NativeHeap
{
    [LibraryImport("libc", EntryPoint = "malloc_trim")]
    private static partial int MallocTrim(nuint pad);

    private static bool _unavailable;

    public static void Trim()
    {
        if (_unavailable || !OperatingSystem.IsLinux()) return;
        try
        {
            MallocTrim(0);
        }
        catch (Exception e) when (e is EntryPointNotFoundException or DllNotFoundException)
        {
            _unavailable = true; // musl and others have no malloc_trim
        }
    }
}
