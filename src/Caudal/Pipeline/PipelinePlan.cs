using System.Text;
using Caudal.Capture;
using Caudal.Lake;
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
        sb.AppendLine($"pipeline {Spec.Name} (lake: {Spec.Lake.Uri}, engine: {Spec.Run.Engine})");
        sb.AppendLine("sources -> raw tables");
        foreach (var (source, tables) in Sources)
        {
            var where = string.Join(", ", source.Options.Where(o => !o.Key.Contains("password")).Select(o => $"{o.Key}: {o.Value}"));
            sb.AppendLine($"  {source.Name} ({source.Kind}{(where.Length > 0 ? ", " + where : "")})");
            foreach (var t in tables) sb.AppendLine($"    -> {t}");
        }
        sb.AppendLine("models (run order)");
        var i = 0;
        foreach (var m in Models)
        {
            var options = m.Mode.ToString().ToLowerInvariant() + (m.PartitionBy.Count > 0 ? $", partition_by: {string.Join(", ", m.PartitionBy)}" : "");
            sb.AppendLine($"  {++i}. {m.Output} [{options}] {Path.GetRelativePath(Spec.BaseDirectory, m.SqlFile)}");
            sb.AppendLine($"       <- {string.Join(", ", m.Inputs)}");
        }
        var read = Models.SelectMany(m => m.Inputs).ToHashSet();
        sb.AppendLine("outputs (read by no model)");
        foreach (var m in Models.Where(m => !read.Contains(m.Output))) sb.AppendLine($"  {m.Output}");
        return sb.ToString();
    }
}
