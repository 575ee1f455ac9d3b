using Caudal.Lake.Files;
using Caudal.Processing.Engine;

namespace Caudal.Serve;

/// <summary>What one request may take of the machine, in one place: each request reads through its own embedded
/// engine, with threads and a memory limit by the work it does, and rows and exports wait for a slot (one per core
/// each), so a burst of requests queues instead of each taking its own memory.</summary>
public sealed class RequestEngines(string scratch)
{
    public enum Work
    {
        /// <summary>A page or an export of one table's rows.</summary>
        Rows,

        /// <summary>A table read whole for the old student API's route.</summary>
        Mount,

        /// <summary>A query sent to <c>/v1/sql</c>.</summary>
        Sql,

        /// <summary>A saved query's parameters checked and its result read.</summary>
        SavedQuery,

        /// <summary>The metrics' look at the run history.</summary>
        Metrics,
    }

    private static EngineSettings Budget(Work work, string scratch) => work switch
    {
        Work.Rows or Work.Metrics => new EngineSettings(scratch, Threads: 1, MemoryLimit: "256MB"),
        Work.Mount => new EngineSettings(scratch, Threads: 1, MemoryLimit: "512MB"),
        Work.Sql => new EngineSettings(scratch, Threads: 2, MemoryLimit: "512MB"),
        _ => new EngineSettings(scratch, Threads: 1, MemoryLimit: "64MB"),
    };

    public string Scratch => scratch;

    /// <summary>Pages of rows: one per core at once.</summary>
    public SemaphoreSlim PageSlots { get; } = new(Environment.ProcessorCount);

    /// <summary>Whole exports (all rows, Parquet, Arrow): one per core at once, apart from pages.</summary>
    public SemaphoreSlim ExportSlots { get; } = new(Environment.ProcessorCount);

    public DuckDbEngine Open(Work work) => new(Budget(work, scratch));

    public static DuckDbEngine Open(Work work, string scratch) => new(Budget(work, scratch));
}
