using System.ComponentModel;
using Caudal.Aws;
using Caudal.Catalog;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

public class CatalogSettings : SpecSettings
{
    [CommandOption("--location <URI>")]
    [Description("The lake's root as the catalog should see it (default: the lake's own URI), e.g. s3://bucket/prefix for a local lake synced to S3.")]
    public string? Location { get; init; }

    [CommandOption("--database-prefix <NAME>")]
    [Description("Databases are <prefix>_<zone> (default: the pipeline's name).")]
    public string? DatabasePrefix { get; init; }

    /// <summary>The tables, when every location is on S3 (what Athena and Glue read); null after saying why not.</summary>
    internal async Task<IReadOnlyList<CatalogTable>?> S3TablesAsync(Caudal.Spec.PipelineSpec spec, string engine, CancellationToken ct)
    {
        var tables = await CatalogTable.ReadAsync(spec, Location, ct);
        if (tables.All(t => t.Location.StartsWith("s3://", StringComparison.Ordinal))) return tables;
        Console.Error.WriteLine($"caudal: {engine} and this lake is at {spec.Lake.Uri}: give --location s3://bucket/prefix (where the lake is synced) or use an S3 lake.");
        return null;
    }
}

/// <summary><c>caudal catalog athena</c>: Athena DDL for every table (Delta, read from the log).</summary>
public sealed class CatalogAthenaCommand : AsyncCommand<CatalogSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, CatalogSettings settings, CancellationToken ct)
    {
        var spec = settings.LoadForReading();
        if (await settings.S3TablesAsync(spec, "Athena reads tables on S3,", ct) is not { } tables) return ExitCodes.InvalidSpec;
        Console.Out.Write(AthenaCatalog.Ddl(spec.Name, tables, settings.DatabasePrefix));
        return ExitCodes.Ok;
    }
}

/// <summary><c>caudal catalog duckdb</c>: DuckDB views over <c>delta_scan</c>.</summary>
public sealed class CatalogDuckDbCommand : AsyncCommand<CatalogSettings>
{
    public override async Task<int> ExecuteAsync(CommandContext context, CatalogSettings settings, CancellationToken ct)
    {
        var spec = settings.LoadForReading();
        var tables = await CatalogTable.ReadAsync(spec, settings.Location, ct);
        Console.Out.Write(DuckDbCatalog.Views(spec.Name, tables, tables.Any(t => t.Location.StartsWith("s3://", StringComparison.Ordinal))));
        return ExitCodes.Ok;
    }
}

/// <summary><c>caudal catalog glue [--apply]</c>: the tables in the AWS Glue Data Catalog.</summary>
public sealed class CatalogGlueCommand : AsyncCommand<CatalogGlueCommand.Settings>
{
    public sealed class Settings : CatalogSettings
    {
        [CommandOption("--apply")]
        [Description("Create or update the databases and tables in Glue (without it, the requests are printed as JSON lines).")]
        public bool Apply { get; init; }

        [CommandOption("--region <REGION>")]
        [Description("The AWS region (default: the lake's region, then AWS_REGION).")]
        public string? Region { get; init; }

        [CommandOption("--endpoint <URL>")]
        [Description("Glue's endpoint (default https://glue.<region>.amazonaws.com/), e.g. a VPC endpoint.")]
        public string? Endpoint { get; init; }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken ct)
    {
        var spec = settings.LoadForReading();
        if (await settings.S3TablesAsync(spec, "Glue tables point at S3,", ct) is not { } tables) return ExitCodes.InvalidSpec;
        if (!settings.Apply)
        {
            foreach (var line in GlueCatalog.Plan(spec.Name, tables, settings.DatabasePrefix)) Console.Out.WriteLine(line);
            return ExitCodes.Ok;
        }
        var region = settings.Region ?? spec.Lake.Region ?? Environment.GetEnvironmentVariable("AWS_REGION") ?? Environment.GetEnvironmentVariable("AWS_DEFAULT_REGION");
        if (region == null)
        {
            Console.Error.WriteLine("caudal: which AWS region? Give --region, set AWS_REGION, or set the lake's region in the spec.");
            return ExitCodes.InvalidSpec;
        }
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(60) };
        var endpoint = settings.Endpoint != null ? new Uri(settings.Endpoint) : AwsJsonClient.DefaultEndpoint("glue", region);
        var glue = new AwsJsonClient(http, "Glue", "glue", "AWSGlue", region, endpoint);
        try
        {
            foreach (var line in await GlueCatalog.ApplyAsync(glue, spec.Name, tables, settings.DatabasePrefix, ct)) Console.Out.WriteLine(line);
            return ExitCodes.Ok;
        }
        catch (Exception e) when (e is AwsServiceException or HttpRequestException or Amazon.Runtime.AmazonClientException)
        {
            Console.Error.WriteLine($"caudal: {e.Message}");
            return ExitCodes.Failed;
        }
    }
}
