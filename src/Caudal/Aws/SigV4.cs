using System.Globalization;
using System.Text;
using Amazon.Runtime.Internal.Auth;

namespace Caudal.Aws;

/// <summary>
/// AWS Signature Version 4 for requests Caudal sends itself (the Glue and EMR JSON APIs, whose SDK packages are not
/// used). The canonical request is built here, from exactly the bytes and headers that go on the wire; the string to
/// sign, the key derivation and the HMAC are AWSSDK.Core's (<see cref="AWS4Signer.ComputeSignature(string, string, string, DateTime, string, string, string)"/>).
/// </summary>
public static class SigV4
{
    public const string DateHeader = "x-amz-date";

    /// <summary>The canonical request: method, URI path, sorted query, sorted lowercase headers, signed header names
    /// and the payload's SHA-256.</summary>
    public static string CanonicalRequest(string method, Uri uri, IEnumerable<KeyValuePair<string, string>> headers, byte[] body, out string signedHeaders)
    {
        var canonicalHeaders = headers
            .GroupBy(h => h.Key.ToLowerInvariant())
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => (Name: g.Key, Value: string.Join(",", g.Select(h => Collapse(h.Value)))))
            .ToList();
        signedHeaders = string.Join(";", canonicalHeaders.Select(h => h.Name));
        var query = string.Join("&", (uri.Query.Length > 1 ? uri.Query[1..].Split('&') : [])
            .Select(p => p.Split('=', 2))
            .Select(p => (Key: Encode(Uri.UnescapeDataString(p[0])), Value: Encode(Uri.UnescapeDataString(p.Length > 1 ? p[1] : ""))))
            .OrderBy(p => p.Key, StringComparer.Ordinal).ThenBy(p => p.Value, StringComparer.Ordinal)
            .Select(p => $"{p.Key}={p.Value}"));
        var path = string.Join("/", uri.AbsolutePath.Split('/').Select(s => Encode(Uri.UnescapeDataString(s))));
        return new StringBuilder()
            .Append(method).Append('\n')
            .Append(path.Length == 0 ? "/" : path).Append('\n')
            .Append(query).Append('\n')
            .Append(string.Concat(canonicalHeaders.Select(h => $"{h.Name}:{h.Value}\n"))).Append('\n')
            .Append(signedHeaders).Append('\n')
            .Append(Convert.ToHexStringLower(AWS4Signer.ComputeHash(body)))
            .ToString();
    }

    /// <summary>The <c>Authorization</c> header value for a request whose headers (including <c>host</c> and
    /// <c>x-amz-date</c>) are <paramref name="headers"/>.</summary>
    public static string Authorization(string accessKey, string secretKey, string region, string service, DateTime signedAt,
        string method, Uri uri, IEnumerable<KeyValuePair<string, string>> headers, byte[] body)
    {
        var canonical = CanonicalRequest(method, uri, headers, body, out var signed);
        return AWS4Signer.ComputeSignature(accessKey, secretKey, region, signedAt, service, signed, canonical).ForAuthorizationHeader;
    }

    public static string FormatDate(DateTime utc) => utc.ToString("yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture);

    private static string Collapse(string value) => string.Join(" ", value.Trim().Split(' ', StringSplitOptions.RemoveEmptyEntries));

    /// <summary>RFC 3986 encoding: everything but unreserved characters, as AWS canonical form wants.</summary>
    private static string Encode(string s) => Uri.EscapeDataString(s);
}
