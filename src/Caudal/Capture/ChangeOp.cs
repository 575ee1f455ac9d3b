namespace Caudal.Capture;

/// <summary>What happened to a row of a database source, in raw's <c>_caudal_op</c> column.</summary>
public static class ChangeOp
{
    public const string Column = "_caudal_op";

    /// <summary>The row's position in the source's log (PostgreSQL: the change's WAL LSN; MySQL/MariaDB: binlog file
    /// number × 2^32 + the row image's byte offset in that file; a snapshot's rows: the snapshot's consistent point), a
    /// number that orders a key's changes.</summary>
    public const string LsnColumn = "_caudal_lsn";

    /// <summary>MySQL/MariaDB: the GTID of the row's transaction (MariaDB <c>domain-server-sequence</c>, MySQL
    /// <c>source_uuid:number</c>), where the server gives one.</summary>
    public const string GtidColumn = "_caudal_gtid";

    /// <summary>MySQL/MariaDB: the binlog coordinates of the row's transaction, <c>file:offset</c> of its first event.</summary>
    public const string BinlogColumn = "_caudal_binlog";

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
    /// <remarks>Every row of a database source has the position column, NULL where the read has no log position, so one
    /// model pattern (ordering by it) fits every database source and capture mode.</remarks>
    public string SelectList => $"{Caudal.Sql.Constant(Op)} AS {ChangeOp.Column}, CAST({(Lsn is { } lsn ? lsn.ToString(System.Globalization.CultureInfo.InvariantCulture) : "NULL")} AS BIGINT) AS {ChangeOp.LsnColumn}, ";
}
