using System.Net.Http.Json;
using System.Text.Json;
using Caudal.Runs;
using Microsoft.Extensions.Logging;

namespace Caudal.Schedule;

/// <summary>POSTs a run's outcome as JSON to an on_failure / on_success URL: pipeline, run id, trigger, job, slot,
/// status, error and the stages that did not succeed with their errors, and (when the lake is served, under
/// <c>caudal up</c>) a link to the run's page on the dashboard and to its record on the API. A hook that cannot be reached is retried a few
/// times and logged; it never stops the scheduler.</summary>
public sealed class Webhook(HttpClient http, ILogger logger, Func<string?>? serverRoot = null)
{
    private static readonly JsonSerializerOptions Json = new() { PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower };

    public static object Payload(RunRecord run, string? serverRoot = null) => new
    {
        Link = serverRoot == null ? null : $"{serverRoot}/#/runs/{run.RunId}",
        Record = serverRoot == null ? null : $"{serverRoot}/v1/runs/{run.RunId}",
        Pipeline = run.Pipeline,
        RunId = run.RunId,
        Trigger = run.Trigger,
        Job = run.Job,
        ScheduledFor = run.ScheduledFor,
        Attempt = run.Attempt,
        Status = run.Status.ToString().ToLowerInvariant(),
        StartedAt = run.StartedAt,
        FinishedAt = run.FinishedAt,
        Error = run.Error,
        FailedStages = run.Stages.Where(s => s.Status != RunStatus.Succeeded)
            .Select(s => new { s.Stage, s.Table, Status = s.Status.ToString().ToLowerInvariant(), s.Error }).ToList(),
    };

    public async Task PostAsync(string url, RunRecord run, CancellationToken ct)
    {
        try
        {
            await TryPostAsync(url, run, ct);
        }
        catch (OperationCanceledException) when (ct.IsCancellationRequested)
        {
            logger.LogWarning("Webhook {Url} for run {RunId} not confirmed: the scheduler is stopping", Redact(url), run.RunId);
        }
    }

    private async Task TryPostAsync(string url, RunRecord run, CancellationToken ct)
    {
        for (var attempt = 1; attempt <= 3; attempt++)
        {
            try
            {
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(ct);
                timeout.CancelAfter(TimeSpan.FromSeconds(10));
                using var response = await http.PostAsJsonAsync(url, Payload(run, serverRoot?.Invoke()), Json, timeout.Token);
                if (response.IsSuccessStatusCode) return;
                logger.LogWarning("Webhook {Url} answered HTTP {Status} for run {RunId}", Redact(url), (int)response.StatusCode, run.RunId);
            }
            catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !ct.IsCancellationRequested)
            {
                logger.LogWarning("Webhook {Url} failed for run {RunId}: {Error}", Redact(url), run.RunId, Caudal.Spec.Secrets.Redact(e.Message));
            }
            await Task.Delay(TimeSpan.FromSeconds(attempt), ct);
        }
    }

    /// <summary>The URL without its query (which may hold a token).</summary>
    private static string Redact(string url) => url.Split('?')[0];
}
