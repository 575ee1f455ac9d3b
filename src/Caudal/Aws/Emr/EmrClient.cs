using System.Text.Json.Nodes;
using Caudal.Aws;
using Caudal.Processing.Spark;

namespace Caudal.Aws.Emr;

public sealed record EmrCluster(string Id, string State, string? Reason, string? PrimaryDns)
{
    public bool Ready => State is "WAITING" or "RUNNING";
    public bool Ended => State is "TERMINATING" or "TERMINATED" or "TERMINATED_WITH_ERRORS";
}

public sealed record EmrStep(string Id, string State, string? Failure);

/// <summary>An EMR cluster did not start, or a step failed: what EMR said, with its reason.</summary>
public sealed class EmrException(string message) : Exception(message);

/// <summary>
/// EMR through its JSON 1.1 API (<c>X-Amz-Target: ElasticMapReduce.*</c>, SigV4 service <c>elasticmapreduce</c>):
/// create a cluster with Spark whose first step starts the Spark Connect server on the primary node, wait for it,
/// describe and terminate it, and run a step (<c>command-runner.jar …</c>) to its end — the transport for clusters
/// without Spark Connect.
/// </summary>
public sealed class EmrClient(AwsJsonClient emr)
{
    public const string ConnectPort = "15002";

    public static AwsJsonClient Json(HttpClient http, EmrClusterSpec spec) =>
        new(http, "EMR", "elasticmapreduce", "ElasticMapReduce", spec.Region,
            spec.Endpoint != null ? new Uri(spec.Endpoint) : AwsJsonClient.DefaultEndpoint("elasticmapreduce", spec.Region));

    /// <summary>The step that starts Spark Connect: the server shipped with the cluster's Spark, with the connect
    /// package of that Spark version (Spark 3.5 needs it; 4.x has it built in and ignores the duplicate).</summary>
    public static readonly string[] StartConnectServer =
    [
        "bash", "-c",
        "v=$(spark-submit --version 2>&1 | grep -oP 'version \\K[0-9]+\\.[0-9]+\\.[0-9]+' | head -1); " +
        "sudo -u spark /usr/lib/spark/sbin/start-connect-server.sh --packages org.apache.spark:spark-connect_2.12:$v " +
        "--conf spark.connect.grpc.binding.port=" + ConnectPort,
    ];

    public static JsonObject RunJobFlowRequest(EmrClusterSpec spec, string pipeline, bool startConnect = true)
    {
        static JsonObject Group(string name, string role, string type, int count) =>
            new() { ["Name"] = name, ["InstanceRole"] = role, ["InstanceType"] = type, ["InstanceCount"] = count };
        var groups = new JsonArray { Group("primary", "MASTER", spec.PrimaryInstanceType, 1) };
        if (spec.CoreInstanceCount > 0) groups.Add(Group("core", "CORE", spec.CoreInstanceType, spec.CoreInstanceCount));
        var instances = new JsonObject { ["InstanceGroups"] = groups, ["KeepJobFlowAliveWhenNoSteps"] = true, ["TerminationProtected"] = false };
        if (spec.SubnetId != null) instances["Ec2SubnetId"] = spec.SubnetId;
        var request = new JsonObject
        {
            ["Name"] = $"{spec.Name} ({pipeline})",
            ["ReleaseLabel"] = spec.Release,
            ["Applications"] = new JsonArray { new JsonObject { ["Name"] = "Spark" } },
            ["Instances"] = instances,
            ["ServiceRole"] = spec.ServiceRole,
            ["JobFlowRole"] = spec.JobFlowRole,
            ["AutoTerminationPolicy"] = new JsonObject { ["IdleTimeout"] = (long)spec.IdleTimeout.TotalSeconds },
            ["VisibleToAllUsers"] = true,
            ["Tags"] = new JsonArray { new JsonObject { ["Key"] = "caudal:pipeline", ["Value"] = pipeline } },
        };
        if (startConnect) request["Steps"] = new JsonArray { Step("Start Spark Connect", StartConnectServer, "TERMINATE_CLUSTER") };
        if (spec.LogUri != null) request["LogUri"] = spec.LogUri;
        return request;
    }

    private static JsonObject Step(string name, IEnumerable<string> args, string onFailure) => new()
    {
        ["Name"] = name,
        ["ActionOnFailure"] = onFailure,
        ["HadoopJarStep"] = new JsonObject { ["Jar"] = "command-runner.jar", ["Args"] = new JsonArray(args.Select(a => (JsonNode)a).ToArray()) },
    };

