namespace Caudal.Capture.Http;

/// <summary>
/// One capture from an HTTP API, the loop every HTTP source (generic and Data360) shares: the resilient client, the
/// page fetcher and pager, the capture's time budget, and a request captured again from scratch (its files and payloads
/// discarded) when its total moves while it is paged — three times at most, never committed short.
/// </summary>
public sealed class HttpCapture : IDisposable
{
    private const int RequestAttempts = 3;

    private readonly HttpClient _http;
    private readonly CancellationTokenSource _budget;
    private readonly string _sourceName;
    private readonly CaptureSink _sink;
    private readonly HttpSettings _settings;

    private HttpCapture(string sourceName, string baseUrl, (string Header, string Value)? auth, OptionValues options, CaptureSink sink, CancellationToken ct)
    {
        _sourceName = sourceName;
        _sink = sink;
        _settings = HttpSettings.From(options, sink.Report);
        _http = HttpTransport.Create(baseUrl, _settings);
        if (auth is { } a) _http.DefaultRequestHeaders.TryAddWithoutValidation(a.Header, a.Value);
        Fetcher = new PageFetcher(_http, _settings, sourceName);
        Pager = new HttpPager(Fetcher, sink, _settings, sourceName);
        _budget = CancellationTokenSource.CreateLinkedTokenSource(ct);
        _budget.CancelAfter(_settings.Budget);
    }

    public PageFetcher Fetcher { get; }
    public HttpPager Pager { get; }

    /// <summary>Runs <paramref name="capture"/> within the source's time budget; a budget that runs out fails the
    /// dataset by name (nothing is committed).</summary>
    public static async Task RunAsync(string sourceName, string baseUrl, (string Header, string Value)? auth, OptionValues options, CaptureSink sink,
        Func<HttpCapture, CancellationToken, Task> capture, CancellationToken ct)
    {
        using var session = new HttpCapture(sourceName, baseUrl, auth, options, sink, ct);
        try
        {
            await capture(session, session._budget.Token);
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new CaptureException($"Source '{sourceName}': the time budget of {session._settings.Budget} ran out before every page was fetched; nothing was committed.");
        }
    }

    /// <summary>Every page of one request into a new writer (<paramref name="fields"/> typed as declared, the rest
    /// detected); payloads are kept under a fresh folder ending in <paramref name="payloadTail"/>.</summary>
    public async Task RequestAsync(string url, Paging paging, IReadOnlyDictionary<string, string> fields, string payloadTail, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            var writer = _sink.NewJsonWriter(fields);
            var prefix = $"{DateTime.UtcNow:yyyyMMddTHHmmss}-{Guid.NewGuid().ToString("N")[..6]}/{payloadTail}";
            try
            {
                await Pager.CaptureAsync(url, paging, writer, prefix, ct);
                return;
            }
            catch (HttpPager.TotalChangedException e)
            {
                // The data changed upstream while we paged through it: capture the whole request again.
                _sink.Discard(writer);
                _sink.DiscardPayloads(prefix);
                if (attempt >= RequestAttempts)
                    throw new CaptureException($"Source '{_sourceName}': {e.Message} on {RequestAttempts} captures in a row; not committing a table that may be short.");
            }
        }
    }

    public void Dispose()
    {
        _budget.Dispose();
        _http.Dispose();
    }
}
