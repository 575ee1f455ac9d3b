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
        services.AddSingleton(catalog);
        services.AddSingleton(new LakeMetrics(catalog, Scratch(spec)));
        services.AddHostedService<MetricsRefresher>();
        services.AddOpenTelemetry()
            .ConfigureResource(resource => resource.AddService("caudal", serviceInstanceId: spec.Name))
            .WithMetrics(metrics => metrics.AddMeter(LakeMetrics.MeterName).AddPrometheusExporter());
        return services;
    }

    public static void MapLakeServing(this WebApplication app, PipelineSpec spec)
    {
        LakeApi.Map(app, spec, app.Services.GetRequiredService<TableCatalog>());
        app.MapPrometheusScrapingEndpoint("/metrics");
    }

    internal static string Scratch(PipelineSpec spec) => Path.Combine(RunWorkspace.Root(spec.BaseDirectory), "serve-cache");

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
