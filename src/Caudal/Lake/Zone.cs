namespace Caudal.Lake;

/// <summary>The lake's zones, in pipeline order. Raw holds data as captured; trusted, cleaned and conformed data;
/// refined, analytics and ML outputs.</summary>
public enum Zone { Raw, Trusted, Refined }

/// <summary>A table's name in the lake: <c>zone.name</c>, stored under <c>zone/name/</c>.</summary>
public readonly record struct TableId(Zone Zone, string Name)
{
    public static readonly IReadOnlyList<string> ZoneNames = ["raw", "trusted", "refined"];

    public string ZoneName => ZoneNames[(int)Zone];
    public string Path => $"{ZoneName}/{Name}";
    public override string ToString() => $"{ZoneName}.{Name}";

    /// <summary>Where Caudal writes its own records (run history, check results): no model may write these.</summary>
    public bool IsCaudalOwn => Zone == Zone.Refined && Name is "caudal_runs" or "caudal_checks";

    public static bool TryParse(string text, out TableId id)
    {
        id = default;
        var dot = text.IndexOf('.');
        if (dot <= 0 || dot == text.Length - 1) return false;
        var zone = ZoneNames.ToList().IndexOf(text[..dot]);
        var name = text[(dot + 1)..];
        if (zone < 0 || !IsValidName(name)) return false;
        id = new TableId((Zone)zone, name);
        return true;
    }

    public static TableId Parse(string text) =>
        TryParse(text, out var id) ? id : throw new FormatException($"'{text}' is not a table name of the form zone.name (raw|trusted|refined).");

    /// <summary>Table names are lower-case identifiers: they become folder names and SQL identifiers.</summary>
    public static bool IsValidName(string name) =>
        name.Length is > 0 and <= 128 && char.IsAsciiLetterLower(name[0]) &&
        name.All(c => char.IsAsciiLetterLower(c) || char.IsAsciiDigit(c) || c == '_');
}
