using System.Globalization;

namespace Caudal.Capture;

/// <summary>A source's option values as the spec loader read them, each parsed by its declaration's type (a list is a
/// list, a mapping a mapping, <c>${env:…}</c> resolved). Sources read them through their declarations, so a value
/// absent from the spec is the declared default and every read is typed.</summary>
public sealed class OptionValues(IReadOnlyDictionary<string, object> values)
{
    public bool Has(SourceOption option) => values.ContainsKey(option.Name);

    /// <summary>The value as written (a list joined with ", "), or the declared default.</summary>
    public string? Text(SourceOption option) => values.GetValueOrDefault(option.Name) switch
    {
        string s => s,
        IReadOnlyList<string> list => string.Join(", ", list),
        null => option.Default,
        var other => other.ToString(),
    };

    public string Required(SourceOption option) => Text(option) ?? throw new InvalidOperationException($"option '{option.Name}' has no value and no default");

    public int Int(SourceOption option, int fallback) => Text(option) is { } v ? int.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public long Long(SourceOption option, long fallback) => Text(option) is { } v ? long.Parse(v, CultureInfo.InvariantCulture) : fallback;

    public TimeSpan Duration(SourceOption option) =>
        Values.Duration.Parse(Text(option)) ?? throw new FormatException($"'{option.Name}' is not a duration.");

    public bool Bool(SourceOption option) => Text(option) == "true";

    public IReadOnlyList<string>? List(SourceOption option) => values.GetValueOrDefault(option.Name) switch
    {
        IReadOnlyList<string> list => list,
        string s => s.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries),
        _ => null,
    };

    public IReadOnlyDictionary<string, string> Map(SourceOption option) =>
        values.GetValueOrDefault(option.Name) as IReadOnlyDictionary<string, string> ?? new Dictionary<string, string>();
}
