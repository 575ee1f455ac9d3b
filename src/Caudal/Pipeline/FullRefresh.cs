using Caudal.Lake;
using Caudal.Spec;

namespace Caudal.Pipeline;

/// <summary>Which incremental models <c>--full-refresh</c> names.</summary>
public static class FullRefresh
{
    /// <summary>The incremental models named in <paramref name="names"/> (comma-separated; empty or null: all of them).
    /// A name that is no model, or a model that is not incremental, is an error: never a silent no-op.</summary>
    public static IReadOnlySet<TableId> Models(PipelineSpec spec, string? names)
    {
        var incremental = spec.Models.Where(m => m.Incremental != null).Select(m => m.Output).ToHashSet();
        if (string.IsNullOrWhiteSpace(names)) return incremental;
        var chosen = new HashSet<TableId>();
        foreach (var name in names.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            if (!TableId.TryParse(name, out var id) || spec.Models.All(m => m.Output != id))
                throw new ArgumentException($"--full-refresh names '{name}', which is no model of {spec.Name}" +
                    (incremental.Count > 0 ? $"; its incremental models are {string.Join(", ", incremental.Select(t => t.ToString()).Order(StringComparer.Ordinal))}." : "; it has no incremental model."));
            if (!incremental.Contains(id))
                throw new ArgumentException($"--full-refresh names {id}, which is not incremental: it is rebuilt whole on every run already.");
            chosen.Add(id);
        }
        return chosen;
    }
}
