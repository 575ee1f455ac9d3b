using DuckDB.NET.Data;

namespace Caudal.Serve.Pg;

/// <summary>A statement parsed by the client (Parse, or a simple query): its text, the engine's text, its parameter
/// types, and its first words (what kind of statement it is).</summary>
internal sealed record PgPrepared(string Sql, string Rewritten, uint[] ParameterTypes, IReadOnlyList<string> Words)
{
    public string Command => Words.Count > 0 ? Words[0] : "";

    /// <summary>Statements that read rows through the engine; everything else is answered by the session itself.</summary>
    public bool IsQuery => Command is "SELECT" or "WITH" or "VALUES" or "TABLE" or "(" or "SHOW" or "FROM";
}

/// <summary>A statement bound to its parameters, with its result open once it runs: Execute with a row limit reads
/// on from where the last one stopped (PortalSuspended); a cursor (DECLARE) is one of these too.</summary>
internal sealed class PgPortal(PgPrepared statement, object?[] parameters, short[] resultFormats) : IDisposable
{
    public PgPrepared Statement => statement;
    public object?[] Parameters => parameters;
    public DuckDBCommand? Command { get; set; }
    public DuckDBDataReader? Reader { get; set; }
    public PgColumn[]? Columns { get; set; }
    public long Sent { get; set; }
    public bool Done { get; set; }
    public PgLakeEngine? Engine { get; set; }

    /// <summary>A cursor declared WITH HOLD: it outlives its transaction.</summary>
    public bool Hold { get; init; }

    public bool HasFormats => resultFormats.Length > 0;

    /// <summary>Column <paramref name="i"/>'s format: one code for all, or one per column (0 text, 1 binary).</summary>
    public bool Binary(int i) => resultFormats.Length switch
    {
        0 => false,
        1 => resultFormats[0] == 1,
        _ => i < resultFormats.Length && resultFormats[i] == 1,
    };

    public void Dispose()
    {
        Reader?.Dispose();
        Command?.Dispose();
        Reader = null;
        Command = null;
    }
}
