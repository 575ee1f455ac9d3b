using System.ComponentModel;
using Caudal.Aws;
using Caudal.Aws.Emr;
using Caudal.Lake;
using Caudal.Processing.Spark;
using Caudal.Spec;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

public sealed class ClusterSettings : SpecSettings
{
    [CommandOption("--poll <SECONDS>")]
    [Description("How often to ask EMR how the cluster is doing (default 30).")]
    public int Poll { get; init; } = 30;

    [CommandOption("--wait <MINUTES>")]
    [Description("up: how long to wait for the cluster to be ready (default 30).")]
    public int Wait { get; init; } = 30;
}

/// <summary>The EMR cluster of the spec's <c>spark.emr</c>, found through the record in the lake.</summary>
internal static class ClusterCommand
{
    public static (PipelineSpec Spec, EmrClusterSpec Emr)? Load(ClusterSettings settings)
    {
        var spec = settings.LoadForReading();
        if (spec.Spark?.Emr is { } emr) return (spec, emr);
        Console.Error.WriteLine($"caudal: {spec.File} has no 'spark: {{emr: …}}' section: nothing says which cluster to make (see docs/spark.md).");
        return null;
    }

    public static async Task<int> RunAsync(ClusterSettings settings, Func<PipelineSpec, EmrClusterSpec, EmrClient, CancellationToken, Task<int>> action, CancellationToken ct)
    {
        if (Load(settings) is not var (spec, emr)) return ExitCodes.InvalidSpec;
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        try
        {
            return await action(spec, emr, new EmrClient(EmrClient.Json(http, emr)), ct);
        }
        catch (Exception e) when (e is AwsServiceException or EmrException or HttpRequestException or Amazon.Runtime.AmazonClientException)
        {
            Console.Error.WriteLine($"caudal: {e.Message}");
            return ExitCodes.Failed;
        }
    }
}

/// <summary><c>caudal cluster up</c>: creates the EMR cluster (Spark, with Spark Connect started on it), waits until
/// it is ready and records its address in the lake.</summary>
public sealed class ClusterUpCommand : AsyncCommand<ClusterSettings>
{
    public override Task<int> ExecuteAsync(CommandContext context, ClusterSettings settings, CancellationToken ct) =>
        ClusterCommand.RunAsync(settings, async (spec, emr, client, token) =>
        {
            var store = DataLake.Open(spec.Lake).Store;
            if (await ClusterRecord.ReadAsync(store, token) is { } existing && !(await client.DescribeAsync(existing.ClusterId, token)).Ended)
            {
                Console.Out.WriteLine($"cluster {existing.ClusterId} is already up ({existing.Remote}); caudal cluster down ends it.");
                return ExitCodes.Ok;
            }
            var connect = spec.Spark!.Transport == "connect"; // with steps, each model is a step: no server to start
            var id = await client.CreateAsync(emr, spec.Name, token, startConnect: connect);
            Console.Out.WriteLine($"cluster {id} created ({emr.Release}, {emr.Region}); waiting for it to be ready…");
            var record = new ClusterRecord(id, emr.Region, null, DateTimeOffset.UtcNow);
            await record.SaveAsync(store, token); // recorded at once, so `down` can end it even if the wait is cut short
            EmrCluster ready;
            try
            {
                ready = await client.WaitUntilReadyAsync(id, TimeSpan.FromSeconds(settings.Poll), TimeSpan.FromMinutes(settings.Wait), token);
            }
            catch (EmrException)
            {
                if ((await client.DescribeAsync(id, token)).Ended) await ClusterRecord.DeleteAsync(store, token); // nothing left to end
                throw;
            }
            var remote = connect && ready.PrimaryDns != null ? $"sc://{ready.PrimaryDns}:{EmrClient.ConnectPort}" : null;
            await (record with { Remote = remote }).SaveAsync(store, token);
            var how = connect ? $"Spark Connect at {remote ?? "(no primary node address yet)"}" : "models run on it as EMR steps";
            Console.Out.WriteLine($"cluster {id} is {ready.State.ToLowerInvariant()}; {how}; it ends itself after {emr.IdleTimeout.TotalMinutes:0} idle minutes.");
            return ExitCodes.Ok;
        }, ct);
}

/// <summary><c>caudal cluster status</c>.</summary>
public sealed class ClusterStatusCommand : AsyncCommand<ClusterSettings>
{
    public override Task<int> ExecuteAsync(CommandContext context, ClusterSettings settings, CancellationToken ct) =>
        ClusterCommand.RunAsync(settings, async (spec, _, client, token) =>
        {
            if (await ClusterRecord.ReadAsync(DataLake.Open(spec.Lake).Store, token) is not { } record)
            {
                Console.Out.WriteLine("no cluster: caudal cluster up creates one.");
                return ExitCodes.Ok;
            }
            var cluster = await client.DescribeAsync(record.ClusterId, token);
            Console.Out.WriteLine($"cluster {cluster.Id}: {cluster.State.ToLowerInvariant()}{(cluster.Reason != null ? $" ({cluster.Reason})" : "")}; " +
                                  $"Spark Connect at {record.Remote ?? "(not ready yet)"}; created {record.CreatedAt:yyyy-MM-dd HH:mm}Z");
            return ExitCodes.Ok;
        }, ct);
}

/// <summary><c>caudal cluster down</c>: terminates the cluster and forgets it.</summary>
public sealed class ClusterDownCommand : AsyncCommand<ClusterSettings>
{
    public override Task<int> ExecuteAsync(CommandContext context, ClusterSettings settings, CancellationToken ct) =>
        ClusterCommand.RunAsync(settings, async (spec, _, client, token) =>
        {
            var store = DataLake.Open(spec.Lake).Store;
            if (await ClusterRecord.ReadAsync(store, token) is not { } record)
            {
                Console.Out.WriteLine("no cluster to end.");
                return ExitCodes.Ok;
            }
            await client.TerminateAsync(record.ClusterId, token);
            await ClusterRecord.DeleteAsync(store, token);
            Console.Out.WriteLine($"cluster {record.ClusterId} is terminating.");
            return ExitCodes.Ok;
        }, ct);
}
