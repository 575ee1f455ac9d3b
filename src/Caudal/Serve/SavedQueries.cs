using System.Globalization;
using Caudal.Spec;
using DuckDB.NET.Data;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Caudal.Serve;

/// <summary>
/// The spec's saved queries: <c>GET /v1/queries</c> lists them with their parameters, <c>GET /v1/queries/{name}?p=v</c>
/// runs one with its parameters converted to their declared types and bound (never spliced), under the same read-only
/// engine, time limit and row cap as <c>POST /v1/sql</c>. A key with only the <c>queries</c> scope can run these and
/// nothing else.
/// </summary>
public static class SavedQueries
{
    /// <summary>Refuses to start when a saved query is not a read-only statement (named at its place in the spec).</summary>
    public static void Check(PipelineSpec spec, string scratch)
    {
        if (spec.Serve.Queries.Count == 0) return;
        using var engine = RequestEngines.Open(RequestEngines.Work.SavedQuery, scratch);
        var errors = spec.Serve.Queries
            .Select(q => (q, refusal: SqlEndpoint.Refusal(engine.Connection, q.Sql)))
            .Where(x => x.refusal != null)
            .Select(x => new SpecError(x.q.Position, $"Saved query '{x.q.Name}' cannot be served: {x.refusal}", "write one SELECT (or WITH … SELECT) statement."))
            .ToList();
        if (errors.Count > 0) throw new SpecException(errors);
    }

    public static void Map(IEndpointRouteBuilder app, PipelineSpec spec, TableCatalog catalog, string scratch)
    {
        app.MapGet("/v1/queries", () => Results.Json(new
        {
            queries = spec.Serve.Queries.Select(q => new
            {
                name = q.Name,
                description = q.Description,
                url = $"/v1/queries/{q.Name}",
                @params = q.Parameters.Select(p => new { name = p.Name, type = p.Type.ToString().ToLowerInvariant(), required = p.Required, @default = p.Default }),
            }),
        })).WithSummary("The saved queries declared in the spec, with their parameters").WithTags("queries");

        app.MapGet("/v1/queries/{name}", async (HttpContext http, string name, CancellationToken ct) =>
        {
            if (spec.Serve.Queries.FirstOrDefault(q => q.Name == name) is not { } query)
                return Problems.Of(404, $"no saved query '{name}' (see /v1/queries).");
            var parameters = new List<DuckDBParameter>();
            foreach (var p in query.Parameters)
            {
                var text = http.Request.Query[p.Name].FirstOrDefault() ?? p.Default;
                if (text == null) return Problems.Of(400, $"query '{name}' needs the parameter '{p.Name}' ({p.Type.ToString().ToLowerInvariant()}): add ?{p.Name}=… to the URL.");
                if (Convert(text, p.Type) is not { } value)
                    return Problems.Of(400, $"parameter '{p.Name}' of query '{name}' must be {Article(p.Type)}, not '{text}'.");
                parameters.Add(new DuckDBParameter(p.Name, value));
            }
            foreach (var unknown in http.Request.Query.Keys.Where(k => query.Parameters.All(p => p.Name != k)))
                return Problems.Of(400, $"query '{name}' has no parameter '{unknown}' (it has: {(query.Parameters.Count == 0 ? "none" : string.Join(", ", query.Parameters.Select(p => p.Name)))}).");
            return await SqlEndpoint.RunAsync(catalog, scratch, query.Sql, parameters, spec.Serve.SqlTimeout, ct);
        }).WithSummary("Run a saved query; its parameters go in the query string").WithTags("queries");
    }

    private static object? Convert(string text, QueryParameterType type)
    {
        var inv = CultureInfo.InvariantCulture;
        return type switch
        {
            QueryParameterType.Text => text,
            QueryParameterType.Integer => long.TryParse(text, NumberStyles.Integer, inv, out var l) ? l : null,
            QueryParameterType.Double => double.TryParse(text, NumberStyles.Float, inv, out var d) && double.IsFinite(d) ? d : null,
            QueryParameterType.Date => DateOnly.TryParseExact(text, "yyyy-MM-dd", inv, DateTimeStyles.None, out var date) ? date : null,
            _ => text is "true" or "false" ? text == "true" : null,
        };
    }

    private static string Article(QueryParameterType type) => type switch
    {
        QueryParameterType.Integer => "a whole number",
        QueryParameterType.Double => "a number",
        QueryParameterType.Date => "a date (yyyy-MM-dd)",
        QueryParameterType.Boolean => "true or false",
        _ => "text",
    };
}
