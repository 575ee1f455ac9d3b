using Caudal.Lake.Stores;

namespace Caudal.Lake;

/// <summary>Where the lake lives, as declared in the spec.</summary>
public sealed record LakeLocation(string Uri, string? Endpoint = null, string? Region = null, bool PathStyle = false)
{
    public bool IsS3 => Uri.StartsWith("s3://", StringComparison.Ordinal);

    public IObjectStore OpenStore()
    {
        if (!IsS3) return new LocalObjectStore(Uri.StartsWith("file://", StringComparison.Ordinal) ? Uri["file://".Length..] : Uri);
        var rest = Uri["s3://".Length..];
        var slash = rest.IndexOf('/');
        var bucket = slash < 0 ? rest : rest[..slash];
        var prefix = slash < 0 ? "" : rest[(slash + 1)..];
        return new S3ObjectStore(new S3Settings(bucket, prefix, Endpoint, Region, PathStyle));
    }
}
