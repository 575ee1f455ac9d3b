using System.Text.RegularExpressions;
using Caudal.Capture;
using Caudal.Lake;
using Caudal.Values;

namespace Caudal.Spec;

/// <summary>The pipeline as a graph of tables: what each model reads (declared, or named in its SQL), that every input
/// is produced by a source or a model, that no two models write one table, and that models form no cycle.</summary>
public static partial class SpecGraph
{
    [GeneratedRegex(@"\b(raw|trusted|refined)\s*\.\s*""?([a-z][a-z0-9_]*)""?", RegexOptions.IgnoreCase)]
    private static partial Regex TableReference();

    /// <summary>The lake tables a model's SQL names (zone.name), when the model does not declare its inputs.</summary>
    public static List<TableId> InferInputs(string sql)
    {
        // zone.name__new (an incremental model's new rows of an input) reads zone.name.
        return TableReference().Matches(WithoutCommentsAndStrings(sql))
            .Select(m => new TableId((Zone)TableId.ZoneNames.ToList().IndexOf(m.Groups[1].Value.ToLowerInvariant()),
                Regex.Replace(m.Groups[2].Value.ToLowerInvariant(), "__new$", "")))
            .Distinct()
            .ToList();
    }

    internal static string WithoutCommentsAndStrings(string sql)
    {
        var withoutComments = Regex.Replace(sql, @"--[^\n]*|/\*.*?\*/", " ", RegexOptions.Singleline);
        return Regex.Replace(withoutComments, @"'([^']|'')*'", "''");
    }

    internal static void Check(List<SourceSpec> sources, List<ModelSpec> models, SpecContext ctx, bool sourcesIncomplete)
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
                        $"declare a source dataset or a model for it{DidYouMean.Suggest(input.ToString(), produced.Keys.Select(k => k.ToString()))}.");
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
}
