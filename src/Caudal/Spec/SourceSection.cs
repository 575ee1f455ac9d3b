using System.Text.RegularExpressions;
using Caudal.Capture;
using Caudal.Capture.Database;
using Caudal.Values;
using YamlDotNet.RepresentationModel;

namespace Caudal.Spec;

/// <summary>The <c>sources:</c> section: each source's kind, its options read by their declarations
/// (<see cref="SourceOption"/>: type, range, allowed values, secrets), its schema policy and its datasets.</summary>
internal static class SourceSection
{
    public static readonly string[] Keys = ["kind", "datasets", "schema"];
    public static readonly string[] DatasetKeys = ["name", "table", "query", .. IncrementalSpec.Keys];

    public static List<SourceSpec> Parse(YamlMappingNode root, SpecContext ctx)
    {
        var sources = new List<SourceSpec>();
        if (ctx.Mapping(root, "sources", "'sources' must be a mapping of source names to their settings.", "write 'sources:' then '  mydb: {kind: sqlite, path: ...}'.") is not { } map) return sources;
        foreach (var (keyNode, value) in map.Children)
        {
            var key = (YamlScalarNode)keyNode;
            var name = key.Value ?? "";
            if (!SpecContext.IsName(name))
            {
                ctx.Error(key.Start, $"Source name '{name}' is not a valid name.", "use lower-case letters, digits and '_', starting with a letter.");
                continue;
            }
            if (value is not YamlMappingNode body)
            {
                ctx.Error(value.Start, $"Source '{name}' must be a mapping with 'kind' and options.", $"write '{name}: {{kind: sqlite, path: db.sqlite}}'.");
                continue;
            }
            var kindNode = ctx.Scalar(body, "kind", required: true);
            if (kindNode == null) continue;
            if (!SourceKinds.All.TryGetValue(kindNode.Value ?? "", out var kind))
            {
                ctx.Error(kindNode.Start, $"Unknown source kind '{kindNode.Value}' for source '{name}'.",
                    $"use one of: {string.Join(", ", SourceKinds.All.Keys)}{DidYouMean.Suggest(kindNode.Value, SourceKinds.All.Keys)}.");
                continue;
            }
            ctx.CheckKeys(body, [.. Keys.Concat(kind.Options.Select(o => o.Name)).Distinct()], $"source '{name}' (kind {kind.Name})");
            var (values, asWritten) = ReadOptions(body, name, kind, ctx);
            var schema = SchemaPolicy.Evolve;
            if (ctx.Scalar(body, "schema") is { } policy)
            {
                if (policy.Value == "freeze") schema = SchemaPolicy.Freeze;
                else if (policy.Value != "evolve")
                    ctx.Error(policy.Start, $"Unknown schema policy '{policy.Value}' in source '{name}'.",
                        "use 'evolve' (new columns are added, the default) or 'freeze' (a new column fails the dataset).");
            }
            var defaults = IncrementalSpec.Parse(body, new DatasetSpec("*", null, null, ctx.At(body.Start)), name, ctx);
            var datasets = ParseDatasets(body, name, defaults, ctx);
            if (!kind.Incremental && datasets.FirstOrDefault(d => d.Mode == CaptureMode.Incremental) is { } inc)
                ctx.Error(inc.Position, $"Source '{name}' (kind {kind.Name}) does not support incremental capture yet.", "use 'mode: full'.");
            if (!kind.Cdc && datasets.FirstOrDefault(d => d.Mode == CaptureMode.Cdc) is { } cdc)
                ctx.Error(cdc.Position, $"Source '{name}' (kind {kind.Name}): mode 'cdc' reads a database's log (PostgreSQL's WAL, " +
                    "MySQL/MariaDB's binlog) and is for kinds postgres and mysql.", "use 'mode: incremental' with a cursor, and 'deletes: detect' to follow deletes.");
            var source = new SourceSpec
            {
                Name = name,
                Kind = kind.Name,
                Options = new OptionValues(values),
                AsWritten = asWritten,
                Schema = schema,
                Datasets = datasets,
                Position = ctx.At(key.Start),
            };
            if (ctx.Use == SpecUse.Run) kind.Validate?.Invoke(source, ctx.BaseDirectory, (message, fix) => ctx.Error(key.Start, message, fix));
            sources.Add(source);
        }
        return sources;
    }

