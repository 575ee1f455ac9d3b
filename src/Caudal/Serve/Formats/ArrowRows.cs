namespace Caudal.Serve.Formats;

/// <summary>An Apache Arrow IPC stream (<see cref="ArrowExport"/>), in record batches: the whole result unless a limit is given.</summary>
public sealed class ArrowRows : RowFormat
{
    public override string Name => "arrow";
    public override IReadOnlyList<string> MediaTypes => [ArrowExport.MediaType];
    public override string ContentType => ArrowExport.MediaType;
    public override string Extension => "arrows";
    public override bool WholeByDefault => true;

    public override async Task WriteAsync(RowsRequest request, CancellationToken ct)
    {
        await using var command = Command(request);
        if (await ReadAsync(request, command, ct) is not { } reader) return;
        await using var _ = reader;
        Attach(request);
        await ArrowExport.WriteAsync(reader, request.Snapshot.Schema.Fields.ToDictionary(f => f.Name, f => f.Type), request.Http.Response.Body, ct);
    }
}
