using System.Buffers.Binary;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Text;
using MySqlConnector;

namespace Caudal.Capture.Mysql.Binlog;

/// <summary>
/// A connection speaking the MySQL client/server protocol far enough to read a binlog as a replica does (MySqlConnector
/// has no replication API): the handshake (TLS as the connection string asks, <c>mysql_native_password</c> and
/// <c>caching_sha2_password</c>), statements that answer OK, and <c>COM_BINLOG_DUMP</c>, whose event packets
/// <see cref="ReadPacketAsync"/> returns one by one.
/// </summary>
internal sealed class ReplicaConnection : IAsyncDisposable
{
    private const uint LongPassword = 0x1, LongFlag = 0x4, ConnectWithDb = 0x8, Protocol41 = 0x200, Ssl = 0x800, Transactions = 0x2000,
        SecureConnection = 0x8000, MultiResults = 0x20000, PluginAuth = 0x80000, PluginAuthLenencData = 0x200000;
    private const byte ComQuery = 0x03, ComBinlogDump = 0x12;
    private const int MaxPayload = 0xFFFFFF;

    private readonly TcpClient _tcp;
    private Stream _stream;
    private byte _sequence;
    private readonly byte[] _header = new byte[4];

    private ReplicaConnection(TcpClient tcp)
    {
        _tcp = tcp;
        _stream = tcp.GetStream();
    }

    public string ServerVersion { get; private set; } = "";

    public bool IsMariaDb => ServerVersion.Contains("MariaDB", StringComparison.OrdinalIgnoreCase);

    public static async Task<ReplicaConnection> OpenAsync(MySqlConnectionStringBuilder settings, CancellationToken ct)
    {
        var tcp = new TcpClient { NoDelay = true };
        var host = settings.Server.Split(',')[0];
        await tcp.ConnectAsync(host, (int)settings.Port, ct);
        var connection = new ReplicaConnection(tcp);
        try
        {
            await connection.HandshakeAsync(settings, host, ct);
            return connection;
        }
        catch
        {
            await connection.DisposeAsync();
            throw;
        }
    }

    private async Task HandshakeAsync(MySqlConnectionStringBuilder settings, string host, CancellationToken ct)
    {
        var greeting = await ReadPacketAsync(ct);
        if (greeting.Span[0] == 0xFF) throw Error(greeting.Span);
        var reader = new PacketReader(greeting);
        if (reader.Byte() != 10) throw new IOException("the server does not speak protocol version 10.");
        ServerVersion = reader.NullTerminated();
        reader.Skip(4); // connection id
        var nonce = new List<byte>(reader.Bytes(8).ToArray());
        reader.Skip(1);
        uint capabilities = reader.UInt16();
        reader.Skip(1 + 2); // character set, status
        capabilities |= (uint)reader.UInt16() << 16;
        var nonceLength = reader.Byte();
        reader.Skip(10);
        if ((capabilities & SecureConnection) != 0)
        {
            nonce.AddRange(reader.Bytes(Math.Max(13, nonceLength - 8) - 1).ToArray());
            reader.Skip(1);
        }
        var plugin = (capabilities & PluginAuth) != 0 && reader.Remaining > 0 ? reader.NullTerminated() : "mysql_native_password";

        var client = LongPassword | LongFlag | Protocol41 | Transactions | SecureConnection | MultiResults | PluginAuth | PluginAuthLenencData;
        if (!string.IsNullOrEmpty(settings.Database)) client |= ConnectWithDb;
        var tls = settings.SslMode != MySqlSslMode.None && (capabilities & Ssl) != 0;
        if (settings.SslMode is MySqlSslMode.Required or MySqlSslMode.VerifyCA or MySqlSslMode.VerifyFull && !tls)
            throw new IOException("the connection string requires TLS and the server does not offer it.");
        var prefix = new byte[32];
        BinaryPrimitives.WriteUInt32LittleEndian(prefix, client | (tls ? Ssl : 0));
        BinaryPrimitives.WriteUInt32LittleEndian(prefix.AsSpan(4), MaxPayload);
        prefix[8] = 45; // utf8mb4_general_ci
        if (tls)
        {
            await WritePacketAsync(prefix, ct);
            var ssl = new SslStream(_stream, false, (_, _, _, errors) => errors == SslPolicyErrors.None ||
                settings.SslMode is MySqlSslMode.Preferred or MySqlSslMode.Required);
            await ssl.AuthenticateAsClientAsync(new SslClientAuthenticationOptions { TargetHost = host }, ct);
            _stream = ssl;
        }
        var response = new List<byte>(prefix);
        response.AddRange(Encoding.UTF8.GetBytes(settings.UserID));
        response.Add(0);
        var scramble = Scramble(plugin, settings.Password, nonce.ToArray());
        response.Add((byte)scramble.Length);
        response.AddRange(scramble);
        if (!string.IsNullOrEmpty(settings.Database))
        {
            response.AddRange(Encoding.UTF8.GetBytes(settings.Database));
            response.Add(0);
        }
        response.AddRange(Encoding.UTF8.GetBytes(plugin));
        response.Add(0);
        await WritePacketAsync(response.ToArray(), ct);
        await AuthenticateAsync(settings, plugin, nonce.ToArray(), tls, ct);
    }

