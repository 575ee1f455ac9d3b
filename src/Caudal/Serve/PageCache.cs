using System.Collections.Concurrent;

namespace Caudal.Serve;

/// <summary>
/// Pages of rows already sent, kept by table version and request: a version never changes, so a page read from it
/// is the same bytes for as long as it is asked for. Only pages (not whole exports) up to 4 MB are kept, 64 MB in
/// all, the oldest dropped first.
/// </summary>
public sealed class PageCache
{
    public const int MaxPage = 4 << 20;
    private const long MaxBytes = 64L << 20;
    private readonly ConcurrentDictionary<string, Page> _pages = new(StringComparer.Ordinal);
    private readonly ConcurrentQueue<string> _order = new();
    private long _bytes;

    public sealed record Page(byte[] Body, string ContentType, string? Link, string ETag, string? LastModified, long Version);

    public bool TryGet(string key, out Page page) => _pages.TryGetValue(key, out page!);

    public void Add(string key, Page page)
    {
        if (page.Body.Length > MaxPage || !_pages.TryAdd(key, page)) return;
        _order.Enqueue(key);
        Interlocked.Add(ref _bytes, page.Body.Length);
        while (Interlocked.Read(ref _bytes) > MaxBytes && _order.TryDequeue(out var oldest))
            if (_pages.TryRemove(oldest, out var dropped)) Interlocked.Add(ref _bytes, -dropped.Body.Length);
    }

}
