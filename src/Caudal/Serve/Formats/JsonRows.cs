namespace Caudal.Serve.Formats;

/// <summary><c>{"table", "version", "rows": [...], "next"}</c>: the default format.</summary>
public sealed class JsonRows : TextRows
{
    public override string Name => "json";
    public override IReadOnlyList<string> MediaTypes => ["application/json"];
    public override string ContentType => "application/json; charset=utf-8";

    protected override void Begin(Output output, RowsRequest request)
    {
        output.Json.WriteStartObject();
        output.Json.WriteString("table", request.Table.ToString());
        output.Json.WriteNumber("version", request.Snapshot.Version);
        output.Json.WriteStartArray("rows");
    }

    protected override Task RowAsync(Output output, string[] names, object?[] values, CancellationToken ct)
    {
        JsonValues.WriteObject(output.Json, names, values);
        return Task.CompletedTask;
    }

    protected override void End(Output output, string? next)
    {
        output.Json.WriteEndArray();
        if (next != null) output.Json.WriteString("next", next);
        else output.Json.WriteNull("next");
        output.Json.WriteEndObject();
    }
}
