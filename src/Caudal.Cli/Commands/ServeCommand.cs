using System.ComponentModel;
using System.Net;
using Caudal.Schedule;
using Caudal.Serve;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Spectre.Console;
using Spectre.Console.Cli;

namespace Caudal.Cli.Commands;

/// <summary><c>caudal serve</c>: the lake's read API on Kestrel. <c>caudal up</c> (<see cref="UpCommand"/>) hosts the
/// same API and the scheduler in one process.</summary>
public class ServeCommand : AsyncCommand<ServeCommand.Settings>
{
    public class Settings : SpecSettings
    {
        [CommandOption("--bind <ADDRESS>")]
        [Description("Address to listen on (default 127.0.0.1). Only loopback until API keys exist.")]
        public string Bind { get; init; } = "127.0.0.1";

        [CommandOption("--port <PORT>")]
        [Description("Port to listen on (default 8080; 0 picks a free one and prints it).")]
        public int Port { get; init; } = 8080;

        [CommandOption("--log-format <FORMAT>")]
        [Description("text (default) or json.")]
        public string LogFormat { get; init; } = "text";

        public override ValidationResult Validate()
        {
            if (!IPAddress.TryParse(Bind, out var address))
                return ValidationResult.Error($"--bind '{Bind}' is not an IP address.");
            if (!IPAddress.IsLoopback(address))
                return ValidationResult.Error($"--bind {Bind}: the API has no authentication yet, so it listens on loopback only (127.0.0.1 or ::1). " +
                    "Put a reverse proxy with authentication in front of it to reach it from elsewhere.");
            if (Port is < 0 or > 65535) return ValidationResult.Error($"--port {Port} is not a port number.");
            return LogFormat is "text" or "json" ? ValidationResult.Success() : ValidationResult.Error($"--log-format must be text or json, not '{LogFormat}'.");
        }
    }

    protected virtual bool Schedules => false;

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken ct)
    {
        var spec = settings.Load();
        if (Schedules && spec.Schedule == null)
        {
            Console.Error.WriteLine($"caudal: {spec.File} has no 'schedule' section (caudal up runs the scheduler and the API).");
            return ExitCodes.InvalidSpec;
        }
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = spec.BaseDirectory });
        builder.WebHost.UseUrls($"http://{(settings.Bind.Contains(':') ? $"[{settings.Bind}]" : settings.Bind)}:{settings.Port}");
        builder.Services.AddSystemd();
        Logs.Configure(builder.Logging, settings.LogFormat);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(1));
        builder.Services.AddSingleton(spec);
        builder.Services.AddLakeServing(spec);
        if (Schedules)
        {
            builder.Services.AddSingleton<ScheduleCommand.SchedulerOutcome>();
            builder.Services.AddHostedService<ScheduleCommand.SchedulerService>();
        }
        await using var app = builder.Build();
        app.MapLakeServing(spec);
        var outcome = Schedules ? app.Services.GetRequiredService<ScheduleCommand.SchedulerOutcome>() : null;
        await app.StartAsync(ct);
        foreach (var url in app.Urls) app.Logger.LogInformation("Serving the lake of {Pipeline} at {Url}/v1/tables", spec.Name, url);
        await app.WaitForShutdownAsync(ct);
        return outcome?.Failed == true ? ExitCodes.Failed : ExitCodes.Ok;
    }
}

/// <summary><c>caudal up</c>: the scheduler and the API in one process — the single-machine default.</summary>
public sealed class UpCommand : ServeCommand
{
    protected override bool Schedules => true;
}
