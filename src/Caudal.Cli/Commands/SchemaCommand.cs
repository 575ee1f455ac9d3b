using Caudal.Spec;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

public sealed class SchemaCommand : Command
{
    public override int Execute(CommandContext context, CancellationToken ct)
    {
        Console.WriteLine(SpecSchema.Json);
        return ExitCodes.Ok;
    }
}
