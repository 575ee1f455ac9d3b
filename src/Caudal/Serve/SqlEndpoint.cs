using System.Globalization;
using System.Text.Json;
using Caudal.Processing;
using DuckDB.NET.Data;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Http.Features;
using Microsoft.AspNetCore.Routing;

namespace Caudal.Serve;

/// <summary>
/// <c>POST /v1/sql</c> <c>{"sql": "...", "params": [...], "timeout_ms": 5000}</c>: one read-only query over every
/// table of the lake (as <c>zone.name</c>, each at its latest version). Read-only for real, twice over: the statement
/// must be a SELECT (DuckDB's own parser, through <c>json_serialize_sql</c>, refuses anything else — COPY, ATTACH,
/// INSTALL, LOAD, SET, PRAGMA, CREATE…), and the engine it runs on has external access switched off (no file but the
/// mounted tables' data files and the scratch folder, no network, no extension loading) and its configuration locked;
/// functions and catalog views that show the server rather than the data are refused by name. A statement timeout (30 s at
/// most, or the spec's serve.sql_timeout) interrupts it; at most 10,000 rows come back, with <c>truncated</c> set when there were more.
/// </summary>
public static class SqlEndpoint
{
    public const int MaxRows = 10_000;
    private const long MaxBody = 1 << 20;

    internal sealed record Request(string? Sql, JsonElement[]? Params, int? TimeoutMs);

    private static readonly JsonSerializerOptions Json = new()
    {
        PropertyNamingPolicy = JsonNamingPolicy.SnakeCaseLower,
        NumberHandling = System.Text.Json.Serialization.JsonNumberHandling.AllowNamedFloatingPointLiterals,
    };

    public static void Map(IEndpointRouteBuilder app, TableCatalog catalog, string scratch, TimeSpan maxTimeout)
    {
        app.MapPost("/v1/sql", async (HttpContext http, CancellationToken ct) =>
        {
            if (http.Features.Get<IHttpMaxRequestBodySizeFeature>() is { IsReadOnly: false } limit) limit.MaxRequestBodySize = MaxBody;
            Request? request;
            try
            {
                request = await JsonSerializer.DeserializeAsync<Request>(http.Request.Body, Json, ct);
            }
            catch (Exception e) when (e is JsonException or BadHttpRequestException)
            {
                return Problems.Of(e is BadHttpRequestException { StatusCode: 413 } ? 413 : 400,
                    e is BadHttpRequestException { StatusCode: 413 } ? $"the body is larger than {MaxBody / 1024} KB." : $"the body is not JSON {{\"sql\": \"SELECT ...\"}}: {e.Message}");
            }
            if (request?.Sql is not { Length: > 0 } sql) return Problems.Of(400, "give the query as {\"sql\": \"SELECT ...\"}.");
            var timeout = request.TimeoutMs is { } ms ? TimeSpan.FromMilliseconds(Math.Clamp(ms, 1, maxTimeout.TotalMilliseconds)) : maxTimeout;
            List<DuckDBParameter> parameters;
            try
            {
                parameters = (request.Params ?? []).Select(p => new DuckDBParameter(Value(p) ?? DBNull.Value)).ToList();
            }
            catch (BadRequestException e)
            {
                return Problems.Of(400, e.Message);
            }
            return await RunAsync(catalog, scratch, sql, parameters, timeout, ct);
        }).WithSummary("Run one read-only SQL query over the lake's tables (zone.name)").WithTags("sql")
          .Accepts<Request>("application/json");
    }

    /// <summary>Runs one read-only query over every table of the lake (each at its latest version) and answers
    /// <c>{columns, rows, truncated, versions}</c>, or a 400 with the engine's message.</summary>
    internal static async Task<IResult> RunAsync(TableCatalog catalog, string scratch, string sql,
        IReadOnlyList<DuckDBParameter> parameters, TimeSpan timeout, CancellationToken ct)
    {
        // The query spills to a folder of its own, the only folder it may touch: the server's scratch holds other
        // requests' exports and an S3 lake's cached files.
        var spill = Path.Combine(scratch, "sql", Guid.NewGuid().ToString("N"));
        Directory.CreateDirectory(spill);
        try
        {
            return await RunInAsync(catalog, scratch, spill, sql, parameters, timeout, ct);
        }
        finally
        {
            try
            {
                Directory.Delete(spill, recursive: true);
            }
            catch (IOException)
            {
                // Left for the workspace's own clean-up.
            }
        }
    }

