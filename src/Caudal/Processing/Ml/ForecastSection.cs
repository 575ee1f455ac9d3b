using Caudal.Lake;
using Caudal.Spec;
using YamlDotNet.RepresentationModel;

namespace Caudal.Processing.Ml;

/// <summary>A model's <c>ml:</c> step: which columns are the target, the entity and the time, and where the metrics go.</summary>
internal static class ForecastSection
{
    public static readonly string[] Keys = ["target", "entity", "time", "series", "holdout_years", "horizon", "seed", "metrics"];

    public static ForecastSpec? Parse(YamlMappingNode body, TableId model, SpecContext ctx)
    {
        if (ctx.Mapping(body, "ml", $"'ml' of model '{model}' must be a mapping.", "write 'ml: {target: obs_value, entity: ref_area, time: year}'.") is not { } ml) return null;
        ctx.CheckKeys(ml, Keys, $"the ml step of model '{model}'");
        var target = ctx.String(ml, "target", required: true);
        var entity = ctx.String(ml, "entity", required: true);
        var time = ctx.String(ml, "time", required: true);
        var metricsName = ctx.String(ml, "metrics") ?? $"{model}_metrics";
        if (!TableId.TryParse(metricsName, out var metrics) || metrics.Zone == Zone.Raw || metrics == model || metrics.IsCaudalOwn)
        {
            ctx.Error(ctx.Child(ml, "metrics")!.Start, $"'{metricsName}' cannot hold the metrics of model '{model}'.",
                $"name another trusted or refined table, e.g. {model}_metrics.");
            return null;
        }
        if (target == null || entity == null || time == null) return null;
        return new ForecastSpec(ctx.StringList(ml, "series") ?? [], entity, time, target, metrics,
            ctx.Int(ml, "holdout_years", 1, 50) ?? 3, ctx.Int(ml, "horizon", 1, 50) ?? 3, ctx.Int(ml, "seed", 0, int.MaxValue) ?? 1);
    }
}
