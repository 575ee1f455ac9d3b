using System.Globalization;
using Caudal.Runs;
using Caudal.Spec;
using Spectre.Console;

namespace Caudal.Cli;

/// <summary>How runs and stages are written to the terminal and to logs.</summary>
internal static class Report
{
    public static string StageLine(StageRecord s) => StatusLine(s) +
        (s.Deleted > 0 && s.Stage == StageKind.Capture ? string.Create(CultureInfo.InvariantCulture, $"\n          deleted: {s.Deleted:N0} key(s) gone from the source, committed as delete rows") : "") +
        (s.Merge != null ? $"\n          incremental: {s.Merge}" : "") +
        string.Concat(s.Warnings.Select(w => $"\n          warning: {w}"));

    private static string StatusLine(StageRecord s) => s.Status switch
    {
        RunStatus.Succeeded => string.Create(CultureInfo.InvariantCulture,
            $"{s.Stage,-7} {s.Table,-40} ok      {s.Rows,10:N0} rows {s.Files,3} {(s.Stage == "chart" ? "images" : "files ")} {Bytes(s.Bytes),9} {Version(s),-4} {s.Seconds,6:F2}s"),
        _ => $"{s.Stage,-7} {s.Table,-40} {s.Status.ToString().ToLowerInvariant(),-7} {Reason(s)}",
    };

    /// <summary>The stage's error without a leading "skipped:" when its status already says so.</summary>
    private static string? Reason(StageRecord s) =>
        s.Error != null && s.Error.StartsWith(s.Status.ToString().ToLowerInvariant() + ": ", StringComparison.Ordinal) ? s.Error[(s.Error.IndexOf(':') + 2)..] : s.Error;

    /// <summary>A stage's live line, cut to <paramref name="width"/> characters when given (a long error would wrap and
    /// break the live display; the summary after the run has it whole).</summary>
    public static string StageMarkup(StageRecord s, int? width = null)
    {
        if (s.Status != RunStatus.Succeeded)
            return $"[red]{Markup.Escape(Fit($"{s.Stage} {s.Table}: {s.Status.ToString().ToLowerInvariant()}: {Reason(s)}", width))}[/]";
        var line = string.Create(CultureInfo.InvariantCulture, $"{s.Stage} {s.Table}: {s.Rows:N0} rows{(s.Deleted > 0 ? $", {s.Deleted:N0} deleted" : "")}{(s.Stage == StageKind.Chart ? $", {s.Files} images" : s.Version == null ? ", nothing committed" : $", {Version(s)}")}") +
                   (s.Merge != null ? $" ({s.Merge})" : "");
        var warnings = string.Concat(s.Warnings.Select(w => $" ({w})"));
        return Markup.Escape(Fit(line, width)) + (warnings.Length == 0 ? "" : $"[yellow]{Markup.Escape(Fit(warnings, width - line.Length))}[/]");
    }

    internal static string Fit(string text, int? width)
    {
        text = text.Split('\n')[0];
        return width is not { } w || text.Length <= w ? text : w <= 1 ? "" : text[..(w - 1)] + "…";
    }

    private static string Version(StageRecord s) => s.Version == null ? "" : $"v{s.Version}";

    public static string Bytes(long bytes) => bytes switch
    {
        < 1024 => $"{bytes} B",
        < 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0:F1} KB"),
        < 1024L * 1024 * 1024 => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0 / 1024:F1} MB"),
        _ => string.Create(CultureInfo.InvariantCulture, $"{bytes / 1024.0 / 1024 / 1024:F2} GB"),
    };

    public static void RunSummary(RunRecord run, PipelineSpec spec)
    {
        var ok = run.Status == RunStatus.Succeeded;
        Console.WriteLine();
        Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"run {run.RunId} {run.Status.ToString().ToLowerInvariant()} in {run.Seconds:F1}s ({run.Stages.Count(s => s.Status == RunStatus.Succeeded)}/{run.Stages.Count} stages ok)"));
        if (!ok)
        {
            foreach (var s in run.Stages.Where(s => s.Status != RunStatus.Succeeded))
                Console.Error.WriteLine($"  {s.Table}: {s.Error}");
        }
        var location = spec.Lake.Uri;
        Console.WriteLine($"lake: {location}");
        // Only what this run wrote: a table whose model failed or was skipped may not exist at all.
        var written = run.Stages.Where(s => s.Status == RunStatus.Succeeded && s.Version != null).Select(s => s.Table).ToHashSet();
        var declared = spec.Models.SelectMany(m => m.Outputs).ToList();
        var outputs = declared.Where(o => written.Contains(o.ToString())).ToList();
        if (outputs.Count > 0)
        {
            Console.WriteLine("outputs (Delta tables: Spark, delta-rs, DuckDB's delta_scan or Athena read them in place):");
            foreach (var o in outputs) Console.WriteLine($"  {o,-40} {(spec.Lake.IsS3 ? location + "/" + o.Path : Path.Combine(location, o.Path))}");
        }
        if (outputs.Count < declared.Count)
            Console.WriteLine($"{declared.Count - outputs.Count} of {declared.Count} model outputs were not written by this run (see above).");
        var images = run.Stages.Where(s => s.Stage == "chart" && s.Status == RunStatus.Succeeded).Sum(s => s.Images.Count);
        if (images > 0)
        {
            var charts = $"{location.TrimEnd('/')}/{Caudal.Processing.Charts.ChartSpec.Folder}";
            Console.WriteLine($"charts: {images} PNG images under {(spec.Lake.IsS3 ? charts : Path.Combine(location, Caudal.Processing.Charts.ChartSpec.Folder))}");
        }
        if (outputs.Count > 0) Console.WriteLine($"query them: caudal query --spec {spec.File} \"SELECT * FROM {outputs[^1]} LIMIT 10\"");
        Console.WriteLine("see tables with 'caudal status', runs with 'caudal runs'.");
    }
}
