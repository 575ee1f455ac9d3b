using System.Text;
using Caudal.Capture;
using Caudal.Lake;
using Caudal.Processing.Engine;
using Caudal.Spec;

namespace Caudal.Pipeline;

/// <summary>The graph a spec declares: sources → raw tables → models (in run order) → outputs. Built without running
/// anything; "*" datasets are listed when the source can be inspected offline.</summary>
public sealed class PipelinePlan
{
    public required PipelineSpec Spec { get; init; }
    public required IReadOnlyList<(SourceSpec Source, IReadOnlyList<TableId> Tables)> Sources { get; init; }
    public required IReadOnlyList<ModelSpec> Models { get; init; }

    public static Task<PipelinePlan> BuildAsync(PipelineSpec spec, CancellationToken ct = default)
    {
        var sources = spec.Sources.Select(s =>
        {
            IReadOnlyList<string> names = s.AllDatasets
                ? SourceKinds.All[s.Kind].Discover?.Invoke(s, spec.BaseDirectory)?.Select(n => n.ToLowerInvariant()).ToList() ?? ["*"]
                : s.Datasets.Select(d => d.Name).ToList();
            return (s, (IReadOnlyList<TableId>)names.Select(n => s.RawTable(n == "*" ? "*" : n)).ToList());
        }).ToList();
        return Task.FromResult(new PipelinePlan { Spec = spec, Sources = sources, Models = ModelStage.Order(spec.Models) });
    }

    public string Render()
    {
        var sb = new StringBuilder();
        sb.AppendLine($"pipeline {Spec.Name} (lake: {Spec.Lake.Uri}, engine: {Spec.Run.Engine.Name()})");
        sb.AppendLine("sources -> raw tables");
        foreach (var (source, tables) in Sources)
        {
            // As the spec writes them (${env:…} references, never their values), secrets masked whatever their source.
            var where = string.Join(", ", source.AsWritten.Select(o => $"{o.Key}: {(Secrets.IsSecretName(o.Key) && !o.Value.StartsWith("${env:", StringComparison.Ordinal) ? "***" : Secrets.Redact(o.Value))}"));
            sb.AppendLine($"  {source.Name} ({source.Kind}{(where.Length > 0 ? ", " + where : "")})");
            foreach (var t in tables) sb.AppendLine($"    -> {t}");
        }
        sb.AppendLine("models (run order)");
        var i = 0;
        foreach (var m in Models)
        {
            var options = (m.Incremental is { } inc
                    ? $"incremental, unique_key: {string.Join(", ", inc.UniqueKey)}, new rows of: {string.Join(", ", inc.NewInputs)}"
                    : m.Mode.ToString().ToLowerInvariant())
                + (m.ChangeFeed ? ", change_feed" : "")
                + (m.PartitionBy.Count > 0 ? $", partition_by: {string.Join(", ", m.PartitionBy)}" : "")
                + (m.Forecast is { } ml ? $", ml: {ml.Target} by {ml.Entity} and {ml.Time}, metrics -> {ml.Metrics}" : "");
            sb.AppendLine($"  {++i}. {m.Output} [{options}] {Path.GetRelativePath(Spec.BaseDirectory, m.SqlFile)}");
            sb.AppendLine($"       <- {string.Join(", ", m.Inputs)}");
        }
        if (Spec.Charts.Count > 0)
        {
            sb.AppendLine("charts (refined/_charts/<chart>/)");
            foreach (var c in Spec.Charts)
                sb.AppendLine($"  {c.Name} [{c.Kind.ToString().ToLowerInvariant()}{(c.Each != null ? $", one per {c.Each}" : "")}] <- {string.Join(", ", c.Inputs)}");
        }
        var read = Models.SelectMany(m => m.Inputs).Concat(Spec.Charts.SelectMany(c => c.Inputs)).ToHashSet();
        sb.AppendLine("outputs (read by no model or chart)");
        foreach (var output in Models.SelectMany(m => m.Outputs).Where(o => !read.Contains(o))) sb.AppendLine($"  {output}");
        return sb.ToString();
    }
}
