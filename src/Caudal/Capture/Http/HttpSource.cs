using Caudal.Spec;

namespace Caudal.Capture.Http;

/// <summary>
/// Any JSON API: one request (a path and query under <c>base_url</c>) whose pages hold an array of records at
/// <c>records</c>, paged by offset (+ optional total, then fetched in parallel and verified), page number, a next URL in
/// the body, a cursor token in the body, or a Link header. Optional bearer token from an environment variable. Lands in <c>raw.{source}_{dataset}</c>
/// with the original payloads kept beside it, like Data360 (which is a preset of the same pieces).
/// </summary>
public sealed class HttpSource(SourceSpec spec) : ISource
{
    public static readonly SourceKind Kind = new("http", ["base_url", "url"],
        ["dataset", "records", "pagination", "offset_param", "limit_param", "page_size", "total", "page_param", "page_start", "next", "cursor_param",
         "auth_header", "auth_token", "timeout", "retries", "budget", "concurrency"],
        (spec, _) => new HttpSource(spec),
        Unbounded: spec => CaptureWindow.IsTemplate(spec.Options["url"]) ? null : "has no {from}/{to} in its url");

    public string Name => spec.Name;
    private readonly HttpOptions _options = HttpOptions.From(spec);

    /// <summary>The url (path and query) with the run's window filled in ({from}, {to}, {name}).</summary>
    private string Url(CaptureWindow? window)
    {
        var url = _options.Url;
        if (!CaptureWindow.IsTemplate(url)) return url;
        return window?.Fill(url) ?? throw new CaptureException($"Source '{Name}': url '{url}' uses the run's window, and this run has none. " +
            "Run it with 'caudal backfill --from ... --to ...', or on a schedule (each slot passes the span since the previous one).");
    }

    public Task<IReadOnlyList<DatasetSpec>> ResolveDatasetsAsync(CancellationToken ct = default) =>
        Task.FromResult<IReadOnlyList<DatasetSpec>>([new DatasetSpec(_options.Dataset, null, null, spec.Position)]);

    public Task<IReadOnlyList<CaptureColumn>> DescribeAsync(DatasetSpec dataset, CancellationToken ct = default) =>
        Task.FromResult<IReadOnlyList<CaptureColumn>>([]);

    public async Task CaptureAsync(DatasetSpec dataset, CaptureSink sink, CancellationToken ct = default)
    {
        var settings = HttpSettings.From(spec.Options, sink.Report);
        using var http = HttpTransport.Create(_options.BaseUrl, settings);
        if (_options.AuthValue is { } auth) http.DefaultRequestHeaders.TryAddWithoutValidation(_options.AuthHeader, auth);
        var pager = new HttpPager(new PageFetcher(http, settings, Name), sink, settings, Name);
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(ct);
        budget.CancelAfter(settings.Budget);
        try
        {
            for (var attempt = 1; ; attempt++)
            {
                var writer = sink.NewJsonWriter(new Dictionary<string, string>()); // every field detected, drift included
                var prefix = $"{DateTime.UtcNow:yyyyMMddTHHmmss}-{Guid.NewGuid().ToString("N")[..6]}/";
                try
                {
                    await pager.CaptureAsync(Url(sink.Window), _options.Paging, writer, prefix, budget.Token);
                    return;
                }
                catch (HttpPager.TotalChangedException e)
                {
                    sink.Discard(writer);
                    sink.DiscardPayloads(prefix);
                    if (attempt >= 3)
                        throw new CaptureException($"Source '{Name}': {e.Message} on 3 captures in a row; not committing a table that may be short.");
                }
            }
        }
        catch (OperationCanceledException) when (!ct.IsCancellationRequested)
        {
            throw new CaptureException($"Source '{Name}': the time budget of {settings.Budget} ran out before every page was fetched; nothing was committed.");
        }
    }

    public void Dispose()
    {
    }
}
