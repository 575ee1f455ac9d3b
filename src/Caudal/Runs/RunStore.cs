using System.Text.Json;
using System.Text.Json.Serialization;
using Caudal.Lake.Stores;

namespace Caudal.Runs;

/// <summary>Run records in the lake, beside the zones (the <c>_caudal/</c> folder is not a zone).</summary>
public sealed class RunStore(IObjectStore store)
{
    private const string Prefix = "_caudal/runs/";

    internal static readonly JsonSerializerOptions Json = new()
    {
        WriteIndented = true,
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.SnakeCaseLower) },
    };

    public Task SaveAsync(RunRecord run, CancellationToken ct = default) =>
        store.PutAsync(Prefix + run.RunId + ".json", new MemoryStream(JsonSerializer.SerializeToUtf8Bytes(run, Json)), ct);

    /// <summary>One run's record, or null.</summary>
    public async Task<RunRecord?> GetAsync(string runId, CancellationToken ct = default) =>
        await store.GetAsync(Prefix + runId + ".json", ct) is { } bytes ? JsonSerializer.Deserialize<RunRecord>(bytes, Json) : null;

    /// <summary>Runs, newest first.</summary>
    public async Task<IReadOnlyList<RunRecord>> ListAsync(int limit = 50, CancellationToken ct = default)
    {
        var keys = new List<string>();
        await foreach (var o in store.ListAsync(Prefix, ct: ct))
            if (o.Key.EndsWith(".json", StringComparison.Ordinal)) keys.Add(o.Key);
        var runs = new List<RunRecord>();
        foreach (var key in keys.OrderDescending(StringComparer.Ordinal).Take(limit))
            if (await store.GetAsync(key, ct) is { } bytes && JsonSerializer.Deserialize<RunRecord>(bytes, Json) is { } run)
                runs.Add(run);
        return runs;
    }
}
