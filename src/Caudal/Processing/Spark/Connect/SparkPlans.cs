using Caudal.Processing.Spark.Protocol;

namespace Caudal.Processing.Spark.Connect;

/// <summary>
/// The plans Caudal sends to Spark. Files are read and written through the protocol, not SQL DDL, so only a model's
/// SELECT has to be portable between DuckDB and Spark: an input is a temporary view over the exact Parquet files of
/// its pinned Delta snapshot (<c>CreateDataFrameViewCommand</c> over <c>Read.DataSource</c>, so the cluster needs no
/// Delta package), and a result is written as Parquet to a staging prefix (<c>WriteOperation</c>) that Caudal then
/// commits to the Delta log itself.
/// </summary>
public static class SparkPlans
{
    public static Relation Sql(string query) => new() { Sql = new SQL { Query = query } };

    /// <summary>A statement run eagerly by the server (DDL, SET …).</summary>
    public static Command Statement(string sql) => new() { SqlCommand = new SqlCommand { Sql = sql } };

    /// <summary>A temporary view named <paramref name="name"/> over exactly <paramref name="paths"/> (Parquet).</summary>
    public static Command View(string name, IEnumerable<string> paths)
    {
        var source = new Read.Types.DataSource { Format = "parquet" };
        source.Paths.AddRange(paths);
        return new Command
        {
            CreateDataframeView = new CreateDataFrameViewCommand
            {
                Name = name,
                Replace = true,
                IsGlobal = false,
                Input = new Relation { Read = new Read { DataSource = source } },
            },
        };
    }

    /// <summary>Writes <paramref name="select"/>'s rows as Parquet under <paramref name="path"/> (replacing what is
    /// there), split into folders by <paramref name="partitionBy"/>.</summary>
    public static Command Write(string select, string path, IEnumerable<string> partitionBy)
    {
        var write = new WriteOperation { Input = Sql(select), Source = "parquet", Path = path, Mode = WriteOperation.Types.SaveMode.Overwrite };
        write.PartitioningColumns.AddRange(partitionBy);
        write.Options.Add("compression", "zstd");
        return new Command { WriteOperation = write };
    }

    /// <summary>The session settings every Caudal session pins instead of trusting a cluster's defaults: UTC, ANSI
    /// mode as the spec says (Spark 4 turns it on by default, 3.5 off), and partition overwrite limited to the
    /// partitions written.</summary>
    public static IReadOnlyDictionary<string, string> SessionSettings(bool ansi, IReadOnlyDictionary<string, string>? extra = null)
    {
        var settings = new Dictionary<string, string>
        {
            ["spark.sql.session.timeZone"] = "UTC",
            ["spark.sql.ansi.enabled"] = ansi ? "true" : "false",
            ["spark.sql.sources.partitionOverwriteMode"] = "static",
            ["spark.sql.parquet.outputTimestampType"] = "TIMESTAMP_MICROS",
        };
        foreach (var (k, v) in extra ?? new Dictionary<string, string>()) settings[k] = v;
        return settings;
    }
}
