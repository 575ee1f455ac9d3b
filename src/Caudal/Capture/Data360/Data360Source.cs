using System.Globalization;
using Caudal.Capture.Http;
using Caudal.Spec;

namespace Caudal.Capture.Data360;

/// <summary>
/// The World Bank Data360 API (<c>GET /data360/data</c>), a preset over the generic HTTP pieces (<see cref="HttpPager"/>,
/// <see cref="PageFetcher"/>, <see cref="HttpTransport"/>): every page of every requested database/indicator until
/// <c>skip &gt;= count</c>, fetched with bounded concurrency through the resilient client. The number of records must
/// equal <c>count</c>, and <c>count</c> must not change during the capture (the API's data was updated): such a request
/// set is captured again from scratch, and fails loudly after 3 tries — a short table is never committed.
/// All rows land in <c>raw.{source}_observations</c> with the API's 24 fields (OBS_VALUE kept as the API's string) and
/// <c>_payload</c>, the stored response it came from.
/// </summary>
public sealed class Data360Source(SourceSpec spec, Data360Options options) : ISource
{
    public static readonly SourceKind Kind = new("data360", Data360Options.Declared.All,
        (spec, baseDir) => new Data360Source(spec, Data360Options.From(spec, baseDir)));

    /// <summary>The 24 fields of an observation, in the API's order, with the types Caudal keeps them as.</summary>
    public static readonly IReadOnlyDictionary<string, string> Fields = new Dictionary<string, string>
    {
        ["OBS_VALUE"] = "VARCHAR",
        ["TIME_FORMAT"] = "VARCHAR",
        ["UNIT_MULT"] = "BIGINT",
        ["COMMENT_OBS"] = "VARCHAR",
        ["OBS_STATUS"] = "VARCHAR",
        ["OBS_CONF"] = "VARCHAR",
        ["AGG_METHOD"] = "VARCHAR",
        ["DECIMALS"] = "VARCHAR",
        ["COMMENT_TS"] = "VARCHAR",
        ["DATA_SOURCE"] = "VARCHAR",
        ["LATEST_DATA"] = "BOOLEAN",
        ["DATABASE_ID"] = "VARCHAR",
        ["INDICATOR"] = "VARCHAR",
        ["REF_AREA"] = "VARCHAR",
        ["SEX"] = "VARCHAR",
        ["AGE"] = "VARCHAR",
        ["URBANISATION"] = "VARCHAR",
        ["COMP_BREAKDOWN_1"] = "VARCHAR",
        ["COMP_BREAKDOWN_2"] = "VARCHAR",
        ["COMP_BREAKDOWN_3"] = "VARCHAR",
        ["TIME_PERIOD"] = "VARCHAR",
        ["FREQ"] = "VARCHAR",
        ["UNIT_MEASURE"] = "VARCHAR",
        ["UNIT_TYPE"] = "VARCHAR",
        ["_payload"] = "VARCHAR",
    };

    public string Name => spec.Name;

    /// <summary>observations, and (unless <c>metadata: false</c>) metadata: each indicator's descriptions and licence
    /// from <c>POST /data360/metadata</c>, in <c>raw.{source}_metadata</c>.</summary>
    public Task<IReadOnlyList<DatasetSpec>> ResolveDatasetsAsync(CancellationToken ct = default) =>
        Task.FromResult<IReadOnlyList<DatasetSpec>>(!options.Metadata
            ? [new DatasetSpec("observations", null, null, spec.Position)]
            : [new DatasetSpec("observations", null, null, spec.Position), new DatasetSpec("metadata", null, null, spec.Position)]);

    public Task<IReadOnlyList<CaptureColumn>> DescribeAsync(DatasetSpec dataset, CancellationToken ct = default) =>
        Task.FromResult<IReadOnlyList<CaptureColumn>>([]);

