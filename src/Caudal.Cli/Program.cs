using Caudal.Cli;
using Caudal.Cli.Commands;
using Caudal.Spec;
using Spectre.Console;
using Spectre.Console.Cli;

var app = new CommandApp();
app.Configure(config =>
{
    // An unknown option is a usage error, never ignored: a typo must not change what a command does.
    config.UseStrictParsing();
    config.SetApplicationName("caudal");
    config.SetApplicationVersion(typeof(Caudal.Spec.PipelineSpec).Assembly.GetName().Version!.ToString(3));
    config.Add<RunCommand>("run").WithDescription("Run the pipeline once: capture to raw, then models to trusted and refined.");
    config.Add<BackfillCommand>("backfill").WithDescription("Run the pipeline once per window of a date range (--from, --to, --step): sources read that window.");
    config.Add<ServeCommand>("serve").WithDescription("Serve the lake over HTTP: a dashboard, tables and rows (JSON, NDJSON, CSV, Parquet, Arrow), read-only SQL, saved queries, runs, charts, /metrics.");
    config.Add<UpCommand>("up").WithDescription("The scheduler and the HTTP API in one process (the single-machine default).");
    config.Add<ScheduleCommand>("schedule").WithDescription("Run the pipeline on its schedule until stopped (cron, catch-up, retries, one runner at a time).");
    config.Add<ValidateCommand>("validate").WithDescription("Check the spec and report every problem with file:line:column.");
    config.Add<PlanCommand>("plan").WithDescription("Print the pipeline's graph (sources -> raw tables -> models -> outputs) without running it.");
    config.Add<RunsCommand>("runs").WithDescription("List recent runs recorded in the lake.");
    config.Add<StatusCommand>("status").WithDescription("List the lake's tables with version, rows and last commit.");
    config.Add<VacuumCommand>("vacuum").WithDescription("Delete data files no table version needs any more (older than the retention).");
    config.Add<QueryCommand>("query").WithDescription("Run SQL over the lake's tables (zone.name) with the embedded engine.");
    config.Add<SchemaCommand>("schema").WithDescription("Print the JSON Schema of caudal.yaml (for editor completion).");
    config.AddBranch("keys", keys =>
    {
        keys.SetDescription("API keys for caudal serve (kept in the lake as salted hashes).");
        keys.Add<KeysAddCommand>("keys", "add").WithDescription("Create a key with scopes (tables, runs, sql, queries, metrics); it is printed once.");
        keys.Add<KeysListCommand>("keys", "list").WithDescription("List the keys (names and scopes, never the keys).");
        keys.Add<KeysRemoveCommand>("keys", "remove").WithDescription("Remove a key; servers refuse it within 30 seconds.");
    });
    config.AddBranch("cdc", cdc =>
    {
        cdc.SetDescription("Change data capture (mode: cdc) from PostgreSQL's log.");
        cdc.Add<CdcStatusCommand>("cdc", "status").WithDescription("Each cdc source's replication slot: state, confirmed position, WAL kept for it, time since its last read.");
    });
    config.AddBranch("catalog", catalog =>
    {
        catalog.SetDescription("Register the lake's tables with other engines' catalogs.");
        catalog.Add<CatalogAthenaCommand>("catalog", "athena").WithDescription("Print Athena DDL (Delta tables, one database per zone).");
        catalog.Add<CatalogDuckDbCommand>("catalog", "duckdb").WithDescription("Print DuckDB views over delta_scan.");
        catalog.Add<CatalogGlueCommand>("catalog", "glue").WithDescription("Create or update the tables in the AWS Glue Data Catalog (--apply), or print the requests.");
    });
    config.AddBranch("cluster", cluster =>
    {
        cluster.SetDescription("The EMR cluster of the spec's spark.emr section (created and ended by code).");
        cluster.Add<ClusterUpCommand>("cluster", "up").WithDescription("Create the cluster (Spark + Spark Connect), wait until it is ready, record its address in the lake.");
        cluster.Add<ClusterStatusCommand>("cluster", "status").WithDescription("What EMR says about the cluster.");
        cluster.Add<ClusterDownCommand>("cluster", "down").WithDescription("Terminate the cluster.");
    });
    config.AddBranch("sample", sample =>
    {
        sample.SetDescription("Generate sample data.");
        sample.Add<SampleSakilaCommand>("sample", "sakila").WithDescription("Generate a deterministic SQLite database in the Sakila schema.");
    });
    config.SetExceptionHandler((exception, _) =>
    {
        switch (exception)
        {
            case SpecException spec:
                foreach (var error in spec.Errors) Console.Error.WriteLine(Secrets.Redact(error.ToString()));
                return ExitCodes.InvalidSpec;
            case CommandAppException usage:
                Console.Error.WriteLine($"caudal: {UsageErrors.Explain(usage.Message, args)}");
                Console.Error.WriteLine("Try 'caudal --help'.");
                return ExitCodes.InvalidSpec;
            default:
                Console.Error.WriteLine($"caudal: {Secrets.Redact(exception.Message)}");
                return ExitCodes.Failed;
        }
    });
});
AnsiConsole.Profile.Capabilities.Interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
return await app.RunAsync(args);
