using System.Security.Cryptography;
using System.Text;

namespace Caudal.Serve.Pg;

/// <summary>SCRAM-SHA-256 (RFC 5802/7677) as PostgreSQL speaks it: the verifier stored with an API key when it is
/// made, and the server's side of the exchange, so the key itself never crosses the wire.</summary>
public static class PgScram
{
    public const int Iterations = 4096;

    /// <summary>What the server keeps of a key: salt, StoredKey and ServerKey (base64), as PostgreSQL keeps a password.</summary>
    public sealed record Verifier(string Salt, string StoredKey, string ServerKey);

    public static Verifier Derive(string password, byte[]? salt = null)
    {
        salt ??= RandomNumberGenerator.GetBytes(16);
        var salted = Rfc2898DeriveBytes.Pbkdf2(Encoding.UTF8.GetBytes(password), salt, Iterations, HashAlgorithmName.SHA256, 32);
        var clientKey = HMACSHA256.HashData(salted, "Client Key"u8);
        return new Verifier(Convert.ToBase64String(salt), Convert.ToBase64String(SHA256.HashData(clientKey)),
            Convert.ToBase64String(HMACSHA256.HashData(salted, "Server Key"u8)));
    }

    /// <summary>The server's first message for a client-first message; null when the client's is malformed or asks for
    /// channel binding.</summary>
    internal static (string ServerFirst, string ClientFirstBare, string Nonce)? Begin(string clientFirst, Verifier verifier)
    {
        // gs2 header: "n,," (no channel binding) or "y,," (client could, server did not offer).
        if (!(clientFirst.StartsWith("n,", StringComparison.Ordinal) || clientFirst.StartsWith("y,", StringComparison.Ordinal))) return null;
        var second = clientFirst.IndexOf(',', 2);
        if (second < 0) return null;
        var bare = clientFirst[(second + 1)..];
        var clientNonce = Attribute(bare, 'r');
        if (string.IsNullOrEmpty(clientNonce)) return null;
        var nonce = clientNonce + Convert.ToBase64String(RandomNumberGenerator.GetBytes(18));
        return ($"r={nonce},s={verifier.Salt},i={Iterations}", bare, nonce);
    }

    /// <summary>The server's final message (<c>v=…</c>) when the client's proof is right; null when it is not.</summary>
    internal static string? Finish(string clientFinal, string clientFirstBare, string serverFirst, string nonce, Verifier verifier)
    {
        var proofAt = clientFinal.LastIndexOf(",p=", StringComparison.Ordinal);
        if (proofAt < 0 || Attribute(clientFinal, 'r') != nonce) return null;
        byte[] proof;
        try
        {
            proof = Convert.FromBase64String(clientFinal[(proofAt + 3)..]);
        }
        catch (FormatException)
        {
            return null;
        }
        var authMessage = Encoding.UTF8.GetBytes($"{clientFirstBare},{serverFirst},{clientFinal[..proofAt]}");
        var storedKey = Convert.FromBase64String(verifier.StoredKey);
        var signature = HMACSHA256.HashData(storedKey, authMessage);
        if (proof.Length != signature.Length) return null;
        var clientKey = new byte[proof.Length];
        for (var k = 0; k < proof.Length; k++) clientKey[k] = (byte)(proof[k] ^ signature[k]);
        if (!CryptographicOperations.FixedTimeEquals(SHA256.HashData(clientKey), storedKey)) return null;
        return "v=" + Convert.ToBase64String(HMACSHA256.HashData(Convert.FromBase64String(verifier.ServerKey), authMessage));
    }

    private static string? Attribute(string message, char name)
    {
        foreach (var part in message.Split(','))
            if (part.Length >= 2 && part[0] == name && part[1] == '=') return part[2..];
        return null;
    }
}
