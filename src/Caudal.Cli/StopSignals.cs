using System.Runtime.InteropServices;

namespace Caudal.Cli;

/// <summary>
/// Ctrl-C (SIGINT) and SIGTERM for a command that runs the pipeline: the first cancels what is in flight (its stage
/// abandoned before its commit, Spark operations interrupted, the run recorded as cancelled, the lease released); a
/// second ends the process at once.
/// </summary>
internal sealed class StopSignals : IDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly PosixSignalRegistration[] _registrations;
    private int _count;

    public StopSignals()
    {
        _registrations = [PosixSignalRegistration.Create(PosixSignal.SIGINT, Handle), PosixSignalRegistration.Create(PosixSignal.SIGTERM, Handle)];
    }

    public CancellationToken Token => _stop.Token;

    /// <summary>The signal that cancelled the run, for its record.</summary>
    public string Reason { get; private set; } = "cancelled";

    private void Handle(PosixSignalContext context)
    {
        if (Interlocked.Increment(ref _count) > 1)
        {
            context.Cancel = false; // the default: end now
            return;
        }
        context.Cancel = true;
        var name = context.Signal == PosixSignal.SIGINT ? "Ctrl-C (SIGINT)" : "SIGTERM";
        Reason = $"cancelled: {name}";
        Console.Error.WriteLine($"caudal: {name}: cancelling the run before its next commit (again to exit at once)...");
        _stop.Cancel();
    }

    public void Dispose()
    {
        foreach (var r in _registrations) r.Dispose();
        _stop.Dispose();
    }
}
