using Caudal.Pipeline;
using Caudal.Processing;
using Caudal.Runs;
using Caudal.Spec;

namespace Caudal.Tests.Support;

/// <summary>A spec in a temp folder with one source, run through the library.</summary>
public sealed class PipelineHarness : IDisposable
{
    private readonly TempDir _dir = new("pipeline");
    private readonly Dictionary<string, string?> _env = [];

    public PipelineHarness(string sourceYaml, string extra = "")
    {
        Yaml = $"version: 1\nlake: ./lake\nsources:\n{sourceYaml}\n{extra}";
    }

    public string Yaml { get; set; }
    public string Folder => _dir.Path;

    public PipelineHarness WithEnv(string name, string value)
    {
        _env[name] = value;
        return this;
    }

    public PipelineSpec Spec => SpecLoader.Parse(Yaml, "caudal.yaml", _dir.Path, _env);

    public Task<RunRecord> RunAsync(CancellationToken ct = default) => new PipelineRunner(Spec).RunAsync(ct);

    public async Task<List<string?[]>> QueryAsync(string sql)
    {
        using var session = await QuerySession.OpenAsync(Spec);
        return session.Query(sql).Rows.ToList();
    }

    public void Dispose() => _dir.Dispose();
}