    /// <summary>Each option the kind declares, read by its type: a list or a mapping as written, a single value with
    /// <c>${env:…}</c> resolved and checked against its declaration at its own line and column. Also the options as
    /// written, for what may be shown (<c>plan</c>).</summary>
    private static (Dictionary<string, object> Values, Dictionary<string, string> AsWritten) ReadOptions(YamlMappingNode body, string source, SourceKind kind,
        SpecContext ctx)
    {
        var values = new Dictionary<string, object>();
        var asWritten = new Dictionary<string, string>();
        foreach (var option in kind.Options.Where(o => o.Type != OptionType.DatasetDefault))
        {
            var node = ctx.Child(body, option.Name);
            if (node == null)
            {
                if (option.Required)
                    ctx.Error(body.Start, $"Source '{source}' (kind {kind.Name}) needs '{option.Name}'.", $"add '{option.Name}: ...' under '{source}'.");
                continue;
            }
            if (option.Type == OptionType.List && node is not YamlScalarNode)
            {
                if (node is YamlSequenceNode list && list.Children.All(c => c is YamlScalarNode))
                {
                    var items = list.Children.Cast<YamlScalarNode>().Select(c => c.Value ?? "").ToList();
                    values[option.Name] = items;
                    asWritten[option.Name] = string.Join(",", items);
                }
                else ctx.Error(node.Start, $"Source '{source}': '{option.Name}' must be a list of names.", $"write '{option.Name}: [a, b]'.");
                continue;
            }
            if (option.Type == OptionType.Map)
            {
                if (node is YamlMappingNode pairs && pairs.Children.All(c => c.Key is YamlScalarNode && c.Value is YamlScalarNode))
                {
                    var map = pairs.Children.ToDictionary(c => ((YamlScalarNode)c.Key).Value ?? "", c => ((YamlScalarNode)c.Value).Value ?? "");
                    values[option.Name] = map;
                    asWritten[option.Name] = string.Join(";", map.Select(p => $"{p.Key}={p.Value}"));
                }
                else ctx.Error(node.Start, $"Source '{source}': '{option.Name}' must be a mapping of names to values.", $"write '{option.Name}: {{amount: DECIMAL(10,2)}}'.");
                continue;
            }
            var scalar = ctx.Scalar(body, option.Name);
            if (scalar == null) continue;
            if (IsLiteralSecret(option, scalar.Value ?? ""))
                ctx.Error(scalar.Start, $"'{option.Name}' of source '{source}' is a secret written in the spec file.",
                    $"put it in an environment variable and write '{option.Name}: ${{env:{source.ToUpperInvariant()}_{option.Name.ToUpperInvariant()}}}'.");
            asWritten[option.Name] = scalar.Value ?? "";
            // A command that only reads the lake leaves references unresolved: it never needs a source's secrets.
            var given = ctx.Use == SpecUse.ReadLake ? scalar.Value ?? "" : ctx.Resolve(scalar, option.Name);
            if (given == null) continue;
            if (ctx.Use == SpecUse.ReadLake && EnvReference.Pattern().IsMatch(given))
            {
                // Not resolved (a read-only command needs no source's settings): a number or a choice is unknown, so
                // what reads it sees the default; a text (a path, a connection) is kept as written.
                if (option.Type is OptionType.Text or OptionType.Secret or OptionType.Connection or OptionType.Url) values[option.Name] = given;
                continue;
            }
            // A value that fails its declaration is reported and not kept (what reads it later sees the default).
            if (option.Check(given) is { } problem) ctx.Error(scalar.Start, $"Source '{source}': {problem.Message}", problem.Fix);
            else values[option.Name] = given;
        }
        // A key the kind does not take is reported as unknown; if it looks like a secret, writing it here is refused too.
        foreach (var (keyNode, valueNode) in body.Children)
            if (keyNode is YamlScalarNode { Value: { } key } && kind.Option(key) == null && Secrets.IsSecretName(key) &&
                valueNode is YamlScalarNode literal && !EnvReference.Pattern().IsMatch(literal.Value ?? ""))
                ctx.Error(literal.Start, $"'{key}' of source '{source}' is a secret written in the spec file.",
                    $"put it in an environment variable and write '{key}: ${{env:{source.ToUpperInvariant()}_{key.ToUpperInvariant()}}}'.");
        return (values, asWritten);
    }