    private async Task AuthenticateAsync(MySqlConnectionStringBuilder settings, string plugin, byte[] nonce, bool tls, CancellationToken ct)
    {
        var password = settings.Password;
        while (true)
        {
            var packet = await ReadPacketAsync(ct);
            switch (packet.Span[0])
            {
                case 0x00:
                    return;
                case 0xFF:
                    throw Error(packet.Span);
                case 0xFE: // switch to another method, with a new nonce
                    var reader = new PacketReader(packet[1..]);
                    plugin = reader.NullTerminated();
                    nonce = reader.Bytes(reader.Remaining).ToArray().TakeWhile((_, i) => i < 20).ToArray();
                    await WritePacketAsync(Scramble(plugin, password, nonce), ct);
                    break;
                case 0x01 when plugin == "caching_sha2_password" && packet.Length > 1 && packet.Span[1] == 0x03:
                    break; // fast authentication succeeded: an OK follows
                case 0x01 when plugin == "caching_sha2_password" && packet.Length > 1 && packet.Span[1] == 0x04:
                    if (tls) await WritePacketAsync([.. Encoding.UTF8.GetBytes(password), 0], ct);
                    else
                    {
                        // Without TLS the password goes RSA-encrypted: with the key file the connection string names, or
                        // the server's own key only when the connection string allows asking for it (a man in the
                        // middle could hand over its own).
                        string pem;
                        if (!string.IsNullOrEmpty(settings.ServerRsaPublicKeyFile)) pem = await File.ReadAllTextAsync(settings.ServerRsaPublicKeyFile, ct);
                        else if (settings.AllowPublicKeyRetrieval)
                        {
                            await WritePacketAsync([0x02], ct);
                            pem = Encoding.ASCII.GetString((await ReadPacketAsync(ct)).Span[1..]);
                        }
                        else
                            throw new IOException("caching_sha2_password needs the password sent over TLS or RSA-encrypted: use TLS (SslMode=Required), " +
                                "or name the server's key (ServerRSAPublicKeyFile=…), or allow asking for it (AllowPublicKeyRetrieval=true).");
                        using var rsa = RSA.Create();
                        rsa.ImportFromPem(pem);
                        var plain = Encoding.UTF8.GetBytes(password + "\0");
                        for (var i = 0; i < plain.Length; i++) plain[i] ^= nonce[i % nonce.Length];
                        await WritePacketAsync(rsa.Encrypt(plain, RSAEncryptionPadding.OaepSHA1), ct);
                    }
                    break;
                default:
                    throw new IOException($"authentication method '{plugin}' is not supported for reading the binlog: use mysql_native_password or caching_sha2_password.");
            }
        }
    }

    private static byte[] Scramble(string plugin, string password, byte[] nonce)
    {
        if (password.Length == 0) return [];
        var bytes = Encoding.UTF8.GetBytes(password);
        switch (plugin)
        {
            case "mysql_native_password":
                {
                    var once = SHA1.HashData(bytes);
                    var mix = SHA1.HashData([.. nonce[..20], .. SHA1.HashData(once)]);
                    for (var i = 0; i < once.Length; i++) once[i] ^= mix[i];
                    return once;
                }
            case "caching_sha2_password":
                {
                    var once = SHA256.HashData(bytes);
                    var mix = SHA256.HashData([.. SHA256.HashData(once), .. nonce[..20]]);
                    for (var i = 0; i < once.Length; i++) once[i] ^= mix[i];
                    return once;
                }
            default:
                throw new IOException($"authentication method '{plugin}' is not supported for reading the binlog: use mysql_native_password or caching_sha2_password.");
        }
    }

