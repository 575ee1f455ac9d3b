using System.Text;
using Caudal.Processing;

namespace Caudal.Serve.Pg;

/// <summary>
/// PostgreSQL's SQL as clients send it, read just enough to run on the embedded engine: split into statements at the
/// semicolons outside strings, quoted names and comments; the statement's kind from its first word; and the handful
/// of PostgreSQL-only spellings catalog queries use (<c>OPERATOR(pg_catalog.~)</c>, <c>COLLATE pg_catalog.default</c>,
/// <c>'name'::regclass</c>, <c>pg_catalog.</c> and <c>information_schema.</c>, which name this server's catalog)
/// rewritten to what the engine reads.
/// </summary>
internal static class PgSql
{
    /// <summary>The schemas this server's own catalog lives in (the engine's built-in ones hold its own OIDs).</summary>
    public const string CatalogSchema = "__pg", InformationSchema = "__info";

    internal enum Kind { Space, Comment, String, QuotedName, Word, Number, Parameter, Symbol, Semicolon }

    internal readonly record struct Token(Kind Kind, int Start, int Length)
    {
        public string Text(string sql) => sql.Substring(Start, Length);
        public bool Significant => Kind is not (Kind.Space or Kind.Comment);
    }

    private static readonly HashSet<string> Keywords = ["WHERE", "JOIN", "LEFT", "RIGHT", "INNER", "FULL", "CROSS", "ON", "AS", "GROUP", "ORDER",
        "LIMIT", "UNION", "EXCEPT", "INTERSECT", "HAVING", "WINDOW", "OFFSET", "FETCH", "FOR", "NATURAL", "USING", "WITH"];

    /// <summary>PostgreSQL functions the engine has under another name, with the same arguments.</summary>
    private static readonly Dictionary<string, string> Renamed = new()
    {
        ["json_build_object"] = "json_object",
        ["jsonb_build_object"] = "json_object",
        ["json_agg"] = "json_group_array",
        ["jsonb_agg"] = "json_group_array",
        ["json_object_agg"] = "json_group_object",
        ["jsonb_object_agg"] = "json_group_object",
    };

    /// <summary>PostgreSQL's reg* types, which a literal or a parameter cast to them becomes a look-up of in the catalog.</summary>
    private static readonly Dictionary<string, string> RegTypes = new()
    {
        ["regclass"] = "regclass_in",
        ["regtype"] = "regtype_in",
        ["regproc"] = "regproc_in",
        ["regprocedure"] = "regproc_in",
        ["regnamespace"] = "regnamespace_in",
        ["regrole"] = "regrole_in",
    };

    /// <summary>The PostgreSQL name of a function the rewrite put in a statement (<c>json_object</c> is
    /// <c>json_build_object</c>, <c>regclass_in</c> is the cast to <c>regclass</c>), or null.</summary>
    public static string? PostgresName(string engineFunction) =>
        Renamed.Concat(RegTypes).FirstOrDefault(r => r.Value.Equals(engineFunction, StringComparison.OrdinalIgnoreCase)).Key;

    /// <summary>The statements of a query string, each without its semicolon; empty ones are left out.</summary>
    public static List<string> Split(string sql)
    {
        var statements = new List<string>();
        var start = 0;
        foreach (var token in Tokens(sql))
            if (token.Kind == Kind.Semicolon)
            {
                Add(sql[start..token.Start]);
                start = token.Start + 1;
            }
        Add(sql[start..]);
        return statements;

        void Add(string statement)
        {
            if (Tokens(statement).Any(t => t.Significant)) statements.Add(statement.Trim());
        }
    }

    /// <summary>The statement's words, upper-cased, up to <paramref name="count"/> (the kind: SELECT, SET, BEGIN…).</summary>
    public static List<string> Words(string statement, int count = 3) =>
        Tokens(statement).Where(t => t.Significant).Take(count).Select(t => t.Kind == Kind.Word ? t.Text(statement).ToUpperInvariant() : t.Text(statement)).ToList();

    /// <summary>Whether a SELECT writes its rows into a table (<c>SELECT … INTO t</c>): INTO outside parentheses.</summary>
    public static bool SelectsInto(string statement)
    {
        var depth = 0;
        foreach (var t in Tokens(statement))
        {
            if (t.Kind == Kind.Symbol && t.Length == 1) depth += statement[t.Start] switch { '(' => 1, ')' => -1, _ => 0 };
            else if (depth == 0 && t.Kind == Kind.Word && t.Text(statement).Equals("INTO", StringComparison.OrdinalIgnoreCase)) return true;
        }
        return false;
    }

    /// <summary>The highest <c>$n</c> the statement uses.</summary>
    public static int ParameterCount(string statement) =>
        Tokens(statement).Where(t => t.Kind == Kind.Parameter).Select(t => int.Parse(statement.AsSpan(t.Start + 1, t.Length - 1), System.Globalization.CultureInfo.InvariantCulture)).DefaultIfEmpty(0).Max();

