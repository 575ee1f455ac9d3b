using System.Globalization;

namespace Caudal.Processing.Spark.Connect;

/// <summary>
/// A Spark Connect connection string, as Spark's own clients read it: <c>sc://host[:port]/;param=value;…</c> (port
/// 15002 by default). <c>token</c> turns TLS on (unless <c>use_ssl=false</c> is explicit) and is sent as
/// <c>authorization: Bearer …</c>; <c>use_ssl=true</c> turns TLS on; <c>user_id</c>, <c>user_agent</c>, <c>session_id</c> (a UUID) and <c>grpc_max_message_size</c> are
/// the client's own; every other parameter is sent as a gRPC header as it is (e.g. Databricks'
/// <c>x-databricks-cluster-id</c>).
/// </summary>
public sealed record SparkConnection(string Host, int Port, bool Tls, string? Token, string UserId, string UserAgent, string? SessionId,
    IReadOnlyDictionary<string, string> Headers, int MaxMessageSize)
{
    public const int DefaultPort = 15002;
    public const int DefaultMaxMessageSize = 128 << 20;

    public Uri Endpoint => new($"{(Tls ? "https" : "http")}://{Host}:{Port.ToString(CultureInfo.InvariantCulture)}");

    /// <summary>The connection string without its secret, for messages and logs.</summary>
    public override string ToString() => $"sc://{Host}:{Port}/{(Token != null ? ";token=***" : "")}{(Tls && Token == null ? ";use_ssl=true" : "")}";

    public static SparkConnection Parse(string text)
    {
        if (!text.StartsWith("sc://", StringComparison.Ordinal))
            throw new FormatException($"'{Redact(text)}' is not a Spark Connect address: write sc://host:15002 (or sc://host:443/;token=…).");
        var rest = text["sc://".Length..];
        var slash = rest.IndexOf('/');
        var authority = slash < 0 ? rest : rest[..slash];
        var path = slash < 0 ? "" : rest[(slash + 1)..];
        if (path.Length > 0 && !path.StartsWith(';'))
            throw new FormatException($"'{Redact(text)}': parameters follow '/;' (sc://host:port/;token=…), and there is no path.");
        var colon = authority.LastIndexOf(':');
        var host = colon < 0 ? authority : authority[..colon];
        var port = DefaultPort;
        if (colon >= 0 && (!int.TryParse(authority[(colon + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out port) || port is < 1 or > 65535))
            throw new FormatException($"'{Redact(text)}': the port must be a number from 1 to 65535.");
        if (host.Length == 0) throw new FormatException($"'{Redact(text)}' names no host: write sc://host:15002.");

        var parameters = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var pair in path.Split(';', StringSplitOptions.RemoveEmptyEntries))
        {
            var eq = pair.IndexOf('=');
            if (eq <= 0) throw new FormatException($"'{Redact(text)}': parameter '{pair.Split('=')[0]}' has no value (write name=value).");
            parameters[pair[..eq]] = Uri.UnescapeDataString(pair[(eq + 1)..]);
        }
        var token = parameters.GetValueOrDefault("token");
        // A token means TLS, unless use_ssl=false says otherwise (a proxy on loopback that terminates TLS, a test).
        var tls = parameters.GetValueOrDefault("use_ssl")?.ToLowerInvariant() is { } ssl ? ssl == "true" : token != null;
        var sessionId = parameters.GetValueOrDefault("session_id");
        if (sessionId != null && !Guid.TryParse(sessionId, out _))
            throw new FormatException($"'{Redact(text)}': session_id must be a UUID (00112233-4455-6677-8899-aabbccddeeff).");
        var max = DefaultMaxMessageSize;
        if (parameters.GetValueOrDefault("grpc_max_message_size") is { } m && (!int.TryParse(m, NumberStyles.None, CultureInfo.InvariantCulture, out max) || max < 1))
            throw new FormatException($"'{Redact(text)}': grpc_max_message_size must be a number of bytes.");
        string[] own = ["token", "use_ssl", "user_id", "user_agent", "session_id", "grpc_max_message_size"];
        var headers = parameters.Where(p => !own.Contains(p.Key)).ToDictionary(p => p.Key.ToLowerInvariant(), p => p.Value);
        return new SparkConnection(host, port, tls, token, parameters.GetValueOrDefault("user_id") ?? Environment.UserName,
            parameters.GetValueOrDefault("user_agent") ?? "caudal", sessionId, headers, max);
    }

    private static string Redact(string text)
    {
        var i = text.IndexOf("token=", StringComparison.Ordinal);
        if (i < 0) return text;
        var end = text.IndexOf(';', i);
        return text[..(i + 6)] + "***" + (end < 0 ? "" : text[end..]);
    }
}
