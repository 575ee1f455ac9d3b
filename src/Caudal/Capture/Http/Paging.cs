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
    public static class Declared
    {
        public static readonly SourceOption Pagination = SourceOption.Choice("pagination", "none", "none", "offset", "page", "next", "cursor", "link");
        public static readonly SourceOption Records = SourceOption.Text("records", "$");
        public static readonly SourceOption OffsetParam = SourceOption.Text("offset_param", "offset");
        public static readonly SourceOption LimitParam = SourceOption.Text("limit_param");
        public static readonly SourceOption PageSize = SourceOption.Integer("page_size", 1, 1_000_000);
        public static readonly SourceOption Total = SourceOption.Text("total");
        public static readonly SourceOption PageParam = SourceOption.Text("page_param", "page");
        public static readonly SourceOption PageStart = SourceOption.Integer("page_start", 0, 1_000_000, "1");
        public static readonly SourceOption Next = SourceOption.Text("next", "next");
        public static readonly SourceOption CursorParam = SourceOption.Text("cursor_param", "cursor");

        public static readonly SourceOption[] All = [Records, Pagination, OffsetParam, LimitParam, PageSize, Total, PageParam, PageStart, Next, CursorParam];
    }

    public static Paging From(OptionValues o) => new(
        o.Text(Declared.Pagination) switch
        {
            "offset" => PagingKind.Offset,
            "page" => PagingKind.Page,
            "next" => PagingKind.Next,
            "cursor" => PagingKind.Cursor,
            "link" => PagingKind.Link,
            "none" => PagingKind.None,
            var other => throw new FormatException($"unknown pagination '{other}'"),
        },
        o.Required(Declared.Records),
        o.Text(Declared.OffsetParam),
        o.Text(Declared.LimitParam),
        o.Has(Declared.PageSize) ? o.Int(Declared.PageSize, 0) : null,
        o.Text(Declared.Total),
        o.Text(Declared.PageParam),
        o.Int(Declared.PageStart, 1),
        o.Text(Declared.Next),
        o.Text(Declared.CursorParam));
}
