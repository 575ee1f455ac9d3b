namespace Caudal.Capture.Http;

/// <summary>How patient an HTTP source is (spec keys timeout, retries, budget, concurrency): one attempt's timeout, the
/// retries after the first attempt, the whole capture's time budget and the requests in flight at once.</summary>
public sealed record HttpSettings(TimeSpan AttemptTimeout, int Retries, TimeSpan Budget, int Concurrency)
{
    public static class Declared
    {
        public static readonly SourceOption Timeout = SourceOption.Duration("timeout", "30s");
        public static readonly SourceOption Retries = SourceOption.Integer("retries", 0, 100, "6");
        public static readonly SourceOption Budget = SourceOption.Duration("budget", "30m");
        public static readonly SourceOption Concurrency = SourceOption.Integer("concurrency", 1, 256, "4");

        public static readonly SourceOption[] All = [Timeout, Retries, Budget, Concurrency];
    }

    /// <summary>Told what is being retried, while it waits (the run's live progress, the scheduler's log).</summary>
    public Action<string>? OnRetry { get; init; }

    public static HttpSettings From(OptionValues options, Action<string>? onRetry = null) => new(
        options.Duration(Declared.Timeout),
        options.Int(Declared.Retries, 6),
        options.Duration(Declared.Budget),
        options.Int(Declared.Concurrency, 4))
    {
        OnRetry = onRetry,
    };
}
