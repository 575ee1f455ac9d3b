using System.ComponentModel;
using Caudal.Spec;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

/// <summary>Options shared by every command that reads a spec.</summary>
public class SpecSettings : CommandSettings
{
    [CommandOption("-s|--spec <FILE>")]
    [Description("The pipeline spec (default: caudal.yaml in the current folder).")]
    public string Spec { get; init; } = "caudal.yaml";

    public PipelineSpec Load() => SpecLoader.Load(Spec);

    /// <summary>The spec for a command that only reads the lake: sources' secrets and files are not needed.</summary>
    public PipelineSpec LoadForReading() => SpecLoader.Load(Spec, use: SpecUse.ReadLake);
}
