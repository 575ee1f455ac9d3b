using System.Diagnostics;
using Caudal.Runs;

namespace Caudal.Pipeline;

/// <summary>What every model and chart stage does around its work: report it started, time it, record how it ended
/// (a failure becomes the stage's error, never the run's exception; cancellation still stops the run).</summary>
internal static class StageExecution
{
    /// <summary>Runs <paramref name="work"/> for <paramref name="stage"/>; false when it failed.</summary>
    public static async Task<bool> RunAsync(StageRecord stage, IRunObserver observer, Func<Task> work, Func<Exception, string> describe)
    {
        observer.StageStarted(stage);
        var clock = Stopwatch.StartNew();
        try
        {
            await work();
            stage.Status = RunStatus.Succeeded;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            stage.Status = RunStatus.Failed;
            stage.Error = describe(e);
        }
        stage.Seconds = clock.Elapsed.TotalSeconds;
        observer.StageFinished(stage);
        return stage.Status == RunStatus.Succeeded;
    }
}