    /// <summary>One query string per request set: a database, with one of its indicators when indicators are listed;
    /// <c>indicators: ["*"]</c> lists every indicator of each database with <c>GET /data360/indicators</c>.</summary>
    private async Task<IReadOnlyList<string>> RequestSetsAsync(PageFetcher fetcher, CaptureSink sink, CancellationToken ct)
    {
        var databases = options.Databases;
        var indicators = options.Indicators.ToList();
        if (indicators.Remove("*"))
            foreach (var db in databases)
            {
                var page = await fetcher.FetchAsync($"data360/indicators?datasetId={Uri.EscapeDataString(db)}", sink, $"indicators/{db}.json.gz", ct);
                using (page.Body)
                {
                    if (page.Body.RootElement.ValueKind != System.Text.Json.JsonValueKind.Array)
                        throw new CaptureException($"Source '{Name}': {page.Url} is not a list of indicator ids.");
                    indicators.AddRange(page.Body.RootElement.EnumerateArray().Select(e => e.GetString()!).Where(i => i.StartsWith(db + "_", StringComparison.Ordinal)));
                }
            }
        var window = "";
        // A run's window (backfill, schedule) bounds the years asked for; otherwise the spec's time_from / time_to.
        var from = sink.Window is { Backfill: true } w ? w.From.Year.ToString(System.Globalization.CultureInfo.InvariantCulture) : options.TimeFrom;
        var to = sink.Window is { Backfill: true } v ? v.To.AddTicks(-1).Year.ToString(System.Globalization.CultureInfo.InvariantCulture) : options.TimeTo;
        if (from != null) window += "&timePeriodFrom=" + Uri.EscapeDataString(from);
        if (to != null) window += "&timePeriodTo=" + Uri.EscapeDataString(to);
        var sets = new List<string>();
        foreach (var db in databases)
        {
            var mine = indicators.Where(i => i.StartsWith(db + "_", StringComparison.Ordinal)).ToList();
            if (mine.Count == 0) sets.Add($"DATABASE_ID={Uri.EscapeDataString(db)}{window}");
            else sets.AddRange(mine.Select(i => $"DATABASE_ID={Uri.EscapeDataString(db)}&INDICATOR={Uri.EscapeDataString(i)}{window}"));
        }
        return sets;
    }

    public Task CaptureAsync(DatasetSpec dataset, CaptureSink sink, CancellationToken ct = default) =>
        HttpCapture.RunAsync(Name, options.BaseUrl, null, spec.Options, sink, async (http, budget) =>
        {
            if (dataset.Name == "metadata")
            {
                await CaptureMetadataAsync(http.Fetcher, sink, budget);
                return;
            }
            var setNumber = 0;
            foreach (var set in await RequestSetsAsync(http.Fetcher, sink, budget))
                await http.RequestAsync($"data360/data?{set}", Paging, Fields, $"set{++setNumber:D3}-", budget);
        }, ct);

    /// <summary>The metadata of every requested database (OData <c>$filter</c> on database_id), one row per indicator.</summary>
    private async Task CaptureMetadataAsync(PageFetcher fetcher, CaptureSink sink, CancellationToken ct)
    {
        var writer = sink.NewJsonWriter(new Dictionary<string, string>());
        foreach (var db in options.Databases)
        {
            var query = System.Text.Json.JsonSerializer.Serialize(new { query = $"&$filter=series_description/database_id eq '{db.Replace("'", "''")}'" });
            var page = await fetcher.FetchAsync("data360/metadata", sink, $"metadata/{db}.json.gz", ct, query);
            using (page.Body)
            {
                if (HttpPager.Path(page.Body.RootElement, "value") is not { ValueKind: System.Text.Json.JsonValueKind.Array } values)
                    throw new CaptureException($"Source '{Name}': POST data360/metadata for {db} has no 'value' array.");
                foreach (var v in values.EnumerateArray()) writer.Write(v, [("_payload", page.Payload)]);
            }
        }
    }

    /// <summary>Data360's paging: <c>skip</c> offsets, <c>count</c> total, records in <c>value</c>.</summary>
    public static readonly Paging Paging = new(PagingKind.Offset, "value", OffsetParam: "skip", TotalPath: "count");

    public void Dispose()
    {
    }

}
