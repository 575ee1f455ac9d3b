using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Timeout;

namespace Caudal.Capture.Http;

/// <summary>
/// The HttpClient every HTTP source uses: Microsoft.Extensions.Http.Resilience retries 408/429/5xx, timeouts and
/// connection failures with jittered exponential backoff, honouring Retry-After; each attempt has a timeout. A request
/// marked <see cref="WholeResponse"/> (an API page) is read to its last byte inside the attempt, so the attempt's
/// timeout covers the body too: a server that stalls mid-body, resets the connection or closes it early costs one
/// attempt, which is retried. A base URL starting with <c>file:</c> replays recordings (<see cref="RecordedTransport"/>)
/// through the same client.
/// </summary>
public static class HttpTransport
{
    public static HttpClient Create(string baseUrl, HttpSettings settings)
    {
        HttpMessageHandler inner = baseUrl.StartsWith("file:", StringComparison.Ordinal)
            ? new RecordedTransport(baseUrl["file:".Length..].Replace("//", ""))
            : new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.All, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        var builder = new ResiliencePipelineBuilder<HttpResponseMessage>();
        if (settings.Retries > 0) // retries: 0 is one attempt and no retry (Polly refuses zero retry attempts)
            builder.AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = settings.Retries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(20),
                ShouldRetryAfterHeader = true,
                // A host name that does not resolve is not transient: asking again only delays the error.
                ShouldHandle = args => ValueTask.FromResult(!IsUnresolvedName(args.Outcome.Exception) && HttpClientResiliencePredicates.IsTransient(args.Outcome)),
                OnRetry = args =>
                {
                    if (settings.OnRetry is { } report)
                    {
                        var request = args.Context.GetRequestMessage();
                        var why = args.Outcome.Result is { } response ? $"HTTP {(int)response.StatusCode}" : args.Outcome.Exception?.Message ?? "failed";
                        report($"retrying {request?.Method} {request?.RequestUri?.PathAndQuery} in {args.RetryDelay.TotalSeconds:0.#} s " +
                               $"(attempt {args.AttemptNumber + 2} of {settings.Retries + 1}): {why}");
                    }
                    return ValueTask.CompletedTask;
                },
            });
        var pipeline = builder.AddTimeout(new HttpTimeoutStrategyOptions { Timeout = settings.AttemptTimeout }).Build();
        return new HttpClient(new ResilienceHandler(pipeline) { InnerHandler = new WholeResponseHandler { InnerHandler = inner } })
        {
            BaseAddress = baseUrl.StartsWith("file:", StringComparison.Ordinal) ? new Uri("http://recorded.invalid/") : new Uri(baseUrl.TrimEnd('/') + "/"),
            Timeout = Timeout.InfiniteTimeSpan, // the pipeline's timeouts and the run's budget govern
        };
    }

    /// <summary>Set on a request whose body is read whole within each attempt (and its timeout).</summary>
    public static readonly HttpRequestOptionsKey<bool> WholeResponse = new("caudal.whole-response");

    /// <summary>Whether a request failed because its host name does not resolve.</summary>
    public static bool IsUnresolvedName(Exception? e)
    {
        for (; e != null; e = e.InnerException)
            // TryAgain is what a machine without a network answers (EAI_AGAIN): asking again does not help either.
            if (e is System.Net.Sockets.SocketException { SocketErrorCode: System.Net.Sockets.SocketError.HostNotFound or System.Net.Sockets.SocketError.NoData or System.Net.Sockets.SocketError.TryAgain }) return true;
        return false;
    }

    public static bool IsTimeout(Exception e) => e is TimeoutRejectedException || e.InnerException is TimeoutRejectedException;
}

/// <summary>Reads the body of a <see cref="HttpTransport.WholeResponse"/> request inside the resilience attempt (under
/// its timeout token); a body that fails to arrive whole fails the attempt instead of the caller's later read.</summary>
internal sealed class WholeResponseHandler : DelegatingHandler
{
    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var response = await base.SendAsync(request, cancellationToken);
        if (!request.Options.TryGetValue(HttpTransport.WholeResponse, out var whole) || !whole) return response;
        try
        {
            await response.Content.LoadIntoBufferAsync(cancellationToken);
            return response;
        }
        catch
        {
            response.Dispose();
            throw;
        }
    }
}
