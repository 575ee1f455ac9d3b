using Caudal.Lake;
using Caudal.Spec;
using Caudal.Values;
using YamlDotNet.RepresentationModel;

namespace Caudal.Processing.Charts;

/// <summary>The <c>charts:</c> section: each chart's kind, its query (or SQL file), the columns it draws and its labels.</summary>
internal static class ChartSection
{
    public static readonly string[] Keys = ["kind", "sql", "query", "x", "y", "series", "label", "each", "top", "title", "x_label", "y_label", "width", "height"];

    public static List<ChartSpec> Parse(YamlMappingNode root, IReadOnlyList<ModelSpec> models, SpecContext ctx)
    {
        var charts = new List<ChartSpec>();
        if (ctx.Mapping(root, "charts", "'charts' must be a mapping of chart names to chart settings.", "write 'charts:' then '  revenue: {kind: bar, query: ..., x: country, y: revenue}'.") is not { } map) return charts;
        var produced = models.SelectMany(m => m.Outputs).ToHashSet();
        foreach (var (keyNode, value) in map.Children)
        {
            var name = ((YamlScalarNode)keyNode).Value ?? "";
            if (!SpecContext.IsName(name))
            {
                ctx.Error(keyNode.Start, $"Chart name '{name}' is not a plain name.", "use lower-case letters, digits and '_', e.g. revenue_by_country.");
                continue;
            }
            if (value is not YamlMappingNode body)
            {
                ctx.Error(value.Start, $"Chart '{name}' must be a mapping.", "give it kind, query (or sql), x, y and title.");
                continue;
            }
            ctx.CheckKeys(body, Keys, $"chart '{name}'");
            var kindNode = ctx.Scalar(body, "kind", required: true);
            ChartKind kind = default;
            if (kindNode != null && !Enum.TryParse(kindNode.Value, ignoreCase: true, out kind))
                ctx.Error(kindNode.Start, $"Unknown chart kind '{kindNode.Value}' in chart '{name}'.", "use bar, line or scatter.");
            string? sql = null;
            var sqlNode = ctx.Scalar(body, "sql");
            var queryNode = ctx.Scalar(body, "query");
            if ((sqlNode == null) == (queryNode == null))
                ctx.Error(body.Start, $"Chart '{name}' needs exactly one of 'sql' (a file) or 'query' (the SELECT itself).", "write 'query: SELECT ... FROM refined.some_table'.");
            else if (queryNode != null) sql = queryNode.Value;
            else sql = ctx.ReadSqlFile(sqlNode!, $"chart '{name}'").Sql;
            var x = ctx.String(body, "x", required: true);
            var y = ctx.Child(body, "y") is YamlScalarNode one ? [one.Value ?? ""] : ctx.StringList(body, "y");
            if (y is not { Count: > 0 }) ctx.Error(body.Start, $"Chart '{name}' needs 'y': the value column(s).", "write 'y: revenue' or 'y: [avg_value, median_value]'.");
            else if (kind != ChartKind.Bar && y.Count > 1)
                ctx.Error(ctx.Child(body, "y")!.Start, $"A {kind.ToString().ToLowerInvariant()} chart draws one y column; chart '{name}' names {y.Count}.", "split the values with 'series:' instead.");
            var title = ctx.String(body, "title", required: true);
            var inputs = sql == null ? [] : SpecGraph.InferInputs(sql);
            foreach (var input in inputs.Where(i => i.Zone != Zone.Raw && !produced.Contains(i)))
                ctx.Error(body.Start, $"Chart '{name}' reads {input}, which no model produces.", $"declare the model or fix the name{DidYouMean.Suggest(input.ToString(), produced.Select(p => p.ToString()))}.");
            if (sql == null || x == null || y is not { Count: > 0 } || title == null || kindNode == null) continue;
            charts.Add(new ChartSpec(name, kind, sql, inputs, ctx.At(keyNode.Start))
            {
                X = x,
                Y = y,
                Series = ctx.String(body, "series"),
                Label = ctx.String(body, "label"),
                Each = ctx.String(body, "each"),
                Top = ctx.Int(body, "top", 1, 1000) ?? 20,
                Title = title,
                XLabel = ctx.String(body, "x_label"),
                YLabel = ctx.String(body, "y_label"),
                Width = ctx.Int(body, "width", 200, 8000) ?? 1000,
                Height = ctx.Int(body, "height", 200, 8000) ?? 600,
            });
        }
        return charts;
    }
}
