using System.Buffers.Binary;
using System.Text;

namespace Caudal.Capture.Mysql.Binlog;

/// <summary>Reads the protocol's little-endian integers, length-encoded integers and strings from a packet, in order.</summary>
internal struct PacketReader(ReadOnlyMemory<byte> data)
{
    private readonly ReadOnlyMemory<byte> _data = data;

    public int Offset { get; set; }

    public readonly int Remaining => _data.Length - Offset;

    public byte Byte() => _data.Span[Offset++];

    public ushort UInt16()
    {
        var value = BinaryPrimitives.ReadUInt16LittleEndian(_data.Span[Offset..]);
        Offset += 2;
        return value;
    }

    public uint UInt32()
    {
        var value = BinaryPrimitives.ReadUInt32LittleEndian(_data.Span[Offset..]);
        Offset += 4;
        return value;
    }

    public ulong UInt48()
    {
        var span = _data.Span[Offset..];
        Offset += 6;
        return BinaryPrimitives.ReadUInt32LittleEndian(span) | (ulong)BinaryPrimitives.ReadUInt16LittleEndian(span[4..]) << 32;
    }

    public ulong UInt64()
    {
        var value = BinaryPrimitives.ReadUInt64LittleEndian(_data.Span[Offset..]);
        Offset += 8;
        return value;
    }

    /// <summary>A length-encoded integer (1, 3, 4 or 9 bytes).</summary>
    public ulong LengthEncoded()
    {
        var first = Byte();
        switch (first)
        {
            case < 0xFB: return first;
            case 0xFC: return UInt16();
            case 0xFD:
                var span = _data.Span[Offset..];
                Offset += 3;
                return span[0] | (uint)span[1] << 8 | (uint)span[2] << 16;
            case 0xFE: return UInt64();
            default: throw new InvalidDataException($"0x{first:X2} is not a length-encoded integer.");
        }
    }

    public ReadOnlySpan<byte> Bytes(int count)
    {
        var span = _data.Span.Slice(Offset, count);
        Offset += count;
        return span;
    }

    public ReadOnlyMemory<byte> Memory(int count)
    {
        var memory = _data.Slice(Offset, count);
        Offset += count;
        return memory;
    }

    public void Skip(int count) => Offset += count;

    public string NullTerminated()
    {
        var span = _data.Span[Offset..];
        var end = span.IndexOf((byte)0);
        if (end < 0) end = span.Length;
        Offset += Math.Min(span.Length, end + 1);
        return Encoding.UTF8.GetString(span[..end]);
    }

    public string Fixed(int count) => Encoding.UTF8.GetString(Bytes(count));
}
