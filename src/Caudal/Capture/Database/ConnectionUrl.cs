namespace Caudal.Capture.Database;

/// <summary>Accepts either an ADO.NET connection string or a URL (<c>mysql://user:pass@host:3306/db</c>,
/// <c>postgres://user:pass@host:5432/db</c>) for a database source's <c>connection</c>.</summary>
internal static class ConnectionUrl
{
    public static bool IsUrl(string text) => text.Contains("://", StringComparison.Ordinal);

    public static (string Host, int? Port, string? User, string? Password, string? Database) Parse(string url)
    {
        var uri = new Uri(url);
        var user = uri.UserInfo.Split(':', 2);
        return (uri.Host, uri.Port > 0 ? uri.Port : null,
            user[0].Length > 0 ? Uri.UnescapeDataString(user[0]) : null,
            user.Length > 1 ? Uri.UnescapeDataString(user[1]) : null,
            uri.AbsolutePath.Trim('/') is { Length: > 0 } db ? Uri.UnescapeDataString(db) : null);
    }
}
