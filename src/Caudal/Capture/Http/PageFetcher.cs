using System.IO.Compression;
using System.Net;
using System.Text.Json;

namespace Caudal.Capture.Http;

/// <summary>One fetched page: the parsed body, and where its original bytes are kept.</summary>
public sealed record FetchedPage(string Url, int Status, JsonDocument Body, string Payload, DateTimeOffset FetchedAt, string? NextLink);

/// <summary>
/// Fetches JSON pages. Transport failures are retried by the client's resilience pipeline; what it cannot see —
/// a 200 whose body is HTML or truncated JSON, a connection dropped while the body streams — is retried here with
/// jittered backoff. Every accepted body is gzipped into the sink as a payload with its URL, status and fetch time.
/// </summary>
public sealed class PageFetcher(HttpClient http, HttpSettings settings, string sourceName)
{
    public async Task<FetchedPage> FetchAsync(string relativeUrl, CaptureSink sink, string payloadName, CancellationToken ct, string? postJson = null)
    {
        relativeUrl = relativeUrl.TrimStart('/');
        var method = postJson == null ? "GET" : "POST";
        Exception? last = null;
        for (var attempt = 1; attempt <= settings.Retries + 1; attempt++)
        {
            try
            {
                using var request = new HttpRequestMessage(postJson == null ? HttpMethod.Get : HttpMethod.Post, relativeUrl);
                if (postJson != null) request.Content = new StringContent(postJson, System.Text.Encoding.UTF8, "application/json");
                request.Options.Set(HttpTransport.WholeResponse, true); // the attempt's timeout covers the body
                using var response = await http.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct);
                var body = await response.Content.ReadAsByteArrayAsync(ct);
                if (!response.IsSuccessStatusCode)
                {
                    var status = (int)response.StatusCode;
                    if (status is 408 or 429 or >= 500) throw new HttpRequestException($"HTTP {status}", null, response.StatusCode);
                    throw new CaptureException($"Source '{sourceName}': {request.Method} {relativeUrl} answered HTTP {status}: {Snippet(body)}");
                }
                JsonDocument doc;
                try
                {
                    doc = JsonDocument.Parse(body);
                }
                catch (JsonException e)
                {
                    throw new InvalidDataException($"{method} {relativeUrl} answered 200 but not JSON ({e.Message}): {Snippet(body)}");
                }
                var fetchedAt = DateTimeOffset.UtcNow;
                // The URL kept with the payload has its secrets masked (an api_key in the query string).
                var stored = sink.AddPayload(payloadName, Envelope(Spec.Secrets.Redact(relativeUrl), (int)response.StatusCode, fetchedAt, body));
                return new FetchedPage(relativeUrl, (int)response.StatusCode, doc, stored, fetchedAt, NextLink(response));
            }
            catch (HttpRequestException e) when (HttpTransport.IsUnresolvedName(e))
            {
                throw new CaptureException($"Source '{sourceName}': {method} {relativeUrl}: {e.Message} (the host name does not resolve: " +
                                           "check base_url and the network; not retried)", e);
            }
            catch (Exception e) when (e is InvalidDataException or HttpRequestException or IOException || HttpTransport.IsTimeout(e))
            {
                last = e;
                if (attempt > settings.Retries) break;
                var delay = TimeSpan.FromMilliseconds(Math.Min(20_000, 200 * Math.Pow(2, attempt - 1)) * (0.5 + Random.Shared.NextDouble()));
                settings.OnRetry?.Invoke(string.Create(System.Globalization.CultureInfo.InvariantCulture,
                    $"retrying {method} {relativeUrl} in {delay.TotalSeconds:0.#} s (attempt {attempt + 1} of {settings.Retries + 1}): {e.Message}"));
                await Task.Delay(delay, ct);
            }
        }
        throw new CaptureException($"Source '{sourceName}': {method} {relativeUrl} failed after {settings.Retries + 1} attempts: {last?.Message}", last);
    }

    /// <summary>The <c>rel="next"</c> target of an RFC 8288 <c>Link</c> header, if any.</summary>
    private static string? NextLink(HttpResponseMessage response)
    {
        if (!response.Headers.TryGetValues("Link", out var values)) return null;
        foreach (var link in values.SelectMany(v => v.Split(',')))
        {
            var parts = link.Split(';', StringSplitOptions.TrimEntries);
            if (parts.Length > 1 && parts.Skip(1).Any(p => p.Replace(" ", "") is "rel=\"next\"" or "rel=next"))
                return parts[0].Trim('<', '>', ' ');
        }
        return null;
    }

    /// <summary>The stored payload: a gzipped JSON envelope with the URL, status, fetch time and the body as received.</summary>
    private static byte[] Envelope(string url, int status, DateTimeOffset at, byte[] body)
    {
        using var buffer = new MemoryStream();
        using (var gzip = new GZipStream(buffer, CompressionLevel.Fastest))
        using (var w = new Utf8JsonWriter(gzip))
        {
            w.WriteStartObject();
            w.WriteString("url", url);
            w.WriteNumber("status", status);
            w.WriteString("fetched_at", at);
            w.WritePropertyName("body");
            w.WriteRawValue(body, skipInputValidation: true);
            w.WriteEndObject();
        }
        return buffer.ToArray();
    }

    private static string Snippet(byte[] body)
    {
        var text = System.Text.Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 200)).ReplaceLineEndings(" ");
        return body.Length > 200 ? text + "…" : text;
    }
}
