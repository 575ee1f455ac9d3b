using System.Net;
using Microsoft.Extensions.Http.Resilience;
using Polly;
using Polly.Timeout;

namespace Caudal.Capture.Http;

/// <summary>Resilience settings of an HTTP source (spec keys timeout, retries, budget, concurrency).</summary>
public sealed record HttpSettings(TimeSpan AttemptTimeout, int Retries, TimeSpan Budget, int Concurrency)
{
    public static HttpSettings From(IReadOnlyDictionary<string, string> options) => new(
        Spec.SpecLoader.ParseDuration(options.GetValueOrDefault("timeout", "30s")) ?? TimeSpan.FromSeconds(30),
        int.TryParse(options.GetValueOrDefault("retries"), out var r) ? r : 6,
        Spec.SpecLoader.ParseDuration(options.GetValueOrDefault("budget", "30m")) ?? TimeSpan.FromMinutes(30),
        int.TryParse(options.GetValueOrDefault("concurrency"), out var c) ? Math.Max(1, c) : 4);
}

/// <summary>
/// The HttpClient every HTTP source uses: Microsoft.Extensions.Http.Resilience retries 408/429/5xx, timeouts and
/// connection failures with jittered exponential backoff, honouring Retry-After; each attempt has a timeout.
/// A base URL starting with <c>file:</c> replays recordings (<see cref="RecordedTransport"/>) through the same client.
/// </summary>
public static class HttpTransport
{
    public static HttpClient Create(string baseUrl, HttpSettings settings)
    {
        HttpMessageHandler inner = baseUrl.StartsWith("file:", StringComparison.Ordinal)
            ? new RecordedTransport(baseUrl["file:".Length..].Replace("//", ""))
            : new SocketsHttpHandler { AutomaticDecompression = DecompressionMethods.All, PooledConnectionLifetime = TimeSpan.FromMinutes(5) };
        var pipeline = new ResiliencePipelineBuilder<HttpResponseMessage>()
            .AddRetry(new HttpRetryStrategyOptions
            {
                MaxRetryAttempts = settings.Retries,
                BackoffType = DelayBackoffType.Exponential,
                UseJitter = true,
                Delay = TimeSpan.FromMilliseconds(200),
                MaxDelay = TimeSpan.FromSeconds(20),
                ShouldRetryAfterHeader = true,
            })
            .AddTimeout(new HttpTimeoutStrategyOptions { Timeout = settings.AttemptTimeout })
            .Build();
        return new HttpClient(new ResilienceHandler(pipeline) { InnerHandler = inner })
        {
            BaseAddress = baseUrl.StartsWith("file:", StringComparison.Ordinal) ? new Uri("http://recorded.invalid/") : new Uri(baseUrl.TrimEnd('/') + "/"),
            Timeout = Timeout.InfiniteTimeSpan, // the pipeline's timeouts and the run's budget govern
        };
    }

    public static bool IsTimeout(Exception e) => e is TimeoutRejectedException || e.InnerException is TimeoutRejectedException;
}
