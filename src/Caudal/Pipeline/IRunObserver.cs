using Caudal.Runs;

namespace Caudal.Pipeline;

/// <summary>Receives a run's progress (the CLI draws it; tests may record it).</summary>
public interface IRunObserver
{
    void StageStarted(StageRecord stage) { }
    void StageProgress(StageRecord stage, long rows) { }

    /// <summary>What a stage is doing now that a person watching should know (e.g. which request it retries).</summary>
    void StageMessage(StageRecord stage, string message) { }
    void StageFinished(StageRecord stage) { }
}

public sealed class NullObserver : IRunObserver
{
    public static readonly NullObserver Instance = new();
}
