using System.Globalization;
using Caudal.Lake;
using Caudal.Spec;
using YamlDotNet.RepresentationModel;

namespace Caudal.Processing.Checks;

/// <summary>A model's <c>checks:</c> list: each item names one kind (<see cref="CheckKinds"/>) with its columns or
/// settings, and optionally <c>severity: warn</c>.</summary>
internal static class CheckSection
{
    public static List<CheckSpec> Parse(YamlMappingNode body, TableId model, SpecContext ctx)
    {
        var checks = new List<CheckSpec>();
        if (ctx.Child(body, "checks") is not { } node) return checks;
        if (node is not YamlSequenceNode list)
        {
            ctx.Error(node.Start, $"'checks' of model '{model}' must be a list.", "write '- not_null: [id]' items under 'checks:'.");
            return checks;
        }
        var kinds = CheckKinds.All.Keys.ToList();
        foreach (var item in list.Children)
        {
            if (item is not YamlMappingNode map)
            {
                ctx.Error(item.Start, $"A check of model '{model}' must be a mapping such as 'not_null: [id]'.", "write '- unique: [id]'.");
                continue;
            }
            ctx.CheckKeys(map, [.. kinds, "severity"], $"a check of model '{model}'");
            var kindKeys = map.Children.Keys.OfType<YamlScalarNode>().Where(k => kinds.Contains(k.Value ?? "")).ToList();
            if (kindKeys.Count != 1)
            {
                ctx.Error(map.Start, $"A check of model '{model}' must name exactly one kind.", $"use one of: {string.Join(", ", kinds)}.");
                continue;
            }
            var kind = CheckKinds.All[kindKeys[0].Value!];
            var severity = CheckSeverity.Error;
            if (ctx.Scalar(map, "severity") is { } sev)
            {
                if (sev.Value == "warn") severity = CheckSeverity.Warn;
                else if (sev.Value != "error") ctx.Error(sev.Start, $"Unknown severity '{sev.Value}'.", "use 'error' (blocks publishing) or 'warn' (recorded only).");
            }
            var check = new CheckSpec(kind.Name, severity, ctx.At(kindKeys[0].Start));
            var value = map.Children[kindKeys[0]];
            if (kind.TakesColumns)
            {
                var columns = value is YamlScalarNode one ? [one.Value ?? ""] : ctx.StringList(map, kind.Name);
                if (columns is { Count: > 0 }) checks.Add(check with { Columns = columns });
                else ctx.Error(value.Start, $"{kind.Name} of model '{model}' needs columns.", $"write '{kind.Example}'.");
                continue;
            }
            if (value is not YamlMappingNode args)
            {
                ctx.Error(value.Start, $"{kind.Name} of model '{model}' needs its settings as a mapping.", $"write '{kind.Example}'.");
                continue;
            }
            if (Settings(check, kind, args, model, ctx) is { } parsed) checks.Add(parsed);
        }
        return checks;
    }

    private static CheckSpec? Settings(CheckSpec check, CheckKind kind, YamlMappingNode args, TableId model, SpecContext ctx)
    {
        ctx.CheckKeys(args, kind.Settings!, $"the {kind.Name} check of model '{model}'");
        var column = kind.Settings!.Contains("column") ? ctx.String(args, "column", required: true) : null;
        var min = ctx.Scalar(args, "min")?.Value;
        var max = ctx.Scalar(args, "max")?.Value;
        foreach (var bound in new[] { min, max }.OfType<string>())
            if (!decimal.TryParse(bound, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                ctx.Error(args.Start, $"Bound '{bound}' of the {kind.Name} check of model '{model}' is not a number.", "write numbers for min and max.");
        check = check with { Columns = column == null ? [] : [column], Min = min, Max = max };
        switch (kind.Name)
        {
            case "accepted_values":
                return check with { Values = ctx.StringList(args, "values") ?? [] };
            case "relationships":
                var to = ctx.String(args, "to", required: true);
                if (to != null && !TableId.TryParse(to, out _)) ctx.Error(args.Start, $"'{to}' is not a table name.", "write it as zone.name, e.g. trusted.customers.");
                else if (to != null) check = check with { To = TableId.Parse(to), ToColumn = ctx.String(args, "field") ?? column };
                return check;
            case "freshness":
                var age = ctx.Scalar(args, "max_age");
                if (age != null && Values.Duration.Parse(age.Value) is { } span) return check with { MaxAge = span.Span };
                ctx.Error(args.Start, $"The freshness check of model '{model}' needs max_age.", "write 'max_age: 2d' (s, m, h or d).");
                return check;
            case "range" when min == null && max == null:
                ctx.Error(args.Start, $"The range check of model '{model}' has neither min nor max.", "give min, max or both.");
                return check;
            default:
                return check;
        }
    }
}
