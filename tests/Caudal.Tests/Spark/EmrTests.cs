using System.Text.Json.Nodes;
using Caudal.Aws;
using Caudal.Aws.Emr;
using Caudal.Processing.Spark;
using Caudal.Tests.Support;

namespace Caudal.Tests.Spark;

/// <summary>`caudal cluster up | status | down` and EMR steps against an EMR stand-in that recomputes every request's
/// SigV4 signature (no AWS here).</summary>
[Collection(SerialCollection.Name)]
public sealed class EmrTests : IAsyncLifetime
{
    private const string Secret = "emr-test-secret";
    private readonly Quickstart _qs = new(scale: 0.01);
    private readonly AwsJsonStandIn _emr = new(Secret, "elasticmapreduce", "ElasticMapReduce");

    public async Task InitializeAsync()
    {
        await _emr.StartAsync();
        File.AppendAllText(_qs.SpecPath, $"""

            spark:
              emr:
                release: emr-7.13.0
                region: eu-west-1
                core_instance_count: 3
                log_uri: s3://logs/emr/
                idle_timeout: 45m
                endpoint: {_emr.Url}

            """);
    }

    private Task<CliProcess.Result> CaudalAsync(params string[] args) => CliProcess.RunAsync(_qs.Folder, AwsJsonStandIn.Credentials(Secret), args);

    private List<JsonObject> Calls(string operation) => _emr.Calls.Where(c => c.Operation == operation).Select(c => c.Body).ToList();

    [Fact]
    public async Task Up_creates_a_cluster_with_spark_connect_waits_for_it_then_down_ends_it()
    {
        var states = new Queue<string>(["STARTING", "BOOTSTRAPPING", "WAITING"]);
        var terminated = false;
        _emr.Handle = (op, body) => op switch
        {
            "RunJobFlow" => (200, new JsonObject { ["JobFlowId"] = "j-CAUDAL1", ["ClusterArn"] = "arn:aws:elasticmapreduce:eu-west-1:1:cluster/j-CAUDAL1" }),
            "DescribeCluster" => (200, new JsonObject
            {
                ["Cluster"] = new JsonObject
                {
                    ["Id"] = (string)body["ClusterId"]!,
                    ["Status"] = new JsonObject { ["State"] = terminated ? "TERMINATING" : states.Count > 1 ? states.Dequeue() : states.Peek() },
                    ["MasterPublicDnsName"] = "ec2-1-2-3-4.eu-west-1.compute.amazonaws.com",
                },
            }),
            "TerminateJobFlows" => Terminate(),
            _ => (400, AwsJsonStandIn.Error("UnknownOperationException", op)),
        };

        (int, JsonNode) Terminate()
        {
            terminated = true;
            return (200, new JsonObject());
        }

        var up = await CaudalAsync("cluster", "up", "--poll", "0");
        Assert.True(up.ExitCode == 0, up.Stderr + up.Stdout);
        Assert.Contains("Spark Connect at sc://ec2-1-2-3-4.eu-west-1.compute.amazonaws.com:15002", up.Stdout);
        var run = Calls("RunJobFlow").Single();
        Assert.Equal("emr-7.13.0", (string)run["ReleaseLabel"]!);
        Assert.Equal("Spark", (string)run["Applications"]![0]!["Name"]!);
        Assert.Equal(2700, (long)run["AutoTerminationPolicy"]!["IdleTimeout"]!);
        Assert.Equal("s3://logs/emr/", (string)run["LogUri"]!);
        Assert.Equal(3, (int)run["Instances"]!["InstanceGroups"]![1]!["InstanceCount"]!);
        var connect = run["Steps"]![0]!;
        Assert.Equal("command-runner.jar", (string)connect["HadoopJarStep"]!["Jar"]!);
        Assert.Contains("start-connect-server.sh", connect["HadoopJarStep"]!["Args"]!.ToJsonString());
        Assert.Equal(3, Calls("DescribeCluster").Count); // polled until WAITING

        var status = await CaudalAsync("cluster", "status");
        Assert.Contains("cluster j-CAUDAL1: waiting", status.Stdout);
        var again = await CaudalAsync("cluster", "up", "--poll", "0");
        Assert.Contains("already up", again.Stdout);
        Assert.Single(Calls("RunJobFlow"));

        var down = await CaudalAsync("cluster", "down");
        Assert.True(down.ExitCode == 0, down.Stderr);
        Assert.Equal("j-CAUDAL1", (string)Calls("TerminateJobFlows").Single()["JobFlowIds"]![0]!);
        Assert.Contains("no cluster", (await CaudalAsync("cluster", "status")).Stdout);
    }

