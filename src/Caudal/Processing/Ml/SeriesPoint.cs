namespace Caudal.Processing.Ml;

/// <summary>One observed value of a series: an entity (a country) in a year.</summary>
public readonly record struct SeriesPoint(string Entity, int Year, double Value);

/// <summary>A value the step predicted: for a held-out year (with the actual) or a forecast year (actual is null).
/// <see cref="Baseline"/> is the naive forecast, the entity's last value observed before the prediction's origin.</summary>
public sealed record Prediction(string Entity, int Year, string Kind, double? Actual, double Predicted, double Baseline, int OriginYear);

/// <summary>How one series' model did on its held-out years, beside the naive baseline on exactly the same rows.</summary>
public sealed record SeriesMetrics(string Status)
{
    public int? TrainFrom { get; init; }
    public int? TrainTo { get; init; }
    public int? HoldoutFrom { get; init; }
    public int? HoldoutTo { get; init; }
    public int TrainExamples { get; init; }
    public int TestRows { get; init; }
    public RegressionScore? Model { get; init; }
    public RegressionScore? Baseline { get; init; }
}

/// <summary>Root mean squared error, mean absolute error and R² (null when the held-out actuals do not vary).</summary>
public sealed record RegressionScore(double Rmse, double Mae, double? RSquared);
