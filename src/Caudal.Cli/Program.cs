using Caudal.Cli;
using Caudal.Cli.Commands;
using Caudal.Spec;
using Spectre.Console;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    config.SetApplicationName("caudal");
    config.SetApplicationVersion(typeof(Caudal.Spec.PipelineSpec).Assembly.GetName().Version!.ToString(3));
    config.AddCommand<RunCommand>("run").WithDescription("Run the pipeline once: capture to raw, then models to trusted and refined.");
    config.AddCommand<BackfillCommand>("backfill").WithDescription("Run the pipeline once per window of a date range (--from, --to, --step): sources read that window.");
    config.AddCommand<ServeCommand>("serve").WithDescription("Serve the lake over HTTP: a dashboard, tables and rows (JSON, NDJSON, CSV, Parquet, Arrow), read-only SQL, saved queries, runs, charts, /metrics.");
    config.AddCommand<UpCommand>("up").WithDescription("The scheduler and the HTTP API in one process (the single-machine default).");
    config.AddCommand<ScheduleCommand>("schedule").WithDescription("Run the pipeline on its schedule until stopped (cron, catch-up, retries, one runner at a time).");
    config.AddCommand<ValidateCommand>("validate").WithDescription("Check the spec and report every problem with file:line:column.");
    config.AddCommand<PlanCommand>("plan").WithDescription("Print the pipeline's graph (sources -> raw tables -> models -> outputs) without running it.");
    config.AddCommand<RunsCommand>("runs").WithDescription("List recent runs recorded in the lake.");
    config.AddCommand<StatusCommand>("status").WithDescription("List the lake's tables with version, rows and last commit.");
    config.AddCommand<VacuumCommand>("vacuum").WithDescription("Delete data files no table version needs any more (older than the retention).");
    config.AddCommand<QueryCommand>("query").WithDescription("Run SQL over the lake's tables (zone.name) with the embedded engine.");
    config.AddCommand<SchemaCommand>("schema").WithDescription("Print the JSON Schema of caudal.yaml (for editor completion).");
    config.AddBranch("keys", keys =>
    {
        keys.SetDescription("API keys for caudal serve (kept in the lake as salted hashes).");
        keys.AddCommand<KeysAddCommand>("add").WithDescription("Create a key with scopes (tables, runs, sql, queries, metrics); it is printed once.");
        keys.AddCommand<KeysListCommand>("list").WithDescription("List the keys (names and scopes, never the keys).");
        keys.AddCommand<KeysRemoveCommand>("remove").WithDescription("Remove a key; servers refuse it within 30 seconds.");
    });
    config.AddBranch("catalog", catalog =>
    {
        catalog.SetDescription("Register the lake's tables with other engines' catalogs.");
        catalog.AddCommand<CatalogAthenaCommand>("athena").WithDescription("Print Athena DDL (Delta tables, one database per zone).");
        catalog.AddCommand<CatalogDuckDbCommand>("duckdb").WithDescription("Print DuckDB views over delta_scan.");
        catalog.AddCommand<CatalogGlueCommand>("glue").WithDescription("Create or update the tables in the AWS Glue Data Catalog (--apply), or print the requests.");
    });
    config.AddBranch("cluster", cluster =>
    {
        cluster.SetDescription("The EMR cluster of the spec's spark.emr section (created and ended by code).");
        cluster.AddCommand<ClusterUpCommand>("up").WithDescription("Create the cluster (Spark + Spark Connect), wait until it is ready, record its address in the lake.");
        cluster.AddCommand<ClusterStatusCommand>("status").WithDescription("What EMR says about the cluster.");
        cluster.AddCommand<ClusterDownCommand>("down").WithDescription("Terminate the cluster.");
    });
    config.AddBranch("sample", sample =>
    {
        sample.SetDescription("Generate sample data.");
        sample.AddCommand<SampleSakilaCommand>("sakila").WithDescription("Generate a deterministic SQLite database in the Sakila schema.");
    });
    config.SetExceptionHandler((exception, _) =>
    {
        switch (exception)
        {
            case SpecException spec:
                foreach (var error in spec.Errors) Console.Error.WriteLine(error);
                return ExitCodes.InvalidSpec;
            case CommandAppException usage:
                Console.Error.WriteLine($"caudal: {usage.Message}");
                Console.Error.WriteLine("Try 'caudal --help'.");
                return ExitCodes.InvalidSpec;
            default:
                Console.Error.WriteLine($"caudal: {exception.Message}");
                return ExitCodes.Failed;
        }
    });
});
AnsiConsole.Profile.Capabilities.Interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
return await app.RunAsync(args);
