using System.Globalization;
using Caudal.Processing.Spark.Connect;
using Caudal.Spec;
using YamlDotNet.RepresentationModel;

namespace Caudal.Processing.Spark;

/// <summary>An EMR cluster Caudal creates and ends itself (<c>caudal cluster up | status | down</c>).</summary>
public sealed record EmrClusterSpec(
    string Name,
    string Release,
    string Region,
    string PrimaryInstanceType,
    string CoreInstanceType,
    int CoreInstanceCount,
    string? LogUri,
    TimeSpan IdleTimeout,
    string? SubnetId,
    string ServiceRole,
    string JobFlowRole,
    string? Endpoint,
    TimeSpan StepPoll,
    SpecPosition Position)
{
    public static readonly string[] Keys =
        ["name", "release", "region", "primary_instance_type", "core_instance_type", "core_instance_count", "log_uri", "idle_timeout", "subnet_id", "service_role", "job_flow_role", "endpoint", "step_poll"];
}

/// <summary>The spec's <c>spark:</c> section: where Spark Connect is (<c>remote</c>, an <c>sc://</c> address whose
/// token may come from <c>${env:…}</c>), session settings, ANSI mode, the EMR cluster to create, and how models reach
/// Spark (<c>transport: connect</c>, or <c>steps</c>: one EMR step per model, for clusters without Spark Connect).</summary>
public sealed record SparkSpec(string? Remote, IReadOnlyDictionary<string, string> Conf, bool Ansi, EmrClusterSpec? Emr, string Transport, SpecPosition Position)
{
    public static readonly string[] Keys = ["remote", "conf", "ansi", "emr", "transport"];

    internal static SparkSpec? Parse(YamlMappingNode root, SpecContext ctx)
    {
        if (ctx.Mapping(root, "spark", "'spark' must be a mapping.", "write 'spark: {remote: \"sc://host:15002\"}'.") is not { } map) return null;
        ctx.CheckKeys(map, Keys, "spark");
        var remote = ctx.String(map, "remote");
        if (remote != null)
        {
            try
            {
                SparkConnection.Parse(remote);
            }
            catch (FormatException e)
            {
                ctx.Error(ctx.Scalar(map, "remote")!.Start, e.Message, "write 'remote: \"sc://host:15002/;token=${env:SPARK_TOKEN}\"'.");
            }
        }
        var conf = new Dictionary<string, string>(StringComparer.Ordinal);
        if (ctx.Child(map, "conf") is YamlMappingNode confMap)
            foreach (var (k, v) in confMap.Children)
                if (v is YamlScalarNode s && ctx.Resolve(s) is { } value) conf[((YamlScalarNode)k).Value ?? ""] = value;
                else ctx.Error(v.Start, $"spark.conf '{((YamlScalarNode)k).Value}' must be a single value.", "write 'spark.sql.shuffle.partitions: \"64\"'.");
        else if (ctx.Child(map, "conf") is { } bad) ctx.Error(bad.Start, "'conf' must be a mapping of Spark settings.", "write 'conf: {spark.sql.shuffle.partitions: \"64\"}'.");
        var emr = ctx.Child(map, "emr") is YamlMappingNode emrMap ? ParseEmr(emrMap, ctx) : null;
        if (remote == null && emr == null)
            ctx.Error(map.Start, "'spark' names neither a Spark Connect address nor an EMR cluster.", "add 'remote: \"sc://host:15002\"' or an 'emr:' section.");
        var transport = ctx.String(map, "transport") ?? "connect";
        if (transport is not ("connect" or "steps"))
            ctx.Error(ctx.Scalar(map, "transport")!.Start, $"'transport' is connect or steps, not '{transport}'.", "write 'transport: connect' (Spark Connect) or 'transport: steps' (one EMR step per model).");
        else if (transport == "steps" && emr == null)
            ctx.Error(ctx.Scalar(map, "transport")!.Start, "'transport: steps' runs models as EMR steps, and the spec has no 'emr:' cluster.",
                "add 'emr: {region: eu-west-1}' under 'spark' (then caudal cluster up), or use 'transport: connect'.");
        return new SparkSpec(remote, conf, ctx.Bool(map, "ansi") ?? true, emr, transport, ctx.At(map.Start));
    }

