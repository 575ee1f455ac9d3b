using Caudal.Spec;
using YamlDotNet.RepresentationModel;

namespace Caudal.Capture.Database;

/// <summary>What to do with a row whose cursor value is NULL: such a row has no place before or after a watermark.</summary>
public enum CursorValueMissing
{
    /// <summary>Read it on every run (it can never be ruled out as changed): nothing is lost; raw holds one copy per
    /// run, and a model that keeps the newest row per key reads it once. The default.</summary>
    Include,

    /// <summary>Leave it out, and say how many were left out in the run record.</summary>
    Exclude,

    /// <summary>Fail the dataset (nothing committed), naming how many rows have no cursor value.</summary>
    Raise,
}

/// <summary>Parses how a database source (its defaults) or one of its datasets is captured: mode, cursor, lookback,
/// primary key, the policy for rows without a cursor value, and whether deletes are detected.</summary>
internal static class IncrementalSpec
{
    public static readonly string[] Keys = ["mode", "cursor", "lookback", "primary_key", "on_cursor_value_missing", "deletes"];

    public static DatasetSpec Parse(YamlMappingNode map, DatasetSpec inherited, string source, SpecContext ctx)
    {
        var result = inherited;
        if (ctx.Scalar(map, "mode") is { } mode)
        {
            if (mode.Value is "full" or "incremental" or "cdc")
                result = result with { Mode = mode.Value switch { "full" => CaptureMode.Full, "incremental" => CaptureMode.Incremental, _ => CaptureMode.Cdc } };
            else ctx.Error(mode.Start, $"Unknown capture mode '{mode.Value}' in source '{source}'{Values.DidYouMean.Suggest(mode.Value, ["full", "incremental", "cdc"])}.",
                "use 'full', 'incremental' (a cursor column) or 'cdc' (PostgreSQL's log).");
        }
        if (ctx.String(map, "cursor") is { } cursor) result = result with { Cursor = cursor };
        if (ctx.Scalar(map, "lookback") is { } lookback)
        {
            if (Values.Duration.Parse(lookback.Value) == null && !long.TryParse(lookback.Value, out _))
                ctx.Error(lookback.Start, $"lookback '{lookback.Value}' is neither a duration nor a number.", "write a duration such as 1h or 2d (time cursors) or a number (integer cursors).");
            else result = result with { Lookback = lookback.Value };
        }
        if (ctx.StringList(map, "primary_key") is { } key) result = result with { PrimaryKey = key };
        if (ctx.Scalar(map, "on_cursor_value_missing") is { } missing)
        {
            if (Enum.TryParse<CursorValueMissing>(missing.Value, ignoreCase: true, out var policy) && missing.Value!.All(char.IsLower))
                result = result with { OnCursorValueMissing = policy };
            else ctx.Error(missing.Start, $"Unknown on_cursor_value_missing '{missing.Value}' in source '{source}'.",
                "use 'include' (rows with a NULL cursor are read on every run, the default), 'exclude' (left out and counted) or 'raise' (the dataset fails).");
        }
        if (ctx.Scalar(map, "deletes") is { } deletes)
        {
            if (Enum.TryParse<DeleteDetection>(deletes.Value, ignoreCase: true, out var detection) && deletes.Value!.All(char.IsLower))
                result = result with { Deletes = detection };
            else ctx.Error(deletes.Start, $"Unknown deletes '{deletes.Value}' in source '{source}'{Values.DidYouMean.Suggest(deletes.Value ?? "", ["ignore", "detect"])}.",
                "use 'detect' (keys gone from the source become delete rows in raw) or 'ignore' (the default).");
        }
        if (result.Mode == CaptureMode.Incremental && result.Cursor == null)
            ctx.Error(map.Start, $"Incremental capture in source '{source}' needs a cursor column.", "add 'cursor: last_update' (a column that grows when a row changes).");
        return result;
    }
}
