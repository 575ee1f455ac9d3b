namespace Caudal.Capture;

/// <summary>What happened to a row of a database source, in raw's <c>_caudal_op</c> column.</summary>
public static class ChangeOp
{
    public const string Column = "_caudal_op";

    public const string Insert = "insert";
    public const string Update = "update";
    public const string Delete = "delete";

    /// <summary>The row as a read of the table found it (a full or a cursor read): new or changed, a read cannot tell which.</summary>
    public const string Snapshot = "snapshot";
}
