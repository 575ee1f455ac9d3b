using System.Globalization;
using System.Text;
using Caudal.Runs;
using Caudal.Tests.Support;

namespace Caudal.Tests.Models;

/// <summary>The ML step: a time split, the naive baseline on the same held-out rows, forecasts, and identical reruns.</summary>
public sealed class ForecastTests : IDisposable
{
    private readonly ShippedModels _models = new();

    private PipelineHarness Harness(string csv, int holdout = 2, int horizon = 3)
    {
        File.WriteAllText(Path.Combine(_models.Folder, "forecast.sql"), "SELECT indicator, country, year, value FROM raw.series_rows WHERE _caudal_ingested_at = (SELECT max(_caudal_ingested_at) FROM raw.series_rows)");
        return _models.Table("series", csv, columns: "value: DOUBLE")
            .Model("refined.forecast", Path.Combine(_models.Folder, "forecast.sql"), $"""
                    ml:
                      target: value
                      entity: country
                      time: year
                      series: [indicator]
                      holdout_years: {holdout}
                      horizon: {horizon}
                      seed: 7

                """).Harness();
    }

    /// <summary>Five countries rising by 2 a year from different levels (2000-2010), and a flat series "short" of 3 years.</summary>
    private static string Trends()
    {
        var csv = new StringBuilder("indicator,country,year,value\n");
        for (var c = 0; c < 5; c++)
            for (var year = 2000; year <= 2010; year++)
                csv.Append(CultureInfo.InvariantCulture, $"rising,C{c},{year},{10 * c + 2 * (year - 2000)}\n");
        for (var year = 2000; year <= 2002; year++) csv.Append(CultureInfo.InvariantCulture, $"short,C0,{year},1\n");
        return csv.ToString();
    }

    [Fact]
    public async Task Metrics_compare_the_model_with_the_last_value_baseline_on_the_held_out_years()
    {
        using var h = await ShippedModels.RunAsync(Harness(Trends()));
        var metrics = await h.QueryAsync("""
            SELECT indicator, status, train_from, train_to, holdout_from, holdout_to, test_rows, baseline_rmse, baseline_mae, model_rmse, model_mae, beats_baseline
            FROM refined.forecast_metrics ORDER BY indicator
            """);
        var rising = metrics[0];
        Assert.Equal("rising|ok|2000|2008|2009|2010|10", LakeReader.Flat(rising[..7]));
        // The baseline repeats 2008's value: 2 short in 2009 and 4 short in 2010 for every country.
        // RMSE = √((5·2² + 5·4²) / 10) = √10, MAE = (5·2 + 5·4) / 10 = 3.
        Assert.Equal(Math.Sqrt(10), double.Parse(rising[7]!, CultureInfo.InvariantCulture), 5);
        Assert.Equal(3, double.Parse(rising[8]!, CultureInfo.InvariantCulture), 5);
        // The model sees the change per year in its training pairs; it must do clearly better than standing still.
        Assert.True(double.Parse(rising[9]!, CultureInfo.InvariantCulture) < Math.Sqrt(10) / 2, $"model RMSE {rising[9]}");
        Assert.Equal("True", rising[11]);
        // Three years leave one training year after holding out two: no pair of years to learn a change from. Said, not hidden.
        Assert.StartsWith("skipped: 0 training examples", metrics[1][1]);
        Assert.Equal("NULL|NULL|NULL", LakeReader.Flat(metrics[1][9..]));

        var predictions = await h.QueryAsync("""
            SELECT kind, count(*), min(year), max(year), count(actual), min(origin_year), max(origin_year)
            FROM refined.forecast WHERE indicator = 'rising' GROUP BY kind ORDER BY kind
            """);
        // Forecasts: 3 years after 2010 from each country's 2010 value; held-out predictions from 2008, with actuals.
        Assert.Equal(["forecast|15|2011|2013|0|2010|2010", "holdout|10|2009|2010|10|2008|2008"], predictions.Select(LakeReader.Flat));
        var c4 = await h.QueryAsync("SELECT predicted FROM refined.forecast WHERE country = 'C4' AND year = 2011");
        // The trend goes on past the last value (60): the truth would be 40 + 2 · 11 = 62.
        Assert.InRange(double.Parse(c4[0][0]!, CultureInfo.InvariantCulture), 60.5, 65);
    }

