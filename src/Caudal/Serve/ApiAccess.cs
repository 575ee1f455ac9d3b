using System.Globalization;
using System.Threading.RateLimiting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.RateLimiting;
using Microsoft.Extensions.DependencyInjection;

namespace Caudal.Serve;

/// <summary>
/// Who may call which route. With auth on, every data route needs a key (<c>Authorization: Bearer …</c> or
/// <c>X-Api-Key</c>) holding the route's scope: none is a 401, the wrong scope a 403. The dashboard's page, the OpenAPI
/// document and <c>/healthz</c> are public (they hold no data). Keys are re-read from the lake every 30 seconds, and at
/// once (at most every 2 seconds) when an unknown key id is presented, so a key added on another machine works at once
/// and a removed one stops within 30 seconds. With <c>auth: auto</c> the mode follows the keys the same way: the first
/// key added turns auth on, removing the last turns it off — except on a server reachable beyond loopback, which never
/// serves without a key.
/// </summary>
public sealed class ApiAccess(ApiKeyStore store, ServeSpec spec)
{
    private static readonly TimeSpan Refresh = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan UnknownRefresh = TimeSpan.FromSeconds(2);
    private readonly SemaphoreSlim _reload = new(1, 1);
    private volatile IReadOnlyList<ApiKey> _keys = [];
    private DateTimeOffset _loadedAt = DateTimeOffset.MinValue;

    /// <summary>Whether requests need a key now: <c>auth: keys</c>, a server reachable beyond loopback, or any key in
    /// the lake (as last read).</summary>
    public bool Enabled => spec.Auth == ServeAuth.Keys || BeyondLoopback || (spec.Auth == ServeAuth.Auto && _keys.Count > 0);

    /// <summary>Whether auth can be on at all (<c>auth: none</c> is the only way it cannot).</summary>
    private bool MayBeEnabled => spec.Auth != ServeAuth.None || BeyondLoopback;

    /// <summary>Set when the server listens beyond loopback: then keys are always required, even if the last is removed.</summary>
    public bool BeyondLoopback { get; set; }

    public int KeyCount => _keys.Count;

    public Task StartAsync(CancellationToken ct) => ReloadAsync(ct);

    /// <summary>The scope a request path needs; null for public paths.</summary>
    public static string? ScopeOf(PathString path)
    {
        var p = path.Value ?? "/";
        if (p.StartsWith("/v1/tables", StringComparison.Ordinal) || p.StartsWith("/v1/charts", StringComparison.Ordinal) || p == "/extract-trusted-info")
            return ApiScopes.Tables;
        if (p.StartsWith("/v1/runs", StringComparison.Ordinal)) return ApiScopes.Runs;
        if (p.StartsWith("/v1/sql", StringComparison.Ordinal)) return ApiScopes.Sql;
        if (p.StartsWith("/v1/queries", StringComparison.Ordinal)) return ApiScopes.Queries;
        if (p.StartsWith("/metrics", StringComparison.Ordinal)) return ApiScopes.Metrics;
        // Anything else under /v1 is not public by accident: it needs a key of some scope.
        return p.StartsWith("/v1", StringComparison.Ordinal) ? "" : null;
    }

