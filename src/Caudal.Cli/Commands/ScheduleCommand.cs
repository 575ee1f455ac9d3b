using System.ComponentModel;
using Caudal.Schedule;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

public sealed class ScheduleCommand : AsyncCommand<ScheduleCommand.Settings>
{
    public sealed class Settings : SpecSettings
    {
        [CommandOption("--log-format <FORMAT>")]
        [Description("text (default) or json (one JSON object per line, for log collectors).")]
        public string LogFormat { get; init; } = "text";

        public override ValidationResult Validate() => LogFormat is "text" or "json"
            ? ValidationResult.Success()
            : ValidationResult.Error($"--log-format must be text or json, not '{LogFormat}'.");
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken ct)
    {
        var spec = settings.Load();
        if (spec.Schedule == null)
        {
            Console.Error.WriteLine($"caudal: {spec.File} has no 'schedule' section.");
            Console.Error.WriteLine("add e.g. 'schedule: {cron: \"0 2 * * *\", time_zone: Europe/Madrid}' (see README, Run unattended).");
            return ExitCodes.InvalidSpec;
        }
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { DisableDefaults = true, ContentRootPath = spec.BaseDirectory });
        builder.Services.AddSystemd(); // notify systemd when ready/stopping; journal-friendly logs under systemd
        Logs.Configure(builder.Logging, settings.LogFormat);
        // SIGTERM/SIGINT: the run in flight is cancelled (its stage abandoned before its commit) and the lease released.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(1));
        builder.Services.AddSingleton(spec);
        builder.Services.AddHostedService<SchedulerService>();
        builder.Services.AddSingleton<SchedulerOutcome>();
        using var host = builder.Build();
        var outcome = host.Services.GetRequiredService<SchedulerOutcome>();
        await host.RunAsync(ct); // disposes the host
        // A scheduler that ended by itself (not by SIGTERM/SIGINT) failed: a non-zero exit lets systemd restart it.
        return outcome.Failed ? ExitCodes.Failed : ExitCodes.Ok;
    }

    /// <summary>Whether the scheduler ended by itself (a failure), for the process's exit code.</summary>
    internal sealed class SchedulerOutcome
    {
        public bool Failed { get; set; }
    }

    /// <summary>Where people reach the server (<c>--public-url</c>), when it is not the address it listens on.</summary>
    internal sealed record PublicUrl(string Url);

    internal sealed class SchedulerService(Caudal.Spec.PipelineSpec spec, ILogger<Scheduler> logger, SchedulerOutcome outcome,
        IHostApplicationLifetime lifetime, IServiceProvider services) : BackgroundService
    {
        /// <summary>Under <c>caudal up</c> the lake is served: webhooks link to the run on the dashboard and the API.</summary>
        private string? Root() =>
            services.GetService<PublicUrl>()?.Url ??
            services.GetService<Microsoft.AspNetCore.Hosting.Server.IServer>()?.Features
                .Get<Microsoft.AspNetCore.Hosting.Server.Features.IServerAddressesFeature>()?.Addresses.FirstOrDefault();

        protected override async Task ExecuteAsync(CancellationToken stoppingToken)
        {
            try
            {
                await new Scheduler(spec, logger, serverRoot: Root).RunAsync(stoppingToken);
                if (!stoppingToken.IsCancellationRequested) outcome.Failed = true;
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                logger.LogCritical("The scheduler stopped: {Error}", Caudal.Spec.Secrets.Redact(e.Message));
                outcome.Failed = true;
            }
            if (outcome.Failed) lifetime.StopApplication();
        }
    }
}
