using System.ComponentModel;
using Caudal.Processing.Engine;
using Caudal.Processing.Spark;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

public sealed class ValidateCommand : Command<ValidateCommand.Settings>
{
    public sealed class Settings : SpecSettings
    {
        [CommandOption("--engine <ENGINE>")]
        [Description("spark: also check every SQL model against the SQL DuckDB and Spark read alike (models on Spark are always checked).")]
        public string? Engine { get; init; }

        public override Spectre.Console.ValidationResult Validate() =>
            Engine is null || EngineKinds.TryParse(Engine, out _)
                ? Spectre.Console.ValidationResult.Success()
                : Spectre.Console.ValidationResult.Error($"--engine must be {string.Join(" or ", EngineKinds.Names)}, not '{Engine}'.");

        public bool AllOnSpark => EngineKinds.TryParse(Engine, out var kind) && kind == EngineKind.Spark;
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken ct)
    {
        var spec = settings.Load();
        var problems = PortableSql.Check(spec, all: settings.AllOnSpark);
        foreach (var problem in problems) Console.Error.WriteLine(problem);
        if (problems.Count > 0)
        {
            Console.Error.WriteLine($"caudal: {problems.Count} place(s) in the models would not read the same on Spark.");
            return ExitCodes.InvalidSpec;
        }
        Console.WriteLine($"{settings.Spec}: ok ({spec.Sources.Count} sources, {spec.Models.Count} models, lake {spec.Lake.Uri}" +
                          $"{(settings.AllOnSpark || spec.Models.Any(m => (m.Engine ?? spec.Run.Engine) == EngineKind.Spark) ? "; SQL portable to Spark" : "")})");
        return ExitCodes.Ok;
    }
}
