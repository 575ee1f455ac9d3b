using Caudal.Lake;
using Caudal.Lake.Delta;

namespace Caudal.Spec;

/// <summary>A place in the spec file, for messages (1-based line and column).</summary>
public readonly record struct SpecPosition(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}

/// <summary>A validated pipeline, as declared in <c>caudal.yaml</c>. Paths are resolved against the spec's folder.</summary>
public sealed class PipelineSpec
{
    public required string File { get; init; }
    public required string Name { get; init; }
    public required LakeLocation Lake { get; init; }
    public required IReadOnlyList<SourceSpec> Sources { get; init; }
    public required IReadOnlyList<ModelSpec> Models { get; init; }
    public IReadOnlyList<Processing.Charts.ChartSpec> Charts { get; init; } = [];
    public required RunSettings Run { get; init; }

    /// <summary>When the pipeline runs unattended (<c>caudal schedule</c>); null when it has no schedule.</summary>
    public Schedule.ScheduleSpec? Schedule { get; init; }

    /// <summary>How <c>caudal serve</c> serves the lake: auth, CORS, rate limits, saved queries.</summary>
    public global::Caudal.Serve.ServeSpec Serve { get; init; } = global::Caudal.Serve.ServeSpec.Default;

    /// <summary>Where Spark is (Spark Connect) and the EMR cluster to create; null without a <c>spark:</c> section.</summary>
    public Processing.Spark.SparkSpec? Spark { get; init; }

    /// <summary>The spec's folder: relative paths in the spec are resolved against it.</summary>
    public required string BaseDirectory { get; init; }
}

public enum CaptureMode
{
    Full,
    Incremental,

    /// <summary>Change data capture from the database's log (PostgreSQL logical replication).</summary>
    Cdc,
}

public enum SchemaPolicy { Evolve, Freeze }

/// <summary>A dataset of a source: a table (or a query) that lands in the raw zone as <c>raw.{source}_{name}</c>.
/// Incremental datasets read rows whose <see cref="Cursor"/> is at or after the last committed watermark minus
/// <see cref="Lookback"/> (a duration such as 1h for time cursors, a number for integer cursors).</summary>
public sealed record DatasetSpec(string Name, string? Table, string? Query, SpecPosition Position)
{
    public CaptureMode Mode { get; init; } = CaptureMode.Full;
    public string? Cursor { get; init; }
    public string? Lookback { get; init; }
    public IReadOnlyList<string>? PrimaryKey { get; init; }
    public Capture.Database.CursorValueMissing OnCursorValueMissing { get; init; }
    public Capture.Database.DeleteDetection Deletes { get; init; }
}

public sealed class SourceSpec
{
    public required string Name { get; init; }
    public required string Kind { get; init; }

    /// <summary>Kind-specific options, each read by its declaration, with environment references already resolved (left
    /// as written when the spec was loaded only to read the lake: <see cref="SpecUse.ReadLake"/>).</summary>
    public required Capture.OptionValues Options { get; init; }

    /// <summary>The options as the spec file writes them (<c>${env:…}</c> references kept): what may be shown.</summary>
    public IReadOnlyDictionary<string, string> AsWritten { get; init; } = new Dictionary<string, string>();

    /// <summary>What a new column in the source does: added to raw (evolve, the default) or fails the dataset (freeze).</summary>
    public SchemaPolicy Schema { get; init; } = SchemaPolicy.Evolve;

    /// <summary>Datasets as declared; a single "*" means every table the source has.</summary>
    public required IReadOnlyList<DatasetSpec> Datasets { get; init; }
    public required SpecPosition Position { get; init; }

    public bool AllDatasets => Datasets.Count == 1 && Datasets[0].Name == "*";

    public TableId RawTable(string dataset) => new(Zone.Raw, $"{Name}_{dataset}");
}

public sealed class ModelSpec
{
    public required TableId Output { get; init; }
    public required string SqlFile { get; init; }
    public required string Sql { get; init; }
    public required IReadOnlyList<TableId> Inputs { get; init; }
    public WriteMode Mode { get; init; } = WriteMode.Overwrite;
    public IReadOnlyList<string> PartitionBy { get; init; } = [];
    public IReadOnlyList<Processing.Checks.CheckSpec> Checks { get; init; } = [];

    /// <summary>An ML step: the SQL gives the observations, the output holds predictions and forecasts, and
    /// <see cref="Processing.Ml.ForecastSpec.Metrics"/> the evaluation against the naive baseline.</summary>
    public Processing.Ml.ForecastSpec? Forecast { get; init; }

    /// <summary>Set when the model is <c>materialized: incremental</c>: merged by key with its inputs' new rows.</summary>
    public IncrementalModel? Incremental { get; init; }

    /// <summary>The table keeps Delta's change data feed (<c>change_feed: true</c>): its row-level changes per version.</summary>
    public bool ChangeFeed { get; init; }

    /// <summary>The engine that runs this model; null: the pipeline's (<see cref="RunSettings.Engine"/>).</summary>
    public Processing.Engine.EngineKind? Engine { get; init; }

    /// <summary>What the table holds, for catalogs (Glue, Athena comments).</summary>
    public string? Description { get; init; }
    public required SpecPosition Position { get; init; }

    /// <summary>Runs on the embedded engine whatever the pipeline's engine: an ML step (ML.NET reads its rows here) and
    /// an incremental model (its merge reads only the files the changes touch).</summary>
    public bool EmbeddedOnly => Forecast != null || Incremental != null;

    /// <summary>Every table the model commits (an ML step writes its metrics table too).</summary>
    public IReadOnlyList<TableId> Outputs => Forecast == null ? [Output] : [Output, Forecast.Metrics];
}

/// <summary>What a spec is loaded for. A command that only reads the lake (status, runs, query, serve, vacuum, catalog,
/// keys) never needs a source's secrets or files: its sources' <c>${env:…}</c> references stay unresolved and their
/// files unchecked, so a machine that only serves the lake needs no database password.</summary>
public enum SpecUse
{
    Run,
    ReadLake,
}
