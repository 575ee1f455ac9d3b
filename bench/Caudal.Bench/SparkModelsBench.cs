using System.Diagnostics;
using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Sample;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Bench;

/// <summary>
/// Caudal's own cost per model on Spark: the quickstart's SQL models with <c>engine: spark</c> against the Spark
/// Connect stand-in (an in-process gRPC server that runs each plan on DuckDB over the lake's objects on s3rver — no
/// Spark runs here). For each model, the time the "cluster" was busy (reading the inputs' files, running the SQL on
/// DuckDB, writing the result) against the model's whole stage in Caudal; the difference is Caudal's: binding the
/// inputs, the plans and their round trips, listing what was written, reading footers, committing. Needs s3rver
/// (CAUDAL_S3RVER, as scripts/test.sh installs it). Medians of <paramref name="rounds"/> models-only runs.
/// </summary>
internal static class SparkModelsBench
{
    public static async Task RunAsync(string work, double scale, int rounds)
    {
        var folder = Path.Combine(work, "spark-models");
        if (Directory.Exists(folder)) Directory.Delete(folder, recursive: true);
        CopyQuickstart(folder);
        SakilaGenerator.Generate(Path.Combine(folder, "data", "sakila.db"), scale);
        var cache = Path.Combine(work, "spark-models-cache");
        if (Directory.Exists(cache)) Directory.Delete(cache, recursive: true);

        var s3 = S3Server.Instance;
        using var backend = new SparkDuckDbBackend(s3.NewStore(""), S3Server.Bucket, cache);
        await using var spark = new SparkStandIn { Answer = backend.Execute };
        await spark.StartAsync();
        var prefix = "bench-" + Guid.NewGuid().ToString("N")[..8];
        var spec = File.ReadAllText(Path.Combine(folder, "caudal.yaml"))
            .Replace("lake: ./lake", $"lake:\n  location: s3://{S3Server.Bucket}/{prefix}\n  endpoint: {s3.Endpoint}\n  region: us-east-1\n  path_style: true", StringComparison.Ordinal)
            .Replace("\nrun:\n", "\nrun:\n  engine: spark\n", StringComparison.Ordinal);
        File.WriteAllText(Path.Combine(folder, "caudal.yaml"), spec + $"\nspark:\n  remote: \"{spark.Address}/;use_ssl=false\"\n");
        var loaded = SpecLoader.Load(Path.Combine(folder, "caudal.yaml"));
        var setup = await new PipelineRunner(loaded).RunAsync();
        if (setup.Status != RunStatus.Succeeded) throw new InvalidOperationException(setup.Error);
        Console.WriteLine($"spark-models: the quickstart (Sakila scale {scale}) on an s3rver lake, models on the Spark Connect stand-in at {spark.Address}");

        var perModel = new Dictionary<string, (List<double> Stage, List<double> Cluster)>();
        for (var round = 0; round < rounds; round++)
        {
            var observer = new ClusterTime(backend);
            var run = await new PipelineRunner(loaded, observer, new RunOptions { Capture = false }).RunAsync();
            if (run.Status != RunStatus.Succeeded) throw new InvalidOperationException(run.Error);
            foreach (var model in loaded.Models.Where(m => !m.EmbeddedOnly))
            {
                var stage = run.Stages.Single(s => s.Table == model.Output.ToString());
                if (!perModel.TryGetValue(stage.Table, out var lists)) perModel[stage.Table] = lists = ([], []);
                lists.Stage.Add(stage.Seconds);
                lists.Cluster.Add(observer.Cluster[stage.Table]);
            }
        }
        foreach (var (table, (stage, cluster)) in perModel)
        {
            var (s, c) = (Rounds.Median(stage), Rounds.Median(cluster));
            Console.WriteLine($"spark-models: {table,-40} stage {s * 1000,6:F0} ms, stand-in busy {c * 1000,6:F0} ms, Caudal's own {(s - c) * 1000,5:F0} ms");
        }
        double total = perModel.Values.Sum(v => Rounds.Median(v.Stage)), busy = perModel.Values.Sum(v => Rounds.Median(v.Cluster));
        Console.WriteLine($"spark-models: {perModel.Count} models: stages {total:F2}s, stand-in busy {busy:F2}s -> {total / busy:F2}x; Caudal's own " +
                          $"{(total - busy) / perModel.Count * 1000:F0} ms per model (medians of {rounds})");
    }

    private static void CopyQuickstart(string folder)
    {
        var root = AppContext.BaseDirectory;
        while (!File.Exists(Path.Combine(root, "Caudal.sln"))) root = Path.GetDirectoryName(root)!;
        var source = Path.Combine(root, "examples", "quickstart");
        foreach (var file in Directory.EnumerateFiles(source, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(source, file);
            if (relative.StartsWith("lake", StringComparison.Ordinal) || relative.StartsWith(".caudal", StringComparison.Ordinal) || relative.EndsWith(".db", StringComparison.Ordinal)) continue;
            Directory.CreateDirectory(Path.GetDirectoryName(Path.Combine(folder, relative))!);
            File.Copy(file, Path.Combine(folder, relative));
        }
    }

    /// <summary>How long the stand-in was busy during each model's stage.</summary>
    private sealed class ClusterTime(SparkDuckDbBackend backend) : IRunObserver
    {
        private readonly Dictionary<StageRecord, TimeSpan> _started = [];
        public Dictionary<string, double> Cluster { get; } = [];

        public void StageStarted(StageRecord stage)
        {
            if (stage.Stage == "model") _started[stage] = backend.Busy;
        }

        public void StageFinished(StageRecord stage)
        {
            if (_started.Remove(stage, out var at)) Cluster[stage.Table] = (backend.Busy - at).TotalSeconds;
        }
    }
}
