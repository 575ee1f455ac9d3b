using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

public sealed class ValidateCommand : Command<SpecSettings>
{
    public override int Execute(CommandContext context, SpecSettings settings, CancellationToken ct)
    {
        var spec = settings.Load();
        Console.WriteLine($"{settings.Spec}: ok ({spec.Sources.Count} sources, {spec.Models.Count} models, lake {spec.Lake.Uri})");
        return ExitCodes.Ok;
    }
}
