using Caudal.Lake;
using Caudal.Runs;
using Caudal.Spec;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;
using Scalar.AspNetCore;

namespace Caudal.Serve;

/// <summary>Wires the read API and its metrics into an ASP.NET Core application (<c>caudal serve</c>, <c>caudal up</c>).</summary>
public static class ServeServices
{
    public static IServiceCollection AddLakeServing(this IServiceCollection services, PipelineSpec spec)
    {
        var catalog = new TableCatalog(DataLake.Open(spec.Lake));
        // The server's scratch folder (engine spill, an S3 lake's cached files) is a locked workspace like a run's,
        // so leftover cleanups never take it from a live server; it goes when the server stops.
        var workspace = RunWorkspace.Create(spec.BaseDirectory, $"serve-{Environment.ProcessId}");
        services.AddSingleton(workspace);
        services.AddSingleton(catalog);
        services.AddSingleton(new LakeMetrics(catalog, workspace.Path));
        services.AddHostedService<MetricsRefresher>();
        services.AddSingleton(new ApiAccess(new ApiKeyStore(catalog.Lake.Store), spec.Serve));
        services.AddHostedService<KeyRefresher>();
        services.AddSingleton(sp => new Pg.PgServer(spec, catalog, sp.GetRequiredService<ApiAccess>(), workspace,
            sp.GetRequiredService<Microsoft.Extensions.Configuration.IConfiguration>(), sp.GetRequiredService<Microsoft.Extensions.Logging.ILogger<Pg.PgServer>>()));
        services.AddHostedService(sp => sp.GetRequiredService<Pg.PgServer>());
        ApiAccess.AddRateLimits(services, spec.Serve);
        // Nothing the API takes needs more than 1 MB (a SQL statement, at most).
        services.Configure<KestrelServerOptions>(o => o.Limits.MaxRequestBodySize = 1 << 20);
        if (spec.Serve.Cors.Count > 0)
            services.AddCors(o => o.AddDefaultPolicy(policy =>
            {
                if (spec.Serve.Cors.Contains("*")) policy.AllowAnyOrigin();
                else policy.WithOrigins([.. spec.Serve.Cors]);
                policy.WithMethods("GET", "POST").WithHeaders("Authorization", "X-Api-Key", "Content-Type", "If-None-Match")
                      .WithExposedHeaders("ETag", "Last-Modified", "Link", "X-Caudal-Version", "Retry-After");
            }));
        services.AddOpenApi(o => o.AddDocumentTransformer((document, _, _) =>
        {
            document.Info.Title = $"Caudal: {spec.Name}";
            document.Info.Description = "The lake's read API: tables, runs, charts, read-only SQL and saved queries. " +
                "With auth on, send an API key as 'Authorization: Bearer KEY' or 'X-Api-Key: KEY' (keys come from caudal keys add). " +
                "Values: BLOBs are base64 in JSON (hex with a \\x prefix in CSV), TIMESTAMPTZ values ISO 8601 in UTC with a Z.";
            // Prometheus' scrape endpoint is mapped by OpenTelemetry, not as an API route: described here.
            document.Paths ??= [];
            var metrics = new Microsoft.OpenApi.OpenApiOperation
            {
                Summary = "Prometheus metrics: runs by status and trigger, rows captured, each table's lag, stage durations, the lease",
                Responses = new Microsoft.OpenApi.OpenApiResponses
                {
                    ["200"] = new Microsoft.OpenApi.OpenApiResponse { Description = "Prometheus text exposition format" },
                },
            };
            document.Paths["/metrics"] = new Microsoft.OpenApi.OpenApiPathItem { Operations = new() { [HttpMethod.Get] = metrics } };
            return Task.CompletedTask;
        }));
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("caudal", serviceInstanceId: spec.Name))
            .WithMetrics(metrics => metrics.AddMeter(LakeMetrics.MeterName).AddPrometheusExporter());
        return services;
    }

    /// <summary>Reads the API keys (deciding whether auth is on) and checks the saved queries; call before
    /// <see cref="MapLakeServing"/>.</summary>
    public static async Task<ApiAccess> PrepareLakeServingAsync(this WebApplication app, PipelineSpec spec, CancellationToken ct)
    {
        SavedQueries.Check(spec, app.Services.GetRequiredService<RunWorkspace>().Path);
        var access = app.Services.GetRequiredService<ApiAccess>();
        await access.StartAsync(ct);
        return access;
    }

    public static void MapLakeServing(this WebApplication app, PipelineSpec spec)
    {
        var catalog = app.Services.GetRequiredService<TableCatalog>();
        var scratch = app.Services.GetRequiredService<RunWorkspace>().Path;
        if (spec.Serve.Cors.Count > 0) app.UseCors();
        ApiAccess.Use(app, spec.Serve);
        LakeApi.Map(app, catalog, scratch);
        // The SQL engine may read only the data files of the tables it mounts and a spill folder of its own.
        SqlEndpoint.Map(app, catalog, scratch, spec.Serve.SqlTimeout);
        SavedQueries.Map(app, spec, catalog, scratch);
        ChartsApi.Map(app, spec, catalog.Lake);
        Dashboard.Map(app);
        app.MapOpenApi();
        // Offline: no fonts fetched from a CDN (the page falls back to the system fonts).
        app.MapScalarApiReference(o => o.WithTitle($"Caudal: {spec.Name}").DisableDefaultFonts());
        app.MapPrometheusScrapingEndpoint("/metrics");
    }

    private sealed class KeyRefresher(ApiAccess access) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            try
            {
                await access.RefreshLoopAsync(stoppingToken);
            }
            catch (OperationCanceledException)
            {
                // Stopped, or the host was disposed before it started (a port in use): not a failure of the service.
            }
        }
    }

    /// <summary>Re-reads the metrics from the lake every 15 seconds (a failed read keeps the previous values).</summary>
    private sealed class MetricsRefresher(LakeMetrics metrics) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(15));
            try
            {
                do
                {
                    try
                    {
                        await metrics.RefreshAsync(stoppingToken);
                    }
                    catch (Exception e) when (e is not OperationCanceledException)
                    {
                    }
                }
                while (await timer.WaitForNextTickAsync(stoppingToken));
            }
            catch (OperationCanceledException)
            {
                // Stopped, or the host was disposed before it started: not a failure of the service.
            }
        }
    }
}