    /// <summary>The statement as the engine runs it.</summary>
    public static string Rewrite(string statement)
    {
        var tokens = Tokens(statement).ToList();
        var significant = tokens.Where(t => t.Significant).ToList();
        var output = new StringBuilder(statement.Length + 16);
        var consumedTo = 0;
        string? regex = null;
        var seriesEnds = new Dictionary<int, string>();
        for (var k = 0; k < significant.Count; k++)
        {
            var t = significant[k];
            if (t.Start < consumedTo) continue;
            var pendingRegex = regex;
            regex = null;
            string? replacement = null;
            var end = t.Start + t.Length;
            var word = t.Kind == Kind.Word ? t.Text(statement).ToLowerInvariant() : t.Kind == Kind.QuotedName ? t.Text(statement)[1..^1] : null;
            if (word == "operator" && Is(k + 1, "(") && Is(k + 3, ".") && Is(k + 5, ")"))
            {
                // OPERATOR(pg_catalog.~) is the operator ~.
                replacement = Operator(significant[k + 4].Text(statement), out regex);
                end = significant[k + 5].Start + 1;
            }
            else if (word == "operator" && Is(k + 1, "(") && Is(k + 3, ")"))
            {
                replacement = Operator(significant[k + 2].Text(statement), out regex);
                end = significant[k + 3].Start + 1;
            }
            else if (t.Kind == Kind.Symbol && t.Text(statement) is "~" or "!~" or "~*" or "!~*")
                replacement = Operator(t.Text(statement), out regex);
            else if (t.Kind == Kind.String && pendingRegex != null && t.Text(statement) is ['\'', .. var pattern, '\''])
                // PostgreSQL's ~ finds the pattern anywhere; the engine's matches the whole string.
                replacement = Sql.Literal($"(?s{pendingRegex}).*(?:{pattern.Replace("''", "'", StringComparison.Ordinal)}).*");
            else if (word == "collate" && k + 1 < significant.Count)
            {
                // Collations are PostgreSQL's; the engine compares by code point, as COLLATE "C" does.
                var last = Is(k + 2, ".") && k + 3 < significant.Count ? k + 3 : k + 1;
                replacement = " ";
                end = significant[last].Start + significant[last].Length;
            }
            else if (word == "generate_series" && t.Kind == Kind.Word && Is(k + 1, "(") && Closing(k + 1) is var close and > 0 &&
                     close + 1 < significant.Count && significant[close + 1].Kind == Kind.Word &&
                     !Keywords.Contains(significant[close + 1].Text(statement).ToUpperInvariant()))
            {
                // FROM generate_series(a, b) s: in PostgreSQL s is the value; in the engine a table alias is the row.
                seriesEnds[close] = significant[close + 1].Text(statement);
                replacement = "(SELECT unnest(generate_series";
            }
            else if (seriesEnds.Remove(k, out var alias))
            {
                replacement = $")) AS {alias}) {alias}";
                end = significant[k + 1].Start + significant[k + 1].Length;
            }
            else if (word is "pg_catalog" && Is(k + 1, ".") && k + 2 < significant.Count &&
                     !PgCatalogTables.Catalog.ContainsKey(significant[k + 2].Text(statement).Trim('"').ToLowerInvariant()))
            {
                // pg_catalog.f(…), ::pg_catalog.text: the search path finds the catalog's own f or type first, else the engine's.
                replacement = "";
                end = significant[k + 1].Start + 1;
            }
            else if (word is "pg_catalog" && Is(k + 1, "."))
                replacement = CatalogSchema;
            else if (word is "information_schema" && Is(k + 1, "."))
                replacement = InformationSchema;
            else if (t.Kind is Kind.String or Kind.Parameter && Is(k + 1, "::") && RegType(k + 2) is var (function, last) && function != null)
            {
                replacement = $"{CatalogSchema}.{function}({t.Text(statement)})";
                end = significant[last].Start + significant[last].Length;
            }
            else if (t.Kind == Kind.Word && Is(k + 1, "(") && Renamed.TryGetValue(word!, out var renamed))
                replacement = renamed;
            else if (word is "current_user" or "session_user" or "current_role" && t.Kind == Kind.Word && !Is(k + 1, "(") && !Is(k - 1, "."))
                replacement = $"{CatalogSchema}.current_user()";
            else if (word is "current_schema" or "current_catalog" && t.Kind == Kind.Word && !Is(k + 1, "(") && !Is(k - 1, "."))
                replacement = word == "current_schema" ? "current_schema()" : "current_database()";
            if (replacement == null) continue;
            output.Append(statement, consumedTo, t.Start - consumedTo).Append(replacement);
            consumedTo = end;
        }
        return output.Append(statement, consumedTo, statement.Length - consumedTo).ToString();

        int Closing(int open)
        {
            var depth = 0;
            for (var j = open; j < significant.Count; j++)
            {
                if (Is(j, "(")) depth++;
                else if (Is(j, ")") && --depth == 0) return j;
            }
            return -1;
        }

        // ~* and !~* are ~ and !~ without case; the flag goes into the pattern.
        static string Operator(string op, out string? regex)
        {
            regex = op is "~" or "!~" ? "" : op is "~*" or "!~*" ? "i" : null;
            return $" {(regex == null ? op : op.TrimEnd('*'))} ";
        }

        bool Is(int index, string symbol) => index >= 0 && index < significant.Count && significant[index].Kind is Kind.Symbol && significant[index].Text(statement) == symbol;

        // 'raw.rentals'::regclass, $1::regclass, '…'::pg_catalog.regtype: the function that looks the name up, and the last token.
        (string? Function, int Last) RegType(int at)
        {
            if (at < significant.Count && significant[at].Kind == Kind.Word && significant[at].Text(statement).Equals("pg_catalog", StringComparison.OrdinalIgnoreCase) && Is(at + 1, "."))
                at += 2;
            if (at >= significant.Count || significant[at].Kind != Kind.Word) return (null, 0);
            return RegTypes.TryGetValue(significant[at].Text(statement).ToLowerInvariant(), out var function) ? (function, at) : (null, 0);
        }
    }

    /// <summary>The statement's tokens, in order, covering all of it.</summary>
    internal static IEnumerable<Token> Tokens(string sql)
    {
        var i = 0;
        while (i < sql.Length)
        {
            var start = i;
            var c = sql[i];
            Kind kind;
            if (char.IsWhiteSpace(c))
            {
                while (i < sql.Length && char.IsWhiteSpace(sql[i])) i++;
                kind = Kind.Space;
            }
            else if (c == '-' && At(i + 1) == '-')
            {
                while (i < sql.Length && sql[i] != '\n') i++;
                kind = Kind.Comment;
            }
            else if (c == '/' && At(i + 1) == '*')
            {
                var depth = 0;
                do
                {
                    if (At(i) == '/' && At(i + 1) == '*') { depth++; i += 2; }
                    else if (At(i) == '*' && At(i + 1) == '/') { depth--; i += 2; }
                    else i++;
                }
                while (depth > 0 && i < sql.Length);
                kind = Kind.Comment;
            }
            else if (c == '\'' || (c is 'E' or 'e' && At(i + 1) == '\''))
            {
                var escapes = c != '\'';
                i += escapes ? 2 : 1;
                while (i < sql.Length)
                {
                    if (escapes && sql[i] == '\\') i += 2;
                    else if (sql[i] == '\'' && At(i + 1) == '\'') i += 2;
                    else if (sql[i] == '\'') { i++; break; }
                    else i++;
                }
                kind = Kind.String;
            }
            else if (c == '"')
            {
                i++;
                while (i < sql.Length)
                {
                    if (sql[i] == '"' && At(i + 1) == '"') i += 2;
                    else if (sql[i] == '"') { i++; break; }
                    else i++;
                }
                kind = Kind.QuotedName;
            }
            else if (c == '$' && char.IsAsciiDigit(At(i + 1)))
            {
                i++;
                while (i < sql.Length && char.IsAsciiDigit(sql[i])) i++;
                kind = Kind.Parameter;
            }
            else if (c == '$' && DollarTag(i) is { } tag)
            {
                var close = sql.IndexOf(tag, i + tag.Length, StringComparison.Ordinal);
                i = close < 0 ? sql.Length : close + tag.Length;
                kind = Kind.String;
            }
            else if (char.IsLetter(c) || c == '_')
            {
                while (i < sql.Length && (char.IsLetterOrDigit(sql[i]) || sql[i] is '_' or '$')) i++;
                kind = Kind.Word;
            }
            else if (char.IsAsciiDigit(c) || (c == '.' && char.IsAsciiDigit(At(i + 1))))
            {
                while (i < sql.Length && (char.IsAsciiLetterOrDigit(sql[i]) || sql[i] == '.' ||
                                          (sql[i] is '+' or '-' && sql[i - 1] is 'e' or 'E'))) i++;
                kind = Kind.Number;
            }
            else if (c == ';')
            {
                i++;
                kind = Kind.Semicolon;
            }
            else if (c == ':' && At(i + 1) == ':')
            {
                i += 2;
                kind = Kind.Symbol;
            }
            else if ("+-*/<>=~!@#%^&|`?".Contains(c))
            {
                while (i < sql.Length && "+-*/<>=~!@#%^&|`?".Contains(sql[i]) && !(sql[i] == '-' && At(i + 1) == '-') && !(sql[i] == '/' && At(i + 1) == '*')) i++;
                kind = Kind.Symbol;
            }
            else
            {
                i++;
                kind = Kind.Symbol;
            }
            yield return new Token(kind, start, i - start);
        }

        char At(int k) => k < sql.Length ? sql[k] : '\0';

        string? DollarTag(int k)
        {
            var end = k + 1;
            while (end < sql.Length && (char.IsLetterOrDigit(sql[end]) || sql[end] == '_')) end++;
            return end < sql.Length && sql[end] == '$' ? sql[k..(end + 1)] : null;
        }
    }
}
