using System.Runtime.CompilerServices;

namespace Caudal.Lake.Stores;

/// <summary>An object store on a local directory. Create-if-absent writes a temp file and hard-links it
/// into place with link(2), which fails if the name exists: a reader sees either nothing or the whole object.</summary>
public sealed class LocalObjectStore : IObjectStore
{
    private readonly string _root;

    public LocalObjectStore(string root)
    {
        _root = Path.GetFullPath(root);
        Directory.CreateDirectory(_root);
    }

    public string Location => "file://" + _root;

    public string? LocalPathOf(string key) => FullPath(key);

    private string FullPath(string key)
    {
        if (key.StartsWith('/') || key.Split('/').Any(s => s == ".."))
            throw new ArgumentException($"Invalid object key '{key}'.", nameof(key));
        return Path.Combine(_root, key.Replace('/', Path.DirectorySeparatorChar));
    }

    private const string TempPrefix = "_tmp_";
    private static readonly TimeSpan AbandonedAfter = TimeSpan.FromHours(1);

    private static string TempBeside(string path) =>
        Path.Combine(Path.GetDirectoryName(path)!, $"{TempPrefix}{Path.GetFileName(path)}.{Guid.NewGuid():N}");

    public async Task PutAsync(string key, Stream content, CancellationToken ct = default)
    {
        var path = FullPath(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = TempBeside(path);
        await using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None, 1 << 16, useAsync: true))
        {
            await content.CopyToAsync(file, ct);
            await file.FlushAsync(ct);
            file.Flush(flushToDisk: true);
        }
        File.Move(tmp, path, overwrite: true);
    }

    public Task PutFileAsync(string key, string localPath, CancellationToken ct = default)
    {
        var path = FullPath(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        File.Move(localPath, path, overwrite: false);
        return Task.CompletedTask;
    }

    public async Task<bool> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct = default)
    {
        var path = FullPath(key);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        var tmp = TempBeside(path);
        await using (var file = new FileStream(tmp, FileMode.CreateNew, FileAccess.Write, FileShare.None))
        {
            await file.WriteAsync(content, ct);
            file.Flush(flushToDisk: true);
        }
        try
        {
            return ExclusiveLink.TryCreate(tmp, path);
        }
        finally
        {
            File.Delete(tmp);
        }
    }

    public async Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken ct = default)
    {
        await using var file = new FileStream(FullPath(key), FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete, 1, useAsync: true);
        file.Position = offset;
        var buffer = new byte[length];
        await file.ReadExactlyAsync(buffer, ct);
        return buffer;
    }

    public async Task<byte[]?> GetAsync(string key, CancellationToken ct = default)
    {
        try
        {
            return await File.ReadAllBytesAsync(FullPath(key), ct);
        }
        catch (Exception e) when (e is FileNotFoundException or DirectoryNotFoundException)
        {
            return null;
        }
    }

    public Task DownloadAsync(string key, string localPath, CancellationToken ct = default)
    {
        Directory.CreateDirectory(Path.GetDirectoryName(Path.GetFullPath(localPath))!);
        File.Copy(FullPath(key), localPath, overwrite: true);
        return Task.CompletedTask;
    }

    public async IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, string? startAfter = null,
        [EnumeratorCancellation] CancellationToken ct = default)
    {
        // List the deepest directory the prefix names, then filter by the full prefix.
        var slash = prefix.LastIndexOf('/');
        var dir = slash < 0 ? _root : FullPath(prefix[..slash]);
        if (!Directory.Exists(dir)) yield break;
        var keys = new List<ObjectInfo>();
        foreach (var file in Directory.EnumerateFiles(dir, "*", SearchOption.AllDirectories))
        {
            var key = Path.GetRelativePath(_root, file).Replace(Path.DirectorySeparatorChar, '/');
            if (!key.StartsWith(prefix, StringComparison.Ordinal)) continue;
            if (startAfter != null && string.CompareOrdinal(key, startAfter) <= 0) continue;
            var info = new FileInfo(file);
            if (!info.Exists) continue; // renamed or deleted since it was enumerated (a put finishing): not an object now
            // A put's temporary file is not an object (on S3 a put in flight is not listed either); one an hour old is
            // a put that was abandoned, listed so that vacuum removes it.
            if (info.Name.StartsWith(TempPrefix, StringComparison.Ordinal) && info.LastWriteTimeUtc > DateTime.UtcNow - AbandonedAfter) continue;
            keys.Add(new ObjectInfo(key, info.Length, info.LastWriteTimeUtc));
        }
        keys.Sort((a, b) => string.CompareOrdinal(a.Key, b.Key));
        foreach (var k in keys)
        {
            ct.ThrowIfCancellationRequested();
            yield return k;
        }
        await Task.CompletedTask;
    }

    public Task<IReadOnlyList<string>> ListFoldersAsync(string prefix, CancellationToken ct = default)
    {
        var dir = prefix.Length == 0 ? _root : FullPath(prefix.TrimEnd('/'));
        IReadOnlyList<string> names = Directory.Exists(dir)
            ? Directory.GetDirectories(dir).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
            : [];
        return Task.FromResult(names);
    }

    public Task DeleteAsync(string key, CancellationToken ct = default)
    {
        var path = FullPath(key);
        if (File.Exists(path)) File.Delete(path);
        return Task.CompletedTask;
    }
}
