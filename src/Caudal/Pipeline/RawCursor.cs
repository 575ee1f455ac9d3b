using Caudal.Lake;

namespace Caudal.Pipeline;

/// <summary>The Delta <c>txn</c> application id under which a raw table commits its capture cursor (an incremental
/// watermark, or a change capture's log position) in the same commit as the rows it describes.</summary>
public static class RawCursor
{
    public static string App(TableId table) => $"caudal:cursor:{table}";
}
