namespace Caudal.Processing.Charts;

/// <summary>The rows of one image: column names and values as read from the engine (numbers as double, the rest as text).</summary>
public sealed class ChartData(IReadOnlyList<string> columns)
{
    public IReadOnlyList<string> Columns { get; } = columns;
    public List<object?[]> Rows { get; } = [];

    public int Index(string column, string chart)
    {
        for (var i = 0; i < Columns.Count; i++)
            if (string.Equals(Columns[i], column, StringComparison.OrdinalIgnoreCase)) return i;
        throw new ChartException($"Chart {chart}: its query has no column '{column}' (it has: {string.Join(", ", Columns)}).");
    }

    /// <summary>"{column}" placeholders replaced by the first row's values.</summary>
    public string Fill(string text) =>
        System.Text.RegularExpressions.Regex.Replace(text, @"\{([A-Za-z_][A-Za-z0-9_]*)\}", m =>
        {
            var i = Columns.ToList().FindIndex(c => string.Equals(c, m.Groups[1].Value, StringComparison.OrdinalIgnoreCase));
            return i < 0 || Rows.Count == 0 ? m.Value : Format(Rows[0][i]);
        });

    public static string Format(object? value) => value switch
    {
        null => "(none)",
        double d => d.ToString("G6", System.Globalization.CultureInfo.InvariantCulture),
        _ => Convert.ToString(value, System.Globalization.CultureInfo.InvariantCulture) ?? "",
    };
}

public sealed class ChartException(string message, Exception? inner = null) : Exception(message, inner);
