using System.Buffers.Binary;

namespace Caudal.Lake.Delta;

/// <summary>
/// Delta's serialised deletion vector: a set of row numbers as a <c>RoaringBitmapArray</c> in its portable form — a
/// magic number, the count of 32-bit Roaring bitmaps, then each bitmap's high 32 bits and the bitmap in the portable
/// Roaring format (array, bitmap and run containers; all little-endian). Caudal writes array and bitmap containers
/// only; it reads all three, as Spark and delta-rs write them.
/// </summary>
internal static class RoaringBitmapArray
{
    public const int Magic = 1681511377;
    private const int NoRunCookie = 12346, RunCookie = 12347, ArrayMax = 4096, NoOffsetThreshold = 4;

    /// <summary>Serialises ascending, distinct row numbers.</summary>
    public static byte[] Serialize(ReadOnlySpan<long> rows)
    {
        var buckets = new List<(uint High, int Start, int End)>();
        for (var i = 0; i < rows.Length; i++)
            if (rows[i] < 0 || (i > 0 && rows[i] <= rows[i - 1])) throw new ArgumentException("Row numbers must be ascending, distinct and not negative.", nameof(rows));
        for (var i = 0; i < rows.Length;)
        {
            var high = (uint)(rows[i] >> 32);
            var start = i;
            while (i < rows.Length && (uint)(rows[i] >> 32) == high) i++;
            buckets.Add((high, start, i));
        }
        using var output = new MemoryStream();
        using var w = new BinaryWriter(output);
        w.Write(Magic);
        w.Write((long)buckets.Count);
        foreach (var (high, start, end) in buckets)
        {
            w.Write((int)high);
            WriteBitmap(w, rows[start..end]);
        }
        w.Flush();
        return output.ToArray();
    }

    private static void WriteBitmap(BinaryWriter w, ReadOnlySpan<long> rows)
    {
        var containers = new List<(ushort Key, int Start, int End)>();
        for (var i = 0; i < rows.Length;)
        {
            var key = (ushort)(rows[i] >> 16);
            var start = i;
            while (i < rows.Length && (ushort)(rows[i] >> 16) == key) i++;
            containers.Add((key, start, i));
        }
        w.Write(NoRunCookie);
        w.Write(containers.Count);
        foreach (var (key, start, end) in containers)
        {
            w.Write(key);
            w.Write((ushort)(end - start - 1));
        }
        var offset = 8 + 8 * containers.Count;
        foreach (var (_, start, end) in containers)
        {
            w.Write(offset);
            offset += end - start > ArrayMax ? 8192 : 2 * (end - start);
        }
        foreach (var (_, start, end) in containers)
        {
            if (end - start <= ArrayMax)
            {
                for (var i = start; i < end; i++) w.Write((ushort)rows[i]);
                continue;
            }
            var words = new ulong[1024];
            for (var i = start; i < end; i++) words[(ushort)rows[i] >> 6] |= 1UL << ((ushort)rows[i] & 63);
            foreach (var word in words) w.Write(word);
        }
    }

    /// <summary>The row numbers, ascending.</summary>
    public static long[] Deserialize(ReadOnlySpan<byte> data)
    {
        if (data.Length < 12 || BinaryPrimitives.ReadInt32LittleEndian(data) != Magic)
            throw new DeltaException("Not a Delta deletion vector (its magic number is not the RoaringBitmapArray's portable form).");
        var count = BinaryPrimitives.ReadInt64LittleEndian(data[4..]);
        var at = 12;
        var rows = new List<long>();
        for (long b = 0; b < count; b++)
        {
            var high = (long)(uint)BinaryPrimitives.ReadInt32LittleEndian(data[at..]);
            at = ReadBitmap(data, at + 4, high << 32, rows);
        }
        return [.. rows];
    }

    private static int ReadBitmap(ReadOnlySpan<byte> data, int at, long high, List<long> rows)
    {
        var cookie = BinaryPrimitives.ReadUInt32LittleEndian(data[at..]);
        int size;
        byte[]? runFlags = null;
        if (cookie == NoRunCookie)
        {
            size = BinaryPrimitives.ReadInt32LittleEndian(data[(at + 4)..]);
            at += 8;
        }
        else if ((cookie & 0xFFFF) == RunCookie)
        {
            size = (int)(cookie >> 16) + 1;
            at += 4;
            runFlags = data.Slice(at, (size + 7) / 8).ToArray();
            at += runFlags.Length;
        }
        else throw new DeltaException($"Not a Roaring bitmap (cookie {cookie}).");
        var keys = new ushort[size];
        var cardinalities = new int[size];
        for (var i = 0; i < size; i++)
        {
            keys[i] = BinaryPrimitives.ReadUInt16LittleEndian(data[(at + 4 * i)..]);
            cardinalities[i] = BinaryPrimitives.ReadUInt16LittleEndian(data[(at + 4 * i + 2)..]) + 1;
        }
        at += 4 * size;
        if (runFlags == null || size >= NoOffsetThreshold) at += 4 * size; // the offsets: the containers follow in order anyway
        for (var i = 0; i < size; i++)
        {
            var key = high | (long)keys[i] << 16;
            if (runFlags != null && (runFlags[i / 8] & (1 << (i % 8))) != 0)
            {
                var runs = BinaryPrimitives.ReadUInt16LittleEndian(data[at..]);
                at += 2;
                for (var r = 0; r < runs; r++, at += 4)
                {
                    var first = BinaryPrimitives.ReadUInt16LittleEndian(data[at..]);
                    var length = BinaryPrimitives.ReadUInt16LittleEndian(data[(at + 2)..]);
                    for (var v = 0; v <= length; v++) rows.Add(key | (long)(first + v));
                }
            }
            else if (cardinalities[i] <= ArrayMax)
            {
                for (var v = 0; v < cardinalities[i]; v++, at += 2) rows.Add(key | BinaryPrimitives.ReadUInt16LittleEndian(data[at..]));
            }
            else
            {
                for (var word = 0; word < 1024; word++, at += 8)
                {
                    var bits = BinaryPrimitives.ReadUInt64LittleEndian(data[at..]);
                    while (bits != 0)
                    {
                        rows.Add(key | (long)(word * 64 + System.Numerics.BitOperations.TrailingZeroCount(bits)));
                        bits &= bits - 1;
                    }
                }
            }
        }
        return at;
    }
}