    public async Task<string> CreateAsync(EmrClusterSpec spec, string pipeline, CancellationToken ct, bool startConnect = true)
    {
        var response = await emr.CallAsync("RunJobFlow", RunJobFlowRequest(spec, pipeline, startConnect), ct);
        return (string?)response?["JobFlowId"] ?? throw new EmrException("EMR: RunJobFlow answered without a JobFlowId.");
    }

    public async Task<EmrCluster> DescribeAsync(string clusterId, CancellationToken ct)
    {
        var cluster = (await emr.CallAsync("DescribeCluster", new JsonObject { ["ClusterId"] = clusterId }, ct))?["Cluster"]
            ?? throw new EmrException($"EMR: DescribeCluster {clusterId} answered without a cluster.");
        var status = cluster["Status"];
        var reason = status?["StateChangeReason"];
        var why = reason == null ? null : string.Join(": ", new[] { (string?)reason["Code"], (string?)reason["Message"] }.OfType<string>());
        return new EmrCluster(clusterId, (string?)status?["State"] ?? "UNKNOWN", string.IsNullOrEmpty(why) ? null : why, (string?)cluster["MasterPublicDnsName"]);
    }

    /// <summary>Polls until the cluster is ready (WAITING or RUNNING); a cluster that ends instead is an error with
    /// EMR's reason.</summary>
    public async Task<EmrCluster> WaitUntilReadyAsync(string clusterId, TimeSpan poll, TimeSpan timeout, CancellationToken ct)
    {
        var deadline = DateTimeOffset.UtcNow + timeout;
        while (true)
        {
            var cluster = await DescribeAsync(clusterId, ct);
            if (cluster.Ready) return cluster;
            if (cluster.Ended)
                throw new EmrException($"EMR cluster {clusterId} did not start: {cluster.State}{(cluster.Reason != null ? $" ({cluster.Reason})" : "")}.");
            if (DateTimeOffset.UtcNow > deadline)
                throw new EmrException($"EMR cluster {clusterId} is still {cluster.State} after {timeout.TotalMinutes:0} minutes; see the EMR console, or caudal cluster down.");
            await Task.Delay(poll, ct);
        }
    }

    public Task TerminateAsync(string clusterId, CancellationToken ct) =>
        emr.CallAsync("TerminateJobFlows", new JsonObject { ["JobFlowIds"] = new JsonArray { clusterId } }, ct);

    public async Task<string> AddStepAsync(string clusterId, string name, IEnumerable<string> args, CancellationToken ct)
    {
        var response = await emr.CallAsync("AddJobFlowSteps",
            new JsonObject { ["JobFlowId"] = clusterId, ["Steps"] = new JsonArray { Step(name, args, "CONTINUE") } }, ct);
        return (string?)response?["StepIds"]?[0] ?? throw new EmrException("EMR: AddJobFlowSteps answered without a step id.");
    }

    /// <summary>Asks EMR to stop a step (a run cancelled while its model runs on the cluster).</summary>
    public Task CancelStepAsync(string clusterId, string stepId, CancellationToken ct) =>
        emr.CallAsync("CancelSteps", new JsonObject
        {
            ["ClusterId"] = clusterId,
            ["StepIds"] = new JsonArray { stepId },
            ["StepCancellationOption"] = "SEND_INTERRUPT",
        }, ct);

    public async Task<EmrStep> DescribeStepAsync(string clusterId, string stepId, CancellationToken ct)
    {
        var step = (await emr.CallAsync("DescribeStep", new JsonObject { ["ClusterId"] = clusterId, ["StepId"] = stepId }, ct))?["Step"];
        var status = step?["Status"];
        var failure = status?["FailureDetails"];
        var why = failure == null ? null : string.Join("; ", new[] { (string?)failure["Reason"], (string?)failure["Message"], (string?)failure["LogFile"] is { } log ? $"log: {log}" : null }.OfType<string>());
        return new EmrStep(stepId, (string?)status?["State"] ?? "UNKNOWN", string.IsNullOrEmpty(why) ? null : why);
    }

    /// <summary>Polls a step to its end; a step that fails, is cancelled or interrupted is an error with EMR's reason.</summary>
    public async Task<EmrStep> WaitForStepAsync(string clusterId, string stepId, TimeSpan poll, CancellationToken ct)
    {
        while (true)
        {
            var step = await DescribeStepAsync(clusterId, stepId, ct);
            switch (step.State)
            {
                case "COMPLETED":
                    return step;
                case "FAILED" or "CANCELLED" or "INTERRUPTED":
                    throw new EmrException($"EMR step {stepId} on {clusterId} {step.State.ToLowerInvariant()}{(step.Failure != null ? $": {step.Failure}" : "")}.");
            }
            await Task.Delay(poll, ct);
        }
    }
}
