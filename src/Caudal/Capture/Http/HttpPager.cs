using System.Text.Json;

namespace Caudal.Capture.Http;

/// <summary>
/// Walks every page of one request and writes the records. Offset paging with a total fetches the remaining pages with
/// bounded concurrency and then checks that the records add up to the total and that the total did not move while
/// paging (<see cref="TotalChangedException"/>: the caller captures the request again, never commits it short).
/// </summary>
public sealed class HttpPager(PageFetcher fetcher, CaptureSink sink, HttpSettings settings, string sourceName)
{
    public sealed class TotalChangedException(string message) : Exception(message);

    public async Task<long> CaptureAsync(string url, Paging paging, JsonBatchWriter writer, string payloadPrefix, CancellationToken ct)
    {
        var number = 0;
        string Name() => $"{payloadPrefix}{Interlocked.Increment(ref number) - 1:D5}.json.gz";
        long written = 0;
        void Write(FetchedPage page, List<JsonElement> records)
        {
            lock (writer)
                foreach (var r in records) writer.Write(r, [("_payload", page.Payload)]);
            Interlocked.Add(ref written, records.Count);
        }

        switch (paging.Kind)
        {
            case PagingKind.Offset when paging.TotalPath != null:
                await OffsetWithTotalAsync(url, paging, Name, Write, ct);
                return written;
            case PagingKind.None:
                {
                    var page = await fetcher.FetchAsync(url, sink, Name(), ct);
                    using (page.Body) Write(page, Records(page, paging));
                    return written;
                }
        }

        // Sequential kinds: offset without a total, page numbers, a next URL in the body, a Link header.
        var next = paging.Kind switch
        {
            PagingKind.Offset => With(url, paging.OffsetParam!, "0", paging),
            PagingKind.Page => With(url, paging.PageParam!, paging.PageStart.ToString(), paging),
            _ => url,
        };
        long offset = 0;
        var pageNumber = paging.PageStart;
        while (next != null)
        {
            var page = await fetcher.FetchAsync(next, sink, Name(), ct);
            List<JsonElement> records;
            string? following;
            using (page.Body)
            {
                records = Records(page, paging);
                Write(page, records);
                following = paging.Kind switch
                {
                    PagingKind.Next or PagingKind.Cursor => Path(page.Body.RootElement, paging.NextPath!) is { ValueKind: JsonValueKind.String } n ? n.GetString() : null,
                    PagingKind.Link => page.NextLink,
                    _ => null,
                };
            }
            var full = records.Count > 0 && (paging.PageSize == null || records.Count >= paging.PageSize);
            next = paging.Kind switch
            {
                PagingKind.Offset when full => With(url, paging.OffsetParam!, (offset += records.Count).ToString(), paging),
                PagingKind.Page when full => With(url, paging.PageParam!, (++pageNumber).ToString(), paging),
                PagingKind.Next or PagingKind.Link when !string.IsNullOrEmpty(following) => following, // absolute, or relative to base_url
                PagingKind.Cursor when !string.IsNullOrEmpty(following) => With(url, paging.CursorParam!, following, paging),
                _ => null,
            };
        }
        return written;
    }

    private async Task OffsetWithTotalAsync(string url, Paging paging, Func<string> name, Action<FetchedPage, List<JsonElement>> write, CancellationToken ct)
    {
        var first = await fetcher.FetchAsync(With(url, paging.OffsetParam!, "0", paging), sink, name(), ct);
        long total;
        int pageSize;
        using (first.Body)
        {
            total = Total(first, paging);
            var records = Records(first, paging);
            pageSize = paging.PageSize ?? records.Count;
            write(first, records);
        }
        if (total > 0 && pageSize == 0) throw new TotalChangedException($"{url}: the total is {total} but the first page is empty");
        var offsets = new List<long>();
        for (long skip = pageSize; skip < total; skip += pageSize) offsets.Add(skip);
        var totals = new long[offsets.Count];
        var sizes = new int[offsets.Count];
        await Parallel.ForEachAsync(Enumerable.Range(0, offsets.Count), new ParallelOptions { MaxDegreeOfParallelism = settings.Concurrency, CancellationToken = ct },
            async (i, token) =>
            {
                var page = await fetcher.FetchAsync(With(url, paging.OffsetParam!, offsets[i].ToString(), paging), sink, name(), token);
                using (page.Body)
                {
                    var records = Records(page, paging);
                    (totals[i], sizes[i]) = (Total(page, paging), records.Count);
                    write(page, records);
                }
            });
        long fetched = Math.Min(pageSize, total);
        for (var i = 0; i < offsets.Count; i++)
        {
            if (totals[i] != total) throw new TotalChangedException($"{url}: the total changed from {total} to {totals[i]} while paging");
            var expected = Math.Min(pageSize, total - offsets[i]);
            if (sizes[i] != expected)
                throw new TotalChangedException($"{url}: the page at offset {offsets[i]} has {sizes[i]} records, expected {expected}");
            fetched += sizes[i];
        }
        if (fetched != total) throw new TotalChangedException($"{url}: fetched {fetched} records, the total says {total}");
    }

    private static string With(string url, string param, string value, Paging paging)
    {
        var result = url + (url.Contains('?') ? "&" : "?") + Uri.EscapeDataString(param) + "=" + Uri.EscapeDataString(value);
        if (paging.LimitParam != null && paging.PageSize != null) result += $"&{Uri.EscapeDataString(paging.LimitParam)}={paging.PageSize}";
        return result;
    }

    private List<JsonElement> Records(FetchedPage page, Paging paging)
    {
        var node = Path(page.Body.RootElement, paging.RecordsPath);
        if (node is not { ValueKind: JsonValueKind.Array } array)
            throw new CaptureException($"Source '{sourceName}': {page.Url} has no array at '{paging.RecordsPath}'.");
        return array.EnumerateArray().ToList();
    }

    private long Total(FetchedPage page, Paging paging) =>
        Path(page.Body.RootElement, paging.TotalPath!) is { ValueKind: JsonValueKind.Number } n
            ? n.GetInt64()
            : throw new CaptureException($"Source '{sourceName}': {page.Url} has no number at '{paging.TotalPath}'.");

    /// <summary>A dotted path into a JSON document ("data.items"; "$" is the root).</summary>
    public static JsonElement? Path(JsonElement root, string path)
    {
        if (path is "$" or "") return root;
        var node = root;
        foreach (var part in path.TrimStart('$', '.').Split('.'))
        {
            if (node.ValueKind != JsonValueKind.Object || !node.TryGetProperty(part, out var child)) return null;
            node = child;
        }
        return node;
    }
}
