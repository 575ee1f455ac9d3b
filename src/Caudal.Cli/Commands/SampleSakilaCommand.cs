using System.ComponentModel;
using System.Diagnostics;
using System.Globalization;
using Caudal.Sample;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

public sealed class SampleSakilaCommand : Command<SampleSakilaCommand.Settings>
{
    public sealed class Settings : CommandSettings
    {
        [CommandOption("--scale <N>")]
        [Description("1 = the official Sakila row counts (16,044 rentals); 100 = about 1.6M rentals.")]
        public double Scale { get; init; } = 1;

        [CommandOption("-o|--out <FILE>")]
        [Description("The SQLite file to write (replaced if it exists).")]
        public string Out { get; init; } = "sakila.db";

        [CommandOption("--seed <N>")]
        [Description("Random seed; the same seed and scale give the same data.")]
        public int Seed { get; init; } = 20060215;

        public override Spectre.Console.ValidationResult Validate() => Scale > 0 && Scale <= 10_000
            ? Spectre.Console.ValidationResult.Success()
            : Spectre.Console.ValidationResult.Error("--scale must be greater than 0 and at most 10000.");
    }

    public override int Execute(CommandContext context, Settings settings, CancellationToken ct)
    {
        var clock = Stopwatch.StartNew();
        var counts = SakilaGenerator.Generate(settings.Out, settings.Scale, settings.Seed);
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"wrote {settings.Out}: {counts.Total:N0} rows in {counts.Rows.Count} tables (rental {counts.Rows["rental"]:N0}) in {clock.Elapsed.TotalSeconds:F1}s"));
        return ExitCodes.Ok;
    }
}
