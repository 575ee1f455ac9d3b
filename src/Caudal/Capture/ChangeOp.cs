namespace Caudal.Capture;

/// <summary>What happened to a row of a database source, in raw's <c>_caudal_op</c> column.</summary>
public static class ChangeOp
{
    public const string Column = "_caudal_op";

    /// <summary>The row's position in the source's log (PostgreSQL: the change's WAL LSN; a snapshot's rows: the
    /// snapshot's consistent point), a number that orders a key's changes.</summary>
    public const string LsnColumn = "_caudal_lsn";

    public const string Insert = "insert";
    public const string Update = "update";
    public const string Delete = "delete";

    /// <summary>The row as a read of the table found it (a full or a cursor read): new or changed, a read cannot tell which.</summary>
    public const string Snapshot = "snapshot";
}

/// <summary>What every row of a writer says about itself: its <see cref="ChangeOp"/>, and its log position when it has one.</summary>
public sealed record RowStamp(string Op, long? Lsn = null)
{
    public static readonly RowStamp Snapshot = new(ChangeOp.Snapshot);

    /// <summary>The stamp as an SQL select-list (ending with a comma and a space).</summary>
    public string SelectList => $"{Caudal.Sql.Constant(Op)} AS {ChangeOp.Column}, " + (Lsn is { } lsn ? $"CAST({lsn} AS BIGINT) AS {ChangeOp.LsnColumn}, " : "");
}
