using System.Buffers.Binary;
using System.IO.Hashing;

namespace Caudal.Lake.Delta;

/// <summary>
/// A deletion vector file, as the Delta protocol lays it out: a version byte (1), then for each vector its size
/// (big-endian int), the serialised bitmap (<see cref="RoaringBitmapArray"/>) and the bitmap's CRC-32 (big-endian).
/// A descriptor's offset points at the size.
/// </summary>
internal static class DeletionVectorFile
{
    private const byte FormatVersion = 1;

    /// <summary>The file holding <paramref name="vectors"/> (each ascending row numbers), and each one's descriptor.</summary>
    public static (byte[] Content, List<DeletionVector> Descriptors) Write(Guid uuid, IReadOnlyList<long[]> vectors)
    {
        using var output = new MemoryStream();
        output.WriteByte(FormatVersion);
        var descriptors = new List<DeletionVector>(vectors.Count);
        Span<byte> number = stackalloc byte[4];
        foreach (var rows in vectors)
        {
            var bitmap = RoaringBitmapArray.Serialize(rows);
            var offset = (int)output.Position;
            BinaryPrimitives.WriteInt32BigEndian(number, bitmap.Length);
            output.Write(number);
            output.Write(bitmap);
            BinaryPrimitives.WriteUInt32BigEndian(number, Crc32.HashToUInt32(bitmap));
            output.Write(number);
            descriptors.Add(DeletionVector.InFile(uuid, offset, bitmap.Length, rows.Length));
        }
        return (output.ToArray(), descriptors);
    }

    /// <summary>The rows <paramref name="dv"/> deletes, read from <paramref name="file"/> (storage type <c>u</c>) and
    /// checked against its size, checksum and cardinality.</summary>
    public static long[] Read(DeletionVector dv, ReadOnlySpan<byte> file, string nameForErrors)
    {
        if (file.Length < 1 || file[0] != FormatVersion)
            throw new DeltaException($"{nameForErrors}: not a deletion vector file of format version {FormatVersion}.");
        var at = dv.Offset ?? 1;
        if (at < 1 || at + 8L + dv.SizeInBytes > file.Length)
            throw new DeltaException($"{nameForErrors}: the deletion vector at offset {at} ({dv.SizeInBytes} bytes) runs past the file's end ({file.Length} bytes).");
        var size = BinaryPrimitives.ReadInt32BigEndian(file[at..]);
        if (size != dv.SizeInBytes)
            throw new DeltaException($"{nameForErrors}: the deletion vector at offset {at} is {size} bytes; the log says {dv.SizeInBytes}.");
        var bitmap = file.Slice(at + 4, size);
        if (BinaryPrimitives.ReadUInt32BigEndian(file[(at + 4 + size)..]) != Crc32.HashToUInt32(bitmap))
            throw new DeltaException($"{nameForErrors}: the deletion vector at offset {at} fails its checksum (the file is damaged).");
        return Checked(dv, RoaringBitmapArray.Deserialize(bitmap), nameForErrors);
    }

    /// <summary>The rows an inline vector (storage type <c>i</c>) deletes.</summary>
    public static long[] ReadInline(DeletionVector dv, string nameForErrors) =>
        Checked(dv, RoaringBitmapArray.Deserialize(Z85.Decode(dv.PathOrInlineDv).AsSpan(0, dv.SizeInBytes)), nameForErrors);

    private static long[] Checked(DeletionVector dv, long[] rows, string nameForErrors) =>
        rows.Length == dv.Cardinality ? rows
        : throw new DeltaException($"{nameForErrors}: the deletion vector holds {rows.Length} rows; the log says {dv.Cardinality}.");
}
