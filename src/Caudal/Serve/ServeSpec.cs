using System.Globalization;
using System.Text.RegularExpressions;
using Caudal.Spec;
using YamlDotNet.RepresentationModel;

namespace Caudal.Serve;

/// <summary>Who may call the API: everyone (loopback only) or holders of an API key (<c>caudal keys add</c>).</summary>
public enum ServeAuth
{
    /// <summary>Keys when any exist in the lake, none otherwise (the default).</summary>
    Auto,
    Keys,
    None,
}

/// <summary>A request budget: <see cref="Requests"/> per <see cref="Per"/>, for each key (or client address when
/// auth is off).</summary>
public sealed record RateLimit(int Requests, TimeSpan Per)
{
    /// <summary>"600/1m", "10/1s"; null when the text is not one.</summary>
    public static RateLimit? Parse(string text)
    {
        var slash = text.IndexOf('/');
        if (slash <= 0 || !int.TryParse(text[..slash], NumberStyles.None, CultureInfo.InvariantCulture, out var n) || n <= 0) return null;
        var per = text[(slash + 1)..];
        if (per.Length > 0 && !char.IsDigit(per[0])) per = "1" + per;
        return Values.Duration.Parse(per)?.Span is { } span && span > TimeSpan.Zero ? new RateLimit(n, span) : null;
    }
}

/// <summary>The type a saved query's parameter is converted to before it is bound (never spliced into the SQL).</summary>
public enum QueryParameterType { Text, Integer, Double, Date, Boolean }

public sealed record QueryParameter(string Name, QueryParameterType Type, string? Default, bool Required);

/// <summary>A named, read-only query declared in the spec and served at <c>GET /v1/queries/{name}</c>; its parameters
/// are written <c>$name</c> in the SQL and passed as query-string values.</summary>
public sealed record SavedQuery(string Name, string Sql, string? Description, IReadOnlyList<QueryParameter> Parameters, SpecPosition Position);

/// <summary>The PostgreSQL wire-protocol endpoint (<c>serve.pg</c>): the port it listens on (0 picks a free one), the
/// most rows one statement may return (null: no limit; a statement past it fails, it is never cut short silently), and
/// how long a client may stop half-way through a message before it is cut off.</summary>
public sealed record PgEndpoint(int Port, long? MaxRows, TimeSpan MessageTimeout)
{
    /// <summary>Port 5433, the row cap of <c>/v1/sql</c>, 30 s.</summary>
    public static readonly PgEndpoint Default = new(5433, SqlEndpoint.MaxRows, TimeSpan.FromSeconds(30));
}

