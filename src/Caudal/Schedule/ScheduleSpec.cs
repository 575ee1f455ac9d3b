using Caudal.Spec;
using Cronos;
using YamlDotNet.RepresentationModel;

namespace Caudal.Schedule;

/// <summary>What to do with the slots missed while no scheduler was running (or while a run outlasted its interval).</summary>
public enum CatchUp
{
    /// <summary>Run the latest missed slot once (the default).</summary>
    Latest,

    /// <summary>Run every missed slot, oldest first.</summary>
    All,

    /// <summary>Run nothing missed: wait for the next slot.</summary>
    None,
}

/// <summary>One cron entry: when, in which time zone, and what part of the pipeline it runs.</summary>
/// <param name="Sources">The sources captured (null: all); the models always run after, on the lake as it is.</param>
/// <param name="ModelsOnly">Skip capture: rebuild trusted/refined and charts only.</param>
public sealed record ScheduledJob(string Name, string CronText, CronExpression Cron, TimeZoneInfo TimeZone,
    IReadOnlyList<string>? Sources, bool ModelsOnly, SpecPosition Position)
{
    /// <summary>The first slot strictly after <paramref name="after"/>, or null if the cron never fires again.</summary>
    public DateTimeOffset? Next(DateTimeOffset after) =>
        Cron.GetNextOccurrence(after, TimeZone) is { } next ? next.ToUniversalTime() : null;
}

/// <summary>Retries of a failed scheduled run: <see cref="Count"/> more attempts, waiting <see cref="Backoff"/>,
/// then twice that, and so on.</summary>
public sealed record RetryPolicy(int Count, TimeSpan Backoff)
{
    public TimeSpan Delay(int retry) => TimeSpan.FromTicks(Backoff.Ticks * (1L << Math.Min(retry - 1, 16)));
}