    /// <summary>Runs a statement that answers OK (a SET).</summary>
    public async Task ExecuteAsync(string sql, CancellationToken ct)
    {
        _sequence = 0;
        await WritePacketAsync([ComQuery, .. Encoding.UTF8.GetBytes(sql)], ct);
        var answer = await ReadPacketAsync(ct);
        if (answer.Span[0] == 0xFF) throw Error(answer.Span);
        if (answer.Span[0] != 0x00) throw new IOException($"'{sql}' answered rows, not OK.");
    }

    /// <summary>Asks for the binlog from <paramref name="file"/> at <paramref name="position"/>; with
    /// <paramref name="nonBlocking"/> the server ends the stream at the binlog's end instead of waiting for more.</summary>
    public Task DumpAsync(string file, uint position, uint serverId, bool nonBlocking, CancellationToken ct)
    {
        _sequence = 0;
        var packet = new byte[11 + Encoding.UTF8.GetByteCount(file)];
        packet[0] = ComBinlogDump;
        BinaryPrimitives.WriteUInt32LittleEndian(packet.AsSpan(1), position);
        BinaryPrimitives.WriteUInt16LittleEndian(packet.AsSpan(5), (ushort)(nonBlocking ? 1 : 0));
        BinaryPrimitives.WriteUInt32LittleEndian(packet.AsSpan(7), serverId);
        Encoding.UTF8.GetBytes(file, packet.AsSpan(11));
        return WritePacketAsync(packet, ct);
    }

    /// <summary>One whole packet's payload (a payload of 16 MiB or more arrives in several packets, joined here).</summary>
    public async Task<ReadOnlyMemory<byte>> ReadPacketAsync(CancellationToken ct)
    {
        byte[]? joined = null;
        var length = 0;
        while (true)
        {
            await _stream.ReadExactlyAsync(_header, ct);
            var size = _header[0] | _header[1] << 8 | _header[2] << 16;
            _sequence = (byte)(_header[3] + 1);
            if (joined == null)
            {
                joined = new byte[size];
                await _stream.ReadExactlyAsync(joined, ct);
                length = size;
            }
            else
            {
                Array.Resize(ref joined, length + size);
                await _stream.ReadExactlyAsync(joined.AsMemory(length, size), ct);
                length += size;
            }
            if (size < MaxPayload) return joined;
        }
    }

    private async Task WritePacketAsync(byte[] payload, CancellationToken ct)
    {
        var header = new byte[4];
        header[0] = (byte)payload.Length;
        header[1] = (byte)(payload.Length >> 8);
        header[2] = (byte)(payload.Length >> 16);
        header[3] = _sequence++;
        await _stream.WriteAsync(header, ct);
        await _stream.WriteAsync(payload, ct);
        await _stream.FlushAsync(ct);
    }

    /// <summary>An ERR packet as an exception with the server's error number and message.</summary>
    public static ReplicaException Error(ReadOnlySpan<byte> packet)
    {
        var code = BinaryPrimitives.ReadUInt16LittleEndian(packet[1..]);
        var message = packet.Length > 3 && packet[3] == (byte)'#' ? packet[9..] : packet[3..];
        return new ReplicaException(code, Encoding.UTF8.GetString(message));
    }

    public async ValueTask DisposeAsync()
    {
        await _stream.DisposeAsync();
        _tcp.Dispose();
    }
}

/// <summary>An error the server answered on the replication connection.</summary>
internal sealed class ReplicaException(int code, string message) : Exception($"error {code}: {message}")
{
    public int Code { get; } = code;

    /// <summary>ER_MASTER_FATAL_ERROR_READING_BINLOG: the requested binlog (or position in it) does not exist any more.</summary>
    public bool IsPurged => Code == 1236;
}
