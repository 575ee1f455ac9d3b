using Caudal.Spec;

namespace Caudal.Capture;

/// <summary>A source of datasets. Capturing a dataset streams its rows into a <see cref="CaptureSink"/>; the
/// capture stage turns what was written into one raw commit, so a source never touches the lake itself.</summary>
public interface ISource : IDisposable
{
    string Name { get; }

    /// <summary>The datasets to capture, with "*" expanded to every table the source has.</summary>
    Task<IReadOnlyList<DatasetSpec>> ResolveDatasetsAsync(CancellationToken ct = default);

    /// <summary>The columns <paramref name="dataset"/> will produce (name and DuckDB type).</summary>
    Task<IReadOnlyList<CaptureColumn>> DescribeAsync(DatasetSpec dataset, CancellationToken ct = default);

    /// <summary>Streams the rows of <paramref name="dataset"/> (all of them, or those after the sink's watermark for
    /// incremental datasets) into <paramref name="sink"/>.</summary>
    Task CaptureAsync(DatasetSpec dataset, CaptureSink sink, CancellationToken ct = default);

    /// <summary>How many datasets may be captured at once (each is its own commit): a database's tables are
    /// independent; an API's requests share one budget.</summary>
    int DatasetsAtOnce => 1;

    /// <summary>Called before any dataset is captured, with the log position each <c>mode: cdc</c> dataset committed last
    /// (by dataset name; absent when it has none): a source reading one log for every dataset starts at the earliest.</summary>
    void Positions(IReadOnlyDictionary<string, long> committed)
    {
    }

    /// <summary>Called once the source's datasets of a run are committed (or failed): a source reading a log confirms
    /// its position here, and only when <paramref name="everyDatasetCommitted"/>.</summary>
    Task CommittedAsync(bool everyDatasetCommitted, CancellationToken ct) => Task.CompletedTask;
}

/// <summary>A captured column: its name and the DuckDB type the rows are buffered as.</summary>
public sealed record CaptureColumn(string Name, string DuckType);

/// <summary>A capture failed for a reason that names the source, dataset and, where known, the row.</summary>
public sealed class CaptureException(string message, Exception? inner = null) : Exception(message, inner);
