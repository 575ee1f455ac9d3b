using System.Net;
using System.Runtime.CompilerServices;
using System.Security.Cryptography;
using Amazon.Runtime;
using Amazon.S3;
using Amazon.S3.Model;

namespace Caudal.Lake.Stores;

/// <summary>Settings to reach an S3 or S3-compatible server. Credentials come from the standard AWS chain
/// (environment, profile, instance role) unless given.</summary>
public sealed record S3Settings(
    string Bucket,
    string Prefix,
    string? Endpoint = null,
    string? Region = null,
    bool PathStyle = false,
    string? AccessKey = null,
    string? SecretKey = null);

/// <summary>
/// An object store on S3. Create-if-absent uses a conditional PUT (<c>If-None-Match: *</c>). Servers that ignore
/// the condition (s3rver, old MinIO) are detected by a probe: the store then falls back to HEAD-then-PUT, which is
/// safe against writers in this process only, and says so in <see cref="ConditionalWrites"/>.
/// </summary>
public sealed class S3ObjectStore : IObjectStore, IDisposable
{
    private static readonly SemaphoreSlim FallbackLock = new(1, 1);
    private readonly AmazonS3Client _client;
    private readonly S3Settings _settings;
    private readonly string _prefix;
    private bool? _conditionalWrites;

    public S3ObjectStore(S3Settings settings)
    {
        _settings = settings;
        _prefix = settings.Prefix.Trim('/') is { Length: > 0 } p ? p + "/" : "";
        var config = new AmazonS3Config
        {
            ForcePathStyle = settings.PathStyle,
            RequestChecksumCalculation = RequestChecksumCalculation.WHEN_REQUIRED,
            ResponseChecksumValidation = ResponseChecksumValidation.WHEN_REQUIRED,
        };
        if (settings.Endpoint != null) config.ServiceURL = settings.Endpoint;
        if (settings.Region != null) config.AuthenticationRegion = settings.Region;
        if (settings.Region != null && settings.Endpoint == null)
            config.RegionEndpoint = Amazon.RegionEndpoint.GetBySystemName(settings.Region);
        _client = settings.AccessKey != null
            ? new AmazonS3Client(new BasicAWSCredentials(settings.AccessKey, settings.SecretKey), config)
            : new AmazonS3Client(config);
    }

    public string Location => $"s3://{_settings.Bucket}/{_prefix}";

    /// <summary>False for a bucket a source reads files from: it being unreachable fails that source, not the run.</summary>
    public bool IsLake { get; init; } = true;

    /// <summary>Whether the server honours If-None-Match on PUT; null until the first create-if-absent.</summary>
    public bool? ConditionalWrites => _conditionalWrites;

    public string? LocalPathOf(string key) => null;

    private string FullKey(string key) => _prefix + key;

    public async Task PutAsync(string key, Stream content, CancellationToken ct = default)
    {
        using var buffer = new MemoryStream();
        await content.CopyToAsync(buffer, ct);
        await PutVerifiedAsync(key, buffer, ct);
    }

    public async Task PutFileAsync(string key, string localPath, CancellationToken ct = default)
    {
        await using (var file = File.OpenRead(localPath))
            await PutVerifiedAsync(key, file, ct);
        File.Delete(localPath);
    }

    // The server is not trusted to check Content-MD5 (s3rver ignores it): compare the returned ETag instead.
    private async Task PutVerifiedAsync(string key, Stream content, CancellationToken ct, bool ifNoneMatch = false)
    {
        content.Position = 0;
        var md5 = Convert.ToHexStringLower(await MD5.HashDataAsync(content, ct));
        content.Position = 0;
        var request = new PutObjectRequest
        {
            BucketName = _settings.Bucket,
            Key = FullKey(key),
            InputStream = content,
            AutoCloseStream = false,
            UseChunkEncoding = false,
        };
        if (ifNoneMatch) request.IfNoneMatch = "*";
        var response = await Reach(() => _client.PutObjectAsync(request, ct), ct);
        var etag = response.ETag?.Trim('"');
        if (etag is { Length: 32 } && !etag.Contains('-') && !string.Equals(etag, md5, StringComparison.OrdinalIgnoreCase))
            throw new IOException($"Upload of {Location}{key} was corrupted: server ETag {etag}, local MD5 {md5}.");
    }

