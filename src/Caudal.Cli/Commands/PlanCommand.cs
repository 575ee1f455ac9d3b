using Caudal.Pipeline;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

public sealed class PlanCommand : AsyncCommand<SpecSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, SpecSettings settings, CancellationToken ct)
    {
        var plan = await PipelinePlan.BuildAsync(settings.Load(), ct);
        Console.Write(plan.Render());
        return ExitCodes.Ok;
    }
}
