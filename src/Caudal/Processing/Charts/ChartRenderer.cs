using ScottPlot;

namespace Caudal.Processing.Charts;

/// <summary>Draws one image of a chart with ScottPlot: titled, with labelled axes, bars sorted and cut to the top N,
/// lines per series, scatter points named. Returns the PNG's bytes.</summary>
public static class ChartRenderer
{
    public static byte[] Render(ChartSpec chart, ChartData data)
    {
        var plot = new Plot();
        plot.Title(data.Fill(chart.Title));
        switch (chart.Kind)
        {
            case ChartKind.Bar: Bars(plot, chart, data); break;
            case ChartKind.Line: Lines(plot, chart, data); break;
            default: Points(plot, chart, data); break;
        }
        // Plain numbers on both axes: years must not read "2,010".
        foreach (var axis in new IAxis[] { plot.Axes.Bottom, plot.Axes.Left })
            if (axis.TickGenerator is ScottPlot.TickGenerators.NumericAutomatic numeric)
                numeric.LabelFormatter = v => v.ToString("0.######", System.Globalization.CultureInfo.InvariantCulture);
        return plot.GetImageBytes(chart.Width, chart.Height, ImageFormat.Png);
    }

    private static void Bars(Plot plot, ChartSpec chart, ChartData data)
    {
        var label = data.Index(chart.X, chart.Name);
        var values = chart.Y.Select(y => data.Index(y, chart.Name)).ToList();
        for (var v = 0; v < values.Count; v++) RequireNumbers(chart, data, values[v], chart.Y[v]);
        // Largest first, top N; drawn top-down, so the largest bar is the first one read.
        var rows = data.Rows.Where(r => Number(r[values[0]]) is not null)
            .OrderByDescending(r => Number(r[values[0]])).ThenBy(r => ChartData.Format(r[label]), StringComparer.Ordinal)
            .Take(chart.Top).ToList();
        var width = 0.8 / values.Count;
        for (var s = 0; s < values.Count; s++)
        {
            var bars = rows.Select((r, i) => new Bar
            {
                Position = rows.Count - 1 - i + (values.Count - 1 - 2 * s) * width / 2,
                Value = Number(r[values[s]]) ?? 0,
                Size = width,
                FillColor = Palette(s),
            }).ToList();
            var plotted = plot.Add.Bars(bars);
            plotted.Horizontal = true;
            if (values.Count > 1) plotted.LegendText = chart.Y[s].Replace('_', ' '); // one series: the axis title says it
        }
        plot.Axes.Left.SetTicks(rows.Select((_, i) => (double)(rows.Count - 1 - i)).ToArray(), rows.Select(r => ChartData.Format(r[label])).ToArray());
        plot.Axes.Left.MajorTickStyle.Length = 0;
        plot.Axes.Margins(left: 0);
        plot.XLabel(data.Fill(chart.YLabel ?? string.Join(", ", chart.Y)));
        plot.YLabel(data.Fill(chart.XLabel ?? chart.X));
        if (values.Count > 1) plot.ShowLegend(Edge.Bottom);
    }

    /// <summary>The x and y columns of a line or scatter chart, with the rows where both are numbers, axes titled.</summary>
    private static (int X, int Y, List<object?[]> Rows) NumericXY(Plot plot, ChartSpec chart, ChartData data)
    {
        var x = data.Index(chart.X, chart.Name);
        var y = data.Index(chart.Y[0], chart.Name);
        RequireNumbers(chart, data, x, chart.X);
        RequireNumbers(chart, data, y, chart.Y[0]);
        plot.XLabel(data.Fill(chart.XLabel ?? chart.X));
        plot.YLabel(data.Fill(chart.YLabel ?? chart.Y[0]));
        return (x, y, data.Rows.Where(r => Number(r[x]) is not null && Number(r[y]) is not null).ToList());
    }

    private static void Lines(Plot plot, ChartSpec chart, ChartData data)
    {
        var (x, y, rows) = NumericXY(plot, chart, data);
        var series = chart.Series == null ? -1 : data.Index(chart.Series, chart.Name);
        var groups = rows
            .GroupBy(r => series < 0 ? chart.Y[0] : ChartData.Format(r[series]))
            .OrderBy(g => g.Key, StringComparer.Ordinal).ToList();
        for (var s = 0; s < groups.Count; s++)
        {
            var points = groups[s].OrderBy(r => Number(r[x])).ToList();
            var line = plot.Add.Scatter(points.Select(r => Number(r[x])!.Value).ToArray(), points.Select(r => Number(r[y])!.Value).ToArray(), Palette(s));
            line.LegendText = groups[s].Key;
            line.MarkerSize = 6;
            if (groups[s].Key.Contains("forecast", StringComparison.OrdinalIgnoreCase)) line.LinePattern = LinePattern.Dashed;
        }
        if (groups.Count > 1) plot.ShowLegend(Edge.Bottom);
    }

    private static void Points(Plot plot, ChartSpec chart, ChartData data)
    {
        var (x, y, rows) = NumericXY(plot, chart, data);
        var label = chart.Label == null ? -1 : data.Index(chart.Label, chart.Name);
        var points = plot.Add.ScatterPoints(rows.Select(r => Number(r[x])!.Value).ToArray(), rows.Select(r => Number(r[y])!.Value).ToArray(), Palette(0));
        points.MarkerSize = 8;
        if (label >= 0)
        {
            // Name the points that stand out (the largest y values) rather than cover the plot with text.
            foreach (var r in rows.OrderByDescending(r => Number(r[y])).Take(chart.Top))
            {
                var text = plot.Add.Text(ChartData.Format(r[label]), Number(r[x])!.Value, Number(r[y])!.Value);
                text.LabelFontSize = 11;
                text.LabelOffsetX = 5;
            }
        }
    }

    /// <summary>Fails clearly when a column meant to be numeric holds values but none is a number.</summary>
    private static void RequireNumbers(ChartSpec chart, ChartData data, int column, string name)
    {
        if (data.Rows.Any(r => r[column] != null) && data.Rows.All(r => Number(r[column]) is null))
            throw new ChartException($"Chart {chart.Name}: column '{name}' must hold numbers for a {chart.Kind.ToString().ToLowerInvariant()} chart " +
                                     $"(it holds e.g. '{ChartData.Format(data.Rows.First(r => r[column] != null)[column])}'); cast it in the query.");
    }

    private static double? Number(object? value) => value switch
    {
        double d when double.IsFinite(d) => d,
        _ => null,
    };

    private static Color Palette(int i) => new ScottPlot.Palettes.Category10().GetColor(i);
}
