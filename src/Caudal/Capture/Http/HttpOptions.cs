using Caudal.Spec;

namespace Caudal.Capture.Http;

/// <summary>A generic HTTP source's settings, read once from its spec through the declarations below (paging's in
/// <see cref="Paging.Declared"/>, patience's in <see cref="HttpSettings.Declared"/>): where to ask, how to
/// authenticate, how pages come.</summary>
public sealed record HttpOptions(string BaseUrl, string Url, string Dataset, string AuthHeader, string? AuthToken, Paging Paging)
{
    public static class Declared
    {
        public static readonly SourceOption BaseUrl = SourceOption.Url("base_url", required: true);
        public static readonly SourceOption Url = SourceOption.Text("url", required: true);
        public static readonly SourceOption Dataset = SourceOption.Text("dataset", "records");
        public static readonly SourceOption AuthHeader = SourceOption.Text("auth_header", "Authorization");
        public static readonly SourceOption AuthToken = SourceOption.Secret("auth_token");

        public static readonly SourceOption[] All = [BaseUrl, Url, Dataset, .. Paging.Declared.All, AuthHeader, AuthToken, .. HttpSettings.Declared.All];
    }

    public static HttpOptions From(SourceSpec spec)
    {
        var o = spec.Options;
        return new HttpOptions(o.Required(Declared.BaseUrl), o.Required(Declared.Url), o.Required(Declared.Dataset), o.Required(Declared.AuthHeader),
            o.Text(Declared.AuthToken), Paging.From(o));
    }

    /// <summary>The header value that carries the token: a bearer token in Authorization, the token itself elsewhere.</summary>
    public string? AuthValue => AuthToken == null ? null : AuthHeader == "Authorization" ? "Bearer " + AuthToken : AuthToken;
}
