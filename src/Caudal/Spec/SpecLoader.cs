using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Caudal.Spec;

/// <summary>
/// Reads and validates <c>caudal.yaml</c>. Every problem is collected (not just the first) with file:line:column
/// and a fix. This file composes: YAML syntax and the top-level keys here, each section in its own parser beside the
/// code that uses it (<see cref="LakeSection"/>, <see cref="SourceSection"/>, <see cref="ModelSection"/>, charts,
/// run settings, schedule, serve, spark), then the graph of tables (<see cref="SpecGraph"/>).
/// </summary>
public static class SpecLoader
{
    internal static readonly string[] TopKeys = ["version", "name", "lake", "sources", "models", "charts", "run", "schedule", "serve", "spark"];

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

        var lake = LakeSection.Parse(root, ctx);
        var errorsBefore = ctx.Errors.Count;
        var sources = SourceSection.Parse(root, ctx);
        // When the sources could not be read whole (an error in them, or no 'sources' beside an unknown top-level key,
        // e.g. 'sourcse'), what models read from raw follows from that error: it is not reported again for each model.
        var sourcesIncomplete = ctx.Errors.Count > errorsBefore ||
                                (ctx.Child(root, "sources") == null && root.Children.Keys.OfType<YamlScalarNode>().Any(k => !TopKeys.Contains(k.Value ?? "")));
        var run = RunSettings.Parse(root, ctx);
        var models = ModelSection.Parse(root, ctx);
        var charts = Processing.Charts.ChartSection.Parse(root, models, ctx);
        var schedule = Schedule.ScheduleSpec.Parse(root, sources, ctx);
        var serve = Caudal.Serve.ServeSpec.Parse(root, ctx);
        var spark = Processing.Spark.SparkSpec.Parse(root, ctx);
        Processing.Spark.SparkSpec.CheckEngines(root, lake, models, spark, ctx);
        SpecGraph.Check(sources, models, ctx, sourcesIncomplete);
        if (lake == null) return null;
        return new PipelineSpec { File = ctx.FileName, BaseDirectory = ctx.BaseDirectory, Name = name, Lake = lake, Sources = sources, Models = models, Charts = charts, Run = run, Schedule = schedule, Serve = serve, Spark = spark };
    }
}
