using Spectre.Console;

namespace Caudal.Cli;

/// <summary>A table drawn with Spectre.Console on a terminal, or as plain aligned columns when output is redirected
/// (logs and scripts should not get box-drawing characters wrapped at 80 columns).</summary>
internal sealed class TextTable(params string[] headers)
{
    private readonly List<string[]> _rows = [];

    public void Add(params string[] cells) => _rows.Add(cells.Select(c => c.Split('\n')[0].TrimEnd()).ToArray());

    public void Write()
    {
        if (AnsiConsole.Profile.Capabilities.Interactive)
        {
            var table = new Table().AddColumns(headers.Select(Markup.Escape).ToArray());
            foreach (var row in _rows) table.AddRow(row.Select(Markup.Escape).ToArray());
            AnsiConsole.Write(table);
            return;
        }
        var widths = headers.Select((h, i) => Math.Max(h.Length, _rows.Select(r => r[i].Length).DefaultIfEmpty(0).Max())).ToArray();
        Console.WriteLine(string.Join("  ", headers.Select((h, i) => h.PadRight(widths[i]))).TrimEnd());
        foreach (var row in _rows) Console.WriteLine(string.Join("  ", row.Select((c, i) => c.PadRight(widths[i]))).TrimEnd());
    }
}
