using Caudal.Spec;

namespace Caudal.Capture.Http;

/// <summary>A generic HTTP source's settings, read once from its spec through the option declarations
/// (<see cref="SourceOptions"/>): where to ask, how to authenticate, how pages come, how patient to be.</summary>
public sealed record HttpOptions(string BaseUrl, string Url, string Dataset, string AuthHeader, string? AuthToken, Paging Paging)
{
    public static HttpOptions From(SourceSpec spec)
    {
        var o = spec.Options;
        return new HttpOptions(o["base_url"], o["url"], o.GetValueOrDefault("dataset", "records"), o.GetValueOrDefault("auth_header", "Authorization"),
            o.GetValueOrDefault("auth_token"), Paging.From(o));
    }

    /// <summary>The header value that carries the token: a bearer token in Authorization, the token itself elsewhere.</summary>
    public string? AuthValue => AuthToken == null ? null : AuthHeader == "Authorization" ? "Bearer " + AuthToken : AuthToken;
}
