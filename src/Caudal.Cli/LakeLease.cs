using Caudal.Runs;
using Caudal.Spec;

namespace Caudal.Cli;

/// <summary>The lease a command takes before it runs the pipeline (one runner at a time, like the scheduler).</summary>
internal static class LakeLease
{
    /// <summary>The lease, or null after printing who holds it (and the command should stop) — unless
    /// <paramref name="force"/>, which runs anyway with a warning (returns a null lease and true).</summary>
    public static async Task<(RunLease? Lease, bool Proceed)> TakeAsync(PipelineSpec spec, string purpose, bool force, CancellationToken ct)
    {
        var store = Caudal.Lake.DataLake.Open(spec.Lake).Store;
        var (lease, heldBy) = await RunLease.TryAcquireAsync(store, purpose, spec.Schedule?.LeaseTtl ?? TimeSpan.FromMinutes(2), ct: ct);
        if (lease != null) return (lease, true);
        if (!force)
        {
            Console.Error.WriteLine($"caudal: pipeline '{spec.Name}' is being run: {heldBy}. Wait for it, or pass --force to run anyway.");
            return (null, false);
        }
        Console.Error.WriteLine($"caudal: warning: running with --force while the lease is held: {heldBy}. Runs may overlap.");
        return (null, true);
    }
}