    [Fact]
    public async Task A_cluster_that_fails_to_start_is_a_clear_error_and_leaves_no_record()
    {
        _emr.Handle = (op, body) => op switch
        {
            "RunJobFlow" => (200, new JsonObject { ["JobFlowId"] = "j-BROKEN" }),
            "DescribeCluster" => (200, new JsonObject
            {
                ["Cluster"] = new JsonObject
                {
                    ["Id"] = "j-BROKEN",
                    ["Status"] = new JsonObject
                    {
                        ["State"] = "TERMINATED_WITH_ERRORS",
                        ["StateChangeReason"] = new JsonObject { ["Code"] = "VALIDATION_ERROR", ["Message"] = "The subnet does not exist." },
                    },
                },
            }),
            _ => (400, AwsJsonStandIn.Error("UnknownOperationException", op)),
        };
        var up = await CaudalAsync("cluster", "up", "--poll", "0");
        Assert.Equal(1, up.ExitCode);
        Assert.Contains("EMR cluster j-BROKEN did not start: TERMINATED_WITH_ERRORS (VALIDATION_ERROR: The subnet does not exist.)", up.Stderr);
        Assert.False(File.Exists(Path.Combine(_qs.LakePath, "_caudal", "cluster.json")));
    }

    [Fact]
    public async Task Wrong_credentials_are_refused_by_name()
    {
        var up = await CliProcess.RunAsync(_qs.Folder, AwsJsonStandIn.Credentials("not-the-secret"), "cluster", "up", "--poll", "0");
        Assert.Equal(1, up.ExitCode);
        Assert.Contains("InvalidSignatureException", up.Stderr);
        Assert.Empty(_emr.Calls);
    }

    [Fact]
    public async Task A_failed_step_names_emrs_reason_and_its_log()
    {
        var polls = 0;
        _emr.Handle = (op, body) => op switch
        {
            "AddJobFlowSteps" => (200, new JsonObject { ["StepIds"] = new JsonArray { "s-MODEL1" } }),
            "DescribeStep" => (200, new JsonObject
            {
                ["Step"] = new JsonObject
                {
                    ["Id"] = "s-MODEL1",
                    ["Status"] = ++polls < 3
                        ? new JsonObject { ["State"] = polls == 1 ? "PENDING" : "RUNNING" }
                        : new JsonObject
                        {
                            ["State"] = "FAILED",
                            ["FailureDetails"] = new JsonObject { ["Reason"] = "Unknown error.", ["Message"] = "[TABLE_OR_VIEW_NOT_FOUND] trusted_orders", ["LogFile"] = "s3://logs/emr/j-1/steps/s-MODEL1/" },
                        },
                },
            }),
            _ => (400, AwsJsonStandIn.Error("UnknownOperationException", op)),
        };
        using var http = new HttpClient();
        var emr = new EmrClient(new AwsJsonClient(http, "EMR", "elasticmapreduce", "ElasticMapReduce", "eu-west-1", new Uri(_emr.Url),
            new Amazon.Runtime.BasicAWSCredentials("AKIDCAUDALTEST", Secret)));
        var step = await emr.AddStepAsync("j-1", "model refined.revenue", ["spark-sql", "-f", "s3://lake/_caudal/steps/run-1/revenue.sql"], default);
        var error = await Assert.ThrowsAsync<EmrException>(() => emr.WaitForStepAsync("j-1", step, TimeSpan.Zero, default));
        Assert.Contains("EMR step s-MODEL1 on j-1 failed: Unknown error.; [TABLE_OR_VIEW_NOT_FOUND] trusted_orders; log: s3://logs/emr/j-1/steps/s-MODEL1/", error.Message);
        var added = Calls("AddJobFlowSteps").Single();
        Assert.Equal("j-1", (string)added["JobFlowId"]!);
        Assert.Equal("""["spark-sql","-f","s3://lake/_caudal/steps/run-1/revenue.sql"]""", added["Steps"]![0]!["HadoopJarStep"]!["Args"]!.ToJsonString());
        Assert.Equal(3, polls);
    }

    public async Task DisposeAsync()
    {
        await _emr.DisposeAsync();
        _qs.Dispose();
    }
}
