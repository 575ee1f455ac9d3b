namespace Caudal.Capture.Database;

/// <summary>A column of a database dataset: how it is selected, the DuckDB type it is buffered as, and the source type
/// (for messages and the type-mapping table).</summary>
public sealed record DatabaseColumn(string Name, string SourceType, string DuckType, string SelectExpression);

/// <summary>How one dataset is read: its columns, the table or query, the key used to split it into ranges, the
/// cursor column used for incremental reads, and its primary key (declared or the table's; empty when it has none).</summary>
public sealed record DatabaseRead(
    string Dataset,
    string From,
    IReadOnlyList<DatabaseColumn> Columns,
    string? SplitKey,
    DatabaseColumn? Cursor,
    IReadOnlyList<DatabaseColumn> Key);
