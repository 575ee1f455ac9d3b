using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Caudal.Lake.Stores;

namespace Caudal.Serve;

/// <summary>What a key may reach: each route of the API belongs to one scope.</summary>
public static class ApiScopes
{
    /// <summary><c>/v1/tables…</c>, <c>/v1/charts…</c>, <c>/extract-trusted-info</c>.</summary>
    public const string Tables = "tables";

    /// <summary><c>/v1/runs…</c>.</summary>
    public const string Runs = "runs";

    /// <summary><c>POST /v1/sql</c> (any read-only query).</summary>
    public const string Sql = "sql";

    /// <summary><c>/v1/queries…</c> (only the saved queries of the spec).</summary>
    public const string Queries = "queries";

    /// <summary><c>/metrics</c>.</summary>
    public const string Metrics = "metrics";

    public static readonly string[] All = [Tables, Runs, Sql, Queries, Metrics];
}

/// <summary>An API key as stored in the lake: never the key itself, only a salted SHA-256 of it (keys are 256 random
/// bits, so a slow hash would add nothing).</summary>
/// <remarks><see cref="Scram"/> lets PostgreSQL clients present the key as a password without sending it (keys made
/// before it was added have none: they sign in over TLS only).</remarks>
public sealed record ApiKey(string Name, string Id, IReadOnlyList<string> Scopes, string Salt, string Hash, DateTimeOffset CreatedAt, string? RateLimit,
    Pg.PgScram.Verifier? Scram = null)
{
    public bool Allows(string scope) => Scopes.Contains(scope);
}

/// <summary>
/// API keys in the lake, one object per key under <c>_caudal/keys/</c> (so every server on one lake knows the same
/// keys). A key reads <c>cdl_{id}_{secret}</c>: the id finds the record, the secret is checked against its hash in
/// constant time.
/// </summary>
public sealed partial class ApiKeyStore(IObjectStore store)
{
    public const string Prefix = "_caudal/keys/";
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower, WriteIndented = true };

    /// <summary>Creates a key and returns it with the secret, which is shown once and never stored.</summary>
    public async Task<(ApiKey Key, string Secret)> AddAsync(string name, IReadOnlyList<string> scopes, string? rateLimit, CancellationToken ct = default)
    {
        if (!KeyName().IsMatch(name)) throw new ArgumentException($"key name '{name}': use lowercase letters, digits, '-' and '_' (at most 64).");
        if (scopes.Count == 0) throw new ArgumentException($"give the key at least one scope: {string.Join(", ", ApiScopes.All)}.");
        foreach (var scope in scopes)
            if (!ApiScopes.All.Contains(scope)) throw new ArgumentException($"unknown scope '{scope}': the scopes are {string.Join(", ", ApiScopes.All)}.");
        if (rateLimit != null && Serve.RateLimit.Parse(rateLimit) == null) throw new ArgumentException($"rate limit '{rateLimit}': write requests/period, e.g. 600/1m.");
        var id = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var secret = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(32));
        var salt = RandomNumberGenerator.GetBytes(16);
        var presented = $"cdl_{id}_{secret}";
        var key = new ApiKey(name, id, scopes.Distinct().ToList(), Convert.ToBase64String(salt), Convert.ToBase64String(HashOf(salt, secret)), DateTimeOffset.UtcNow, rateLimit,
            Pg.PgScram.Derive(presented));
        if (!await store.PutIfAbsentAsync(Prefix + name + ".json", JsonSerializer.SerializeToUtf8Bytes(key, Json), ct))
            throw new ArgumentException($"a key named '{name}' already exists: remove it first (caudal keys remove {name}).");
        return (key, presented);
    }

    public async Task<IReadOnlyList<ApiKey>> ListAsync(CancellationToken ct = default)
    {
        var keys = new List<ApiKey>();
        await foreach (var o in store.ListAsync(Prefix, ct: ct))
            if (o.Key.EndsWith(".json", StringComparison.Ordinal) && await store.GetAsync(o.Key, ct) is { } bytes)
                keys.Add(JsonSerializer.Deserialize<ApiKey>(bytes, Json)!);
        return keys.OrderBy(k => k.Name, StringComparer.Ordinal).ToList();
    }

    public async Task<bool> RemoveAsync(string name, CancellationToken ct = default)
    {
        if (!KeyName().IsMatch(name) || await store.GetAsync(Prefix + name + ".json", ct) == null) return false;
        await store.DeleteAsync(Prefix + name + ".json", ct);
        return true;
    }

    /// <summary>The key <paramref name="presented"/> is, among <paramref name="keys"/>; null when it is none of them.</summary>
    public static ApiKey? Match(IEnumerable<ApiKey> keys, string presented)
    {
        var parts = presented.Split('_');
        if (parts is not ["cdl", var id, var secret]) return null;
        foreach (var key in keys)
            if (key.Id == id && CryptographicOperations.FixedTimeEquals(HashOf(Convert.FromBase64String(key.Salt), secret), Convert.FromBase64String(key.Hash)))
                return key;
        return null;
    }

    /// <summary>The id part of a presented key (to tell "unknown key" from "not a key").</summary>
    public static string? IdOf(string presented) => presented.Split('_') is ["cdl", var id, _] ? id : null;

    private static byte[] HashOf(byte[] salt, string secret) => SHA256.HashData([.. salt, .. Encoding.UTF8.GetBytes(secret)]);

    [GeneratedRegex("^[a-z0-9][a-z0-9_-]{0,63}$")]
    private static partial Regex KeyName();
}
