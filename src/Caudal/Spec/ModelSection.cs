using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Processing.Engine;
using YamlDotNet.RepresentationModel;

namespace Caudal.Spec;

/// <summary>The <c>models:</c> section: each model's output table, SQL file, inputs (declared or read from the SQL),
/// write mode, partitions, checks (<see cref="Processing.Checks.CheckSection"/>) and ML step
/// (<see cref="Processing.Ml.ForecastSection"/>).</summary>
internal static class ModelSection
{
    public static readonly string[] Keys = ["sql", "inputs", "mode", "partition_by", "description", "checks", "ml", "engine", "change_feed", .. IncrementalSection.Keys];

    public static List<ModelSpec> Parse(YamlMappingNode root, SpecContext ctx)
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
            if (output.IsCaudalOwn)
                ctx.Error(key.Start, $"{output} is where Caudal writes its own {(output.Name == "caudal_runs" ? "run history" : "check results")}.", "give the model another name.");
            ctx.CheckKeys(body, Keys, $"model '{output}'");
            var sqlNode = ctx.Scalar(body, "sql", required: true);
            var (sqlFile, sql) = sqlNode == null ? (null, null) : ctx.ReadSqlFile(sqlNode, $"model '{output}'");
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
            else inputs = sql == null ? [] : SpecGraph.InferInputs(sql);
            var checks = Processing.Checks.CheckSection.Parse(body, output, ctx);
            var forecast = Processing.Ml.ForecastSection.Parse(body, output, ctx);
            var incremental = IncrementalSection.Parse(body, output, sql, ctx);
            if (incremental != null && ctx.Child(body, "mode") is { } modeSet)
                ctx.Error(modeSet.Start, $"Incremental model {output} sets 'mode'.", "remove 'mode': an incremental model merges by unique_key.");
            if (incremental != null && forecast != null)
                ctx.Error(ctx.Child(body, "ml")!.Start, $"Model {output} has an ML step and is incremental.", "remove 'materialized: incremental': an ML step trains on all its observations.");
            if (incremental != null && ctx.Scalar(body, "engine") is { Value: "spark" } spark)
                ctx.Error(spark.Start, $"Incremental model {output} asks for engine: spark.",
                    "remove 'engine': incremental models run on the embedded engine (a merge reads only what changed); on Spark they would be rebuilt whole.");
            if (incremental != null)
                foreach (var input in incremental.NewInputs.Where(i => !inputs.Contains(i)))
                    ctx.Error(ctx.Child(body, "inputs")?.Start ?? key.Start, $"Model {output} reads {input}{IncrementalModel.NewSuffix} but does not list {input} in 'inputs'.", $"add {input} to 'inputs'.");
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
                Incremental = incremental,
                ChangeFeed = ctx.Bool(body, "change_feed") ?? false,
                Description = ctx.String(body, "description"),
                Engine = Engine(body, output, ctx),
                Position = ctx.At(key.Start),
            });
        }
        return models;
    }

    private static EngineKind? Engine(YamlMappingNode body, TableId output, SpecContext ctx)
    {
        if (ctx.Scalar(body, "engine") is not { } node) return null;
        if (EngineKinds.TryParse(node.Value, out var kind)) return kind;
        ctx.Error(node.Start, $"Model {output} has engine '{node.Value}'.", "use 'engine: duckdb' or 'engine: spark' (or leave it out: the pipeline's run.engine).");
        return null;
    }
}
