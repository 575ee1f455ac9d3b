using Caudal.Lake.Delta;

namespace Caudal.Processing.Spark;

/// <summary>How models reach Spark: a Spark Connect session (<see cref="ConnectTransport"/>), or one EMR step per model
/// for clusters without Spark Connect (<see cref="EmrStepTransport"/>). Either way Spark reads the exact files Caudal
/// names and writes Parquet where Caudal says; <see cref="SparkEngine"/> does the rest.</summary>
public interface ISparkTransport : IDisposable
{
    /// <summary>The URI the cluster reads a lake key at.</summary>
    string Uri(string key);

    /// <summary>Whether <see cref="WriteAsync"/> splits rows into partition folders itself.</summary>
    bool WritesPartitions { get; }

    /// <summary>Makes <paramref name="view"/> a temporary view over exactly <paramref name="files"/> (URIs), read with
    /// <paramref name="schema"/> (so files missing a newer column, and the partition columns, read typed).</summary>
    Task BindAsync(string view, IReadOnlyList<string> files, string basePath, DeltaSchema schema, CancellationToken ct);

    /// <summary>Runs <paramref name="select"/> (over the bound views) and writes its rows as Parquet under
    /// <paramref name="path"/>, in partition folders when <see cref="WritesPartitions"/>.</summary>
    Task WriteAsync(string select, string path, IReadOnlyList<string> partitionBy, CancellationToken ct);

    /// <summary>The result's columns and Spark SQL types, without running it (<c>DESCRIBE QUERY</c>).</summary>
    Task<IReadOnlyList<(string Name, string SparkType)>> DescribeAsync(string select, CancellationToken ct);
}
