namespace Caudal.Serve.Formats;

/// <summary>One JSON object per line (JSON Lines): the next page's cursor travels in the <c>Link</c> header only.</summary>
public sealed class NdJsonRows : TextRows
{
    public override string Name => "ndjson";
    public override IReadOnlyList<string> MediaTypes => ["application/x-ndjson", "application/jsonl"];
    public override string ContentType => "application/x-ndjson; charset=utf-8";

    protected override async Task RowAsync(Output output, string[] names, object?[] values, CancellationToken ct)
    {
        JsonValues.WriteObject(output.Json, names, values);
        await output.Json.FlushAsync(ct);
        output.Json.Reset();
        output.Body.WriteByte((byte)'\n');
    }
}
