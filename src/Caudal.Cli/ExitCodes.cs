namespace Caudal.Cli;

/// <summary>0: success; 1: the run (or command) failed; 2: the spec or the command line is invalid.</summary>
internal static class ExitCodes
{
    public const int Ok = 0;
    public const int Failed = 1;
    public const int InvalidSpec = 2;
}
