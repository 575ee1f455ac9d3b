namespace Caudal.Serve.Pg;

/// <summary>A session's run-time parameters (<c>SET</c>/<c>SHOW</c>/<c>RESET</c>): the ones clients read or set,
/// with PostgreSQL's defaults. Setting one that is not known, or a value this server cannot honour, is an error, as
/// in PostgreSQL (<c>SET client_encoding = 'LATIN1'</c> would garble text).</summary>
internal sealed class PgSettings
{
    /// <summary>Sent to the client as ParameterStatus at start-up and whenever they change.</summary>
    public static readonly string[] Reported =
    [
        "application_name", "client_encoding", "DateStyle", "default_transaction_read_only", "in_hot_standby", "integer_datetimes",
        "IntervalStyle", "is_superuser", "server_encoding", "server_version", "session_authorization", "standard_conforming_strings", "TimeZone",
    ];

    private static readonly (string Name, string Value)[] Defaults =
    [
        ("application_name", ""), ("client_encoding", "UTF8"), ("DateStyle", "ISO, MDY"), ("default_transaction_read_only", "on"),
        ("in_hot_standby", "off"), ("integer_datetimes", "on"), ("IntervalStyle", "postgres"), ("is_superuser", "off"),
        ("server_encoding", "UTF8"), ("server_version", PgServer.ServerVersion), ("server_version_num", "160000"), ("session_authorization", ""),
        ("standard_conforming_strings", "on"), ("TimeZone", "UTC"), ("search_path", "\"$user\", public"), ("statement_timeout", "0"),
        ("transaction_isolation", "read committed"), ("transaction_read_only", "on"), ("default_transaction_isolation", "read committed"),
        ("max_identifier_length", "63"), ("lc_collate", "C.UTF-8"), ("lc_ctype", "C.UTF-8"), ("lc_messages", "C.UTF-8"),
        ("lc_monetary", "C.UTF-8"), ("lc_numeric", "C.UTF-8"), ("lc_time", "C.UTF-8"), ("extra_float_digits", "1"),
        ("bytea_output", "hex"), ("block_size", "8192"), ("max_connections", "500"), ("datestyle", "ISO, MDY"), ("timezone", "UTC"),
        ("idle_in_transaction_session_timeout", "0"), ("lock_timeout", "0"), ("client_min_messages", "notice"), ("jit", "off"),
        ("default_transaction_deferrable", "off"), ("transaction_deferrable", "off"), ("row_security", "on"), ("escape_string_warning", "on"),
        ("synchronous_commit", "on"), ("work_mem", "4096"), ("geqo", "on"), ("ssl", "off"),
    ];

    private readonly Dictionary<string, string> _values = new(StringComparer.OrdinalIgnoreCase);

    public PgSettings(string user)
    {
        foreach (var (name, value) in Defaults)
            if (!name.Equals("datestyle", StringComparison.Ordinal) && !name.Equals("timezone", StringComparison.Ordinal)) _values[name] = value;
        _values["session_authorization"] = user;
    }

    public IEnumerable<(string Name, string Value)> All => _values.Select(kv => (kv.Key, kv.Value)).OrderBy(x => x.Key, StringComparer.Ordinal);

    public string? Get(string name) => _values.GetValueOrDefault(name);

    /// <summary>The parameter's name as PostgreSQL spells it (DateStyle, TimeZone), or null when it is not one.</summary>
    public string? NameOf(string name) => _values.Keys.FirstOrDefault(k => k.Equals(name, StringComparison.OrdinalIgnoreCase));

