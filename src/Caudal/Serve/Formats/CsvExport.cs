using System.Runtime.InteropServices;
using Caudal.Lake;
using DuckDB.NET.Data;
using Microsoft.AspNetCore.Http;

namespace Caudal.Serve.Formats;

/// <summary>
/// A whole result as CSV (RFC 4180, a header line), written by the engine's own CSV writer into a named pipe that the
/// response reads from: the rows stream to the client as fast as the engine writes them, with no file on disk and
/// bounded memory. Where a pipe cannot be made, the engine writes a file in the server's scratch folder first.
/// </summary>
internal static partial class CsvExport
{
    private static string Hex(string column) => $"'\\x' || hex({Sql.Ident(column)}) AS {Sql.Ident(column)}";

    private static string Iso(string column)
    {
        var c = Sql.Ident(column);
        var utc = $"({c} AT TIME ZONE 'UTC')";
        return $"CASE WHEN microsecond({utc}) % 1000000 = 0 THEN strftime({utc}, '%Y-%m-%dT%H:%M:%SZ') " +
               $"ELSE strftime({utc}, '%Y-%m-%dT%H:%M:%S.%fZ') END AS {c}";
    }

    [LibraryImport("libc", EntryPoint = "mkfifo", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int MakeFifo(string path, uint mode);

    /// <param name="instants">The TIMESTAMPTZ columns: written as ISO 8601 in UTC with a Z, as JSON and CSV pages write
    /// them (the engine's CSV writer would write <c>+00</c>).</param>
    /// <param name="binaries">The BLOB columns: written as <c>\x</c> and hex, as CSV pages write them (the engine would
    /// write printable bytes as they are).</param>
    public static async Task WriteAsync(HttpContext http, DuckDBConnection connection, TableId id, string sql, IReadOnlyList<object?> parameters,
        IReadOnlyList<string> instants, IReadOnlyList<string> binaries, string scratch, CancellationToken ct)
    {
        if (instants.Count + binaries.Count > 0)
            sql = $"SELECT * REPLACE ({string.Join(", ", instants.Select(Iso).Concat(binaries.Select(Hex)))}) FROM ({sql})";
        var path = Path.Combine(scratch, $"export-{Guid.NewGuid():N}.csv");
        var piped = OperatingSystem.IsLinux() && MakeFifo(path, 0b110_000_000) == 0;
        using var command = connection.CreateCommand();
        command.CommandText = $"COPY ({sql}) TO {Sql.Literal(path)} (FORMAT csv, HEADER true, NEW_LINE '\\r\\n')";
        foreach (var p in parameters) command.Parameters.Add(new DuckDBParameter(p ?? DBNull.Value));
        try
        {
            var copy = Task.Run(command.ExecuteNonQuery, CancellationToken.None);
            if (!piped)
            {
                await copy;
                await using var file = File.OpenRead(path);
                await SendAsync(http, id, file, ct);
                return;
            }
            // Opening a pipe's read end waits for a writer: if the engine fails before it opens the pipe, open it
            // ourselves so the reader wakes up (to an empty pipe) and the error can be answered.
            var open = Task.Run(() => new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite, 1 << 16), CancellationToken.None);
            if (await Task.WhenAny(open, copy) == copy && copy.IsFaulted)
            {
                using (new FileStream(path, FileMode.Open, FileAccess.Write, FileShare.ReadWrite)) { }
                (await open).Dispose();
                await copy; // throws the engine's error
            }
            var reader = await open;
            await using var interrupt = ct.Register(command.Cancel);
            try
            {
                await SendAsync(http, id, reader, ct);
            }
            finally
            {
                // Closed before waiting for the engine: if the client left mid-way, the engine's next write into the
                // pipe fails instead of waiting forever for a reader.
                await reader.DisposeAsync();
                try
                {
                    await copy;
                }
                catch (DuckDBException) when (ct.IsCancellationRequested)
                {
                }
            }
        }
        catch (DuckDBException e) when (!http.Response.HasStarted)
        {
            await Problems.Of(400, $"{id}: {e.Message.Split('\n')[0]}").ExecuteAsync(http);
        }
        finally
        {
            File.Delete(path);
        }
    }

    private static async Task SendAsync(HttpContext http, TableId id, Stream rows, CancellationToken ct)
    {
        http.Response.ContentType = "text/csv; charset=utf-8";
        http.Response.Headers.ContentDisposition = $"attachment; filename=\"{id}.csv\"";
        await rows.CopyToAsync(http.Response.Body, 1 << 16, ct);
    }
}
