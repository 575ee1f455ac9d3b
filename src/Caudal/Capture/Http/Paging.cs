namespace Caudal.Capture.Http;

public enum PagingKind { None, Offset, Page, Next, Cursor, Link }

/// <summary>How an API pages its records. Offset paging with a total is fetched in parallel and verified against the
/// total; the other kinds are followed one page after another until a short or empty page, no next link, or no next
/// cursor (<c>cursor</c>: the token at <c>next</c> in the body is sent back as <c>cursor_param</c>).</summary>
public sealed record Paging(
    PagingKind Kind,
    string RecordsPath,
    string? OffsetParam = null,
    string? LimitParam = null,
    int? PageSize = null,
    string? TotalPath = null,
    string? PageParam = null,
    int PageStart = 1,
    string? NextPath = null,
    string? CursorParam = null)
{
    public static Paging From(IReadOnlyDictionary<string, string> o) => new(
        SourceOptions.Get(o, "pagination") switch
        {
            "offset" => PagingKind.Offset,
            "page" => PagingKind.Page,
            "next" => PagingKind.Next,
            "cursor" => PagingKind.Cursor,
            "link" => PagingKind.Link,
            "none" => PagingKind.None,
            var other => throw new FormatException($"unknown pagination '{other}'"),
        },
        o.GetValueOrDefault("records", "$"),
        o.GetValueOrDefault("offset_param", "offset"),
        o.GetValueOrDefault("limit_param"),
        o.ContainsKey("page_size") ? SourceOptions.Int(o, "page_size", 0) : null,
        o.GetValueOrDefault("total"),
        o.GetValueOrDefault("page_param", "page"),
        SourceOptions.Int(o, "page_start", 1),
        o.GetValueOrDefault("next", "next"),
        o.GetValueOrDefault("cursor_param", "cursor"));
}
