using System.Globalization;
using System.Text.RegularExpressions;
using Caudal.Capture;
using Caudal.Capture.Database;
using Caudal.Lake;
using Caudal.Lake.Delta;
using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Caudal.Spec;

/// <summary>
/// Reads and validates <c>caudal.yaml</c>. Every problem is collected (not just the first) with file:line:column
/// and a fix. Checks: YAML syntax, unknown keys, types, required keys, source kinds and options, secrets written
/// in the file, unset environment variables, model files, inputs nothing produces, and dependency cycles.
/// </summary>
public static partial class SpecLoader
{
    internal static readonly string[] TopKeys = ["version", "name", "lake", "sources", "models", "charts", "run", "schedule", "serve", "spark"];
    internal static readonly string[] LakeKeys = ["location", "endpoint", "region", "path_style"];
    internal static readonly string[] SourceKeys = ["kind", "datasets", "schema"];
    internal static readonly string[] DatasetKeys = ["name", "table", "query", .. IncrementalSpec.Keys];
    internal static readonly string[] ModelKeys = ["sql", "inputs", "mode", "partition_by", "description", "checks", "ml", "engine"];
    internal static readonly string[] ChartKeys = ["kind", "sql", "query", "x", "y", "series", "label", "each", "top", "title", "x_label", "y_label", "width", "height"];
    internal static readonly string[] MlKeys = ["target", "entity", "time", "series", "holdout_years", "horizon", "seed", "metrics"];

    [GeneratedRegex(@"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")]
    internal static partial Regex EnvReference();

    [GeneratedRegex(@"\b(raw|trusted|refined)\s*\.\s*""?([a-z][a-z0-9_]*)""?", RegexOptions.IgnoreCase)]
    private static partial Regex TableReference();

    [GeneratedRegex(@"^[a-z][a-z0-9_]*$")]
    private static partial Regex Identifier();

    public static PipelineSpec Load(string path, IReadOnlyDictionary<string, string?>? environment = null, SpecUse use = SpecUse.Run)
    {
        var file = Path.GetFullPath(path);
        if (!System.IO.File.Exists(file))
            throw new SpecException([new SpecError(new SpecPosition(path, 1, 1), $"Spec file '{path}' does not exist.",
                "pass the path of a caudal.yaml with --spec, or run from the folder that holds it.")]);
        var text = System.IO.File.ReadAllText(file);
        return Parse(text, path, Path.GetDirectoryName(file)!, environment, use);
    }

