using System.Buffers.Binary;
using System.Text;

namespace Caudal.Serve.Pg;

/// <summary>A protocol violation: the connection ends with a FATAL error of SQLSTATE 08P01.</summary>
internal sealed class PgProtocolException(string message) : Exception(message);

/// <summary>Frontend messages read off the connection, whole: a type byte and a length, then the body. A message longer
/// than <see cref="MaxMessage"/> is refused before any of it is read; a client that stops half-way through a message
/// is cut off after <paramref name="midMessage"/> (<c>serve.pg.message_timeout</c>; idling between messages is allowed,
/// as PostgreSQL allows it).</summary>
internal sealed class PgInput(Stream stream, TimeSpan midMessage)
{
    public const int MaxMessage = 16 << 20;
    private readonly TimeSpan _midMessage = midMessage;

    private readonly byte[] _header = new byte[5];

    public Stream Stream { get; set; } = stream;

    /// <summary>The startup packet (no type byte); null when the client closed the connection first.</summary>
    public async Task<PgMessage?> ReadStartupAsync(CancellationToken ct)
    {
        if (!await FillAsync(_header.AsMemory(0, 4), first: true, ct)) return null;
        var length = BinaryPrimitives.ReadInt32BigEndian(_header);
        if (length is < 8 or > 10_000) throw new PgProtocolException($"invalid length of startup packet ({length} bytes)");
        var body = new byte[length - 4];
        await FillAsync(body, first: false, ct);
        return new PgMessage('\0', body);
    }

    /// <summary>The next message; null when the client closed the connection between messages.</summary>
    public async Task<PgMessage?> ReadAsync(CancellationToken ct)
    {
        if (!await FillAsync(_header, first: true, ct)) return null;
        var length = BinaryPrimitives.ReadInt32BigEndian(_header.AsSpan(1));
        if (length < 4) throw new PgProtocolException($"invalid message length {length}");
        if (length - 4 > MaxMessage)
            throw new PgProtocolException($"a message of {length:N0} bytes is longer than the {MaxMessage >> 20} MB this server reads");
        var body = new byte[length - 4];
        await FillAsync(body, first: false, ct);
        return new PgMessage((char)_header[0], body);
    }

    private async Task<bool> FillAsync(Memory<byte> into, bool first, CancellationToken ct)
    {
        var read = 0;
        using var stall = CancellationTokenSource.CreateLinkedTokenSource(ct);
        while (read < into.Length)
        {
            if (read > 0 || !first) stall.CancelAfter(_midMessage);
            int n;
            try
            {
                n = await Stream.ReadAsync(into[read..], stall.Token);
            }
            catch (OperationCanceledException) when (!ct.IsCancellationRequested)
            {
                throw new PgProtocolException($"the client stopped sending half-way through a message for {_midMessage.TotalSeconds:0.#} s");
            }
            if (n == 0)
            {
                if (read == 0 && first) return false;
                throw new EndOfStreamException("the client closed the connection half-way through a message");
            }
            read += n;
        }
        return true;
    }
}

/// <summary>One frontend message: its type and body, read field by field.</summary>
internal sealed class PgMessage(char type, byte[] body)
{
    private int _at;

    public char Type => type;
    public byte[] Body => body;
    public bool AtEnd => _at >= body.Length;

    public byte Byte() => _at < body.Length ? body[_at++] : throw Truncated();

    public short Int16()
    {
        if (_at + 2 > body.Length) throw Truncated();
        var v = BinaryPrimitives.ReadInt16BigEndian(body.AsSpan(_at));
        _at += 2;
        return v;
    }

    public int Int32()
    {
        if (_at + 4 > body.Length) throw Truncated();
        var v = BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(_at));
        _at += 4;
        return v;
    }

    public string CString()
    {
        var end = Array.IndexOf(body, (byte)0, _at);
        if (end < 0) throw Truncated();
        var s = Encoding.UTF8.GetString(body, _at, end - _at);
        _at = end + 1;
        return s;
    }

    /// <summary>A length-prefixed value (-1: NULL).</summary>
    public byte[]? Value()
    {
        var n = Int32();
        if (n == -1) return null;
        if (n < 0 || _at + n > body.Length) throw Truncated();
        var v = body.AsSpan(_at, n).ToArray();
        _at += n;
        return v;
    }

    public byte[] Rest()
    {
        var v = body.AsSpan(_at).ToArray();
        _at = body.Length;
        return v;
    }

    private PgProtocolException Truncated() => new($"message '{type}' ends before its fields do");
}