    private static async Task<IResult> RunInAsync(TableCatalog catalog, string scratch, string spill, string sql,
        IReadOnlyList<DuckDBParameter> parameters, TimeSpan timeout, CancellationToken ct)
    {
        using var engine = RequestEngines.Open(RequestEngines.Work.Sql, scratch);
        if (Refusal(engine.Connection, sql) is { } refused) return Problems.Of(400, refused);
        var versions = new Dictionary<string, long>();
        foreach (var id in await catalog.TablesAsync(ct))
            if (await catalog.SnapshotAsync(id, null, ct) is { } snapshot)
            {
                await engine.MountAsync(id, catalog.Lake.Table(id), snapshot, ct);
                versions[id.ToString()] = snapshot.Version;
            }
        LockDown(engine.Connection, engine.MountedFiles, spill);

        using var command = engine.Connection.CreateCommand();
        command.CommandText = sql;
        foreach (var p in parameters) command.Parameters.Add(p);
        using var deadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        deadline.CancelAfter(timeout);
        await using var interrupt = deadline.Token.Register(command.Cancel);
        try
        {
            return await Task.Run(() =>
            {
                using var reader = command.ExecuteReader();
                var columns = Enumerable.Range(0, reader.FieldCount).Select(i => new { name = reader.GetName(i), type = reader.GetDataTypeName(i) }).ToList();
                var rows = new List<JsonValues.Served[]>();
                var served = new QuerySession.ServedValues(reader);
                var truncated = false;
                while (reader.Read())
                {
                    if (rows.Count == MaxRows)
                    {
                        truncated = true;
                        break;
                    }
                    var row = new JsonValues.Served[reader.FieldCount];
                    for (var i = 0; i < row.Length; i++) row[i] = new JsonValues.Served(served[i]);
                    rows.Add(row);
                }
                return Results.Json(new { columns, rows, truncated, versions }, Json);
            }, CancellationToken.None);
        }
        catch (Exception e) when (e is DuckDBException or OperationCanceledException && deadline.IsCancellationRequested && !ct.IsCancellationRequested)
        {
            return Problems.Of(400, $"the query ran past its time limit ({timeout.TotalSeconds.ToString("0.###", CultureInfo.InvariantCulture)} s) and was interrupted.");
        }
        catch (DuckDBException e)
        {
            return Problems.Of(400, e.Message.Trim());
        }
    }

    /// <summary>Why the statement may not run (not a SELECT, or not parsable), or null. <paramref name="catalog"/>
    /// names relations and functions of a PostgreSQL catalog built in <paramref name="catalogSchemas"/>: those are the
    /// session's own, not the engine's, and may be read. <paramref name="parsed"/> is given the statement as the engine
    /// parsed it, when it parses.</summary>
    internal static string? Refusal(DuckDBConnection connection, string sql, IReadOnlySet<string>? catalog = null, IReadOnlyList<string>? catalogSchemas = null,
        Action<JsonElement>? parsed = null)
    {
        bool Ours(string schema, string name) =>
            catalog != null && catalog.Contains(name.ToLowerInvariant()) && (schema.Length == 0 || catalogSchemas!.Contains(schema.ToLowerInvariant()));
        using var check = connection.CreateCommand();
        check.CommandText = "SELECT CAST(json_serialize_sql(CAST(? AS VARCHAR)) AS VARCHAR)";
        check.Parameters.Add(new DuckDBParameter(sql));
        using var result = JsonDocument.Parse((string)check.ExecuteScalar()!);
        var root = result.RootElement;
        if (!root.TryGetProperty("error", out var error) || !error.GetBoolean())
        {
            parsed?.Invoke(root);
            return FunctionNames(root).FirstOrDefault(f => Hidden(f.Name) && !Ours(f.Schema, f.Name)) is { Name: not null } hidden
                ? $"{hidden.Name}() is not available here: SQL sees the lake's tables (zone.name), not the server's files or settings."
                : TableNames(root).FirstOrDefault(t => HiddenTable(t) && !Ours(t.Contains('.') ? t[..t.LastIndexOf('.')] : "", t[(t.LastIndexOf('.') + 1)..])) is { } table
                    ? $"{table} is not available here: SQL sees the lake's tables (zone.name), not the engine's catalog or settings."
                    : null;
        }
        var message = root.TryGetProperty("error_message", out var m) ? m.GetString() : "not a query";
        return root.TryGetProperty("error_type", out var type) && type.GetString() == "not implemented"
            ? "only a read-only query (SELECT, WITH … SELECT) can run here."
            : $"{message}{(root.TryGetProperty("position", out var p) ? $" (at character {p.GetString()})" : "")}";
    }

    /// <summary>Every function a parsed statement calls (scalar and table functions), with the schema it names.</summary>
    private static IEnumerable<(string Schema, string Name)> FunctionNames(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                foreach (var property in element.EnumerateObject())
                {
                    if (property.Name == "function_name" && property.Value.ValueKind == JsonValueKind.String)
                        yield return (string.Join('.', new[] { element.TryGetProperty("catalog", out var c) ? c.GetString() : null,
                            element.TryGetProperty("schema", out var s) ? s.GetString() : null }.Where(n => !string.IsNullOrEmpty(n))), property.Value.GetString()!);
                    foreach (var name in FunctionNames(property.Value)) yield return name;
                }
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                    foreach (var name in FunctionNames(item)) yield return name;
                break;
        }
    }

