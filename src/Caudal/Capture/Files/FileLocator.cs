using System.Text.RegularExpressions;
using Caudal.Capture.Http;
using Caudal.Lake.Stores;

namespace Caudal.Capture.Files;

/// <summary>
/// Turns a file source's <c>path</c> into local files the readers can stream: local paths and globs as they are
/// (<c>*</c>, <c>?</c>, <c>**</c>), <c>https://</c> downloaded through the resilient client, <c>s3://bucket/prefix/*.csv</c>
/// listed and downloaded with the AWS SDK (DuckDB's httpfs is not available offline).
/// </summary>
internal static class FileLocator
{
    public sealed record Located(string Origin, string LocalPath);

    public static async Task<IReadOnlyList<Located>> LocateAsync(string path, FilesOptions options, string baseDir,
        string staging, CancellationToken ct)
    {
        if (path.StartsWith("https://", StringComparison.Ordinal) || path.StartsWith("http://", StringComparison.Ordinal))
        {
            var uri = new Uri(path);
            var settings = options.Download;
            using var http = HttpTransport.Create($"{uri.Scheme}://{uri.Authority}", settings);
            var local = Path.Combine(staging, "download-" + Guid.NewGuid().ToString("N") + Path.GetExtension(uri.AbsolutePath));
            Directory.CreateDirectory(staging);
            await DownloadAsync(http, uri, path, local, settings, ct);
            return [new Located(path, local)];
        }
        if (path.StartsWith("s3://", StringComparison.Ordinal))
            return await S3Async(path, options, staging, ct);

        var full = path.StartsWith("file://", StringComparison.Ordinal) ? path[7..] : Path.GetFullPath(Path.Combine(baseDir, path));
        if (!HasWildcard(full))
            return File.Exists(full) ? [new Located(full, full)] : throw new CaptureException($"File '{full}' does not exist.");
        var root = FixedPrefixDirectory(full);
        var glob = Glob(full);
        if (!Directory.Exists(root)) return [];
        return Directory.EnumerateFiles(root, "*", SearchOption.AllDirectories)
            .Where(f => glob.IsMatch(f))
            .Order(StringComparer.Ordinal)
            .Select(f => new Located(f, f))
            .ToList();
    }

    /// <summary>
    /// Streams a file to disk (never held in memory). A file may take longer than any fixed timeout to arrive, so the
    /// attempt timeout bounds each silence instead: no byte for that long fails the attempt, as does a reset or a body
    /// shorter than promised; the download then starts again from scratch (its partial file deleted), with backoff.
    /// </summary>
    private static async Task DownloadAsync(HttpClient http, Uri uri, string path, string local, HttpSettings settings, CancellationToken ct)
    {
        for (var attempt = 1; ; attempt++)
        {
            using var silence = CancellationTokenSource.CreateLinkedTokenSource(ct);
            var streaming = false; // up to the headers the client's pipeline has already retried: only a body is retried here
            try
            {
                // Up to the headers, the client's resilience pipeline times and retries each attempt itself.
                using var response = await http.GetAsync(uri.PathAndQuery.TrimStart('/'), HttpCompletionOption.ResponseHeadersRead, ct);
                if (!response.IsSuccessStatusCode) throw new CaptureException($"GET {path} answered HTTP {(int)response.StatusCode}.");
                await using var body = await response.Content.ReadAsStreamAsync(ct);
                streaming = true;
                await using var file = File.Create(local);
                var buffer = new byte[81920];
                while (true)
                {
                    silence.CancelAfter(settings.AttemptTimeout);
                    var read = await body.ReadAsync(buffer, silence.Token);
                    if (read == 0) break;
                    await file.WriteAsync(buffer.AsMemory(0, read), ct);
                }
                return;
            }
            catch (Exception e) when (!ct.IsCancellationRequested && streaming && attempt <= settings.Retries && Retryable(e))
            {
                File.Delete(local);
                await Task.Delay(TimeSpan.FromMilliseconds(Math.Min(20_000, 200 * Math.Pow(2, attempt - 1)) * (0.5 + Random.Shared.NextDouble())), ct);
            }
            catch (Exception e) when (!ct.IsCancellationRequested && Retryable(e))
            {
                File.Delete(local);
                var why = e is OperationCanceledException ? $"no data for {settings.AttemptTimeout.TotalSeconds:0.#}s" : e.Message;
                throw new CaptureException($"GET {path} failed after {attempt} attempts: {why}", e);
            }
        }
    }

    private static bool Retryable(Exception e) => e is IOException or HttpRequestException or OperationCanceledException || HttpTransport.IsTimeout(e);

    private static async Task<IReadOnlyList<Located>> S3Async(string path, FilesOptions options, string staging, CancellationToken ct)
    {
        var rest = path["s3://".Length..];
        var bucket = rest[..rest.IndexOf('/')];
        var key = rest[(bucket.Length + 1)..];
        var prefix = HasWildcard(key) ? key[..key.IndexOfAny(['*', '?'])] : key;
        using var store = new S3ObjectStore(new S3Settings(bucket, "", options.Endpoint, options.Region, options.PathStyle))
        { IsLake = false };
        var glob = Glob(key);
        var found = new List<Located>();
        await foreach (var o in store.ListAsync(prefix, ct: ct))
        {
            if (HasWildcard(key) ? !glob.IsMatch(o.Key) : o.Key != key) continue;
            var local = Path.Combine(staging, "s3-" + Guid.NewGuid().ToString("N") + Path.GetExtension(o.Key));
            await store.DownloadAsync(o.Key, local, ct);
            found.Add(new Located($"s3://{bucket}/{o.Key}", local));
        }
        return found;
    }

    private static bool HasWildcard(string path) => path.IndexOfAny(['*', '?']) >= 0;

    private static string FixedPrefixDirectory(string path)
    {
        var firstWildcard = path.IndexOfAny(['*', '?']);
        return Path.GetDirectoryName(path[..firstWildcard] + "x")!;
    }

    /// <summary><c>**</c> spans folders, <c>*</c> and <c>?</c> stay within one.</summary>
    private static Regex Glob(string pattern) => new("^" + Regex.Escape(pattern)
        .Replace(@"\*\*/", "(.*/)?").Replace(@"\*\*", ".*").Replace(@"\*", "[^/]*").Replace(@"\?", "[^/]") + "$");
}
