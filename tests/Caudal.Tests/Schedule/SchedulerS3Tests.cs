using System.Diagnostics;
using Caudal.Lake;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Schedule;

/// <summary>
/// `caudal schedule` on an S3 lake (s3rver). s3rver ignores conditional writes, so two schedulers in two processes
/// could both believe they hold the lease there (docs/architecture.md says so); what is tested is what S3 without
/// conditional writes still guarantees: a lease holder SIGKILLed mid-run is taken over by the next scheduler, the
/// killed run commits nothing partial, and the lake converges.
/// </summary>
[Collection(SerialCollection.Name)]
public sealed class SchedulerS3Tests : IDisposable
{
    private readonly Quickstart _qs;
    private readonly List<Process> _processes = [];

    public SchedulerS3Tests()
    {
        var s3 = S3Server.Instance;
        var prefix = "schedule-" + Guid.NewGuid().ToString("N")[..8];
        _qs = new Quickstart(0.05, $"lake:\n  location: s3://{S3Server.Bucket}/{prefix}\n  endpoint: {s3.Endpoint}\n  region: us-east-1\n  path_style: true");
        File.AppendAllText(_qs.SpecPath, "\nschedule:\n  cron: \"*/5 * * * * *\"\n  catch_up: latest\n  lease_ttl: 6s\n");
    }

    private Process Start()
    {
        var process = Process.Start(CliProcess.StartInfo(_qs.Folder, null, "schedule"))!;
        process.OutputDataReceived += (_, _) => { };
        process.ErrorDataReceived += (_, _) => { };
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        _processes.Add(process);
        return process;
    }

    private async Task<List<RunRecord>> RunsAsync() =>
        [.. await new RunStore(DataLake.Open(SpecLoader.Load(_qs.SpecPath).Lake).Store).ListAsync(1000)];

    [Fact]
    public async Task A_killed_lease_holder_on_s3_is_taken_over_and_the_lake_converges()
    {
        var store = DataLake.Open(SpecLoader.Load(_qs.SpecPath).Lake).Store;
        var first = Start();
        await Eventually.WaitUntilAsync(async () => await RunLease.HolderAsync(store) != null && (await RunsAsync()).Any(r => r.Status == RunStatus.Running),
            TimeSpan.FromMinutes(1), "a run holding the lease");
        first.Kill(entireProcessTree: true); // SIGKILL mid-run: no release
        var killedAt = DateTimeOffset.UtcNow;
        await first.WaitForExitAsync();
        Assert.NotNull(await RunLease.HolderAsync(store)); // the dead holder's lease is still there

        var second = Start();
        await Eventually.WaitUntilAsync(async () => (await RunsAsync()).Any(r => r.StartedAt > killedAt && r.Status == RunStatus.Succeeded && r.Host!.Contains($":{second.Id}@", StringComparison.Ordinal)),
            TimeSpan.FromMinutes(2), "the second scheduler to take over and run");
        using (var term = Process.Start("kill", ["-TERM", second.Id.ToString()])!) await term.WaitForExitAsync();
        await second.WaitForExitAsync(new CancellationTokenSource(TimeSpan.FromSeconds(90)).Token);
        Assert.Equal(0, second.ExitCode);

        var spec = SpecLoader.Load(_qs.SpecPath);
        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        foreach (var (table, rows) in _qs.Counts)
            Assert.All(session.Query($"SELECT count(*) FROM raw.sakila_{table} GROUP BY _caudal_run_id").Rows, r => Assert.Equal(rows.ToString(), r[0]));
        Assert.Equal($"{_qs.Counts["rental"]}|{_qs.Counts["rental"]}", LakeReader.Flat(session.Query("SELECT count(*), count(DISTINCT rental_id) FROM trusted.rentals").Rows[0]));
        Assert.Null(await RunLease.HolderAsync(store)); // released on SIGTERM
    }

    public void Dispose()
    {
        foreach (var p in _processes.Where(p => !p.HasExited)) p.Kill(entireProcessTree: true);
        _qs.Dispose();
    }
}
