using System.Buffers.Binary;
using System.Text;

namespace Caudal.Serve.Pg;

/// <summary>Backend messages built in one growing buffer and sent in as few writes as the socket allows: a message is
/// begun with its type byte, its length is filled in when it ends.</summary>
internal sealed class PgOutput(Stream stream)
{
    private const int FlushAt = 1 << 16;
    private byte[] _buffer = new byte[FlushAt * 2];
    private int _length;
    private int _messageStart = -1;

    public Stream Stream { get; set; } = stream;

    public void Begin(char type)
    {
        Ensure(5);
        _buffer[_length++] = (byte)type;
        _messageStart = _length;
        _length += 4;
    }

    public void End()
    {
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_messageStart), _length - _messageStart);
        _messageStart = -1;
    }

    /// <summary>Sends what is buffered when a good part of a socket's buffer is ready (between messages only).</summary>
    public ValueTask MaybeFlushAsync(CancellationToken ct) => _length >= FlushAt ? FlushAsync(ct) : ValueTask.CompletedTask;

    public async ValueTask FlushAsync(CancellationToken ct)
    {
        if (_length == 0) return;
        await Stream.WriteAsync(_buffer.AsMemory(0, _length), ct);
        await Stream.FlushAsync(ct);
        _length = 0;
    }

    public void Byte(byte value)
    {
        Ensure(1);
        _buffer[_length++] = value;
    }

    public void Int16(short value)
    {
        Ensure(2);
        BinaryPrimitives.WriteInt16BigEndian(_buffer.AsSpan(_length), value);
        _length += 2;
    }

    public void Int32(int value)
    {
        Ensure(4);
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length), value);
        _length += 4;
    }

    public void Int64(long value)
    {
        Ensure(8);
        BinaryPrimitives.WriteInt64BigEndian(_buffer.AsSpan(_length), value);
        _length += 8;
    }

    public void Bytes(ReadOnlySpan<byte> value)
    {
        Ensure(value.Length);
        value.CopyTo(_buffer.AsSpan(_length));
        _length += value.Length;
    }

    /// <summary>A NUL-terminated UTF-8 string.</summary>
    public void CString(string value)
    {
        Utf8(value);
        Byte(0);
    }

    public void Utf8(string value)
    {
        Ensure(Encoding.UTF8.GetMaxByteCount(value.Length));
        _length += Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_length));
    }

    /// <summary>A value as a DataRow field: its length, then its bytes.</summary>
    public void Field(string value)
    {
        var max = Encoding.UTF8.GetMaxByteCount(value.Length);
        Ensure(4 + max);
        var n = Encoding.UTF8.GetBytes(value, _buffer.AsSpan(_length + 4));
        BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(_length), n);
        _length += 4 + n;
    }

    /// <summary>Room for <paramref name="count"/> bytes at <see cref="Position"/>, to be written directly and then
    /// taken with <see cref="Advance"/>.</summary>
    public Span<byte> Reserve(int count)
    {
        Ensure(count);
        return _buffer.AsSpan(_length, count);
    }

    public void Advance(int count) => _length += count;

    public int Position => _length;

    public void PatchInt32(int at, int value) => BinaryPrimitives.WriteInt32BigEndian(_buffer.AsSpan(at), value);

    /// <summary>Drops a message begun but not ended (a value that failed to convert half-way through a row).</summary>
    public void Abandon()
    {
        if (_messageStart < 0) return;
        _length = _messageStart - 1;
        _messageStart = -1;
    }

    /// <summary>Turns the DataRow field written at <paramref name="at"/> into a COPY field in place: NULL as <c>\N</c>
    /// (text) or nothing (CSV), the value escaped (text) or quoted (CSV) when it must be.</summary>
    public void FieldToCopy(int at, bool csv, char delimiter)
    {
        var n = BinaryPrimitives.ReadInt32BigEndian(_buffer.AsSpan(at));
        _length = at;
        if (n < 0)
        {
            if (!csv) Bytes("\\N"u8);
            return;
        }
        var value = _buffer.AsSpan(at + 4, n);
        var plain = csv
            ? n > 0 && value.IndexOfAny((byte)delimiter, (byte)'"', (byte)'\n') < 0 && value.IndexOf((byte)'\r') < 0 && value[0] != ' ' && value[^1] != ' '
            : value.IndexOfAny((byte)'\\', (byte)'\t', (byte)'\n') < 0 && value.IndexOf((byte)'\r') < 0 && value.IndexOf((byte)delimiter) < 0;
        if (plain)
        {
            value.CopyTo(_buffer.AsSpan(at));
            _length = at + n;
            return;
        }
        var text = Encoding.UTF8.GetString(value);
        Utf8(csv ? PgSession.CsvField(text, delimiter) : PgSession.CopyText(text).Replace(delimiter.ToString(), "\\" + delimiter, StringComparison.Ordinal));
    }

    private void Ensure(int count)
    {
        if (_length + count <= _buffer.Length) return;
        Array.Resize(ref _buffer, Math.Max(_buffer.Length * 2, _length + count));
    }
}
