using Microsoft.ML;
using Microsoft.ML.Data;
using Microsoft.ML.Trainers;

namespace Caudal.Processing.Ml;

/// <summary>
/// Trains and evaluates one series' regression with ML.NET. The model predicts the change of the value since the
/// entity's last observation, from the entity (one-hot), the target year, the gap in years and the last value: a
/// direct multi-year forecast whose special case "no change" is exactly the naive baseline it is measured against.
/// Evaluation holds out the series' latest years (a time split: nothing from them is seen in training); forecasts
/// come from a second fit on every year. A series that never went below zero (a share, a count) is never predicted
/// below zero. SDCA on one thread with a seeded context, so reruns give identical numbers.
/// </summary>
public sealed class SeriesForecaster(ForecastSpec spec)
{
    public const string Trainer = "ML.NET SDCA regression of the change since the last value ~ entity + year + gap + last value";
    private const int MinimumExamples = 10;

    public (SeriesMetrics Metrics, List<Prediction> Predictions) Run(IReadOnlyList<SeriesPoint> points)
    {
        var years = points.Select(p => p.Year).Distinct().Order().ToList();
        if (years.Count <= spec.HoldoutYears)
            return (new SeriesMetrics($"skipped: {years.Count} distinct years, the holdout alone needs {spec.HoldoutYears} and training at least one more"), []);
        var cutoff = years[^(spec.HoldoutYears + 1)];
        var byEntity = points.GroupBy(p => p.Entity, StringComparer.Ordinal)
            .ToDictionary(g => g.Key, g => g.OrderBy(p => p.Year).ToList(), StringComparer.Ordinal);
        var train = byEntity.Where(e => e.Value[0].Year <= cutoff)
            .ToDictionary(e => e.Key, e => e.Value.Where(p => p.Year <= cutoff).ToList(), StringComparer.Ordinal);
        var scale = Scale(train.Values.SelectMany(v => v));
        var trainExamples = Examples(train, scale);
        var tests = byEntity.Where(e => train.ContainsKey(e.Key))
            .SelectMany(e => e.Value.Where(p => p.Year > cutoff).Select(p => (Point: p, Origin: train[e.Key][^1])))
            .ToList();
        var metrics = new SeriesMetrics("ok")
        {
            TrainFrom = years[0],
            TrainTo = cutoff,
            HoldoutFrom = years[^spec.HoldoutYears],
            HoldoutTo = years[^1],
            TrainExamples = trainExamples.Count,
            TestRows = tests.Count,
        };
        if (trainExamples.Count < MinimumExamples)
            return (metrics with { Status = $"skipped: {trainExamples.Count} training examples (pairs of years of one entity), fewer than {MinimumExamples}" }, []);
        if (tests.Count == 0)
            return (metrics with { Status = "skipped: no entity observed in the held-out years was also observed before them" }, []);

        var context = new MLContext(spec.Seed);
        var model = Fit(context, trainExamples);
        var scored = Predict(context, model, tests.Select(t => Example(t.Point.Entity, t.Point.Year, t.Origin, scale)).ToList());
        var (low, high) = Range(train.Values.SelectMany(v => v));
        var predictions = new List<Prediction>();
        for (var i = 0; i < tests.Count; i++)
        {
            var (point, origin) = tests[i];
            var predicted = Math.Clamp(origin.Value + scored[i] * scale, low, high);
            predictions.Add(new Prediction(point.Entity, point.Year, "holdout", point.Value, predicted, origin.Value, origin.Year));
        }
        metrics = metrics with
        {
            Model = Score(predictions.Select(p => (p.Actual!.Value, p.Predicted))),
            Baseline = Score(predictions.Select(p => (p.Actual!.Value, p.Baseline))),
        };

        // Forecasts: refit on every year, then predict the years after the series' last one from each entity's last value.
        var allScale = Scale(points);
        var full = Fit(context, Examples(byEntity, allScale));
        var future = byEntity.SelectMany(e => Enumerable.Range(years[^1] + 1, spec.Horizon).Select(y => (Year: y, Origin: e.Value[^1]))).ToList();
        var ahead = Predict(context, full, future.Select(f => Example(f.Origin.Entity, f.Year, f.Origin, allScale)).ToList());
        (low, high) = Range(points);
        for (var i = 0; i < future.Count; i++)
        {
            var (year, origin) = future[i];
            predictions.Add(new Prediction(origin.Entity, year, "forecast", null, Math.Clamp(origin.Value + ahead[i] * allScale, low, high), origin.Value, origin.Year));
        }
        return (metrics, predictions);
    }

