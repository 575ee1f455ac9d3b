using Caudal.Pipeline;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;

namespace Caudal.Tests.Pipeline;

/// <summary>The shipped examples stay valid, and the live World Bank example runs end to end against a local Data360.</summary>
public sealed class ExampleSpecTests : IDisposable
{
    private readonly TempDir _dir = new("examples");

    public static TheoryData<string> Examples() => [.. Directory.GetDirectories(Path.Combine(Quickstart.RepoRoot, "examples")).Select(d => Path.GetFileName(d)).Order()];

    [Theory]
    [MemberData(nameof(Examples))]
    public void Every_example_spec_validates(string example)
    {
        var spec = SpecLoader.Load(Path.Combine(Quickstart.RepoRoot, "examples", example, "caudal.yaml"));
        Assert.NotEmpty(spec.Models);
    }

    [Fact]
    public async Task The_world_bank_example_runs_from_capture_to_charts_against_a_local_data360()
    {
        await using var api = new FakeData360(records: 40 * 30); // 30 countries × 40 years per indicator
        var folder = Path.Combine(Quickstart.RepoRoot, "examples", "worldbank");
        var yaml = File.ReadAllText(Path.Combine(folder, "caudal.yaml"))
            .Replace("base_url: https://data360api.worldbank.org", $"base_url: {api.BaseUrl}")
            .Replace("lake: ./lake", $"lake: {_dir.File("lake")}");
        var spec = SpecLoader.Parse(yaml, Path.Combine(folder, "caudal.yaml"), folder);
        var run = await new PipelineRunner(spec).RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);

        using var session = await Caudal.Processing.QuerySession.OpenAsync(spec);
        Assert.Equal("3|3", LakeReader.Flat(session.Query(
            "SELECT count(DISTINCT indicator), count(DISTINCT indicator) FILTER (status = 'ok') FROM refined.wb_forecast_metrics").Rows[0]));
        Assert.Equal("6", session.Query("SELECT count(*) FROM trusted.indicators").Rows[0][0]); // 2 per database from the metadata
        Assert.Equal(9, run.Stages.Where(s => s.Stage == "chart").Sum(s => s.Images.Count)); // 3 charts × 3 indicators
    }

    public void Dispose() => _dir.Dispose();
}