    [Fact]
    public async Task Metrics_recomputed_from_the_stored_predictions_match_to_double_precision()
    {
        // Irregular values, so that single-precision rounding would show in the 7th or 8th significant digit.
        var csv = new StringBuilder("indicator,country,year,value\n");
        for (var c = 0; c < 6; c++)
            for (var year = 2000; year <= 2012; year++)
                csv.Append(CultureInfo.InvariantCulture, $"noisy,C{c},{year},{1000.123456789 * c + 3.3 * (year - 2000) + Math.Sin(c * 31 + year) * 7.77}\n");
        using var h = await ShippedModels.RunAsync(Harness(csv.ToString(), holdout: 3));
        var stored = await h.QueryAsync("SELECT actual, predicted, baseline FROM refined.forecast WHERE kind = 'holdout'");
        double Parse(string? v) => double.Parse(v!, CultureInfo.InvariantCulture);
        var pairs = stored.Select(r => (Actual: Parse(r[0]), Predicted: Parse(r[1]), Baseline: Parse(r[2]))).ToList();
        Assert.Equal(18, pairs.Count);
        double Rmse(Func<(double Actual, double Predicted, double Baseline), double> f) => Math.Sqrt(pairs.Average(p => Math.Pow(p.Actual - f(p), 2)));
        double Mae(Func<(double Actual, double Predicted, double Baseline), double> f) => pairs.Average(p => Math.Abs(p.Actual - f(p)));
        var mean = pairs.Average(p => p.Actual);
        var r2 = 1 - pairs.Sum(p => Math.Pow(p.Actual - p.Predicted, 2)) / pairs.Sum(p => Math.Pow(p.Actual - mean, 2));
        var m = (await h.QueryAsync("SELECT model_rmse, model_mae, model_r2, baseline_rmse, baseline_mae FROM refined.forecast_metrics")).Single();
        // Relative agreement to 1e-12: only the order of the additions may differ.
        void Same(double expected, string? actual) => Assert.True(Math.Abs(expected - Parse(actual)) <= 1e-12 * Math.Max(1, Math.Abs(expected)), $"{expected:R} vs {actual}");
        Same(Rmse(p => p.Predicted), m[0]);
        Same(Mae(p => p.Predicted), m[1]);
        Same(r2, m[2]);
        Same(Rmse(p => p.Baseline), m[3]);
        Same(Mae(p => p.Baseline), m[4]);
    }

    [Fact]
    public async Task A_rerun_gives_identical_numbers()
    {
        using var h = Harness(Trends());
        const string all = "SELECT * EXCLUDE (status) FROM refined.forecast_metrics ORDER BY indicator";
        const string predictions = "SELECT * FROM refined.forecast ORDER BY indicator, country, year, kind";
        await ShippedModels.RunAsync(h);
        var first = (await h.QueryAsync(all)).Concat(await h.QueryAsync(predictions)).Select(LakeReader.Flat).ToList();
        await ShippedModels.RunAsync(h);
        var second = (await h.QueryAsync(all)).Concat(await h.QueryAsync(predictions)).Select(LakeReader.Flat).ToList();
        Assert.Equal(first, second);
        Assert.Equal(2 + 25, first.Count);
    }

    [Fact]
    public async Task Two_values_for_one_country_and_year_fail_the_model_naming_them_and_publish_nothing()
    {
        using var h = Harness(Trends() + "rising,C3,2005,99\n");
        var run = await h.RunAsync();
        Assert.Equal(RunStatus.Failed, run.Status);
        var stage = run.Stages.Single(s => s.Table == "refined.forecast");
        Assert.Contains("country 'C3' has more than one value for year 2005", stage.Error);
        Assert.Contains("one row per series (indicator), country and year", stage.Error);
        Assert.Empty(await DataLakeTables(h));
    }

    private static async Task<List<string>> DataLakeTables(PipelineHarness h) =>
        (await Caudal.Lake.DataLake.Open(h.Spec.Lake).ListTablesAsync()).Select(t => t.ToString()).Where(t => t.Contains("forecast")).ToList();

    public void Dispose() => _models.Dispose();
}
