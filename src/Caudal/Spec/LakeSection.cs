using Caudal.Lake;
using YamlDotNet.RepresentationModel;

namespace Caudal.Spec;

/// <summary>The <c>lake:</c> key: a folder, or <c>s3://bucket/prefix</c> with its endpoint, region and addressing.</summary>
internal static class LakeSection
{
    public static readonly string[] Keys = ["location", "endpoint", "region", "path_style"];

    public static LakeLocation? Parse(YamlMappingNode root, SpecContext ctx)
    {
        var node = ctx.Child(root, "lake");
        if (node == null)
        {
            ctx.Error(root.Start, "Missing key 'lake'.", "add 'lake: ./lake' (a folder) or 'lake: s3://bucket/prefix'.");
            return null;
        }
        string? location;
        string? endpoint = null, region = null;
        var pathStyle = false;
        if (node is YamlMappingNode map)
        {
            ctx.CheckKeys(map, Keys, "lake");
            location = ctx.String(map, "location", required: true);
            endpoint = ctx.String(map, "endpoint");
            region = ctx.String(map, "region");
            pathStyle = ctx.Bool(map, "path_style") ?? false;
        }
        else location = ctx.Resolve((YamlScalarNode)node);
        if (location == null) return null;
        if (location.StartsWith("s3://", StringComparison.Ordinal))
        {
            if (location.Length <= 5 || location[5] == '/')
                ctx.Error(node.Start, $"Lake location '{location}' has no bucket.", "write it as s3://bucket/prefix.");
            return new LakeLocation(location.TrimEnd('/'), endpoint, region, pathStyle);
        }
        if (location.Contains("://") && !location.StartsWith("file://", StringComparison.Ordinal))
        {
            ctx.Error(node.Start, $"Lake location '{location}' is neither a local path nor s3://.", "use a folder path or s3://bucket/prefix.");
            return null;
        }
        var local = location.StartsWith("file://", StringComparison.Ordinal) ? location[7..] : location;
        return new LakeLocation(Path.GetFullPath(Path.Combine(ctx.BaseDirectory, local)));
    }
}