    public async Task<bool> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct = default)
    {
        _conditionalWrites ??= await ProbeConditionalWritesAsync(ct);
        if (_conditionalWrites == true)
            return await TryConditionalPutAsync(key, content, ct);

        await FallbackLock.WaitAsync(ct);
        try
        {
            if (await ExistsAsync(key, ct)) return false;
            using var stream = new MemoryStream(content.ToArray());
            await PutVerifiedAsync(key, stream, ct);
            return true;
        }
        finally
        {
            FallbackLock.Release();
        }
    }

    private async Task<bool> TryConditionalPutAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct)
    {
        for (var attempt = 0; ; attempt++)
        {
            try
            {
                using var stream = new MemoryStream(content.ToArray());
                await PutVerifiedAsync(key, stream, ct, ifNoneMatch: true);
                return true;
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.PreconditionFailed)
            {
                return false;
            }
            catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.Conflict && attempt < 5)
            {
                // ConditionalRequestConflict: another conditional write to this key is in flight.
                await Task.Delay(50 * (attempt + 1), ct);
            }
        }
    }

    private async Task<bool> ProbeConditionalWritesAsync(CancellationToken ct)
    {
        var probe = $"_caudal/probe/{Guid.NewGuid():N}";
        try
        {
            var first = await TryConditionalPutAsync(probe, "1"u8.ToArray(), ct);
            var second = await TryConditionalPutAsync(probe, "2"u8.ToArray(), ct);
            return first && !second;
        }
        finally
        {
            await DeleteAsync(probe, ct);
        }
    }

    private async Task<bool> ExistsAsync(string key, CancellationToken ct)
    {
        try
        {
            await Reach(() => _client.GetObjectMetadataAsync(_settings.Bucket, FullKey(key), ct), ct);
            return true;
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return false;
        }
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken ct = default)
    {
        try
        {
            return await Reach(() => WholeBodyAsync(async () =>
            {
                using var response = await _client.GetObjectAsync(_settings.Bucket, FullKey(key), ct);
                using var buffer = new MemoryStream();
                await response.ResponseStream.CopyToAsync(buffer, ct);
                return buffer.ToArray();
            }), ct);
        }
        catch (AmazonS3Exception e) when (e.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    public Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken ct = default) =>
        Reach(async () =>
        {
            var request = new GetObjectRequest { BucketName = _settings.Bucket, Key = FullKey(key), ByteRange = new ByteRange(offset, offset + length - 1) };
            using var response = await _client.GetObjectAsync(request, ct);
            var buffer = new byte[length];
            await response.ResponseStream.ReadExactlyAsync(buffer, ct);
            return buffer;
        }, ct);

    public async Task DownloadAsync(string key, string localPath, CancellationToken ct = default)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(localPath))!);
        var tmp = localPath + $".{Guid.NewGuid():N}.part";
        try
        {
            await using var file = File.Create(tmp); // local disk: its errors are not the lake's
            await Reach(() => WholeBodyAsync(async () =>
            {
                file.SetLength(0); // a read again starts over
                using var response = await _client.GetObjectAsync(_settings.Bucket, FullKey(key), ct);
                await response.ResponseStream.CopyToAsync(file, ct);
                return true;
            }), ct);
        }
        catch
        {
            File.Delete(tmp);
            throw;
        }
        File.Move(tmp, localPath, overwrite: true);
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, string? startAfter = null,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        var request = new ListObjectsV2Request
        {
            BucketName = _settings.Bucket,
            Prefix = FullKey(prefix),
            StartAfter = startAfter == null ? null : FullKey(startAfter),
        };
        while (true)
        {
            var response = await Reach(() => _client.ListObjectsV2Async(request, ct), ct);
            foreach (var o in response.S3Objects ?? [])
                yield return new ObjectInfo(o.Key[_prefix.Length..], o.Size ?? 0, o.LastModified ?? DateTime.UtcNow);
            if (response.IsTruncated != true) yield break;
            request.ContinuationToken = response.NextContinuationToken;
        }
    }

    /// <summary>Folders by skip-scan: one one-key LIST per folder, jumping past each folder's keys with StartAfter.
    /// Delimiter listings are not used because some S3-compatible servers (s3rver) omit prefixes that hold no direct
    /// objects; this works on every server and costs one request per folder, not per object.</summary>
    public async Task<IReadOnlyList<string>> ListFoldersAsync(string prefix, CancellationToken ct = default)
    {
        var full = FullKey(prefix);
        var names = new List<string>();
        string? startAfter = null;
        while (true)
        {
            var response = await Reach(() => _client.ListObjectsV2Async(new ListObjectsV2Request
            {
                BucketName = _settings.Bucket,
                Prefix = full,
                StartAfter = startAfter,
                MaxKeys = 1,
            }, ct), ct);
            var key = response.S3Objects?.FirstOrDefault()?.Key;
            if (key == null) break;
            var rest = key[full.Length..];
            var slash = rest.IndexOf('/');
            if (slash < 0)
            {
                startAfter = key; // an object directly under the prefix, not a folder
                continue;
            }
            var folder = rest[..slash];
            names.Add(folder);
            startAfter = full + folder + "0"; // '0' sorts right after '/', so this skips every key in the folder
        }
        return names;
    }

    public async Task DeleteAsync(string key, CancellationToken ct = default) =>
        await Reach(() => _client.DeleteObjectAsync(_settings.Bucket, FullKey(key), ct), ct);

    /// <summary>The connection broke while the body was read (ended early, reset): an IOException from the body's
    /// stream. A server that cannot be reached at all fails the request itself (HttpRequestException), which the SDK
    /// has already retried, and is not read again here.</summary>
    private static bool BodyCut(Exception e) =>
        e is not HttpRequestException && (e is IOException || e.InnerException is IOException && e.InnerException is not HttpRequestException);

    /// <summary>Reads an object's body again when it ends before its length, the connection breaks while it is read,
    /// or it does not match the checksum the server sent (what s3rver serves when an object is replaced while it is
    /// read; a body cut or damaged on the way, anywhere). The last attempt's error stands.</summary>
    private static async Task<T> WholeBodyAsync<T>(Func<Task<T>> read)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                return await read();
            }
            catch (Exception e) when (attempt < 3 && (e is AmazonClientException && e.Message.Contains("hash", StringComparison.OrdinalIgnoreCase)
                                                      || BodyCut(e)))
            {
            }
        }
    }

    /// <summary>Runs one call to the server; a transport failure (refused, reset, DNS, a body cut short) becomes a
    /// <see cref="LakeUnavailableException"/> that names the lake, so a run reports that the lake went away instead of
    /// a socket error.</summary>
    private async Task<T> Reach<T>(Func<Task<T>> call, CancellationToken ct)
    {
        try
        {
            return await call();
        }
        catch (OperationCanceledException e) when (!ct.IsCancellationRequested)
        {
            // Not our cancellation: the SDK gave up waiting for the server.
            throw Unreachable(e, "no answer in time");
        }
        catch (Exception e) when (e is HttpRequestException or System.Net.Sockets.SocketException or IOException
                                       || e.InnerException is HttpRequestException or System.Net.Sockets.SocketException or IOException)
        {
            if (e is OperationCanceledException || e is AmazonServiceException { StatusCode: not 0 }) throw;
            throw Unreachable(e, (e.InnerException ?? e).Message);
        }
    }

    private IOException Unreachable(Exception e, string why) =>
        IsLake ? new LakeUnavailableException($"the lake at {Location} is unreachable: {why}", e) : new IOException($"{Location} is unreachable: {why}", e);

    public void Dispose() => _client.Dispose();
}
