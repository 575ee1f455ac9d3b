using Caudal.Sample;

namespace Caudal.Tests.Support;

/// <summary>A copy of examples/quickstart in a temp folder, with a generated Sakila database of the given scale.</summary>
public sealed class Quickstart : IDisposable
{
    private readonly TempDir _dir = new("quickstart");

    public Quickstart(double scale = 0.1, string? lake = null)
    {
        var example = Path.Combine(RepoRoot, "examples", "quickstart");
        foreach (var file in Directory.EnumerateFiles(example, "*", SearchOption.AllDirectories))
        {
            var relative = Path.GetRelativePath(example, file);
            if (relative.StartsWith("lake") || relative.StartsWith("data") || relative.StartsWith(".caudal")) continue;
            var target = _dir.File(relative);
            Directory.CreateDirectory(Path.GetDirectoryName(target)!);
            File.Copy(file, target);
        }
        Counts = SakilaGenerator.Generate(_dir.File("data/sakila.db"), scale).Rows;
        if (lake != null)
        {
            var spec = File.ReadAllText(SpecPath).Replace("lake: ./lake", lake);
            File.WriteAllText(SpecPath, spec);
        }
    }

    public static string RepoRoot
    {
        get
        {
            var dir = new DirectoryInfo(AppContext.BaseDirectory);
            while (dir != null && !File.Exists(Path.Combine(dir.FullName, "Caudal.sln"))) dir = dir.Parent;
            return dir?.FullName ?? throw new InvalidOperationException("Caudal.sln not found above the test folder.");
        }
    }

    /// <summary>The workplace's shared test data (<c>../shared/data</c> beside the checkout, or CAUDAL_SHARED_DIR/data).</summary>
    public static string SharedData =>
        Path.Combine(Environment.GetEnvironmentVariable("CAUDAL_SHARED_DIR") ?? Path.Combine(RepoRoot, "..", "shared"), "data");

    public IReadOnlyDictionary<string, long> Counts { get; }
    public string Folder => _dir.Path;
    public string SpecPath => _dir.File("caudal.yaml");
    public string LakePath => _dir.File("lake");

    public void Dispose() => _dir.Dispose();
}
