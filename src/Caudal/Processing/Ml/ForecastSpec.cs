using Caudal.Lake;

namespace Caudal.Processing.Ml;

/// <summary>An ML step declared on a model: one regression per series that predicts <see cref="Target"/> for an
/// entity (a country) in a year, from the entity, the year, and the entity's last observed value and its age. The
/// latest <see cref="HoldoutYears"/> years of each series are held out to measure it against the naive baseline.</summary>
public sealed record ForecastSpec(
    IReadOnlyList<string> Series,
    string Entity,
    string Time,
    string Target,
    TableId Metrics,
    int HoldoutYears = 3,
    int Horizon = 3,
    int Seed = 1);
