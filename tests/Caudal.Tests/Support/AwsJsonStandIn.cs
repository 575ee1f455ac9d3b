using System.Collections.Concurrent;
using System.Globalization;
using System.Text.Json.Nodes;
using Caudal.Aws;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Caudal.Tests.Support;

/// <summary>
/// A stand-in for an AWS JSON 1.1 service (Glue, EMR) on 127.0.0.1: it recomputes each request's SigV4 signature from
/// what arrived on the wire (headers the client says it signed, the body as received) with the secret the test gave
/// it, refuses a mismatch as AWS does (403 InvalidSignatureException), checks the target prefix and content type, and
/// answers through <see cref="Handle"/>. No AWS here: this checks what Caudal sends.
/// </summary>
public sealed class AwsJsonStandIn(string secret, string signingName, string targetPrefix) : IAsyncDisposable
{
    private WebApplication? _app;

    public string Url => _app!.Urls.First() + "/";

    /// <summary>Every accepted call: the operation (target without its prefix) and its body.</summary>
    public ConcurrentQueue<(string Operation, JsonObject Body)> Calls { get; } = new();

    /// <summary>The answer to an operation: HTTP status and body (an error is {"__type": …, "message": …}).</summary>
    public Func<string, JsonObject, (int Status, JsonNode Body)> Handle { get; set; } = (op, _) => (400, Error("UnknownOperationException", op));

    public static JsonNode Error(string type, string message) => new JsonObject { ["__type"] = type, ["message"] = message };

    public static Dictionary<string, string> Credentials(string secret) => new()
    {
        ["AWS_ACCESS_KEY_ID"] = "AKIDCAUDALTEST",
        ["AWS_SECRET_ACCESS_KEY"] = secret,
        ["AWS_EC2_METADATA_DISABLED"] = "true",
        ["AWS_CONFIG_FILE"] = "/nonexistent",
        ["AWS_SHARED_CREDENTIALS_FILE"] = "/nonexistent",
    };

    public async Task StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _app = builder.Build();
        _app.MapPost("/", (Delegate)HandleAsync);
        await _app.StartAsync();
    }

    private async Task<IResult> HandleAsync(HttpContext http)
    {
        using var buffer = new MemoryStream();
        await http.Request.Body.CopyToAsync(buffer);
        var body = buffer.ToArray();
        var target = http.Request.Headers["X-Amz-Target"].ToString();
        if (http.Request.ContentType != "application/x-amz-json-1.1") return Json(400, Error("SerializationException", $"content type {http.Request.ContentType}"));
        if (!target.StartsWith(targetPrefix + ".", StringComparison.Ordinal)) return Json(400, Error("UnknownOperationException", target));
        var authorization = http.Request.Headers.Authorization.ToString();
        if (!authorization.StartsWith("AWS4-HMAC-SHA256 ", StringComparison.Ordinal)) return Json(403, Error("MissingAuthenticationTokenException", "no SigV4 signature"));
        var parts = authorization["AWS4-HMAC-SHA256 ".Length..].Split(", ").Select(p => p.Split('=', 2)).ToDictionary(p => p[0], p => p[1]);
        var scope = parts["Credential"].Split('/');
        var signed = parts["SignedHeaders"].Split(';');
        if (!signed.Contains("host") || !signed.Contains("x-amz-date") || !signed.Contains("x-amz-target"))
            return Json(403, Error("InvalidSignatureException", $"signed headers {parts["SignedHeaders"]} miss host, x-amz-date or x-amz-target"));
        var headers = signed.Select(n => new KeyValuePair<string, string>(n, http.Request.Headers[n].ToString())).ToList();
        var at = DateTime.ParseExact(http.Request.Headers["X-Amz-Date"].ToString(), "yyyyMMdd'T'HHmmss'Z'", CultureInfo.InvariantCulture,
            DateTimeStyles.AdjustToUniversal | DateTimeStyles.AssumeUniversal);
        var expected = SigV4.Authorization(scope[0], secret, scope[2], scope[3], at, "POST", new Uri($"http://{http.Request.Host}{http.Request.Path}"), headers, body);
        if (expected != authorization || scope[3] != signingName)
            return Json(403, Error("InvalidSignatureException", "The request signature we calculated does not match the signature you provided."));
        var operation = target[(targetPrefix.Length + 1)..];
        var request = JsonNode.Parse(body)!.AsObject();
        Calls.Enqueue((operation, request));
        var (status, answer) = Handle(operation, request);
        return Json(status, answer);
    }

    private static IResult Json(int status, JsonNode body) => Results.Text(body.ToJsonString(), "application/x-amz-json-1.1", statusCode: status);

    public async ValueTask DisposeAsync()
    {
        if (_app != null) await _app.DisposeAsync();
    }
}
