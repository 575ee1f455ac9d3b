using System.Diagnostics;
using System.Runtime.ExceptionServices;
using Caudal.Lake.Stores;
using Caudal.Runs;

namespace Caudal.Pipeline;

/// <summary>What every model and chart stage does around its work: report it started, time it, record how it ended
/// (a failure becomes the stage's error, never the run's exception; cancellation and the lake becoming unreachable
/// still stop the run).</summary>
internal static class StageExecution
{
    /// <summary>Runs <paramref name="work"/> for <paramref name="stage"/>; false when it failed.</summary>
    public static async Task<bool> RunAsync(StageRecord stage, IRunObserver observer, Func<Task> work, Func<Exception, string> describe)
    {
        observer.StageStarted(stage);
        var clock = Stopwatch.StartNew();
        LakeUnavailableException? lakeGone = null;
        try
        {
            await work();
            stage.Status = RunStatus.Succeeded;
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            stage.Status = RunStatus.Failed;
            stage.Error = e is LakeUnavailableException ? e.Message : describe(e);
            lakeGone = e as LakeUnavailableException;
        }
        stage.Seconds = clock.Elapsed.TotalSeconds;
        observer.StageFinished(stage);
        // Without the lake no later stage can do anything: the run stops here (nothing this stage did is committed).
        if (lakeGone != null) ExceptionDispatchInfo.Throw(lakeGone);
        return stage.Status == RunStatus.Succeeded;
    }
}
