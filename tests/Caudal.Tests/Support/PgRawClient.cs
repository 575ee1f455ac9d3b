using System.Buffers.Binary;
using System.Net.Sockets;
using System.Text;

namespace Caudal.Tests.Support;

/// <summary>A PostgreSQL frontend written from the protocol's message formats, for what drivers never send: row-limited
/// Executes, a batch with an error before its Sync, a client that stops mid-message. Trust sign-in only.</summary>
public sealed class PgRawClient : IDisposable
{
    private readonly TcpClient _tcp;
    private readonly NetworkStream _stream;

    private PgRawClient(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public NetworkStream Stream => _stream;

    public static async Task<PgRawClient> ConnectAsync(int port, string user = "caudal")
    {
        var (client, messages) = await StartAsync(port, new Dictionary<string, string> { ["user"] = user, ["database"] = "lake" });
        if (messages.Count == 0 || messages[^1].Type != 'Z' || messages[0].Type != 'R')
            throw new InvalidOperationException($"start-up answered '{new string(messages.Select(m => m.Type).ToArray())}'");
        return client;
    }

    /// <summary>Sends a startup packet with these parameters; the answer, up to ReadyForQuery or the server closing
    /// the connection (a FATAL error).</summary>
    public static async Task<(PgRawClient Client, List<(char Type, byte[] Body)> Messages)> StartAsync(int port, IReadOnlyDictionary<string, string> parameters)
    {
        var client = new PgRawClient(new TcpClient("127.0.0.1", port));
        var body = new List<byte>();
        body.AddRange(Int32(196608));
        foreach (var (name, value) in parameters) body.AddRange(Encoding.UTF8.GetBytes($"{name}\0{value}\0"));
        body.Add(0);
        await client._stream.WriteAsync(Int32(body.Count + 4).Concat(body).ToArray());
        var messages = new List<(char, byte[])>();
        while (await client.ReadAsync() is { } message)
        {
            messages.Add(message);
            if (message.Type == 'Z') break;
        }
        return (client, messages);
    }

    public Task SendAsync(char type, params byte[][] fields)
    {
        var body = fields.SelectMany(f => f).ToArray();
        return _stream.WriteAsync(new[] { (byte)type }.Concat(Int32(body.Length + 4)).Concat(body).ToArray()).AsTask();
    }

    /// <summary>Messages up to and including ReadyForQuery.</summary>
    public async Task<List<(char Type, byte[] Body)>> ReadUntilReadyAsync()
    {
        var messages = new List<(char, byte[])>();
        while (true)
        {
            var message = await ReadAsync() ?? throw new EndOfStreamException("the server closed the connection");
            messages.Add(message);
            if (message.Type == 'Z') return messages;
        }
    }

    /// <summary>The next message, or null when the server closed the connection.</summary>
    public async Task<(char Type, byte[] Body)?> ReadAsync()
    {
        var header = new byte[5];
        if (!await FillAsync(header)) return null;
        var body = new byte[BinaryPrimitives.ReadInt32BigEndian(header.AsSpan(1)) - 4];
        if (!await FillAsync(body)) return null;
        return ((char)header[0], body);
    }

    private async Task<bool> FillAsync(byte[] buffer)
    {
        var read = 0;
        while (read < buffer.Length)
        {
            var n = await _stream.ReadAsync(buffer.AsMemory(read));
            if (n == 0) return false;
            read += n;
        }
        return true;
    }

    public static byte[] Int32(int v)
    {
        var b = new byte[4];
        BinaryPrimitives.WriteInt32BigEndian(b, v);
        return b;
    }

    public static byte[] Int16(short v)
    {
        var b = new byte[2];
        BinaryPrimitives.WriteInt16BigEndian(b, v);
        return b;
    }

    public static byte[] CString(string s) => Encoding.UTF8.GetBytes(s + "\0");

    /// <summary>An ErrorResponse's SQLSTATE.</summary>
    public static string Code(byte[] body) => Field(body, 'C');

    /// <summary>One field of an ErrorResponse or NoticeResponse ('C' SQLSTATE, 'M' message, 'S' severity…).</summary>
    public static string Field(byte[] body, char type)
    {
        for (var at = 0; at < body.Length && body[at] != 0;)
        {
            var end = Array.IndexOf(body, (byte)0, at + 1);
            if (body[at] == type) return Encoding.UTF8.GetString(body, at + 1, end - at - 1);
            at = end + 1;
        }
        return "";
    }

    /// <summary>The ParameterStatus messages among <paramref name="messages"/>, by name.</summary>
    public static Dictionary<string, string> Parameters(IEnumerable<(char Type, byte[] Body)> messages) =>
        messages.Where(m => m.Type == 'S').Select(m => Encoding.UTF8.GetString(m.Body).Split('\0'))
            .ToDictionary(parts => parts[0], parts => parts[1]);

    /// <summary>A DataRow's first field as text.</summary>
    public static string First(byte[] body) => Encoding.UTF8.GetString(body, 6, BinaryPrimitives.ReadInt32BigEndian(body.AsSpan(2)));

    public void Dispose() => _tcp.Dispose();
}
