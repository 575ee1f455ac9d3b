using Caudal.Pipeline;
using Caudal.Processing.Charts;
using Caudal.Runs;
using Caudal.Spec;
using Caudal.Tests.Support;
using SkiaSharp;

namespace Caudal.Tests.Models;

/// <summary>Charts: drawn with real fonts, one image per value of 'each', replaced whole by every run.</summary>
public sealed class ChartTests : IDisposable
{
    private readonly ShippedModels _models = new();

    private static ChartSpec Bar(string title) => new("t", ChartKind.Bar, "", [], new SpecPosition("caudal.yaml", 1, 1))
    {
        X = "country",
        Y = ["value"],
        Title = title,
    };

    private static ChartData Data()
    {
        var data = new ChartData(["country", "value"]);
        data.Rows.Add(["Aland", 3.0]);
        data.Rows.Add(["Bland", 7.0]);
        return data;
    }

    /// <summary>Pixels darker than mid-grey in the band where the title is drawn (top 30 px, middle half).</summary>
    private static int DarkPixelsInTitle(byte[] png)
    {
        using var bitmap = SKBitmap.Decode(png);
        var dark = 0;
        for (var y = 0; y < 30; y++)
            for (var x = bitmap.Width / 4; x < bitmap.Width * 3 / 4; x++)
            {
                var c = bitmap.GetPixel(x, y);
                if (c.Red + c.Green + c.Blue < 3 * 128) dark++;
            }
        return dark;
    }

    [Fact]
    public void The_title_is_drawn_with_a_real_font()
    {
        var titled = ChartRenderer.Render(Bar("Revenue by country, the ten highest"), Data());
        var untitled = ChartRenderer.Render(Bar(" "), Data());
        Assert.Equal([0x89, 0x50, 0x4E, 0x47], titled[..4]); // PNG
        // Without a title the band holds only the frame's edge; the glyphs of a title add hundreds of dark pixels.
        var glyphs = DarkPixelsInTitle(titled) - DarkPixelsInTitle(untitled);
        Assert.True(glyphs > 200, $"only {glyphs} more dark pixels where the title should be: are fonts installed (fontconfig, fonts-dejavu-core)?");
    }

    private PipelineHarness Harness(string chart)
    {
        File.WriteAllText(Path.Combine(_models.Folder, "sales.sql"), "SELECT * FROM raw.sales_rows WHERE _caudal_ingested_at = (SELECT max(_caudal_ingested_at) FROM raw.sales_rows)");
        var h = _models.Table("sales", "indicator,country,value\nI1,Aland,3\nI1,Bland,7\nI2,Aland,1\n")
            .Model("refined.sales", Path.Combine(_models.Folder, "sales.sql")).Harness();
        h.Yaml += "charts:\n" + chart;
        return h;
    }

    [Fact]
    public async Task Each_value_gets_its_image_and_images_of_values_gone_are_deleted()
    {
        using var h = Harness("  by_country:\n    kind: bar\n    query: SELECT * FROM refined.sales\n    each: indicator\n    x: country\n    y: value\n    title: \"{indicator} by country\"\n");
        var run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        var stage = run.Stages.Single(s => s.Table == "chart:by_country");
        Assert.Equal(["refined/_charts/by_country/i1.png", "refined/_charts/by_country/i2.png"], stage.Images);
        Assert.True(File.Exists(Path.Combine(h.Folder, "lake", "refined", "_charts", "by_country", "i2.png")));

        File.WriteAllText(Directory.GetFiles(_models.Folder, "sales.csv").Single(), "indicator,country,value\nI1,Aland,4\n");
        run = await h.RunAsync();
        Assert.True(run.Status == RunStatus.Succeeded, run.Error);
        Assert.Equal(["i1.png"], Directory.GetFiles(Path.Combine(h.Folder, "lake", "refined", "_charts", "by_country")).Select(Path.GetFileName));
    }

    [Fact]
    public async Task A_chart_naming_a_missing_column_fails_alone_and_says_which()
    {
        using var h = Harness("  broken:\n    kind: line\n    query: SELECT * FROM refined.sales\n    x: year\n    y: value\n    title: t\n");
        var run = await h.RunAsync();
        Assert.Equal(RunStatus.Failed, run.Status);
        Assert.Equal(RunStatus.Succeeded, run.Stages.Single(s => s.Table == "refined.sales").Status);
        Assert.Equal("Chart broken: its query has no column 'year' (it has: indicator, country, value, _source_file, _caudal_run_id, _caudal_ingested_at, ingest_date).",
            run.Stages.Single(s => s.Table == "chart:broken").Error);
    }

    [Fact]
    public async Task A_chart_drawing_text_as_numbers_says_which_column_to_cast()
    {
        using var h = Harness("  wrong:\n    kind: scatter\n    query: SELECT * FROM refined.sales\n    x: country\n    y: value\n    title: t\n");
        var run = await h.RunAsync();
        Assert.Equal("Chart wrong: column 'country' must hold numbers for a scatter chart (it holds e.g. 'Aland'); cast it in the query.",
            run.Stages.Single(s => s.Table == "chart:wrong").Error);
    }

    [Fact]
    public async Task A_chart_the_lake_cannot_store_fails_alone_and_the_others_and_the_tables_stay()
    {
        using var h = Harness(
            "  blocked:\n    kind: bar\n    query: SELECT * FROM refined.sales\n    x: country\n    y: value\n    title: t\n" +
            "  fine:\n    kind: bar\n    query: SELECT * FROM refined.sales\n    x: country\n    y: value\n    title: t\n");
        Directory.CreateDirectory(Path.Combine(h.Folder, "lake", "refined", "_charts"));
        File.WriteAllText(Path.Combine(h.Folder, "lake", "refined", "_charts", "blocked"), "a file where the chart's folder goes");

        var run = await h.RunAsync();

        Assert.Equal(RunStatus.Failed, run.Status);
        var blocked = run.Stages.Single(s => s.Table == "chart:blocked");
        Assert.Equal(RunStatus.Failed, blocked.Status);
        Assert.StartsWith("Chart blocked: cannot store refined/_charts/blocked/", blocked.Error);
        Assert.Equal(RunStatus.Succeeded, run.Stages.Single(s => s.Table == "chart:fine").Status);
        Assert.Equal(RunStatus.Succeeded, run.Stages.Single(s => s.Table == "refined.sales").Status);
        Assert.Equal("3", (await h.QueryAsync("SELECT count(*) FROM refined.sales"))[0][0]);
        var recorded = await new RunStore(Caudal.Lake.DataLake.Open(h.Spec.Lake).Store).ListAsync();
        Assert.Equal(RunStatus.Failed, recorded.Single().Status); // the run's record says how it ended
    }

    [Fact]
    public void Chart_settings_are_validated_with_their_place_in_the_spec()
    {
        using var h = Harness("  wrong:\n    kind: pie\n    query: SELECT * FROM refined.salez\n    x: country\n    y: [a, b]\n");
        var e = Assert.Throws<SpecException>(() => h.Spec);
        var messages = e.Errors.Select(x => $"{x.Position.Line}: {x.Message}").ToList();
        Assert.Contains(messages, m => m.EndsWith("Unknown chart kind 'pie' in chart 'wrong'.") && m.StartsWith(h.Yaml.Split('\n').ToList().FindIndex(l => l.Contains("kind: pie")) + 1 + ":"));
        Assert.Contains(messages, m => m.Contains("Chart 'wrong' reads refined.salez, which no model produces."));
        Assert.Contains(messages, m => m.Contains("Missing key 'title'"));
    }

    public void Dispose() => _models.Dispose();
}
