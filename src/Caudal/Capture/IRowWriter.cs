using DuckDB.NET.Data;

namespace Caudal.Capture;

/// <summary>A writer a database source appends rows to, one value per column in order: raw rows
/// (<see cref="RawBatchWriter"/>) or primary-key values to compare (<see cref="KeyTableWriter"/>).</summary>
public interface IRowWriter : IBatchWriter
{
    IDuckDBAppenderRow BeginRow();
    void EndRow(IDuckDBAppenderRow row);
}
