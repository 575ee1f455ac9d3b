using System.Globalization;

namespace Caudal.Capture.Mysql.Binlog;

/// <summary>
/// A binlog position as one number, so it fits the Delta <c>txn</c> version a dataset commits with its rows (as the
/// PostgreSQL LSN does): the file's sequence number (<c>mariadb-bin.000042</c> → 42) times 2^32 plus the byte offset in
/// that file. Positions of one server's binlog order as the log does; <c>_caudal_lsn</c> of a row from the binlog is
/// the position of its image in the file, so a key's changes order by it.
/// </summary>
internal static class BinlogPosition
{
    public static long Of(int file, long offset) => (long)file << 32 | (uint)offset;

    public static int File(long position) => (int)(position >> 32);

    public static uint Offset(long position) => (uint)position;

    /// <summary>The sequence number of a binlog file's name (the digits after its last dot).</summary>
    public static int Number(string file) =>
        int.TryParse(file.AsSpan(file.LastIndexOf('.') + 1), NumberStyles.None, CultureInfo.InvariantCulture, out var n) ? n
            : throw new InvalidDataException($"'{file}' is not a binlog file name (name.NNNNNN).");

    /// <summary>A position as people read binlog coordinates: <c>file:offset</c>, the file named as the server names it.</summary>
    public static string Text(long position, IReadOnlyDictionary<int, string> files) => $"{FileName(position, files)}:{Offset(position)}";

    /// <summary>The name of the position's file: the server's, or (a purged file) named as the server names its others.</summary>
    public static string FileName(long position, IReadOnlyDictionary<int, string> files)
    {
        if (files.GetValueOrDefault(File(position)) is { } name) return name;
        if (files.Values.FirstOrDefault() is not { } other) return $"binlog #{File(position)}";
        var dot = other.LastIndexOf('.');
        return other[..(dot + 1)] + File(position).ToString(CultureInfo.InvariantCulture).PadLeft(other.Length - dot - 1, '0');
    }
}