    /// <summary>A secret written in the file instead of <c>${env:…}</c>. A connection is refused only when it holds a
    /// password (a SQLite-style path or a URL without one may be written as it is).</summary>
    private static bool IsLiteralSecret(SourceOption option, string value) => !EnvReference.Pattern().IsMatch(value) && option.Type switch
    {
        OptionType.Secret => true,
        OptionType.Connection => Regex.IsMatch(value, @"(?i)(password|pwd)\s*=|://[^/@:]+:[^/@]+@"),
        _ => Secrets.IsSecretName(option.Name),
    };

    private static List<DatasetSpec> ParseDatasets(YamlMappingNode body, string source, DatasetSpec defaults, SpecContext ctx)
    {
        var node = ctx.Child(body, "datasets");
        if (node == null) return [defaults with { Position = ctx.At(body.Start) }];
        if (node is YamlScalarNode s && s.Value == "*") return [defaults with { Position = ctx.At(s.Start) }];
        if (node is not YamlSequenceNode list)
        {
            ctx.Error(node.Start, $"'datasets' of source '{source}' must be a list or \"*\".", "write 'datasets: [actor, film]' or 'datasets: \"*\"'.");
            return [];
        }
        var datasets = new List<DatasetSpec>();
        foreach (var item in list.Children)
        {
            if (item is YamlScalarNode scalar)
            {
                var table = scalar.Value ?? "";
                if (table == "*") datasets.Add(defaults with { Position = ctx.At(scalar.Start) });
                else if (!SpecContext.IsName(table.ToLowerInvariant()))
                    ctx.Error(scalar.Start, $"Dataset '{table}' of source '{source}' is not a valid table name.", "give it a name: '{name: mytable, table: \"My Table\"}'.");
                else datasets.Add(defaults with { Name = table.ToLowerInvariant(), Table = table, Position = ctx.At(scalar.Start) });
            }
            else if (item is YamlMappingNode map)
            {
                ctx.CheckKeys(map, DatasetKeys, $"a dataset of source '{source}'");
                var name = ctx.String(map, "name", required: true);
                var table = ctx.String(map, "table");
                var query = ctx.String(map, "query");
                if (name != null && !SpecContext.IsName(name))
                    ctx.Error(map.Start, $"Dataset name '{name}' is not a valid name.", "use lower-case letters, digits and '_'.");
                if (table != null && query != null)
                    ctx.Error(map.Start, $"Dataset '{name}' of source '{source}' has both 'table' and 'query'.", "keep one of them.");
                if (name != null)
                    datasets.Add(IncrementalSpec.Parse(map, defaults with { Name = name, Table = query == null ? table ?? name : null, Query = query, Position = ctx.At(map.Start) }, source, ctx));
            }
            else ctx.Error(item.Start, $"A dataset of source '{source}' must be a table name or a mapping.", "write '- actor' or '- {name: x, query: \"SELECT ...\"}'.");
        }
        foreach (var dup in datasets.GroupBy(d => d.Name).Where(g => g.Count() > 1))
            ctx.Error(dup.Last().Position, $"Dataset '{dup.Key}' is declared twice in source '{source}'.", "remove one of them.");
        if (datasets.Any(d => d.Name == "*") && datasets.Count > 1)
            ctx.Error(datasets[0].Position, $"Source '{source}' lists \"*\" together with named datasets.", "use \"*\" alone, or name every dataset.");
        return datasets;
    }
}
