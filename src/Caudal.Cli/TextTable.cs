using Spectre.Console;

namespace Caudal.Cli;

/// <summary>Rows as plain aligned columns, like kubectl or docker print them: the same text in a terminal (with a
/// bold header) and in logs. Box-drawn tables broke names and times across lines in an 80-column terminal, or drew
/// nothing at all when the columns could not fit. In a terminal the table fits its width: first the columns marked
/// <see cref="Drop"/> (what another column already says) are left out, then those marked <see cref="Shrink"/> (names,
/// messages; never numbers) are cut with '…', in the order marked.</summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];
    private int[] _shrinkable = [];
    private int[] _droppable = [];

    public void Add(params string[] cells) => _rows.Add(cells.Select(c => c.Split('\n')[0].TrimEnd()).ToArray());

    /// <summary>The columns that may be cut to fit the terminal, in the order they give way (first listed, first cut).</summary>
    public TextTable Shrink(params int[] columns)
    {
        _shrinkable = columns;
        return this;
    }

    /// <summary>The columns that may be left out in a narrow terminal, in the order they go.</summary>
    public TextTable Drop(params int[] columns)
    {
        _droppable = columns;
        return this;
    }

    public void Write() => Write(AnsiConsole.Profile.Capabilities.Interactive && !Console.IsOutputRedirected ? TerminalWidth() : null);

    internal void Write(int? width)
    {
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Select(r => r[i].Length).DefaultIfEmpty(0).Max())).ToArray();
        var shown = Enumerable.Range(0, headers.Length).ToList();
        int Total() => shown.Sum(i => widths[i]) + 2 * (shown.Count - 1);
        if (width is { } max)
        {
            foreach (var column in _droppable)
                if (Total() > max) shown.Remove(column);
            foreach (var column in _shrinkable)
            {
                var over = Total() - max;
                if (over <= 0) break;
                widths[column] = Math.Max(Math.Min(widths[column], headers[column].Length + 2), widths[column] - over);
            }
        }
        string Cell(string c, int i) => c.Length <= widths[i] ? c.PadRight(widths[i]) : c[..(widths[i] - 1)] + "…";
        string Line(string[] cells) => string.Join("  ", shown.Select(i => Cell(cells[i], i))).TrimEnd();
        // Written directly: Spectre would wrap the header at the terminal's width, the rows would not.
        Console.WriteLine(AnsiConsole.Profile.Capabilities.Interactive ? $"\e[1m{Line(headers)}\e[0m" : Line(headers));
        foreach (var row in _rows) Console.WriteLine(Line(row));
    }

    private static int? TerminalWidth()
    {
        try
        {
            return Console.WindowWidth is > 20 and var w ? w : null;
        }
        catch (IOException)
        {
            return null;
        }
    }
}
