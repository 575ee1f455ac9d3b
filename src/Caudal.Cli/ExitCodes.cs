namespace Caudal.Cli;

/// <summary>0: success; 1: the run (or command) failed; 2: the spec or the command line is invalid; 130: interrupted.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int InvalidSpec = 2;

    /// <summary>Stopped by Ctrl-C or SIGTERM (after cancelling the run): 128 + SIGINT, as shells report it.</summary>
    public const int Interrupted = 130;
}
