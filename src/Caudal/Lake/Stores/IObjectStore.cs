namespace Caudal.Lake.Stores;

/// <summary>One object in a store: its key relative to the store root, size and last modification.</summary>
public sealed record ObjectInfo(string Key, long Size, DateTimeOffset LastModified);

/// <summary>
/// The storage every zone lives on. Deliberately no rename: local disk and S3 behave the same, and the
/// only atomic primitive the Delta log needs is <see cref="PutIfAbsentAsync"/>.
/// Keys use '/' separators and never start with '/'.
/// </summary>
public interface IObjectStore
{
    /// <summary>Where the store lives, for messages ("file:///..." or "s3://bucket/prefix").</summary>
    string Location { get; }

    Task PutAsync(string key, Stream content, CancellationToken ct = default);

    /// <summary>Uploads (or moves, on the same local disk) a finished local file to <paramref name="key"/>.
    /// The local file is consumed.</summary>
    Task PutFileAsync(string key, string localPath, CancellationToken ct = default);

    /// <summary>Creates the object only if no object has that key. Returns false when it already exists.
    /// Readers never see a partially written object.</summary>
    Task<bool> PutIfAbsentAsync(string key, ReadOnlyMemory<byte> content, CancellationToken ct = default);

    /// <summary>The object's bytes, or null when it does not exist.</summary>
    Task<byte[]?> GetAsync(string key, CancellationToken ct = default);

    /// <summary><paramref name="length"/> bytes of the object from <paramref name="offset"/> (e.g. a Parquet footer),
    /// without reading the rest.</summary>
    Task<byte[]> GetRangeAsync(string key, long offset, int length, CancellationToken ct = default);

    /// <summary>Copies the object to a local file (used to stage data for the engine).</summary>
    Task DownloadAsync(string key, string localPath, CancellationToken ct = default);

    /// <summary>Objects whose key starts with <paramref name="prefix"/>, in lexicographic key order,
    /// optionally only those after <paramref name="startAfter"/>.</summary>
    IAsyncEnumerable<ObjectInfo> ListAsync(string prefix, string? startAfter = null, CancellationToken ct = default);

    Task DeleteAsync(string key, CancellationToken ct = default);

    /// <summary>The immediate "sub-folders" under <paramref name="prefix"/> (which ends with '/'), without the prefix
    /// or trailing '/', sorted.</summary>
    Task<IReadOnlyList<string>> ListFoldersAsync(string prefix, CancellationToken ct = default);

    /// <summary>A local filesystem path for the key when the store is on local disk, so the engine can read
    /// data files in place instead of staging them.</summary>
    string? LocalPathOf(string key);
}
