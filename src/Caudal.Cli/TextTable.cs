using Spectre.Console;

namespace Caudal.Cli;

/// <summary>Rows as plain aligned columns, like kubectl or docker print them: the same text in a terminal (with a
/// bold header) and in logs. Box-drawn tables broke names and times across lines in an 80-column terminal, or drew
/// nothing at all when the columns could not fit.</summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string[] cells) => _rows.Add(cells.Select(c => c.Split('\n')[0].TrimEnd()).ToArray());

    public void Write()
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Select(r => r[i].Length).DefaultIfEmpty(0).Max())).ToArray();
        string Line(IEnumerable<string> cells) => string.Join("  ", cells.Select((c, i) => c.PadRight(widths[i]))).TrimEnd();
        // Written directly: Spectre would wrap the header at the terminal's width, the rows would not.
        Console.WriteLine(AnsiConsole.Profile.Capabilities.Interactive ? $"\e[1m{Line(headers)}\e[0m" : Line(headers));
        foreach (var row in _rows) Console.WriteLine(Line(row));
    }
}
