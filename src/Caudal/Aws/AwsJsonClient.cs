using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Amazon.Runtime;
using Amazon.Runtime.Credentials;

namespace Caudal.Aws;

/// <summary>An AWS service answered with an error: its type (e.g. <c>AlreadyExistsException</c>) and message.</summary>
public sealed class AwsServiceException(string service, string type, string message, int status)
    : Exception($"{service}: {type}: {message}")
{
    public string Type => type;
    public int Status => status;
}

/// <summary>
/// A client for AWS's JSON 1.1 protocol (Glue, EMR): a POST of a JSON body to <c>/</c> with <c>X-Amz-Target</c> naming
/// the operation, signed with SigV4. Credentials come from the standard AWS chain (environment, profile, instance
/// role …); the endpoint may be overridden (a VPC endpoint, or a stand-in in tests).
/// </summary>
public sealed class AwsJsonClient(HttpClient http, string service, string signingName, string targetPrefix, string region, Uri endpoint, AWSCredentials? credentials = null)
{
    private AWSCredentials? _credentials;

    public Uri Endpoint => endpoint;

    public static Uri DefaultEndpoint(string endpointPrefix, string region) => new($"https://{endpointPrefix}.{region}.amazonaws.com/");

    public async Task<JsonNode?> CallAsync(string operation, JsonNode body, CancellationToken ct)
    {
        var bytes = JsonSerializer.SerializeToUtf8Bytes(body);
        // The credential chain is walked once per client; the credentials object refreshes itself when it must.
        _credentials ??= credentials ?? DefaultAWSCredentialsIdentityResolver.GetCredentials();
        var identity = await _credentials.GetCredentialsAsync();
        var now = DateTime.UtcNow;
        var headers = new List<KeyValuePair<string, string>>
        {
            new("host", endpoint.IsDefaultPort ? endpoint.Host : $"{endpoint.Host}:{endpoint.Port}"),
            new(SigV4.DateHeader, SigV4.FormatDate(now)),
            new("x-amz-target", $"{targetPrefix}.{operation}"),
            new("content-type", "application/x-amz-json-1.1"),
        };
        if (!string.IsNullOrEmpty(identity.Token)) headers.Add(new("x-amz-security-token", identity.Token));
        var authorization = SigV4.Authorization(identity.AccessKey, identity.SecretKey, region, signingName, now, "POST", endpoint, headers, bytes);

        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint) { Content = new ByteArrayContent(bytes) };
        request.Content.Headers.ContentType = MediaTypeHeaderValue.Parse("application/x-amz-json-1.1");
        foreach (var (name, value) in headers.Where(h => h.Key is not ("host" or "content-type")))
            request.Headers.TryAddWithoutValidation(name, value);
        request.Headers.TryAddWithoutValidation("Authorization", authorization);
        using var response = await http.SendAsync(request, ct);
        var text = await response.Content.ReadAsStringAsync(ct);
        if (response.IsSuccessStatusCode) return text.Length == 0 ? null : JsonNode.Parse(text);
        JsonNode? error = null;
        try
        {
            error = JsonNode.Parse(text);
        }
        catch (JsonException)
        {
        }
        // "__type" may carry a namespace: "com.amazonaws.glue#AlreadyExistsException".
        var type = ((string?)error?["__type"] ?? $"HTTP {(int)response.StatusCode}").Split('#')[^1];
        var message = (string?)error?["message"] ?? (string?)error?["Message"] ?? text;
        throw new AwsServiceException(service, type, message, (int)response.StatusCode);
    }
}
