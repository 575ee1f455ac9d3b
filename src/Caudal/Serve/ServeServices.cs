using Caudal.Lake;
using Caudal.Runs;
using Caudal.Spec;
using Microsoft.AspNetCore.Builder;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using OpenTelemetry.Metrics;
using OpenTelemetry.Resources;

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
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("caudal", serviceInstanceId: spec.Name))
            .WithMetrics(metrics => metrics.AddMeter(LakeMetrics.MeterName).AddPrometheusExporter());
        return services;
    }

    public static void MapLakeServing(this WebApplication app, PipelineSpec spec)
    {
        var catalog = app.Services.GetRequiredService<TableCatalog>();
        var scratch = app.Services.GetRequiredService<RunWorkspace>().Path;
        LakeApi.Map(app, catalog, scratch);
        // The SQL engine may read only the lake's own folder (a local lake) and the server's scratch folder (where an
        // S3 lake's files are cached).
        var lake = spec.Lake.Uri.StartsWith("file://", StringComparison.Ordinal) ? spec.Lake.Uri["file://".Length..] : spec.Lake.Uri;
        SqlEndpoint.Map(app, catalog, scratch, spec.Lake.IsS3 ? null : Path.GetFullPath(lake));
        app.MapPrometheusScrapingEndpoint("/metrics");
    }

    /// <summary>Re-reads the metrics from the lake every 15 seconds (a failed read keeps the previous values).</summary>
    private sealed class MetricsRefresher(LakeMetrics metrics) : BackgroundService
    {
        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            using var timer = new PeriodicTimer(TimeSpan.FromSeconds(15));
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
    }
}
