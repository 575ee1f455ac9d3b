using Caudal.Lake;
using Caudal.Spec;

namespace Caudal.Processing.Charts;

public enum ChartKind { Bar, Line, Scatter }

/// <summary>A chart declared in the spec: a query over lake tables drawn as a PNG into the refined zone, one image per
/// value of <see cref="Each"/>. Titles and labels may name columns in braces ("{unit_measure}"), filled from the
/// image's first row.</summary>
public sealed record ChartSpec(string Name, ChartKind Kind, string Sql, IReadOnlyList<TableId> Inputs, SpecPosition Position)
{
    /// <summary>Where charts are written in the lake: <c>{Folder}/{chart}/{image}.png</c>.</summary>
    public const string Folder = "refined/_charts";

    /// <summary>Bar: the category column. Line and scatter: the numeric x column.</summary>
    public required string X { get; init; }

    /// <summary>Bar: one or more value columns (grouped bars). Line and scatter: one numeric column.</summary>
    public required IReadOnlyList<string> Y { get; init; }

    /// <summary>Line: the column whose values split the rows into lines (actual, predicted, forecast …).</summary>
    public string? Series { get; init; }

    /// <summary>Scatter: the column that labels each point.</summary>
    public string? Label { get; init; }
    public string? Each { get; init; }

    /// <summary>Bar: how many categories to keep, the largest first by the first value column.</summary>
    public int Top { get; init; } = 20;
    public required string Title { get; init; }
    public string? XLabel { get; init; }
    public string? YLabel { get; init; }
    public int Width { get; init; } = 1000;
    public int Height { get; init; } = 600;
}
