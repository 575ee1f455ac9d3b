using Caudal.Lake;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Pipeline;

/// <summary>
/// The lake's S3 server stops in the middle of a real `caudal run` (during a capture, during the models, during the
/// charts): the run fails with an error that names the lake, commits nothing half-way, and once the server is back a
/// rerun converges to exactly the source's data.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class LakeOutageTests : IDisposable
{
    private readonly S3Server _s3 = S3Server.StartPrivate();
    private readonly TempDir _dir = new("outage");
    private readonly string _prefix = "outage-" + Guid.NewGuid().ToString("N")[..8];

    [Theory]
    [InlineData("capture:raw.sakila_rental:before-commit")]
    [InlineData("model:trusted.rentals:before-commit")]
    [InlineData("chart:stats_by_country:before-write")]
    public async Task The_lake_going_away_mid_run_fails_clearly_and_the_rerun_converges(string point)
    {
        using var qs = new Quickstart(0.05, $"lake:\n  location: s3://{S3Server.Bucket}/{_prefix}\n  endpoint: {_s3.Endpoint}\n  region: us-east-1\n  path_style: true");
        var env = new Dictionary<string, string> { ["AWS_ACCESS_KEY_ID"] = "S3RVER", ["AWS_SECRET_ACCESS_KEY"] = "S3RVER" };
        var first = await CliProcess.RunAsync(qs.Folder, env, "run");
        Assert.True(first.ExitCode == 0, first.Stderr);

        var resume = _dir.File("resume-" + Guid.NewGuid().ToString("N")[..6]);
        using (var paused = await CliProcess.StartPausedAsync(qs.Folder, point, new Dictionary<string, string>(env) { ["CAUDAL_RESUME_FILE"] = resume }, "run"))
        {
            _s3.Stop();
            await File.WriteAllTextAsync(resume, "go");
            var exit = await paused.WaitForExitCodeAsync(TimeSpan.FromMinutes(3));
            var output = paused.Output;
            Assert.True(exit == 1, $"exit {exit}\n{output}");
            Assert.True(output.Contains($"the lake at s3://{S3Server.Bucket}/{_prefix}/ is unreachable", StringComparison.Ordinal), output);
            Assert.DoesNotContain("   at ", output); // a message, not a stack trace
        }
        _s3.Start();

        var spec = SpecLoader.Load(qs.SpecPath);
        await AssertNothingHalfCommittedAsync(qs, spec);
        var rerun = await CliProcess.RunAsync(qs.Folder, env, "run");
        Assert.True(rerun.ExitCode == 0, rerun.Stdout + rerun.Stderr);
        await AssertNothingHalfCommittedAsync(qs, spec);
        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        Assert.Equal(qs.Counts["rental"].ToString(), session.Query("SELECT count(*) FROM trusted.rentals").Rows[0][0]);
        var lake = DataLake.Open(spec.Lake);
        Assert.Equal(RunStatus.Succeeded, (await new RunStore(lake.Store).ListAsync()).MaxBy(r => r.StartedAt)!.Status);
    }

    /// <summary>Every raw batch whole (one full copy of the source per run id), trusted equal to the source.</summary>
    private static async Task AssertNothingHalfCommittedAsync(Quickstart qs, PipelineSpec spec)
    {
        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        foreach (var (table, rows) in qs.Counts)
            Assert.All(session.Query($"SELECT _caudal_run_id, count(*) FROM raw.sakila_{table} GROUP BY ALL").Rows, b => Assert.Equal(rows.ToString(), b[1]));
        var rentals = session.Query("SELECT count(*), count(DISTINCT rental_id) FROM trusted.rentals").Rows[0];
        Assert.Equal($"{qs.Counts["rental"]}|{qs.Counts["rental"]}", LakeReader.Flat(rentals));
    }

    public void Dispose()
    {
        _s3.Dispose();
        _dir.Dispose();
    }
}
