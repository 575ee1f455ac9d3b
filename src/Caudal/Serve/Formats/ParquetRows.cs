using DuckDB.NET.Data;
using Microsoft.AspNetCore.Http;

namespace Caudal.Serve.Formats;

/// <summary>The result as one Parquet file, written by the engine to the server's scratch folder (streamed, in row
/// groups), sent, then deleted: the whole result unless a limit is given.</summary>
public sealed class ParquetRows : RowFormat
{
    public override string Name => "parquet";
    public override IReadOnlyList<string> MediaTypes => ["application/vnd.apache.parquet", "application/x-parquet"];
    public override string ContentType => "application/vnd.apache.parquet";
    public override string Extension => "parquet";
    public override bool WholeByDefault => true;

    public override async Task WriteAsync(RowsRequest request, CancellationToken ct)
    {
        var file = Path.Combine(request.Scratch, $"export-{Guid.NewGuid():N}.parquet");
        try
        {
            using (var command = Command(request, $"COPY ({request.Sql}) TO {Sql.Literal(file)} (FORMAT parquet, COMPRESSION zstd, ROW_GROUP_SIZE 122880)"))
            {
                try
                {
                    await using var interrupt = ct.Register(command.Cancel);
                    await Task.Run(command.ExecuteNonQuery, CancellationToken.None);
                }
                catch (DuckDBException e) when (!ct.IsCancellationRequested)
                {
                    await RefuseAsync(request, e);
                    return;
                }
            }
            Attach(request);
            request.Http.Response.ContentLength = new FileInfo(file).Length;
            await request.Http.Response.SendFileAsync(file, ct);
        }
        finally
        {
            File.Delete(file);
        }
    }
}
