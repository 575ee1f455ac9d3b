using System.Globalization;
using System.Text.Json.Nodes;

namespace Caudal.Capture;

/// <summary>What an option's value must be.</summary>
public enum OptionType
{
    Integer,
    Duration,
    Choice,
    Boolean,
}

/// <summary>
/// One source option, declared once: its name, type, default and allowed values or range. The spec loader checks every
/// value against it at the value's own file:line:column (a value that does not parse or is out of range is an error,
/// never a silent default), and the sources read their settings through it, so the default lives here only.
/// </summary>
public sealed record SourceOption(string Name, OptionType Type, string? Default = null, IReadOnlyList<string>? Choices = null, long Min = long.MinValue,
    long Max = long.MaxValue)
{
    /// <summary>Null when <paramref name="value"/> is acceptable; otherwise what is wrong and how to write it.</summary>
    public (string Message, string Fix)? Check(string value)
    {
        switch (Type)
        {
            case OptionType.Integer:
                if (!long.TryParse(value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var n) || n < Min || n > Max)
                    return ($"'{Name}' must be a whole number {Range()}, not '{value}'.", $"write '{Name}: {Example()}'.");
                return null;
            case OptionType.Duration:
                if (Spec.SpecLoader.ParseDuration(value) is not { } d || d.TotalSeconds < Min || d.TotalSeconds > Max)
                    return ($"'{Name}' must be a duration{(Min > 0 ? $" of at least {Min} s" : "")}, not '{value}'.", $"write e.g. '{Name}: {Default ?? "30s"}' (s, m, h or d).");
                return null;
            case OptionType.Choice:
                if (!Choices!.Contains(value))
                    return ($"'{Name}' must be one of {string.Join(", ", Choices!)}, not '{value}'.", $"write '{Name}: {Choices![0]}'{Spec.SpecLoader.Suggest(value, Choices!)}.");
                return null;
            case OptionType.Boolean:
                return value is "true" or "false" ? null : ($"'{Name}' must be true or false, not '{value}'.", $"write '{Name}: {Default ?? "true"}'.");
            default:
                return null;
        }
    }

    private string Range() => (Min, Max) switch
    {
        (long.MinValue, long.MaxValue) => "",
        (_, long.MaxValue) => $"of at least {Min}",
        _ => $"from {Min} to {Max}",
    };

    private string Example() => Default != null && long.TryParse(Default, out _) ? Default : Min.ToString(CultureInfo.InvariantCulture);

    /// <summary>This option's JSON Schema constraints (type, enum, range, default), merged into caudal.schema.json.</summary>
    public void Describe(JsonObject property)
    {
        foreach (var key in new[] { "type", "enum", "minimum", "maximum", "pattern", "default" }) property.Remove(key);
        switch (Type)
        {
            case OptionType.Integer:
                property["type"] = "integer";
                if (Min != long.MinValue) property["minimum"] = Min;
                if (Max != long.MaxValue) property["maximum"] = Max;
                if (Default != null) property["default"] = long.Parse(Default, CultureInfo.InvariantCulture);
                break;
            case OptionType.Duration:
                property["type"] = "string";
                property["pattern"] = "^[0-9]+\\s*(s|m|h|d)$";
                if (Default != null) property["default"] = Default;
                break;
            case OptionType.Choice:
                property["enum"] = new JsonArray(Choices!.Select(c => (JsonNode)JsonValue.Create(c)).ToArray());
                if (Default != null) property["default"] = Default;
                break;
            case OptionType.Boolean:
                property["type"] = "boolean";
                if (Default != null) property["default"] = Default == "true";
                break;
        }
    }

    public static SourceOption Integer(string name, long min, long max = long.MaxValue, string? @default = null) => new(name, OptionType.Integer, @default, Min: min, Max: max);
    public static SourceOption Duration(string name, string @default, long minSeconds = 1) => new(name, OptionType.Duration, @default, Min: minSeconds);
    public static SourceOption Choice(string name, string? @default, params string[] choices) => new(name, OptionType.Choice, @default, choices);
    public static SourceOption Boolean(string name, string @default) => new(name, OptionType.Boolean, @default);
}

/// <summary>Every option a source kind may take, each declared once (<see cref="SourceOption"/>); kinds list which of
/// them they take. Incremental-capture options (mode, cursor, lookback, …) are parsed by <c>IncrementalSpec</c>.</summary>
public static class SourceOptions
{
    public static readonly IReadOnlyDictionary<string, SourceOption> All = new[]
    {
        // HTTP (generic and Data360)
        SourceOption.Choice("pagination", "none", "none", "offset", "page", "next", "cursor", "link"),
        SourceOption.Integer("page_size", 1, 1_000_000),
        SourceOption.Integer("page_start", 0, 1_000_000, "1"),
        SourceOption.Duration("timeout", "30s"),
        SourceOption.Integer("retries", 0, 100, "6"),
        SourceOption.Duration("budget", "30m"),
        SourceOption.Integer("concurrency", 1, 256, "4"),
        SourceOption.Boolean("metadata", "true"),
        SourceOption.Integer("time_from", 1000, 9999),
        SourceOption.Integer("time_to", 1000, 9999),
        // databases
        SourceOption.Integer("parallelism", 1, 256),
        SourceOption.Integer("tables_at_once", 1, 256),
        SourceOption.Integer("split_rows", 1, long.MaxValue, "500000"),
        SourceOption.Boolean("all_or_nothing", "false"),
        // files
        SourceOption.Choice("format", null, "csv", "json", "jsonl", "parquet"),
        SourceOption.Choice("on_bad_rows", "quarantine", "quarantine", "fail"),
        SourceOption.Choice("on_empty", "fail", "fail", "warn"),
        SourceOption.Boolean("header", "true"),
        SourceOption.Boolean("path_style", "false"),
    }.ToDictionary(o => o.Name);

    /// <summary>The option's value, or its declared default.</summary>
    public static string? Get(IReadOnlyDictionary<string, string> options, string name) =>
        options.TryGetValue(name, out var v) ? v : All.TryGetValue(name, out var o) ? o.Default : null;

    public static int Int(IReadOnlyDictionary<string, string> options, string name, int fallback) =>
        Get(options, name) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public static long Long(IReadOnlyDictionary<string, string> options, string name, long fallback) =>
        Get(options, name) is { } v ? long.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public static TimeSpan Duration(IReadOnlyDictionary<string, string> options, string name) =>
        Spec.SpecLoader.ParseDuration(Get(options, name)!) ?? throw new FormatException($"'{name}' is not a duration.");

    public static bool Bool(IReadOnlyDictionary<string, string> options, string name) => Get(options, name) == "true";
}
