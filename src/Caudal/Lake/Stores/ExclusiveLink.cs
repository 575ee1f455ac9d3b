using System.Runtime.InteropServices;

namespace Caudal.Lake.Stores;

/// <summary>
/// Gives a finished file a second name only if that name is free, atomically: link(2) on Unix (EEXIST when taken).
/// File.Move(overwrite: false) is not used because on some filesystems .NET falls back to check-then-rename,
/// which two racing writers can both pass.
/// </summary>
internal static partial class ExclusiveLink
{
    private const int EEXIST = 17;

    [LibraryImport("libc", EntryPoint = "link", SetLastError = true, StringMarshalling = StringMarshalling.Utf8)]
    private static partial int Link(string oldPath, string newPath);

    /// <summary>True when <paramref name="target"/> was created; false when it already existed.</summary>
    public static bool TryCreate(string source, string target)
    {
        if (!OperatingSystem.IsWindows())
        {
            if (Link(source, target) == 0) return true;
            var errno = Marshal.GetLastPInvokeError();
            if (errno == EEXIST) return false;
            throw new IOException($"Cannot create {target}: link(2) failed with errno {errno}.");
        }
        try
        {
            File.Copy(source, source + ".link"); // MoveFileEx without replace is atomic and exclusive on Windows
            File.Move(source + ".link", target, overwrite: false);
            return true;
        }
        catch (IOException) when (File.Exists(target))
        {
            return false;
        }
    }
}
