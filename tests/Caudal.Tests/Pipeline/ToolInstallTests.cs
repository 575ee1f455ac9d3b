using System.Diagnostics;
using Caudal.Tests.Support;

namespace Caudal.Tests.Pipeline;

/// <summary>The CLI as a .NET tool: packed, installed from a local folder into a tool path, and run the way a user runs
/// it after <c>dotnet tool install</c>: by its command name, from the spec's folder.</summary>
public sealed class ToolInstallTests : IDisposable
{
    private readonly TempDir _dir = new("tool");

    private static async Task<(int Exit, string Output)> RunAsync(string file, string workingDirectory, params string[] args)
    {
        var start = new ProcessStartInfo(file, args)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        return (process.ExitCode, await stdout + await stderr);
    }

    [Fact]
    public async Task The_cli_packs_as_a_dotnet_tool_that_installs_and_runs_the_quickstart()
    {
        var packages = _dir.File("packages");
        var project = Path.Combine(Quickstart.RepoRoot, "src", "Caudal.Cli", "Caudal.Cli.csproj");
        var pack = await RunAsync("dotnet", Quickstart.RepoRoot, "pack", project, "-c", "Release", "-o", packages, "--nologo", "-v", "q");
        Assert.True(pack.Exit == 0, pack.Output);
        var package = Assert.Single(Directory.GetFiles(packages, "*.nupkg"));
        Assert.Matches(@"Caudal\.Cli\.\d+\.\d+\.\d+\.nupkg$", package);

        // Only the local folder as a source: the install must not need anything from a registry.
        File.WriteAllText(_dir.File("nuget.config"), $"""
            <?xml version="1.0" encoding="utf-8"?>
            <configuration>
              <packageSources>
                <clear />
                <add key="local" value="{packages}" />
              </packageSources>
            </configuration>
            """);
        var tools = _dir.File("tools");
        var install = await RunAsync("dotnet", _dir.Path, "tool", "install", "Caudal.Cli", "--tool-path", tools, "--configfile", _dir.File("nuget.config"));
        Assert.True(install.Exit == 0, install.Output);
        Assert.Contains("caudal", install.Output);
        var caudal = Path.Combine(tools, "caudal");
        Assert.True(File.Exists(caudal), "the tool's command is named caudal");

        var version = await RunAsync(caudal, _dir.Path, "--version");
        Assert.Equal(0, version.Exit);
        Assert.Equal(typeof(Caudal.Spec.PipelineSpec).Assembly.GetName().Version!.ToString(3), version.Output.Trim());

        using var qs = new Quickstart(scale: 0.05);
        var validate = await RunAsync(caudal, qs.Folder, "validate");
        Assert.True(validate.Exit == 0, validate.Output);
        Assert.Contains("caudal.yaml: ok (3 sources, 23 models", validate.Output);
        var run = await RunAsync(caudal, qs.Folder, "run");
        Assert.True(run.Exit == 0, run.Output); // native libraries (DuckDB, SQLite, Skia) travel in the package
        Assert.Contains("succeeded", run.Output);
    }

    public void Dispose() => _dir.Dispose();
}
