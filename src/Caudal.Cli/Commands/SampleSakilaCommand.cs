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

        [CommandOption("--target <URL>")]
        [Description("Load into a server instead: mysql://user:pass@host:3306/db or postgres://user:pass@host:5432/db (bulk loading).")]
        public string? Target { get; init; }

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
        var file = settings.Target == null ? settings.Out : Path.Combine(Path.GetTempPath(), $"caudal-sakila-{Guid.NewGuid():N}.db");
        try
        {
            var counts = SakilaGenerator.Generate(file, settings.Scale, settings.Seed);
            if (settings.Target == null)
            {
                Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                    $"wrote {settings.Out}: {counts.Total:N0} rows in {counts.Rows.Count} tables (rental {counts.Rows["rental"]:N0}) in {clock.Elapsed.TotalSeconds:F1}s"));
                return ExitCodes.Ok;
            }
            var where = new Uri(settings.Target);
            Dictionary<string, long> loaded;
            try
            {
                loaded = SakilaLoader.LoadAsync(file, settings.Target, ct).GetAwaiter().GetResult();
            }
            catch (Exception e) when (e is not (OperationCanceledException or OutOfMemoryException))
            {
                // Drivers' messages often leave out where they tried to connect.
                throw new InvalidOperationException($"cannot load into {where.Scheme}://{where.Host}:{where.Port}{where.AbsolutePath}: {e.Message}", e);
            }
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"loaded {loaded.Values.Sum():N0} rows in {loaded.Count} tables (rental {loaded["rental"]:N0}) into {where.Scheme}://{where.Host}:{where.Port}{where.AbsolutePath} in {clock.Elapsed.TotalSeconds:F1}s"));
            return ExitCodes.Ok;
        }
        finally
        {
            if (settings.Target != null) File.Delete(file);
        }
    }
}
