using System.Text.Json.Serialization;
using Caudal.Spec;

namespace Caudal.Runs;

public enum RunStatus { Running, Succeeded, Failed, Skipped, Cancelled }

/// <summary>What one stage of a run did to one table.</summary>
public sealed class StageRecord
{
    public required StageKind Stage { get; init; }

    /// <summary>For a capture that failed before its datasets were known, the source whose every dataset it stands for
    /// (its table reads <c>raw.{source}_*</c>): a model reading any of them cannot run.</summary>
    [JsonIgnore]
    public string? Source { get; init; }
    public required string Table { get; init; }
    public RunStatus Status { get; set; } = RunStatus.Running;
    public long Rows { get; set; }

    /// <summary>Keys a capture found deleted at the source (<c>deletes: detect</c>), committed as delete rows.</summary>
    public long Deleted { get; set; }
    public long Bytes { get; set; }
    public int Files { get; set; }
    public long? Version { get; set; }

    /// <summary>Data-quality check results of a model (write–audit–publish).</summary>
    public List<Processing.Checks.CheckResult> Checks { get; init; } = [];

    /// <summary>Rows a capture could not take, kept in <c>raw.{table}_quarantine</c>.</summary>
    public int Quarantined { get; set; }

    /// <summary>What the stage did that is not an error but must not go unsaid (e.g. rows without a cursor value).</summary>
    public List<string> Warnings { get; init; } = [];

    /// <summary>What an incremental model did: which input versions it merged and how many files it rewrote, or why it
    /// was rebuilt whole.</summary>
    public string? Merge { get; set; }

    /// <summary>Images a chart stage wrote, as keys in the lake.</summary>
    public List<string> Images { get; init; } = [];
    public double Seconds { get; set; }
    public string? Error { get => _error; set => _error = Secrets.Redact(value); }

    private string? _error;
}

/// <summary>A run's capture window as recorded: its name and [from, to).</summary>
public sealed record RunWindow(string Name, DateTimeOffset From, DateTimeOffset To);

/// <summary>What can start a run.</summary>
public static class Triggers
{
    public const string Manual = "manual";
    public const string Schedule = "schedule";
    public const string Retry = "retry";
    public const string Backfill = "backfill";
    public static readonly string[] All = [Manual, Schedule, Retry, Backfill];
}

/// <summary>A run as stored in the lake at <c>_caudal/runs/{RunId}.json</c>: written when it starts and when it ends.</summary>
public sealed class RunRecord
{
    public required string RunId { get; init; }
    public required string Pipeline { get; init; }
    public required DateTimeOffset StartedAt { get; init; }
    public DateTimeOffset? FinishedAt { get; set; }
    public RunStatus Status { get; set; } = RunStatus.Running;
    public string? Error { get => _error; set => _error = Secrets.Redact(value); }

    private string? _error;

    /// <summary>What started the run: manual (caudal run), schedule, retry (of a failed scheduled run) or backfill.</summary>
    public string Trigger { get; init; } = Triggers.Manual;

    /// <summary>For scheduled runs and their retries: the schedule job and the slot (cron time) the run is for.</summary>
    public string? Job { get; init; }
    public DateTimeOffset? ScheduledFor { get; init; }
    public int Attempt { get; init; } = 1;

    /// <summary>The span of source time the run captured (backfill, scheduled runs), or null.</summary>
    public RunWindow? Window { get; init; }

    /// <summary>Who ran it: the host and process, for reading history and leases.</summary>
    public string? Host { get; init; }

    public List<StageRecord> Stages { get; init; } = [];

    [JsonIgnore]
    public double Seconds => ((FinishedAt ?? DateTimeOffset.UtcNow) - StartedAt).TotalSeconds;

    /// <summary>Sortable by time: 20261128T221500Z-1a2b3c.</summary>
    public static string NewId(DateTimeOffset now) => $"{now:yyyyMMdd'T'HHmmss'Z'}-{Guid.NewGuid().ToString("N")[..6]}";

    /// <summary>When the run named <paramref name="runId"/> started (to the second), or null if it is not a run id.</summary>
    public static DateTimeOffset? StartOf(string runId) =>
        runId.Length == 23 && runId[16] == '-' && DateTimeOffset.TryParseExact(runId[..16], "yyyyMMdd'T'HHmmss'Z'",
            System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AssumeUniversal, out var start)
            ? start
            : null;
}
