using System.Globalization;
using System.Text.Json.Nodes;
using Caudal.Values;

namespace Caudal.Capture;

/// <summary>What an option's value must be.</summary>
public enum OptionType
{
    /// <summary>Any single value (a name, a path, a URL).</summary>
    Text,

    /// <summary>A value that must not be written in the spec file: <c>${env:NAME}</c> only.</summary>
    Secret,

    /// <summary>An http(s):// URL, or <c>file:</c> and a folder of recorded responses to replay.</summary>
    Url,

    /// <summary>A connection string or URL: refused written literally only when it holds a password.</summary>
    Connection,
    Integer,
    Duration,
    Choice,
    Boolean,

    /// <summary>A YAML list of names (a single value is a one-item list, or comma-separated).</summary>
    List,

    /// <summary>A YAML mapping of names to values.</summary>
    Map,

    /// <summary>A capture default for the source's datasets (mode, cursor, …), read by <c>IncrementalSpec</c>.</summary>
    DatasetDefault,
}

/// <summary>
/// One source option, declared once beside the code that reads it: its name, type, whether it is required, its default
/// and its allowed values or range. From the declaration follow the spec loader's checks (a value that does not parse
/// or is out of range is an error at the value's own file:line:column, never a silent default), the typed value the
/// source reads (<see cref="OptionValues"/>), the JSON schema's constraints (<see cref="Describe"/>) and the list of
/// options a kind accepts.
/// </summary>
public sealed record SourceOption(string Name, OptionType Type, string? Default = null, IReadOnlyList<string>? Choices = null, long Min = long.MinValue,
    long Max = long.MaxValue, bool Required = false)
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
                if (Values.Duration.Parse(value) is not { } d || d.Span.TotalSeconds < Min || d.Span.TotalSeconds > Max)
                    return ($"'{Name}' must be a duration{(Min > 0 ? $" of at least {Min} s" : "")}, not '{value}'.", $"write e.g. '{Name}: {Default ?? "30s"}' (s, m, h or d).");
                return null;
            case OptionType.Choice:
                if (!Choices!.Contains(value))
                    return ($"'{Name}' must be one of {string.Join(", ", Choices!)}, not '{value}'.",
                        DidYouMean.Closest(value, Choices!) is { } meant ? $"did you mean '{meant}'? write '{Name}: {meant}'." : $"write '{Name}: {Choices![0]}'.");
                return null;
            case OptionType.Url:
                if (value.StartsWith("file:", StringComparison.Ordinal) ||
                    (Uri.TryCreate(value, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" && url.Host.Length > 0))
                    return null;
                return ($"'{Name}' must be an http(s):// URL (or file:<folder> to replay recorded responses), not '{value}'.", $"write '{Name}: https://api.example.com'.");
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
        foreach (var key in new[] { "type", "enum", "minimum", "maximum", "pattern", "default", "items", "additionalProperties" }) property.Remove(key);
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
                property["pattern"] = Values.Duration.Pattern;
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
            case OptionType.Url:
                property["type"] = "string";
                property["pattern"] = "^(https?://|file:)";
                if (Default != null) property["default"] = Default;
                break;
            case OptionType.List:
                property["type"] = "array";
                property["items"] = new JsonObject { ["type"] = "string" };
                break;
            case OptionType.Map:
                property["type"] = "object";
                property["additionalProperties"] = new JsonObject { ["type"] = "string" };
                break;
            default:
                property["type"] = "string";
                if (Default != null) property["default"] = Default;
                break;
        }
    }

    public static SourceOption Text(string name, string? @default = null, bool required = false) => new(name, OptionType.Text, @default, Required: required);
    public static SourceOption Secret(string name) => new(name, OptionType.Secret);
    public static SourceOption Url(string name, string? @default = null, bool required = false) => new(name, OptionType.Url, @default, Required: required);
    public static SourceOption Connection(string name) => new(name, OptionType.Connection, Required: true);
    public static SourceOption Integer(string name, long min, long max = long.MaxValue, string? @default = null) => new(name, OptionType.Integer, @default, Min: min, Max: max);
    public static SourceOption Duration(string name, string @default, long minSeconds = 1) => new(name, OptionType.Duration, @default, Min: minSeconds);
    public static SourceOption Choice(string name, string? @default, params string[] choices) => new(name, OptionType.Choice, @default, choices);
    public static SourceOption Boolean(string name, string @default) => new(name, OptionType.Boolean, @default);
    public static SourceOption List(string name) => new(name, OptionType.List);
    public static SourceOption Map(string name) => new(name, OptionType.Map);
    public static SourceOption DatasetDefault(string name) => new(name, OptionType.DatasetDefault);
}