    /// <summary>Pairs of one entity's observations (origin, target) up to holdout + horizon years apart.</summary>
    private List<Row> Examples(Dictionary<string, List<SeriesPoint>> byEntity, double scale)
    {
        var maxGap = spec.HoldoutYears + spec.Horizon;
        var rows = new List<Row>();
        foreach (var (_, series) in byEntity.OrderBy(e => e.Key, StringComparer.Ordinal))
            for (var j = 1; j < series.Count; j++)
                for (var i = j - 1; i >= 0 && series[j].Year - series[i].Year <= maxGap; i--)
                    rows.Add(Example(series[j].Entity, series[j].Year, series[i], scale) with { Label = (float)((series[j].Value - series[i].Value) / scale) });
        return rows;
    }

    private static Row Example(string entity, int year, SeriesPoint origin, double scale) => new()
    {
        Entity = entity,
        Year = year,
        Gap = year - origin.Year,
        LastValue = (float)(origin.Value / scale),
    };

    private static (double Low, double High) Range(IEnumerable<SeriesPoint> points)
    {
        var values = points.Select(p => p.Value).ToList();
        return (values.Min() >= 0 ? 0 : double.NegativeInfinity, values.Max() <= 0 ? 0 : double.PositiveInfinity);
    }

    /// <summary>Values and changes are learned in units of the series' spread, so indicators in billions train like percentages.</summary>
    private static double Scale(IEnumerable<SeriesPoint> points)
    {
        var values = points.Select(p => p.Value).ToList();
        var mean = values.Average();
        var spread = Math.Sqrt(values.Sum(v => (v - mean) * (v - mean)) / values.Count);
        return spread > 0 && double.IsFinite(spread) ? spread : Math.Max(1, Math.Abs(mean));
    }

    private static ITransformer Fit(MLContext context, List<Row> examples)
    {
        var pipeline = context.Transforms.Categorical.OneHotEncoding("EntityVector", nameof(Row.Entity))
            .Append(context.Transforms.Concatenate("Features", "EntityVector", nameof(Row.Year), nameof(Row.Gap), nameof(Row.LastValue)))
            .Append(context.Transforms.NormalizeMeanVariance("Features"))
            .Append(context.Regression.Trainers.Sdca(new SdcaRegressionTrainer.Options
            {
                LabelColumnName = nameof(Row.Label),
                FeatureColumnName = "Features",
                NumberOfThreads = 1,
                MaximumNumberOfIterations = 100,
                L2Regularization = 1f, // per-entity effects fit few points; weaker settings lost to the baseline on the quickstart's data
            }));
        return pipeline.Fit(context.Data.LoadFromEnumerable(examples));
    }

    private static float[] Predict(MLContext context, ITransformer model, List<Row> rows) =>
        context.Data.CreateEnumerable<Scored>(model.Transform(context.Data.LoadFromEnumerable(rows)), reuseRowObject: false)
            .Select(s => s.Score).ToArray();

    /// <summary>RMSE, MAE and R² in double precision from exactly the values stored in the predictions table, so anyone
    /// recomputing them from that table gets the same numbers (ML.NET's evaluator works in single precision).</summary>
    internal static RegressionScore Score(IEnumerable<(double Actual, double Predicted)> pairs)
    {
        var list = pairs.ToList();
        double squares = 0, absolutes = 0, mean = list.Average(p => p.Actual), spread = 0;
        foreach (var (actual, predicted) in list)
        {
            var error = actual - predicted;
            squares += error * error;
            absolutes += Math.Abs(error);
            spread += (actual - mean) * (actual - mean);
        }
        var rSquared = spread > 0 ? 1 - squares / spread : (double?)null;
        return new RegressionScore(Math.Sqrt(squares / list.Count), absolutes / list.Count, rSquared);
    }

    private sealed record Row
    {
        public string Entity { get; init; } = "";
        public float Year { get; init; }
        public float Gap { get; init; }
        public float LastValue { get; init; }
        public float Label { get; init; }
    }

    private sealed class Scored
    {
        public float Score { get; set; }
    }
}