    private static EmrClusterSpec? ParseEmr(YamlMappingNode map, SpecContext ctx)
    {
        ctx.CheckKeys(map, EmrClusterSpec.Keys, "spark.emr");
        var release = ctx.String(map, "release") ?? "emr-7.13.0";
        if (!release.StartsWith("emr-", StringComparison.Ordinal))
            ctx.Error(ctx.Scalar(map, "release")!.Start, $"'{release}' is not an EMR release label.", "write 'release: emr-7.13.0' (Spark 3.5).");
        var region = ctx.String(map, "region") ?? Environment.GetEnvironmentVariable("AWS_REGION");
        if (region == null) ctx.Error(map.Start, "spark.emr has no region.", "add 'region: eu-west-1' (or set AWS_REGION).");
        var idle = TimeSpan.FromHours(1);
        if (ctx.Scalar(map, "idle_timeout") is { } t)
        {
            if (Values.Duration.Parse(t.Value ?? "")?.Span is { } d && d >= TimeSpan.FromMinutes(1) && d <= TimeSpan.FromDays(7)) idle = d;
            else ctx.Error(t.Start, $"'idle_timeout' must be a duration from 1m to 7d, not '{t.Value}'.", "write 'idle_timeout: 1h' (the cluster ends itself when idle that long).");
        }
        var poll = TimeSpan.FromSeconds(10);
        if (ctx.Scalar(map, "step_poll") is { } p)
        {
            if (Values.Duration.Parse(p.Value ?? "")?.Span is { } d && d >= TimeSpan.FromSeconds(1) && d <= TimeSpan.FromMinutes(10)) poll = d;
            else ctx.Error(p.Start, $"'step_poll' must be a duration from 1s to 10m, not '{p.Value}'.", "write 'step_poll: 10s' (how often a running step is asked about).");
        }
        var logUri = ctx.String(map, "log_uri");
        if (logUri != null && !logUri.StartsWith("s3://", StringComparison.Ordinal))
            ctx.Error(ctx.Scalar(map, "log_uri")!.Start, $"'log_uri' must be an s3:// URI, not '{logUri}'.", "write 'log_uri: s3://bucket/emr-logs/'.");
        return new EmrClusterSpec(
            ctx.String(map, "name") ?? "caudal",
            release,
            region ?? "",
            ctx.String(map, "primary_instance_type") ?? "m5.xlarge",
            ctx.String(map, "core_instance_type") ?? "m5.xlarge",
            ctx.Int(map, "core_instance_count", 0, 1000) ?? 2,
            logUri,
            idle,
            ctx.String(map, "subnet_id"),
            ctx.String(map, "service_role") ?? "EMR_DefaultRole",
            ctx.String(map, "job_flow_role") ?? "EMR_EC2_DefaultRole",
            ctx.String(map, "endpoint"),
            poll,
            ctx.At(map.Start));
    }

    /// <summary>Where <c>engine: spark</c> is asked for (the pipeline's <c>run.engine</c> or a model's), Spark needs a
    /// <c>spark:</c> section and the lake on S3 (the cluster reads and writes the lake's files there); a model's
    /// engine is duckdb or spark; an ML step runs on the embedded engine.</summary>
    internal static void CheckEngines(YamlMappingNode root, Lake.LakeLocation? lake, IReadOnlyList<ModelSpec> models, SparkSpec? spark, SpecContext ctx)
    {
        var places = new List<(SpecPosition Position, string What)>();
        if (ctx.Child(root, "run") is YamlMappingNode run && ctx.Child(run, "engine") is YamlScalarNode { Value: "spark" } engine)
            places.Add((ctx.At(engine.Start), "run.engine"));
        foreach (var model in models)
        {
            if (model.Engine != Engine.EngineKind.Spark) continue;
            if (model.Forecast != null)
                ctx.Error(model.Position, $"Model {model.Output} is an ML step, which runs on the embedded engine.", "remove 'engine: spark' from it (its input SQL can still read Spark-built tables).");
            places.Add((model.Position, $"model {model.Output}"));
        }
        foreach (var (position, what) in places)
        {
            if (spark == null)
                ctx.Error(position, $"{what} asks for Spark, and the spec has no 'spark:' section.", "add 'spark: {remote: \"sc://host:15002\"}' (or an 'emr:' cluster).");
            if (lake is { IsS3: false })
                ctx.Error(position, $"{what} asks for Spark, and the lake is on local disk ({lake.Uri}), which a cluster cannot reach.",
                    "put the lake on S3 (lake: {location: s3://bucket/prefix}).");
        }
    }

    public static string Seconds(TimeSpan span) => ((long)span.TotalSeconds).ToString(CultureInfo.InvariantCulture);
}
