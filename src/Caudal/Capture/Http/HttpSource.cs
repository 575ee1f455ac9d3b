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
    public static readonly SourceKind Kind = new("http", HttpOptions.Declared.All,
        (spec, _) => new HttpSource(spec),
        Unbounded: spec => CaptureWindow.IsTemplate(HttpOptions.From(spec).Url) ? null : "has no {from}/{to} in its url");

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

    public Task CaptureAsync(DatasetSpec dataset, CaptureSink sink, CancellationToken ct = default) =>
        HttpCapture.RunAsync(Name, _options.BaseUrl, _options.AuthValue is { } auth ? (_options.AuthHeader, auth) : null, spec.Options, sink,
            // every field detected, drift included
            (http, budget) => http.RequestAsync(Url(sink.Window), _options.Paging, new Dictionary<string, string>(), "", budget), ct);

    public void Dispose()
    {
    }
}
