using Caudal.Lake;
using Caudal.Processing.Engine;

namespace Caudal.Processing.Ml;

/// <summary>
/// Runs an ML step inside the engine: the model's SQL gives the observations, which are streamed one series at a
/// time (ordered by series, entity and year) into <see cref="SeriesForecaster"/>, so memory holds one series, not the
/// table. Results go back into the engine as scratch tables, joined to the series' own typed columns, and are handed
/// back as SELECTs to be materialized and committed like any model's output.
/// </summary>
public sealed class ForecastStep(ForecastSpec spec, IEngine engine)
{
    private const string Input = "__forecast_input", Series = "__forecast_series", Predictions = "__forecast_predictions", Metrics = "__forecast_metrics";

    public IReadOnlyList<(TableId Table, string Select)> Run(TableId output, string modelSql, CancellationToken ct)
    {
        var seriesColumns = string.Join(", ", spec.Series.Select(Sql.Ident));
        var rank = spec.Series.Count > 0 ? $"dense_rank() OVER (ORDER BY {seriesColumns})" : "1";
        engine.Execute($"CREATE OR REPLACE TABLE {Input} AS SELECT {rank} AS __series, * FROM ({modelSql}\n)");
        engine.Execute($"CREATE OR REPLACE TABLE {Series} AS SELECT DISTINCT __series{(spec.Series.Count > 0 ? ", " + seriesColumns : "")} FROM {Input}");

        var metrics = new List<object?[]>();
        engine.CreateTable(Predictions,
            [("__series", "BIGINT"), (spec.Entity, "VARCHAR"), (spec.Time, "INTEGER"), ("kind", "VARCHAR"), ("actual", "DOUBLE"),
             ("predicted", "DOUBLE"), ("baseline", "DOUBLE"), ("origin_year", "INTEGER")],
            Stream(metrics, ct));
        engine.CreateTable(Metrics,
            [("__series", "BIGINT"), ("status", "VARCHAR"), ("trainer", "VARCHAR"), ("seed", "INTEGER"), ("train_from", "INTEGER"),
             ("train_to", "INTEGER"), ("holdout_from", "INTEGER"), ("holdout_to", "INTEGER"), ("train_examples", "INTEGER"),
             ("test_rows", "INTEGER"), ("model_rmse", "DOUBLE"), ("model_mae", "DOUBLE"), ("model_r2", "DOUBLE"),
             ("baseline_rmse", "DOUBLE"), ("baseline_mae", "DOUBLE"), ("baseline_r2", "DOUBLE"), ("beats_baseline", "BOOLEAN")],
            metrics);

        string Joined(string table, string order) =>
            $"SELECT s.* EXCLUDE (__series), r.* EXCLUDE (__series) FROM {table} r JOIN {Series} s USING (__series) ORDER BY r.__series{order}";
        return [(output, Joined(Predictions, $", r.{Sql.Ident(spec.Entity)}, r.kind DESC, r.{Sql.Ident(spec.Time)}")), (spec.Metrics, Joined(Metrics, ""))];
    }

    /// <summary>Frees the scratch tables once the results are committed.</summary>
    public static void DropScratch(IEngine engine)
    {
        foreach (var table in new[] { Input, Series, Predictions, Metrics }) engine.Execute($"DROP TABLE IF EXISTS {table}");
    }

    private IEnumerable<object?[]> Stream(List<object?[]> metrics, CancellationToken ct)
    {
        var forecaster = new SeriesForecaster(spec);
        var rows = engine.Rows(
            $"SELECT __series, CAST({Sql.Ident(spec.Entity)} AS VARCHAR), CAST({Sql.Ident(spec.Time)} AS INTEGER), CAST({Sql.Ident(spec.Target)} AS DOUBLE) " +
            $"FROM {Input} WHERE {Sql.Ident(spec.Target)} IS NOT NULL AND {Sql.Ident(spec.Entity)} IS NOT NULL AND {Sql.Ident(spec.Time)} IS NOT NULL " +
            "ORDER BY 1, 2, 3");
        var points = new List<SeriesPoint>();
        long current = -1;
        foreach (var record in rows)
        {
            var series = record.GetInt64(0);
            if (series != current && points.Count > 0)
                foreach (var prediction in Finish(current, points, metrics, forecaster, ct)) yield return prediction;
            current = series;
            var point = new SeriesPoint(record.GetString(1), record.GetInt32(2), record.GetDouble(3));
            if (points.Count > 0 && points[^1].Entity == point.Entity && points[^1].Year == point.Year)
                throw new ForecastException($"{spec.Entity} '{point.Entity}' has more than one {spec.Target} for {spec.Time} {point.Year} " +
                    $"in one series; the ML step needs one row per series ({string.Join(", ", spec.Series)}), {spec.Entity} and {spec.Time}.");
            if (double.IsFinite(point.Value)) points.Add(point);
        }
        if (points.Count > 0)
            foreach (var prediction in Finish(current, points, metrics, forecaster, ct)) yield return prediction;
    }

    /// <summary>Runs one series' model; its metrics join the list, its predictions are returned as rows.</summary>
    private List<object?[]> Finish(long series, List<SeriesPoint> points, List<object?[]> metrics, SeriesForecaster forecaster, CancellationToken ct)
    {
        ct.ThrowIfCancellationRequested();
        var (m, predictions) = forecaster.Run(points);
        metrics.Add(MetricsRow(series, m));
        points.Clear();
        return predictions.Select(p => new object?[] { series, p.Entity, p.Year, p.Kind, p.Actual, p.Predicted, p.Baseline, p.OriginYear }).ToList();
    }

    private object?[] MetricsRow(long series, SeriesMetrics m) =>
    [
        series, m.Status, SeriesForecaster.Trainer, spec.Seed, m.TrainFrom, m.TrainTo, m.HoldoutFrom, m.HoldoutTo, m.TrainExamples, m.TestRows,
        m.Model?.Rmse, m.Model?.Mae, m.Model?.RSquared, m.Baseline?.Rmse, m.Baseline?.Mae, m.Baseline?.RSquared,
        m.Model == null || m.Baseline == null ? null : m.Model.Rmse < m.Baseline.Rmse,
    ];
}

public sealed class ForecastException(string message) : Exception(message);