    public static PipelineSpec Parse(string yaml, string fileName, string baseDirectory, IReadOnlyDictionary<string, string?>? environment = null,
        SpecUse use = SpecUse.Run)
    {
        var ctx = new SpecContext(fileName, baseDirectory, environment, use);
        YamlMappingNode? root = null;
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            if (stream.Documents.Count == 0 || stream.Documents[0].RootNode is not YamlMappingNode m)
                ctx.Error(new Mark(), "The spec is empty or is not a mapping of keys.", "start from examples/quickstart/caudal.yaml.");
            else root = m;
        }
        catch (YamlException e)
        {
            var message = e.InnerException?.Message ?? e.Message;
            // A tab in the indentation: point at it (the parser's own mark can be the document's start).
            if (IndentTab(yaml) is { } tab && (e.Start.Line <= 1 || message.Contains("tab", StringComparison.OrdinalIgnoreCase)))
                ctx.Error(new SpecPosition(fileName, tab.Line, tab.Column), "A tab indents this line; YAML indents with spaces only.", "replace the tab with spaces.");
            else ctx.Error(e.Start, $"Invalid YAML: {message}", "check indentation (spaces, not tabs) and quoting around this place.");
        }
        if (root == null) throw new SpecException(ctx.Errors);
        var spec = Build(root, ctx);
        if (ctx.Errors.Count > 0) throw new SpecException(ctx.Errors.OrderBy(e => e.Position.Line).ThenBy(e => e.Position.Column).ToList());
        return spec!;
    }

    /// <summary>The first tab in a line's leading whitespace (1-based line and column), if any.</summary>
    private static (int Line, int Column)? IndentTab(string yaml)
    {
        var lines = yaml.Split('\n');
        for (var i = 0; i < lines.Length; i++)
        {
            var indent = lines[i].Length - lines[i].TrimStart(' ', '\t').Length;
            var tab = lines[i].IndexOf('\t', 0, indent);
            if (tab >= 0) return (i + 1, tab + 1);
        }
        return null;
    }

    private static PipelineSpec? Build(YamlMappingNode root, SpecContext ctx)
    {
        ctx.CheckKeys(root, TopKeys, "top level");
        var version = ctx.Scalar(root, "version", required: true);
        if (version != null && version.Value != "1")
            ctx.Error(version.Start, $"Unsupported spec version '{version.Value}'.", "set 'version: 1'.");
        var name = ctx.Scalar(root, "name")?.Value ?? Path.GetFileName(ctx.BaseDirectory);

        var lake = ParseLake(root, ctx);
        var errorsBefore = ctx.Errors.Count;
        var sources = ParseSources(root, ctx);
        // When the sources could not be read whole (an error in them, or no 'sources' beside an unknown top-level key,
        // e.g. 'sourcse'), what models read from raw follows from that error: it is not reported again for each model.
        var sourcesIncomplete = ctx.Errors.Count > errorsBefore ||
                                (ctx.Child(root, "sources") == null && root.Children.Keys.OfType<YamlScalarNode>().Any(k => !TopKeys.Contains(k.Value ?? "")));
        var run = RunSettings.Parse(root, ctx);
        var models = ParseModels(root, ctx);
        var charts = ParseCharts(root, models, ctx);
        var schedule = Schedule.ScheduleSpec.Parse(root, sources, ctx);
        var serve = Caudal.Serve.ServeSpec.Parse(root, ctx);
        var spark = Processing.Spark.SparkSpec.Parse(root, ctx);
        Processing.Spark.SparkSpec.CheckEngines(root, lake, models, spark, ctx);
        CheckGraph(sources, models, ctx, sourcesIncomplete);
        if (lake == null) return null;
        return new PipelineSpec { File = ctx.FileName, BaseDirectory = ctx.BaseDirectory, Name = name, Lake = lake, Sources = sources, Models = models, Charts = charts, Run = run, Schedule = schedule, Serve = serve, Spark = spark };
    }

    private static LakeLocation? ParseLake(YamlMappingNode root, SpecContext ctx)
    {
        var node = ctx.Child(root, "lake");
        if (node == null)
        {
            ctx.Error(root.Start, "Missing key 'lake'.", "add 'lake: ./lake' (a folder) or 'lake: s3://bucket/prefix'.");
            return null;
        }
        string? location;
        string? endpoint = null, region = null;
        var pathStyle = false;
        if (node is YamlMappingNode map)
        {
            ctx.CheckKeys(map, LakeKeys, "lake");
            location = ctx.String(map, "location", required: true);
            endpoint = ctx.String(map, "endpoint");
            region = ctx.String(map, "region");
            pathStyle = ctx.Bool(map, "path_style") ?? false;
        }
        else location = ctx.Resolve((YamlScalarNode)node);
        if (location == null) return null;
        if (location.StartsWith("s3://", StringComparison.Ordinal))
        {
            if (location.Length <= 5 || location[5] == '/')
                ctx.Error(node.Start, $"Lake location '{location}' has no bucket.", "write it as s3://bucket/prefix.");
            return new LakeLocation(location.TrimEnd('/'), endpoint, region, pathStyle);
        }
        if (location.Contains("://") && !location.StartsWith("file://", StringComparison.Ordinal))
        {
            ctx.Error(node.Start, $"Lake location '{location}' is neither a local path nor s3://.", "use a folder path or s3://bucket/prefix.");
            return null;
        }
        var local = location.StartsWith("file://", StringComparison.Ordinal) ? location[7..] : location;
        return new LakeLocation(Path.GetFullPath(Path.Combine(ctx.BaseDirectory, local)));
    }

    private static List<SourceSpec> ParseSources(YamlMappingNode root, SpecContext ctx)
    {
        var sources = new List<SourceSpec>();
        if (ctx.Mapping(root, "sources", "'sources' must be a mapping of source names to their settings.", "write 'sources:' then '  mydb: {kind: sqlite, path: ...}'.") is not { } map) return sources;
        foreach (var (keyNode, value) in map.Children)
        {
            var key = (YamlScalarNode)keyNode;
            var name = key.Value ?? "";
            if (!Identifier().IsMatch(name))
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
                    $"use one of: {string.Join(", ", SourceKinds.All.Keys)}{Suggest(kindNode.Value, SourceKinds.All.Keys)}.");
                continue;
            }
            ctx.CheckKeys(body, [.. SourceKeys.Concat(kind.Required).Concat(kind.Optional).Distinct()], $"source '{name}' (kind {kind.Name})");
            foreach (var (optionKey, optionValue) in body.Children)
            {
                var option = ((YamlScalarNode)optionKey).Value ?? "";
                // A connection is refused literally only when it holds a password (a SQLite-style path or a URL without
                // one may be written as it is).
                var isSecret = (option != "connection" && Secrets.IsSecretName(option)) ||
                               (option == "connection" && optionValue is YamlScalarNode c && Regex.IsMatch(c.Value ?? "", @"(?i)(password|pwd)\s*=|://[^/@:]+:[^/@]+@"));
                if (isSecret && optionValue is YamlScalarNode literal && !EnvReference().IsMatch(literal.Value ?? ""))
                    ctx.Error(literal.Start, $"'{option}' of source '{name}' is a secret written in the spec file.",
                        $"put it in an environment variable and write '{option}: ${{env:{name.ToUpperInvariant()}_{option.ToUpperInvariant()}}}'.");
            }
            var options = new Dictionary<string, string>();
            var declared = new Dictionary<string, string>();
            foreach (var option in kind.Required.Concat(kind.Optional).Except(IncrementalSpec.Keys))
            {
                if (ctx.Child(body, option) is YamlSequenceNode list && list.Children.All(c => c is YamlScalarNode))
                {
                    // A list option (e.g. databases: [WB_WDI, WB_ESG]) is kept comma-joined.
                    options[option] = declared[option] = string.Join(",", list.Children.Cast<YamlScalarNode>().Select(c => c.Value));
                    continue;
                }
                if (ctx.Child(body, option) is YamlMappingNode pairs && pairs.Children.All(c => c.Key is YamlScalarNode && c.Value is YamlScalarNode))
                {
                    // A mapping option (e.g. columns: {amount: DECIMAL(10,2)}) is kept as name=value pairs.
                    options[option] = declared[option] = string.Join(";", pairs.Children.Select(c => $"{((YamlScalarNode)c.Key).Value}={((YamlScalarNode)c.Value).Value}"));
                    continue;
                }
                var scalar = ctx.Scalar(body, option);
                if (scalar == null)
                {
                    if (kind.Required.Contains(option))
                        ctx.Error(body.Start, $"Source '{name}' (kind {kind.Name}) needs '{option}'.", $"add '{option}: ...' under '{name}'.");
                    continue;
                }
                declared[option] = scalar.Value ?? "";
                var given = ctx.Use == SpecUse.ReadLake ? scalar.Value ?? "" : ctx.Resolve(scalar, option);
                if (given == null) continue;
                options[option] = given;
                if (SourceOptions.All.TryGetValue(option, out var declaration) && !(ctx.Use == SpecUse.ReadLake && EnvReference().IsMatch(given)) &&
                    declaration.Check(given) is { } problem)
                    ctx.Error(scalar.Start, $"Source '{name}': {problem.Message}", problem.Fix);
            }
            if (ctx.Scalar(body, "schema") is { } policy)
            {
                if (policy.Value is "evolve" or "freeze") options["schema"] = policy.Value;
                else ctx.Error(policy.Start, $"Unknown schema policy '{policy.Value}' in source '{name}'.",
                    "use 'evolve' (new columns are added, the default) or 'freeze' (a new column fails the dataset).");
            }
            var defaults = IncrementalSpec.Parse(body, new DatasetSpec("*", null, null, ctx.At(body.Start)), name, ctx);
            var datasets = ParseDatasets(body, name, defaults, ctx);
            if (!kind.Incremental && datasets.FirstOrDefault(d => d.Mode == CaptureMode.Incremental) is { } inc)
                ctx.Error(inc.Position, $"Source '{name}' (kind {kind.Name}) does not support incremental capture yet.", "use 'mode: full'.");
            var source = new SourceSpec { Name = name, Kind = kind.Name, Options = options, Declared = declared, Datasets = datasets, Position = ctx.At(key.Start) };
            if (ctx.Use == SpecUse.Run) kind.Validate?.Invoke(source, ctx.BaseDirectory, (message, fix) => ctx.Error(key.Start, message, fix));
            sources.Add(source);
        }
        return sources;
    }

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
                else if (!Identifier().IsMatch(table.ToLowerInvariant()))
                    ctx.Error(scalar.Start, $"Dataset '{table}' of source '{source}' is not a valid table name.", "give it a name: '{name: mytable, table: \"My Table\"}'.");
                else datasets.Add(defaults with { Name = table.ToLowerInvariant(), Table = table, Position = ctx.At(scalar.Start) });
            }
            else if (item is YamlMappingNode map)
            {
                ctx.CheckKeys(map, DatasetKeys, $"a dataset of source '{source}'");
                var name = ctx.String(map, "name", required: true);
                var table = ctx.String(map, "table");
                var query = ctx.String(map, "query");
                if (name != null && !Identifier().IsMatch(name))
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

    public static TimeSpan? ParseDuration(string text)
    {
        var m = Regex.Match(text.Trim(), @"^(\d+)\s*(s|m|h|d)$");
        if (!m.Success) return null;
        var n = int.Parse(m.Groups[1].Value, CultureInfo.InvariantCulture);
        return m.Groups[2].Value switch { "s" => TimeSpan.FromSeconds(n), "m" => TimeSpan.FromMinutes(n), "h" => TimeSpan.FromHours(n), _ => TimeSpan.FromDays(n) };
    }

    private static List<ModelSpec> ParseModels(YamlMappingNode root, SpecContext ctx)
    {
        var models = new List<ModelSpec>();
        if (ctx.Mapping(root, "models", "'models' must be a mapping of output tables to model settings.", "write 'models:' then '  trusted.orders: {sql: models/orders.sql}'.") is not { } map) return models;
        foreach (var (keyNode, value) in map.Children)
        {
            var key = (YamlScalarNode)keyNode;
            if (!TableId.TryParse(key.Value ?? "", out var output) || output.Zone == Zone.Raw)
            {
                ctx.Error(key.Start, $"Model '{key.Value}' must be named after the table it writes: trusted.<name> or refined.<name>.",
                    "rename it, e.g. 'trusted.orders' (lower-case letters, digits and '_'). Raw tables are written by sources only.");
                continue;
            }
            if (value is not YamlMappingNode body)
            {
                ctx.Error(value.Start, $"Model '{output}' must be a mapping with at least 'sql'.", $"write '{output}: {{sql: models/{output.Name}.sql}}'.");
                continue;
            }
            if (output.ToString() is "refined.caudal_checks" or "refined.caudal_runs")
                ctx.Error(key.Start, $"{output} is where Caudal writes its own {(output.Name == "caudal_runs" ? "run history" : "check results")}.", "give the model another name.");
            ctx.CheckKeys(body, ModelKeys, $"model '{output}'");
            var sqlNode = ctx.Scalar(body, "sql", required: true);
            var (sqlFile, sql) = sqlNode == null ? (null, null) : ReadSqlFile(sqlNode, $"model '{output}'", ctx);
            var mode = WriteMode.Overwrite;
            if (ctx.Scalar(body, "mode") is { } modeNode)
            {
                if (modeNode.Value == "append") mode = WriteMode.Append;
                else if (modeNode.Value != "overwrite")
                    ctx.Error(modeNode.Start, $"Unknown write mode '{modeNode.Value}' for model '{output}'.", "use 'overwrite' or 'append'.");
            }
            var partitionBy = ctx.StringList(body, "partition_by") ?? [];
            List<TableId> inputs;
            if (ctx.StringList(body, "inputs") is { } declared)
            {
                inputs = [];
                foreach (var input in declared)
                {
                    if (TableId.TryParse(input, out var id)) inputs.Add(id);
                    else ctx.Error(ctx.Child(body, "inputs")!.Start, $"Input '{input}' of model '{output}' is not a table name.", "write inputs as zone.name, e.g. raw.sakila_rental.");
                }
            }
            else inputs = sql == null ? [] : InferInputs(sql);
            var checks = ParseChecks(body, output, ctx);
            var forecast = ParseMl(body, output, ctx);
            // A relationships check reads the table it points at: it is an input (mounted, and built first).
            inputs.AddRange(checks.Where(c => c.To != null).Select(c => c.To!.Value).Where(t => t != output));
            models.Add(new ModelSpec
            {
                Output = output,
                SqlFile = sqlFile ?? "",
                Sql = sql ?? "",
                Inputs = inputs.Distinct().ToList(),
                Mode = mode,
                PartitionBy = partitionBy,
                Checks = checks,
                Forecast = forecast,
                Description = ctx.String(body, "description"),
                Engine = ctx.Scalar(body, "engine")?.Value,
                Position = ctx.At(key.Start),
            });
        }
        return models;
    }

    private static List<Processing.Charts.ChartSpec> ParseCharts(YamlMappingNode root, List<ModelSpec> models, SpecContext ctx)
    {
        var charts = new List<Processing.Charts.ChartSpec>();
        if (ctx.Mapping(root, "charts", "'charts' must be a mapping of chart names to chart settings.", "write 'charts:' then '  revenue: {kind: bar, query: ..., x: country, y: revenue}'.") is not { } map) return charts;
        var produced = models.SelectMany(m => m.Outputs).ToHashSet();
        foreach (var (keyNode, value) in map.Children)
        {
            var name = ((YamlScalarNode)keyNode).Value ?? "";
            if (!Identifier().IsMatch(name))
            {
                ctx.Error(keyNode.Start, $"Chart name '{name}' is not a plain name.", "use lower-case letters, digits and '_', e.g. revenue_by_country.");
                continue;
            }
            if (value is not YamlMappingNode body)
            {
                ctx.Error(value.Start, $"Chart '{name}' must be a mapping.", "give it kind, query (or sql), x, y and title.");
                continue;
            }
            ctx.CheckKeys(body, ChartKeys, $"chart '{name}'");
            var kindNode = ctx.Scalar(body, "kind", required: true);
            Processing.Charts.ChartKind kind = default;
            if (kindNode != null && !Enum.TryParse(kindNode.Value, ignoreCase: true, out kind))
                ctx.Error(kindNode.Start, $"Unknown chart kind '{kindNode.Value}' in chart '{name}'.", "use bar, line or scatter.");
            string? sql = null;
            var sqlNode = ctx.Scalar(body, "sql");
            var queryNode = ctx.Scalar(body, "query");
            if ((sqlNode == null) == (queryNode == null))
                ctx.Error(body.Start, $"Chart '{name}' needs exactly one of 'sql' (a file) or 'query' (the SELECT itself).", "write 'query: SELECT ... FROM refined.some_table'.");
            else if (queryNode != null) sql = queryNode.Value;
            else sql = ReadSqlFile(sqlNode!, $"chart '{name}'", ctx).Sql;
            var x = ctx.String(body, "x", required: true);
            var y = ctx.Child(body, "y") is YamlScalarNode one ? [one.Value ?? ""] : ctx.StringList(body, "y");
            if (y is not { Count: > 0 }) ctx.Error(body.Start, $"Chart '{name}' needs 'y': the value column(s).", "write 'y: revenue' or 'y: [avg_value, median_value]'.");
            else if (kind != Processing.Charts.ChartKind.Bar && y.Count > 1)
                ctx.Error(ctx.Child(body, "y")!.Start, $"A {kind.ToString().ToLowerInvariant()} chart draws one y column; chart '{name}' names {y.Count}.", "split the values with 'series:' instead.");
            var title = ctx.String(body, "title", required: true);
            var inputs = sql == null ? [] : InferInputs(sql);
            foreach (var input in inputs.Where(i => i.Zone != Zone.Raw && !produced.Contains(i)))
                ctx.Error(body.Start, $"Chart '{name}' reads {input}, which no model produces.", $"declare the model or fix the name{Suggest(input.ToString(), produced.Select(p => p.ToString()))}.");
            if (sql == null || x == null || y is not { Count: > 0 } || title == null || kindNode == null) continue;
            charts.Add(new Processing.Charts.ChartSpec(name, kind, sql, inputs, ctx.At(keyNode.Start))
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

    /// <summary>A model's or chart's SQL file, resolved against the spec's folder; an error names it when it is missing.</summary>
    private static (string File, string? Sql) ReadSqlFile(YamlScalarNode node, string owner, SpecContext ctx)
    {
        var file = Path.GetFullPath(Path.Combine(ctx.BaseDirectory, node.Value ?? ""));
        if (System.IO.File.Exists(file)) return (file, System.IO.File.ReadAllText(file));
        ctx.Error(node.Start, $"SQL file '{node.Value}' of {owner} does not exist.", "the path is relative to the spec's folder; create the file or fix the path.");
        return (file, null);
    }

    private static Processing.Ml.ForecastSpec? ParseMl(YamlMappingNode body, TableId model, SpecContext ctx)
    {
        if (ctx.Mapping(body, "ml", $"'ml' of model '{model}' must be a mapping.", "write 'ml: {target: obs_value, entity: ref_area, time: year}'.") is not { } ml) return null;
        ctx.CheckKeys(ml, MlKeys, $"the ml step of model '{model}'");
        var target = ctx.String(ml, "target", required: true);
        var entity = ctx.String(ml, "entity", required: true);
        var time = ctx.String(ml, "time", required: true);
        var metricsName = ctx.String(ml, "metrics") ?? $"{model}_metrics";
        if (!TableId.TryParse(metricsName, out var metrics) || metrics.Zone == Zone.Raw || metrics == model || metrics.ToString() is "refined.caudal_checks" or "refined.caudal_runs")
        {
            ctx.Error(ctx.Child(ml, "metrics")!.Start, $"'{metricsName}' cannot hold the metrics of model '{model}'.",
                $"name another trusted or refined table, e.g. {model}_metrics.");
            return null;
        }
        if (target == null || entity == null || time == null) return null;
        return new Processing.Ml.ForecastSpec(ctx.StringList(ml, "series") ?? [], entity, time, target, metrics,
            ctx.Int(ml, "holdout_years", 1, 50) ?? 3, ctx.Int(ml, "horizon", 1, 50) ?? 3, ctx.Int(ml, "seed", 0, int.MaxValue) ?? 1);
    }

    private static List<Processing.Checks.CheckSpec> ParseChecks(YamlMappingNode body, TableId model, SpecContext ctx)
    {
        var checks = new List<Processing.Checks.CheckSpec>();
        if (ctx.Child(body, "checks") is not { } node) return checks;
        if (node is not YamlSequenceNode list)
        {
            ctx.Error(node.Start, $"'checks' of model '{model}' must be a list.", "write '- not_null: [id]' items under 'checks:'.");
            return checks;
        }
        var kinds = Processing.Checks.CheckSpec.Kinds;
        foreach (var item in list.Children)
        {
            if (item is not YamlMappingNode map)
            {
                ctx.Error(item.Start, $"A check of model '{model}' must be a mapping such as 'not_null: [id]'.", "write '- unique: [id]'.");
                continue;
            }
            ctx.CheckKeys(map, [.. kinds, "severity"], $"a check of model '{model}'");
            var kindKeys = map.Children.Keys.OfType<YamlScalarNode>().Where(k => kinds.Contains(k.Value)).ToList();
            if (kindKeys.Count != 1)
            {
                ctx.Error(map.Start, $"A check of model '{model}' must name exactly one kind.", $"use one of: {string.Join(", ", kinds)}.");
                continue;
            }
            var kind = kindKeys[0].Value!;
            var severity = Processing.Checks.CheckSeverity.Error;
            if (ctx.Scalar(map, "severity") is { } sev)
            {
                if (sev.Value == "warn") severity = Processing.Checks.CheckSeverity.Warn;
                else if (sev.Value != "error") ctx.Error(sev.Start, $"Unknown severity '{sev.Value}'.", "use 'error' (blocks publishing) or 'warn' (recorded only).");
            }
            var check = new Processing.Checks.CheckSpec(kind, severity, ctx.At(kindKeys[0].Start));
            var value = map.Children[kindKeys[0]];
            if (kind is "not_null" or "unique")
            {
                var columns = value is YamlScalarNode one ? [one.Value ?? ""] : ctx.StringList(map, kind);
                if (columns is { Count: > 0 }) checks.Add(check with { Columns = columns });
                else ctx.Error(value.Start, $"{kind} of model '{model}' needs columns.", $"write '{kind}: [id]'.");
                continue;
            }
            if (value is not YamlMappingNode args)
            {
                ctx.Error(value.Start, $"{kind} of model '{model}' needs its settings as a mapping.", kind switch
                {
                    "accepted_values" => "write 'accepted_values: {column: rating, values: [G, PG]}'.",
                    "range" => "write 'range: {column: amount, min: 0, max: 100}'.",
                    "relationships" => "write 'relationships: {column: customer_id, to: trusted.customers, field: customer_id}'.",
                    "row_count" => "write 'row_count: {min: 1}'.",
                    _ => "write 'freshness: {column: updated_at, max_age: 2d}'.",
                });
                continue;
            }
            string[] allowed = kind switch
            {
                "accepted_values" => ["column", "values"],
                "range" => ["column", "min", "max"],
                "relationships" => ["column", "to", "field"],
                "row_count" => ["min", "max"],
                _ => ["column", "max_age"],
            };
            ctx.CheckKeys(args, allowed, $"the {kind} check of model '{model}'");
            var column = kind == "row_count" ? null : ctx.String(args, "column", required: true);
            var min = ctx.Scalar(args, "min")?.Value;
            var max = ctx.Scalar(args, "max")?.Value;
            foreach (var bound in new[] { min, max }.OfType<string>())
                if (!decimal.TryParse(bound, NumberStyles.Float, CultureInfo.InvariantCulture, out _))
                    ctx.Error(args.Start, $"Bound '{bound}' of the {kind} check of model '{model}' is not a number.", "write numbers for min and max.");
            check = check with { Columns = column == null ? [] : [column], Min = min, Max = max };
            if (kind == "accepted_values") check = check with { Values = ctx.StringList(args, "values") ?? [] };
            if (kind == "relationships")
            {
                var to = ctx.String(args, "to", required: true);
                if (to != null && !TableId.TryParse(to, out _)) ctx.Error(args.Start, $"'{to}' is not a table name.", "write it as zone.name, e.g. trusted.customers.");
                else if (to != null) check = check with { To = TableId.Parse(to), ToColumn = ctx.String(args, "field") ?? column };
            }
            if (kind == "freshness")
            {
                var age = ctx.Scalar(args, "max_age");
                if (age != null && ParseDuration(age.Value ?? "") is { } span) check = check with { MaxAge = span };
                else ctx.Error(args.Start, $"The freshness check of model '{model}' needs max_age.", "write 'max_age: 2d' (s, m, h or d).");
            }
            if (kind == "range" && min == null && max == null)
                ctx.Error(args.Start, $"The range check of model '{model}' has neither min nor max.", "give min, max or both.");
            checks.Add(check);
        }
        return checks;
    }

    /// <summary>The lake tables a model's SQL names (zone.name), when the model does not declare its inputs.</summary>
    public static List<TableId> InferInputs(string sql)
    {
        var withoutComments = Regex.Replace(sql, @"--[^\n]*|/\*.*?\*/", " ", RegexOptions.Singleline);
        var withoutStrings = Regex.Replace(withoutComments, @"'([^']|'')*'", "''");
        return TableReference().Matches(withoutStrings)
            .Select(m => new TableId((Zone)TableId.ZoneNames.ToList().IndexOf(m.Groups[1].Value.ToLowerInvariant()), m.Groups[2].Value.ToLowerInvariant()))
            .Distinct()
            .ToList();
    }

    private static void CheckGraph(List<SourceSpec> sources, List<ModelSpec> models, SpecContext ctx, bool sourcesIncomplete)
    {
        var produced = new Dictionary<TableId, string>();
        var sourcePrefixes = new List<string>();
        foreach (var s in sources)
        {
            if (s.AllDatasets)
            {
                var discovered = SourceKinds.All[s.Kind].Discover?.Invoke(s, ctx.BaseDirectory);
                if (discovered == null) sourcePrefixes.Add(s.Name + "_");
                else foreach (var d in discovered) produced[s.RawTable(d)] = $"source '{s.Name}'";
            }
            else foreach (var d in s.Datasets) produced[s.RawTable(d.Name)] = $"source '{s.Name}'";
        }
        foreach (var m in models)
            foreach (var output in m.Outputs)
            {
                if (produced.TryGetValue(output, out var by) && by.StartsWith("model", StringComparison.Ordinal))
                    ctx.Error(m.Position, $"Model '{m.Output}' writes {output}, which {by} writes too.", "give one of them another table.");
                produced[output] = $"model '{m.Output}'";
            }

        foreach (var m in models)
        {
            foreach (var input in m.Inputs)
            {
                if (m.Outputs.Contains(input))
                    ctx.Error(m.Position, $"Model '{m.Output}' reads its own output.", "read another table; to build on previous results use mode: append.");
                else if (!produced.ContainsKey(input) && !(input.Zone == Zone.Raw && (sourcesIncomplete || sourcePrefixes.Any(p => input.Name.StartsWith(p, StringComparison.Ordinal)))))
                    ctx.Error(m.Position, $"Model '{m.Output}' reads {input}, which no source or model produces.",
                        $"declare a source dataset or a model for it{Suggest(input.ToString(), produced.Keys.Select(k => k.ToString()))}.");
            }
        }

        var byOutput = models.SelectMany(m => m.Outputs.Select(o => (o, m))).DistinctBy(x => x.o).ToDictionary(x => x.o, x => x.m);
        var state = new Dictionary<TableId, int>();
        var path = new Stack<TableId>();
        foreach (var m in models) Visit(m.Output);

        void Visit(TableId id)
        {
            if (state.GetValueOrDefault(id) == 2 || !byOutput.TryGetValue(id, out var model)) return;
            if (state.GetValueOrDefault(id) == 1)
            {
                var cycle = path.Reverse().SkipWhile(t => t != id).Append(id).ToList();
                ctx.Error(byOutput[cycle[0]].Position, $"Models form a dependency cycle: {string.Join(" -> ", cycle)}.",
                    "break the cycle: one of these models must not read the others' output.");
                return;
            }
            state[id] = 1;
            path.Push(id);
            foreach (var input in model.Inputs.Where(i => i != id)) Visit(input);
            path.Pop();
            state[id] = 2;
        }
    }

    /// <summary>" (did you mean 'x'?)" for the candidate closest to <paramref name="given"/>, or "".</summary>
    public static string Suggest(string? given, IEnumerable<string> candidates)
    {
        if (string.IsNullOrEmpty(given)) return "";
        var best = candidates.Select(c => (c, d: Distance(given, c))).Where(x => x.d <= Math.Max(2, given.Length / 3)).OrderBy(x => x.d).FirstOrDefault();
        return best.c == null ? "" : $" (did you mean '{best.c}'?)";
    }

    private static int Distance(string a, string b)
    {
        var d = new int[a.Length + 1, b.Length + 1];
        for (var i = 0; i <= a.Length; i++) d[i, 0] = i;
        for (var j = 0; j <= b.Length; j++) d[0, j] = j;
        for (var i = 1; i <= a.Length; i++)
            for (var j = 1; j <= b.Length; j++)
                d[i, j] = Math.Min(Math.Min(d[i - 1, j] + 1, d[i, j - 1] + 1), d[i - 1, j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1));
        return d[a.Length, b.Length];
    }
}