    /// <summary>The key a request presented, checked against the route's scope; or the 401/403 to answer.</summary>
    public async Task<(ApiKey? Key, IResult? Refusal)> AuthorizeAsync(HttpContext http)
    {
        var scope = ScopeOf(http.Request.Path);
        var presented = Presented(http.Request);
        // A key presented while auth is off: keys may have been added since the last read (then auth is on).
        if (!Enabled && scope != null && presented != null && DateTimeOffset.UtcNow - _loadedAt > UnknownRefresh) await ReloadAsync(http.RequestAborted);
        if (!Enabled || scope == null || HttpMethods.IsOptions(http.Request.Method)) return (null, null);
        if (presented == null)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer realm=\"caudal\"";
            return (null, Problems.Of(401, $"{http.Request.Path} needs an API key{(scope.Length > 0 ? $" with the '{scope}' scope" : "")}: " +
                "send 'Authorization: Bearer <key>' or 'X-Api-Key: <key>' (keys come from caudal keys add)."));
        }
        var key = await FindAsync(presented, http.RequestAborted);
        if (key == null)
        {
            http.Response.Headers.WWWAuthenticate = "Bearer realm=\"caudal\", error=\"invalid_token\"";
            return (null, Problems.Of(401, "the API key is not valid: it is mistyped or was removed (caudal keys list shows the keys)."));
        }
        if (scope.Length > 0 && !key.Allows(scope))
            return (null, Problems.Of(403, $"the key '{key.Name}' does not have the '{scope}' scope that {http.Request.Path} needs " +
                $"(it has: {string.Join(", ", key.Scopes)}); add a key with it: caudal keys add <name> --scopes {scope}."));
        return (key, null);
    }

    /// <summary>The key presented, re-reading the keys first when its id is unknown (a key just added elsewhere).</summary>
    private async Task<ApiKey?> FindAsync(string presented, CancellationToken ct)
    {
        var key = ApiKeyStore.Match(_keys, presented);
        if (key == null && ApiKeyStore.IdOf(presented) is { } id && _keys.All(k => k.Id != id) && DateTimeOffset.UtcNow - _loadedAt > UnknownRefresh)
        {
            await ReloadAsync(ct);
            key = ApiKeyStore.Match(_keys, presented);
        }
        return key;
    }

    /// <summary>The key named <paramref name="name"/> (a PostgreSQL client's user name), re-reading the keys first when
    /// none is known by that name.</summary>
    internal async Task<ApiKey?> FindByNameAsync(string name, CancellationToken ct)
    {
        if (_keys.FirstOrDefault(k => k.Name == name) is { } key) return key;
        if (DateTimeOffset.UtcNow - _loadedAt > UnknownRefresh) await ReloadAsync(ct);
        return _keys.FirstOrDefault(k => k.Name == name);
    }

    /// <summary>The key a PostgreSQL client sent as its password (over TLS), re-reading the keys when its id is unknown.</summary>
    internal Task<ApiKey?> FindPresentedAsync(string presented, CancellationToken ct) => FindAsync(presented, ct);

    /// <summary>Re-reads the keys now and then; a failed read keeps the keys already known.</summary>
    public async Task RefreshLoopAsync(CancellationToken ct)
    {
        using var timer = new PeriodicTimer(Refresh);
        while (await timer.WaitForNextTickAsync(ct))
        {
            try
            {
                await ReloadAsync(ct);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
            }
        }
    }

    private async Task ReloadAsync(CancellationToken ct)
    {
        var seen = _loadedAt;
        await _reload.WaitAsync(ct);
        try
        {
            // Requests that asked together share one read: a read finished while this one waited is fresh enough.
            if (_loadedAt != seen) return;
            _keys = await store.ListAsync(ct);
            _loadedAt = DateTimeOffset.UtcNow;
        }
        finally
        {
            _reload.Release();
        }
    }

    private static string? Presented(HttpRequest request)
    {
        var auth = request.Headers.Authorization.ToString();
        if (auth.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase)) return auth["Bearer ".Length..].Trim();
        var header = request.Headers["X-Api-Key"].ToString();
        return header.Length > 0 ? header.Trim() : null;
    }

    private const string KeyItem = "caudal.key";

    /// <summary>Auth, then the per-key request budget (keyed by the key's name, or by client address with auth off).</summary>
    public static void Use(WebApplication app, ServeSpec spec)
    {
        var access = app.Services.GetRequiredService<ApiAccess>();
        // Each middleware costs every request (a fifth of a cached page's throughput, measured): only what applies runs.
        if (access.MayBeEnabled)
            app.Use(async (http, next) =>
            {
                var (key, refusal) = await access.AuthorizeAsync(http);
                if (refusal != null)
                {
                    await refusal.ExecuteAsync(http);
                    return;
                }
                if (key != null) http.Items[KeyItem] = key;
                await next(http);
            });
        if (access.MayBeEnabled || spec.RateLimit != null) app.UseRateLimiter();
        // Public: whether a key is needed and whether the one sent is good, always a 200 (the dashboard asks this
        // first, so a missing key is a question to the user, not a failed request).
        app.MapGet("/auth", async (HttpContext http) =>
        {
            var presented = Presented(http.Request);
            var key = presented == null ? null : await access.FindAsync(presented, http.RequestAborted);
            return Results.Json(new
            {
                required = access.Enabled,
                key = key == null ? null : new { name = key.Name, scopes = key.Scopes },
                valid = !access.Enabled || key != null,
            });
        }).WithSummary("Whether the API needs a key, and whether the key sent is valid (and its scopes)").WithTags("auth");
    }

    public static void AddRateLimits(IServiceCollection services, ServeSpec spec)
    {
        services.AddRateLimiter(options =>
        {
            options.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http =>
            {
                var key = http.Items[KeyItem] as ApiKey;
                var limit = (key?.RateLimit is { } text ? RateLimit.Parse(text) : null) ?? spec.RateLimit;
                if (limit == null || ScopeOf(http.Request.Path) == null) return RateLimitPartition.GetNoLimiter("");
                var who = key != null ? $"key:{key.Name}" : $"ip:{http.Connection.RemoteIpAddress}";
                return RateLimitPartition.GetFixedWindowLimiter($"{who}|{limit.Requests}/{limit.Per.Ticks}", _ => new FixedWindowRateLimiterOptions
                {
                    PermitLimit = limit.Requests,
                    Window = limit.Per,
                    QueueLimit = 0,
                });
            });
            options.OnRejected = async (context, ct) =>
            {
                var http = context.HttpContext;
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var after))
                    http.Response.Headers.RetryAfter = Math.Ceiling(after.TotalSeconds).ToString(CultureInfo.InvariantCulture);
                var who = http.Items[KeyItem] is ApiKey key ? $"the key '{key.Name}'" : "this client";
                await Problems.Of(429, $"{who} has used its request budget; wait and retry (see Retry-After).").ExecuteAsync(http);
            };
        });
    }
}