    /// <summary>Every table a parsed statement reads, as written (<c>schema.table</c> or <c>table</c>).</summary>
    private static IEnumerable<string> TableNames(JsonElement element)
    {
        switch (element.ValueKind)
        {
            case JsonValueKind.Object:
                if (element.TryGetProperty("type", out var type) && type.ValueKind == JsonValueKind.String && type.GetString() == "BASE_TABLE" &&
                    element.TryGetProperty("table_name", out var table))
                {
                    var schema = element.TryGetProperty("schema_name", out var s) ? s.GetString() : null;
                    yield return string.IsNullOrEmpty(schema) ? table.GetString()! : $"{schema}.{table.GetString()}";
                }
                foreach (var property in element.EnumerateObject())
                    foreach (var name in TableNames(property.Value)) yield return name;
                break;
            case JsonValueKind.Array:
                foreach (var item in element.EnumerateArray())
                    foreach (var name in TableNames(item)) yield return name;
                break;
        }
    }

    /// <summary>The engine's own catalog views (<c>pg_catalog.*</c>, <c>information_schema.*</c>, <c>duckdb_*</c>,
    /// <c>sqlite_master</c>): they show settings and the mounted views' definitions, which name the lake's files.</summary>
    private static bool HiddenTable(string table)
    {
        var name = table.ToLowerInvariant();
        var bare = name[(name.LastIndexOf('.') + 1)..];
        return name.StartsWith("pg_catalog.", StringComparison.Ordinal) || name.StartsWith("information_schema.", StringComparison.Ordinal) ||
               bare.StartsWith("duckdb_", StringComparison.Ordinal) || bare.StartsWith("pragma_", StringComparison.Ordinal) ||
               bare.StartsWith("pg_", StringComparison.Ordinal) || bare is "sqlite_master" or "sqlite_schema" or "sqlite_temp_master";
    }

    /// <summary>Functions that show the server rather than the lake's data: its settings, environment, catalog of
    /// internals, or files (the sandbox's allowed paths already stop files outside the tables).</summary>
    private static bool Hidden(string function)
    {
        var name = function.ToLowerInvariant();
        return name.StartsWith("duckdb_", StringComparison.Ordinal) || name.StartsWith("pragma_", StringComparison.Ordinal) ||
               // query() and friends run SQL given as a string, which the parse above cannot see into.
               name is "query" or "query_table" or "json_execute_serialized_sql" or "current_setting" or "getenv" or "which_secret" or "glob" or "read_text" or "read_blob" or "sniff_csv" or "parquet_metadata" or
                   "parquet_schema" or "parquet_file_metadata" or "parquet_kv_metadata" or "parquet_bloom_probe" or "checkpoint" or "force_checkpoint";
    }

    /// <summary>No file but the data files of the mounted tables (and the server's scratch folder, where DuckDB spills):
    /// nothing under <c>_caudal/</c> (keys), <c>_delta_log/</c> or <c>_payloads/</c>; no network, no extensions, no settings.</summary>
    internal static void LockDown(DuckDBConnection connection, IEnumerable<string> files, string spill)
    {
        foreach (var statement in new[]
                 {
                     $"SET temp_directory = {Sql.Literal(spill)}",
                     $"SET allowed_directories = [{Sql.Literal(spill.TrimEnd('/') + "/")}]",
                     $"SET allowed_paths = [{string.Join(", ", files.Select(Sql.Literal))}]",
                     "SET enable_external_access = false", "SET autoinstall_known_extensions = false",
                     "SET autoload_known_extensions = false", "SET lock_configuration = true",
                 })
        {
            using var command = connection.CreateCommand();
            command.CommandText = statement;
            command.ExecuteNonQuery();
        }
    }

    private static object? Value(JsonElement e) => e.ValueKind switch
    {
        JsonValueKind.String => e.GetString(),
        JsonValueKind.Number when e.TryGetInt64(out var l) => l,
        JsonValueKind.Number => e.GetDouble(),
        JsonValueKind.True => true,
        JsonValueKind.False => false,
        JsonValueKind.Null => null,
        _ => throw new BadRequestException("params: strings, numbers, booleans or null."),
    };

}
