using System.Data.Common;
using Caudal.Lake;
using Caudal.Lake.Delta;
using Caudal.Processing.Engine;
using DuckDB.NET.Data;
using Microsoft.AspNetCore.Http;

namespace Caudal.Serve.Formats;

/// <summary>One request for rows, as a format writes it: the table's snapshot, the parsed query, the SQL to run on the
/// request's engine, and where to keep a page once written (pages only).</summary>
public sealed record RowsRequest(
    HttpContext Http,
    DuckDbEngine Engine,
    TableId Table,
    Snapshot Snapshot,
    TableQuery Query,
    string Sql,
    string Scratch,
    Action<byte[], string, string?>? Keep);

/// <summary>
/// One output format of the rows route, registered in <see cref="RowFormats.All"/>: its <c>format=</c> name, the media
/// types <c>Accept</c> may name it by, the content type sent, the file extension of a download, whether it reads the
/// whole result unless a limit is given, whether its pages may be kept, and how it writes. A new format is one file.
/// </summary>
public abstract class RowFormat
{
    public abstract string Name { get; }
    public abstract IReadOnlyList<string> MediaTypes { get; }
    public abstract string ContentType { get; }

    /// <summary>A file format (Parquet, Arrow): sent as an attachment named <c>{table}.{Extension}</c>.</summary>
    public virtual string? Extension => null;

    /// <summary>Reads the whole result when no limit is given (a file is wanted whole); pages otherwise.</summary>
    public virtual bool WholeByDefault => false;

    /// <summary>Its pages are the same bytes for a table version and request, so they may be kept (<see cref="PageCache"/>).</summary>
    public virtual bool Cacheable => false;

    public abstract Task WriteAsync(RowsRequest request, CancellationToken ct);

    /// <summary>A command on the request's engine for <paramref name="sql"/> (the request's SQL unless given), with the
    /// query's parameters bound.</summary>
    protected static DbCommand Command(RowsRequest request, string? sql = null)
    {
        var command = request.Engine.Connection.CreateCommand();
        command.CommandText = sql ?? request.Sql;
        foreach (var p in request.Query.SqlParameters) command.Parameters.Add(new DuckDBParameter(p ?? DBNull.Value));
        return command;
    }

    /// <summary>The command's reader, or null when the engine refused the query (a bad filter value): then a 400 names
    /// the table and the reason, before any row is sent.</summary>
    protected static async Task<DbDataReader?> ReadAsync(RowsRequest request, DbCommand command, CancellationToken ct)
    {
        try
        {
            return await command.ExecuteReaderAsync(ct);
        }
        catch (DuckDBException e)
        {
            await RefuseAsync(request, e);
            return null;
        }
    }

    protected static Task RefuseAsync(RowsRequest request, DuckDBException e) =>
        Problems.Of(400, $"{request.Table}: {e.Message.Split('\n')[0]}").ExecuteAsync(request.Http);

    protected void Attach(RowsRequest request)
    {
        request.Http.Response.ContentType = ContentType;
        if (Extension != null) request.Http.Response.Headers.ContentDisposition = $"attachment; filename=\"{request.Table}.{Extension}\"";
    }
}
