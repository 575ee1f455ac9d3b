using System.Text;
using Caudal.Processing;

namespace Caudal.Serve.Formats;

/// <summary>CSV (RFC 4180) with a header line. A whole result is written by the engine's own CSV writer
/// (<see cref="CsvExport"/>); pages are written here, with the same value forms.</summary>
public sealed class CsvRows : TextRows
{
    public override string Name => "csv";
    public override IReadOnlyList<string> MediaTypes => ["text/csv"];
    public override string ContentType => "text/csv; charset=utf-8";

    public override Task WriteAsync(RowsRequest request, CancellationToken ct)
    {
        if (request.Query.Limit != null) return base.WriteAsync(request, ct);
        var schema = request.Snapshot.Schema;
        var instants = request.Query.Columns.Where(c => schema.Find(c)?.Type == "timestamp").ToList();
        var binaries = request.Query.Columns.Where(c => schema.Find(c)?.Type == "binary").ToList();
        return CsvExport.WriteAsync(request.Http, request.Engine.Connection, request.Table, request.Sql, request.Query.SqlParameters, instants, binaries,
            request.Scratch, ct);
    }

    protected override void Begin(Output output, RowsRequest request) =>
        output.WriteText(TableQuery.CsvLine(new StringBuilder(), request.Query.Columns).ToString());

    protected override Task RowAsync(Output output, string[] names, object?[] values, CancellationToken ct)
    {
        output.Line.Clear();
        TableQuery.CsvLine(output.Line, values.Select(v => v == null ? null : QuerySession.Text(v)));
        output.WriteText(output.Line.ToString());
        return Task.CompletedTask;
    }
}