/// <summary>The spec's <c>serve:</c> section: auth, CORS, rate limits, saved queries, the SQL time limit and the
/// PostgreSQL endpoint.</summary>
public sealed partial record ServeSpec(ServeAuth Auth, IReadOnlyList<string> Cors, RateLimit? RateLimit, TimeSpan SqlTimeout,
    IReadOnlyList<SavedQuery> Queries, PgEndpoint? Pg = null)
{
    public static readonly ServeSpec Default = new(ServeAuth.Auto, [], null, TimeSpan.FromSeconds(30), []);

    public static readonly string[] Keys = ["auth", "cors", "rate_limit", "sql_timeout", "queries", "pg"];
    private static readonly string[] PgKeys = ["port", "max_rows", "message_timeout"];
    private static readonly string[] QueryKeys = ["sql", "description", "params"];
    private static readonly string[] ParamKeys = ["type", "default"];

    /// <summary>Parses <c>serve:</c> (absent: the defaults).</summary>
    internal static ServeSpec Parse(YamlMappingNode root, SpecContext ctx)
    {
        if (ctx.Mapping(root, "serve", "'serve' must be a mapping.", "write 'serve: {auth: keys, cors: [https://bi.example.com]}'.") is not { } map) return Default;
        ctx.CheckKeys(map, Keys, "serve");
        var auth = ServeAuth.Auto;
        if (ctx.Scalar(map, "auth") is { } a)
        {
            if (a.Value is "keys" or "none") auth = a.Value == "keys" ? ServeAuth.Keys : ServeAuth.None;
            else ctx.Error(a.Start, $"'auth' must be keys or none, not '{a.Value}'.", "write 'auth: keys' (API keys from caudal keys add) or leave it out.");
        }
        var cors = ctx.StringList(map, "cors") ?? [];
        foreach (var origin in cors)
            if (origin != "*" && (!Uri.TryCreate(origin, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https") || uri.AbsolutePath != "/"))
                ctx.Error(ctx.Child(map, "cors")!.Start, $"CORS origin '{origin}' is not an origin.", "write origins as scheme://host[:port], e.g. https://bi.example.com.");
        RateLimit? rate = null;
        if (ctx.Scalar(map, "rate_limit") is { } r && (rate = RateLimit.Parse(r.Value ?? "")) == null)
            ctx.Error(r.Start, $"'rate_limit' must be requests/period, not '{r.Value}'.", "write 'rate_limit: 600/1m' (per API key).");
        var timeout = TimeSpan.FromSeconds(30);
        if (ctx.Scalar(map, "sql_timeout") is { } t)
        {
            if (Values.Duration.Parse(t.Value ?? "")?.Span is { } d && d > TimeSpan.Zero && d <= TimeSpan.FromMinutes(10)) timeout = d;
            else ctx.Error(t.Start, $"'sql_timeout' must be a duration up to 10m, not '{t.Value}'.", "write 'sql_timeout: 30s'.");
        }
        PgEndpoint? pg = null;
        if (ctx.Mapping(map, "pg", "'pg' must be a mapping.", "write 'pg: {port: 5433}'.") is { } pgMap)
        {
            ctx.CheckKeys(pgMap, PgKeys, "serve.pg");
            var port = PgEndpoint.Default.Port;
            if (ctx.Scalar(pgMap, "port") is { } p && !(int.TryParse(p.Value, NumberStyles.None, CultureInfo.InvariantCulture, out port) && port <= 65535))
                ctx.Error(p.Start, $"'port' must be a port number (0-65535), not '{p.Value}'.", "write 'port: 5433' (0 picks a free one).");
            var maxRows = PgEndpoint.Default.MaxRows;
            if (ctx.Scalar(pgMap, "max_rows") is { } m)
            {
                if (m.Value == "none") maxRows = null;
                else if (long.TryParse(m.Value, NumberStyles.None, CultureInfo.InvariantCulture, out var n) && n > 0) maxRows = n;
                else ctx.Error(m.Start, $"'max_rows' must be a positive number of rows or none, not '{m.Value}'.",
                    $"write 'max_rows: {SqlEndpoint.MaxRows}' (the default, as POST /v1/sql) or 'max_rows: none' for no limit.");
            }
            var messageTimeout = PgEndpoint.Default.MessageTimeout;
            if (ctx.Scalar(pgMap, "message_timeout") is { } mt)
            {
                if (Values.Duration.Parse(mt.Value ?? "")?.Span is { } d && d > TimeSpan.Zero && d <= TimeSpan.FromMinutes(10)) messageTimeout = d;
                else ctx.Error(mt.Start, $"'message_timeout' must be a duration up to 10m, not '{mt.Value}'.", "write 'message_timeout: 30s'.");
            }
            pg = new PgEndpoint(port, maxRows, messageTimeout);
        }
        return new ServeSpec(auth, cors, rate, timeout, ParseQueries(map, ctx), pg);
    }

    private static List<SavedQuery> ParseQueries(YamlMappingNode map, SpecContext ctx)
    {
        var queries = new List<SavedQuery>();
        if (ctx.Mapping(map, "queries", "'queries' must be a mapping of names to queries.", "write 'queries: {top_countries: {sql: \"SELECT ...\"}}'.") is not { } entries) return queries;
        foreach (var (keyNode, value) in entries.Children)
        {
            var name = ((YamlScalarNode)keyNode).Value ?? "";
            if (!QueryName().IsMatch(name))
            {
                ctx.Error(keyNode.Start, $"Query name '{name}' is not a name.", "use lowercase letters, digits and underscores (it becomes /v1/queries/<name>).");
                continue;
            }
            if (value is not YamlMappingNode q)
            {
                ctx.Error(value.Start, $"Query '{name}' must be a mapping.", "write '{name}: {sql: \"SELECT ...\"}'.");
                continue;
            }
            ctx.CheckKeys(q, QueryKeys, $"query '{name}'");
            var sql = ctx.String(q, "sql", required: true);
            var parameters = new List<QueryParameter>();
            if (ctx.Child(q, "params") is YamlMappingNode ps)
                foreach (var (pKey, pValue) in ps.Children)
                {
                    var pName = ((YamlScalarNode)pKey).Value ?? "";
                    if (!QueryName().IsMatch(pName)) ctx.Error(pKey.Start, $"Parameter name '{pName}' is not a name.", "use lowercase letters, digits and underscores.");
                    var (typeText, defaultValue, at) = pValue switch
                    {
                        YamlScalarNode s => (s.Value, null, s.Start),
                        YamlMappingNode m => (ctx.Scalar(m, "type")?.Value ?? "text", ctx.Scalar(m, "default")?.Value, m.Start),
                        _ => ((string?)"?", (string?)null, pValue.Start),
                    };
                    if (pValue is YamlMappingNode pm) ctx.CheckKeys(pm, ParamKeys, $"parameter '{pName}'");
                    if (!Enum.TryParse<QueryParameterType>(typeText, ignoreCase: true, out var type) || typeText!.Any(char.IsUpper))
                    {
                        ctx.Error(at, $"Parameter '{pName}' has type '{typeText}'.", "use text, integer, double, date or boolean.");
                        continue;
                    }
                    parameters.Add(new QueryParameter(pName, type, defaultValue, defaultValue == null));
                }
            else if (ctx.Child(q, "params") is { } bad)
                ctx.Error(bad.Start, $"'params' of query '{name}' must be a mapping.", "write 'params: {country: text, year: {type: integer, default: 2020}}'.");
            if (sql != null)
                foreach (Match m in ParameterReference().Matches(sql))
                    if (parameters.All(p => p.Name != m.Groups[1].Value))
                        ctx.Error(q.Start, $"Query '{name}' uses ${m.Groups[1].Value}, which is not declared.", $"add '{m.Groups[1].Value}: text' under its 'params'.");
            if (sql != null) queries.Add(new SavedQuery(name, sql, ctx.String(q, "description"), parameters, ctx.At(keyNode.Start)));
        }
        return queries;
    }

    [GeneratedRegex("^[a-z][a-z0-9_]{0,62}$")]
    private static partial Regex QueryName();

    [GeneratedRegex(@"\$([A-Za-z_][A-Za-z0-9_]*)")]
    private static partial Regex ParameterReference();
}
