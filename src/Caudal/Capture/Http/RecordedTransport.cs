using System.Net;
using System.Text;

namespace Caudal.Capture.Http;

/// <summary>
/// Replays recorded responses from a folder, so a pipeline runs offline through the same HTTP code path.
/// A request for <c>/data360/data?DATABASE_ID=X&amp;skip=0</c> is answered with the file
/// <c>data360_data__DATABASE_ID=X&amp;skip=0.json</c> (path '/' → '_', query parameters sorted); a missing file is a 404
/// naming the file it looked for.
/// </summary>
public sealed class RecordedTransport(string folder) : HttpMessageHandler
{
    public static string FileName(Uri uri)
    {
        var path = uri.AbsolutePath.Trim('/').Replace('/', '_');
        var query = uri.Query.TrimStart('?').Split('&', StringSplitOptions.RemoveEmptyEntries).Select(Uri.UnescapeDataString).Order(StringComparer.Ordinal);
        var name = path + "__" + string.Join("&", query);
        return string.Concat(name.Select(c => Path.GetInvalidFileNameChars().Contains(c) ? '_' : c)) + ".json";
    }

    protected override async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken)
    {
        var file = Path.Combine(folder, FileName(request.RequestUri!));
        if (!File.Exists(file))
            return new HttpResponseMessage(HttpStatusCode.NotFound)
            {
                RequestMessage = request,
                Content = new StringContent($"no recording {file}", Encoding.UTF8, "text/plain"),
            };
        return new HttpResponseMessage(HttpStatusCode.OK)
        {
            RequestMessage = request,
            Content = new ByteArrayContent(await File.ReadAllBytesAsync(file, cancellationToken)) { Headers = { { "Content-Type", "application/json" } } },
        };
    }
}
