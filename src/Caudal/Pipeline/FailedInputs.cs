using Caudal.Lake;
using Caudal.Runs;

namespace Caudal.Pipeline;

/// <summary>The tables that failed or were skipped in this run, and the sources none of whose datasets could be
/// captured: a model reading any of them is skipped, so it never mixes fresh and stale inputs silently.</summary>
internal sealed class FailedInputs
{
    private readonly HashSet<TableId> _tables = [];
    private readonly HashSet<string> _sources = [];

    private readonly IReadOnlyList<StageRecord> _stages;

    private FailedInputs(IReadOnlyList<StageRecord> stages) => _stages = stages;

    public static FailedInputs Of(IReadOnlyList<StageRecord> stages)
    {
        var failed = new FailedInputs(stages);
        foreach (var stage in stages.Where(s => s.Status is RunStatus.Failed or RunStatus.Skipped))
        {
            if (stage.Source != null) failed._sources.Add(stage.Source);
            else if (TableId.TryParse(stage.Table, out var table)) failed._tables.Add(table);
        }
        return failed;
    }

    public void Add(TableId table) => _tables.Add(table);

    /// <summary>Marks <paramref name="stage"/> skipped when one of <paramref name="inputs"/> failed or was skipped in
    /// this run, saying which; false when every input is usable.</summary>
    public bool Skip(StageRecord stage, IEnumerable<TableId> inputs)
    {
        if (inputs.Where(Blocks).Select(i => i.ToString()).FirstOrDefault() is not { } blocked) return false;
        stage.Status = RunStatus.Skipped;
        stage.Error = $"skipped: input {blocked} {(_stages.Any(s => s.Table == blocked && s.Status == RunStatus.Skipped) ? "was skipped" : "failed")} in this run";
        return true;
    }

    public bool Blocks(TableId input) =>
        _tables.Contains(input) || (input.Zone == Zone.Raw && _sources.Any(s => input.Name.StartsWith(s + "_", StringComparison.Ordinal)));
}
