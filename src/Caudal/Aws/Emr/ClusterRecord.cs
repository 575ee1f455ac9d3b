using System.Text.Json;
using Caudal.Lake.Stores;

namespace Caudal.Aws.Emr;

/// <summary>The EMR cluster <c>caudal cluster up</c> made for a pipeline, kept in its lake (<c>_caudal/cluster.json</c>)
/// so <c>status</c> and <c>down</c> on any machine find it, and so does the engine (its Spark Connect address).</summary>
public sealed record ClusterRecord(string ClusterId, string Region, string? Remote, DateTimeOffset CreatedAt)
{
    public const string Key = "_caudal/cluster.json";
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    public static async Task<ClusterRecord?> ReadAsync(IObjectStore store, CancellationToken ct) =>
        await store.GetAsync(Key, ct) is { } bytes ? JsonSerializer.Deserialize<ClusterRecord>(bytes, Json) : null;

    public Task SaveAsync(IObjectStore store, CancellationToken ct) =>
        store.PutAsync(Key, new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(this, Json)), ct);

    public static Task DeleteAsync(IObjectStore store, CancellationToken ct) => store.DeleteAsync(Key, ct);
}