/// <summary>The spec's <c>schedule:</c> section.</summary>
public sealed record ScheduleSpec(
    IReadOnlyList<ScheduledJob> Jobs,
    CatchUp CatchUp,
    TimeSpan? MaxRuntime,
    RetryPolicy Retries,
    TimeSpan LeaseTtl,
    string? OnFailure,
    string? OnSuccess,
    ScheduledJob? Maintenance)
{
    public static readonly string[] Keys =
        ["cron", "time_zone", "sources", "models_only", "jobs", "catch_up", "max_runtime", "retries", "lease_ttl", "on_failure", "on_success", "maintenance"];

    private static readonly string[] JobKeys = ["name", "cron", "time_zone", "sources", "models_only"];

    /// <summary>Parses <c>schedule:</c> (absent: null). Either one cron for the whole pipeline
    /// (<c>schedule: {cron: "0 2 * * *"}</c>) or several <c>jobs</c>, each a cron with a subset of the sources.</summary>
    internal static ScheduleSpec? Parse(YamlMappingNode root, IReadOnlyList<SourceSpec> sources, SpecContext ctx)
    {
        if (ctx.Mapping(root, "schedule", "'schedule' must be a mapping.", "write 'schedule: {cron: \"0 2 * * *\", time_zone: Europe/Madrid}'.") is not { } map) return null;
        ctx.CheckKeys(map, Keys, "schedule");
        var zone = Zone(ctx.Scalar(map, "time_zone"), TimeZoneInfo.Utc, ctx);
        var jobs = new List<ScheduledJob>();
        var sourceNames = sources.Select(s => s.Name).ToList();
        if (ctx.Child(map, "jobs") is { } jobsNode)
        {
            if (ctx.Child(map, "cron") != null)
                ctx.Error(map.Start, "'schedule' has both 'cron' and 'jobs'.", "keep 'jobs' (a list of crons) or a single 'cron' for the whole pipeline.");
            if (jobsNode is not YamlSequenceNode list)
                ctx.Error(jobsNode.Start, "'jobs' must be a list.", "write '- {name: nightly, cron: \"0 2 * * *\"}' under 'jobs'.");
            else
                foreach (var item in list.Children)
                {
                    if (item is not YamlMappingNode job)
                    {
                        ctx.Error(item.Start, "A schedule job must be a mapping.", "write '- {name: nightly, cron: \"0 2 * * *\"}'.");
                        continue;
                    }
                    ctx.CheckKeys(job, JobKeys, "a schedule job");
                    var name = ctx.String(job, "name", required: true);
                    if (Job(job, name ?? "?", zone, sourceNames, ctx) is { } parsed) jobs.Add(parsed);
                }
        }
        else if (ctx.Child(map, "cron") != null)
        {
            if (Job(map, "pipeline", zone, sourceNames, ctx, ownZone: false) is { } parsed) jobs.Add(parsed);
        }
        else ctx.Error(map.Start, "'schedule' has no 'cron' and no 'jobs'.", "add 'cron: \"0 2 * * *\"' (every day at 02:00).");

        foreach (var dup in jobs.GroupBy(j => j.Name).Where(g => g.Count() > 1))
            ctx.Error(dup.Last().Position, $"Schedule job '{dup.Key}' is declared twice.", "give each job its own name.");
        for (var i = 0; i < jobs.Count; i++)
            for (var j = i + 1; j < jobs.Count; j++)
                if (jobs[i].CronText == jobs[j].CronText && jobs[i].TimeZone.Id == jobs[j].TimeZone.Id && jobs[i].ModelsOnly == jobs[j].ModelsOnly &&
                    (jobs[i].Sources == null || jobs[j].Sources == null || jobs[i].Sources!.Intersect(jobs[j].Sources!).Any()))
                    ctx.Error(jobs[j].Position, $"Schedule jobs '{jobs[i].Name}' and '{jobs[j].Name}' fire at the same times for the same sources.",
                        "merge them into one job, or give them different crons or sources.");

        var catchUp = CatchUp.Latest;
        if (ctx.Scalar(map, "catch_up") is { } c)
        {
            if (Enum.TryParse<CatchUp>(c.Value, ignoreCase: true, out var parsed) && c.Value!.All(char.IsLower)) catchUp = parsed;
            else ctx.Error(c.Start, $"Unknown catch_up '{c.Value}'.", "use 'latest' (run the latest missed slot once, the default), 'all' or 'none'.");
        }
        var maxRuntime = Duration(ctx.Scalar(map, "max_runtime"), ctx);
        var retries = new RetryPolicy(0, TimeSpan.FromMinutes(1));
        if (ctx.Child(map, "retries") is { } r)
        {
            if (r is YamlMappingNode rm)
            {
                ctx.CheckKeys(rm, ["count", "backoff"], "schedule retries");
                retries = new RetryPolicy(ctx.Int(rm, "count", 0, 100) ?? 0, Duration(ctx.Scalar(rm, "backoff"), ctx) ?? TimeSpan.FromMinutes(1));
            }
            else ctx.Error(r.Start, "'retries' must be a mapping.", "write 'retries: {count: 2, backoff: 5m}'.");
        }
        var leaseTtl = Duration(ctx.Scalar(map, "lease_ttl"), ctx) ?? TimeSpan.FromMinutes(2);
        if (leaseTtl < TimeSpan.FromSeconds(3))
            ctx.Error(map.Start, $"lease_ttl {leaseTtl.TotalSeconds:0.#}s is too short to be renewed reliably.", "use 3s or more (the default is 2m).");
        ScheduledJob? maintenance = null;
        if (ctx.Child(map, "maintenance") is { } m)
        {
            if (m is YamlMappingNode mm)
            {
                ctx.CheckKeys(mm, ["cron", "time_zone"], "schedule maintenance");
                maintenance = Job(mm, "maintenance", zone, sourceNames, ctx);
            }
            else ctx.Error(m.Start, "'maintenance' must be a mapping.", "write 'maintenance: {cron: \"0 4 * * 0\"}' (vacuum every Sunday at 04:00).");
        }
        var schedule = new ScheduleSpec(jobs, catchUp, maxRuntime, retries, leaseTtl, Webhook(map, "on_failure", ctx), Webhook(map, "on_success", ctx), maintenance);
        return jobs.Count > 0 ? schedule : null;
    }

    /// <param name="ownZone">False for the single cron of the schedule mapping itself, whose time_zone is the
    /// default already read (and reported when wrong).</param>
    private static ScheduledJob? Job(YamlMappingNode map, string name, TimeZoneInfo defaultZone, IReadOnlyList<string> sourceNames, SpecContext ctx, bool ownZone = true)
    {
        var zone = ownZone ? Zone(ctx.Scalar(map, "time_zone"), defaultZone, ctx) : defaultZone;
        var cronNode = ctx.Scalar(map, "cron", required: true);
        if (cronNode == null) return null;
        var text = cronNode.Value!.Trim();
        CronExpression cron;
        try
        {
            cron = CronExpression.Parse(text, text.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);
        }
        catch (CronFormatException e)
        {
            ctx.Error(cronNode.Start, $"'{text}' of schedule job '{name}' is not a cron expression: {e.Message}",
                "write 5 fields (minute hour day-of-month month day-of-week), e.g. \"0 2 * * *\", or 6 with seconds first.");
            return null;
        }
        if (cron.GetNextOccurrence(DateTime.UtcNow, zone) == null)
        {
            ctx.Error(cronNode.Start, $"'{text}' of schedule job '{name}' never fires (no such date).", "check the day of month against the month.");
            return null;
        }
        var sources = ctx.StringList(map, "sources");
        foreach (var unknown in sources?.Except(sourceNames) ?? [])
            ctx.Error(map.Start, $"Schedule job '{name}' names source '{unknown}', which the spec does not declare.",
                $"use one of: {string.Join(", ", sourceNames)}{Values.DidYouMean.Suggest(unknown, sourceNames)}.");
        var modelsOnly = ctx.Bool(map, "models_only") ?? false;
        if (modelsOnly && sources != null)
            ctx.Error(map.Start, $"Schedule job '{name}' has both 'sources' and 'models_only'.", "a models-only job captures nothing: remove 'sources'.");
        return new ScheduledJob(name, text, cron, zone, sources, modelsOnly, ctx.At(map.Start));
    }

    private static TimeZoneInfo Zone(YamlScalarNode? node, TimeZoneInfo fallback, SpecContext ctx)
    {
        if (node == null) return fallback;
        try
        {
            return TimeZoneInfo.FindSystemTimeZoneById(node.Value!);
        }
        catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
        {
            ctx.Error(node.Start, $"Unknown time zone '{node.Value}'.", "use an IANA name such as UTC, Europe/Madrid or America/New_York.");
            return fallback;
        }
    }

    private static TimeSpan? Duration(YamlScalarNode? node, SpecContext ctx)
    {
        if (node == null) return null;
        if (Values.Duration.Parse(node.Value ?? "")?.Span is { } d && d > TimeSpan.Zero) return d;
        ctx.Error(node.Start, $"'{node.Value}' is not a duration.", "write e.g. 30s, 5m, 2h or 1d.");
        return null;
    }

    private static string? Webhook(YamlMappingNode map, string key, SpecContext ctx)
    {
        if (ctx.Scalar(map, key) is not { } node || ctx.Resolve(node) is not { } url) return null;
        if (Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https") return url;
        ctx.Error(node.Start, $"'{key}' is not an http(s) URL.", $"write '{key}: https://hooks.example.com/...' (secrets via ${{env:NAME}}).");
        return null;
    }
}
