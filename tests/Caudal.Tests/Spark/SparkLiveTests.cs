using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Spark;

/// <summary>
/// Opt-in: the quickstart on a real Spark Connect server and an S3 lake it can reach, diffed against DuckDB. No Spark
/// runs on CI machines, so CI reports these skipped. Set SPARK_REMOTE (sc://…) and CAUDAL_LIVE_LAKE (an s3:// prefix
/// both this machine and the cluster can use; credentials from the standard AWS chain); docs/spark.md shows how.
/// </summary>
public sealed class SparkLiveTests
{
    [SkippableFact]
    public async Task The_quickstart_on_a_real_spark_matches_duckdb()
    {
        var remote = Environment.GetEnvironmentVariable("SPARK_REMOTE");
        var lake = Environment.GetEnvironmentVariable("CAUDAL_LIVE_LAKE");
        Skip.If(remote == null || lake == null, "skipped: no Spark endpoint (set SPARK_REMOTE=sc://… and CAUDAL_LIVE_LAKE=s3://…; CI has no Spark)");
        var prefix = $"{lake!.TrimEnd('/')}/caudal-live-{Guid.NewGuid():N}";
        using var spark = new Quickstart(0.05, $"lake: {prefix}");
        File.WriteAllText(spark.SpecPath, File.ReadAllText(spark.SpecPath).Replace("\nrun:\n", "\nrun:\n  engine: spark\n", StringComparison.Ordinal) +
                                          $"\nspark:\n  remote: \"{remote}\"\n");
        Assert.Empty(Caudal.Processing.Spark.PortableSql.Check(SpecLoader.Load(spark.SpecPath), all: true));
        var run = await new PipelineRunner(SpecLoader.Load(spark.SpecPath)).RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);

        using var local = new Quickstart(0.05);
        Assert.Equal(RunStatus.Succeeded, (await new PipelineRunner(SpecLoader.Load(local.SpecPath)).RunAsync()).Status);
        foreach (var model in SpecLoader.Load(local.SpecPath).Models.Where(m => m.Forecast == null).Select(m => m.Output.ToString()))
        {
            using var a = await Caudal.Processing.QuerySession.OpenAsync(SpecLoader.Load(local.SpecPath));
            using var b = await Caudal.Processing.QuerySession.OpenAsync(SpecLoader.Load(spark.SpecPath));
            var sql = $"SELECT count(*) FROM {model}";
            Assert.Equal(a.Query(sql).Rows[0][0], b.Query(sql).Rows[0][0]);
        }
    }
}
