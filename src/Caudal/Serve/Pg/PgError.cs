using DuckDB.NET.Data;

namespace Caudal.Serve.Pg;

/// <summary>An error to send as an ErrorResponse: SQLSTATE, message, and where in the statement (1-based), if known.</summary>
internal sealed class PgError(string code, string message, int? position = null, string severity = "ERROR") : Exception(message)
{
    public string Code => code;
    public int? Position => position;
    public string Severity => severity;

    public static PgError ReadOnly(string command) => new("25006", $"cannot execute {command} in a read-only transaction");

    /// <summary>The engine's error as PostgreSQL would classify it.</summary>
    public static PgError FromEngine(DuckDBException e, string statement, bool positionsHold)
    {
        var message = e.Message.Trim();
        var first = message.Split('\n')[0];
        var code = first switch
        {
            _ when first.StartsWith("Parser Error", StringComparison.Ordinal) => "42601",
            _ when first.Contains("Table with name", StringComparison.Ordinal) || first.Contains("Table ", StringComparison.Ordinal) && first.Contains("does not exist", StringComparison.Ordinal) => "42P01",
            _ when first.Contains("Referenced column", StringComparison.Ordinal) || first.Contains("column", StringComparison.OrdinalIgnoreCase) && first.Contains("not found", StringComparison.Ordinal) => "42703",
            _ when first.Contains("Function with name", StringComparison.Ordinal) || first.Contains("No function matches", StringComparison.Ordinal) => "42883",
            _ when first.StartsWith("Conversion Error", StringComparison.Ordinal) || first.StartsWith("Invalid Input Error", StringComparison.Ordinal) => "22P02",
            _ when first.StartsWith("Out of Range Error", StringComparison.Ordinal) => "22003",
            _ when first.Contains("Division by zero", StringComparison.OrdinalIgnoreCase) => "22012",
            _ when first.StartsWith("Out of Memory Error", StringComparison.Ordinal) => "53200",
            _ when first.StartsWith("Permission Error", StringComparison.Ordinal) => "42501",
            _ when first.StartsWith("INTERRUPT", StringComparison.Ordinal) || first.Contains("Interrupted", StringComparison.Ordinal) => "57014",
            _ when first.StartsWith("Binder Error", StringComparison.Ordinal) || first.StartsWith("Catalog Error", StringComparison.Ordinal) => "42000",
            _ => "XX000",
        };
        var text = string.Join('\n', message.Split('\n').TakeWhile(l => !l.StartsWith("LINE ", StringComparison.Ordinal))).Trim();
        text = text[(text.IndexOf(": ", StringComparison.Ordinal) + 2)..];
        return new PgError(code, text, positionsHold ? CaretPosition(message, statement) : null);
    }

    /// <summary>The statement position of the engine's caret (<c>LINE n: …</c> then <c>^</c>).</summary>
    private static int? CaretPosition(string message, string statement)
    {
        var lines = message.Split('\n');
        for (var k = 0; k + 1 < lines.Length; k++)
        {
            if (!lines[k].StartsWith("LINE ", StringComparison.Ordinal)) continue;
            var colon = lines[k].IndexOf(": ", StringComparison.Ordinal);
            var caret = lines[k + 1].IndexOf('^');
            if (colon < 0 || caret < 0 || !int.TryParse(lines[k].AsSpan(5, colon - 5), System.Globalization.CultureInfo.InvariantCulture, out var line)) return null;
            var shown = lines[k][(colon + 2)..];
            var lineStart = 0;
            var statementLines = statement.Split('\n');
            if (line < 1 || line > statementLines.Length) return null;
            for (var l = 0; l < line - 1; l++) lineStart += statementLines[l].Length + 1;
            // The engine shows the line whole when it is short; otherwise positions cannot be trusted.
            if (!statementLines[line - 1].StartsWith(shown.TrimEnd(), StringComparison.Ordinal)) return null;
            return lineStart + caret - (colon + 2) + 1;
        }
        return null;
    }
}