    /// <summary>Sets a parameter; the error to answer (SQLSTATE, message) when it cannot be.</summary>
    public (string Code, string Message)? Set(string name, string? value)
    {
        if (NameOf(name) is not { } known)
            return ("42704", $"unrecognized configuration parameter \"{name}\"");
        value ??= Defaults.First(d => d.Name.Equals(known, StringComparison.OrdinalIgnoreCase)).Value;
        switch (known.ToLowerInvariant())
        {
            case "client_encoding" when value.ToUpperInvariant().Replace("-", "", StringComparison.Ordinal) is not ("UTF8" or "UNICODE" or "SQL_ASCII"):
                return ("22023", $"this server sends UTF8 only, not \"{value}\"; set client_encoding to UTF8");
            case "client_encoding":
                value = "UTF8";
                break;
            case "timezone" when value.ToUpperInvariant() is not ("UTC" or "GMT" or "Z" or "ETC/UTC" or "UCT" or "+00" or "00:00" or "0"):
                return ("22023", $"this server answers in UTC only, not time zone \"{value}\"");
            case "timezone":
                value = "UTC";
                break;
            case "datestyle" when !value.ToUpperInvariant().Contains("ISO", StringComparison.Ordinal):
                return ("22023", $"this server writes dates in ISO style only, not \"{value}\"");
            case "intervalstyle" when value != "postgres":
                return ("22023", $"this server writes intervals in the postgres style only, not \"{value}\"");
            case "standard_conforming_strings" when value is not ("on" or "true" or "1"):
                return ("22023", "standard_conforming_strings cannot be turned off here");
            case "default_transaction_read_only" or "transaction_read_only" when value is not ("on" or "true" or "1"):
                return ("25006", "this server is read-only: transactions cannot be read-write");
            case "statement_timeout" when !TryMilliseconds(value, out _):
                return ("22023", $"invalid value for parameter \"statement_timeout\": \"{value}\"");
            case "session_authorization" or "is_superuser" or "server_version" or "server_encoding" or "integer_datetimes" or "server_version_num" or "block_size" or "max_identifier_length" or "lc_collate" or "lc_ctype":
                return ("55P02", $"parameter \"{known}\" cannot be changed");
        }
        _values[known] = value;
        return null;
    }

    /// <summary>The run-time parameters in a startup packet's <c>options</c> (libpq's PGOPTIONS), read as PostgreSQL
    /// reads them: words split at spaces (a backslash keeps the next character), each <c>-c name=value</c>,
    /// <c>-cname=value</c> or <c>--name=value</c>.</summary>
    public static List<(string Name, string Value)> CommandLine(string options)
    {
        var words = new List<string>();
        var word = new System.Text.StringBuilder();
        for (var i = 0; i < options.Length; i++)
        {
            if (options[i] == '\\' && i + 1 < options.Length) word.Append(options[++i]);
            else if (char.IsWhiteSpace(options[i]))
            {
                if (word.Length > 0) words.Add(word.ToString());
                word.Clear();
            }
            else word.Append(options[i]);
        }
        if (word.Length > 0) words.Add(word.ToString());
        var settings = new List<(string, string)>();
        for (var i = 0; i < words.Count; i++)
        {
            var setting = words[i] switch
            {
                "-c" when i + 1 < words.Count => words[++i],
                ['-', 'c', .. var rest] => rest,
                ['-', '-', .. var rest] => rest,
                var other => throw new PgError("42601", $"invalid command-line argument for server process: {other}", severity: "FATAL"),
            };
            var equals = setting.IndexOf('=');
            if (equals <= 0) throw new PgError("42601", $"-c {setting} requires a value", severity: "FATAL");
            settings.Add((setting[..equals].Replace('-', '_'), setting[(equals + 1)..]));
        }
        return settings;
    }

    /// <summary>statement_timeout in milliseconds (0: none), from "5000", "5s", "1min".</summary>
    public static bool TryMilliseconds(string value, out long ms)
    {
        value = value.Trim().Trim('\'').Trim();
        var digits = value.TakeWhile(char.IsAsciiDigit).Count();
        ms = 0;
        if (digits == 0 || !long.TryParse(value.AsSpan(0, digits), System.Globalization.CultureInfo.InvariantCulture, out var n)) return false;
        var unit = value[digits..].Trim().ToLowerInvariant();
        long? factor = unit switch { "" or "ms" => 1, "s" => 1000, "min" => 60_000, "h" => 3_600_000, "d" => 86_400_000, _ => null };
        if (factor is not { } f) return false;
        ms = n * f;
        return true;
    }
}
