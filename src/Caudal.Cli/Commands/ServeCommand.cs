using System.ComponentModel;
using System.Net;
using Caudal.Schedule;
using Caudal.Serve;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Connections;
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
        [Description("Address to listen on (default 127.0.0.1). Beyond loopback only with API keys (caudal keys add).")]
        public string Bind { get; init; } = "127.0.0.1";

        [CommandOption("--port <PORT>")]
        [Description("Port to listen on (default 8080; 0 picks a free one and prints it).")]
        public int Port { get; init; } = 8080;

        [CommandOption("--public-url <URL>")]
        [Description("Where people reach this server (behind a proxy, or bound to 0.0.0.0): used in webhook links to runs.")]
        public string? PublicUrl { get; init; }

        [CommandOption("--log-format <FORMAT>")]
        [Description("text (default) or json.")]
        public string LogFormat { get; init; } = "text";

        public override ValidationResult Validate()
        {
            if (!IPAddress.TryParse(Bind, out _))
                return ValidationResult.Error($"--bind '{Bind}' is not an IP address.");
            if (Port is < 0 or > 65535) return ValidationResult.Error($"--port {Port} is not a port number.");
            if (PublicUrl != null && (!Uri.TryCreate(PublicUrl, UriKind.Absolute, out var url) || url.Scheme is not ("http" or "https")))
                return ValidationResult.Error($"--public-url '{PublicUrl}' is not an http(s) URL.");
            return LogFormat is "text" or "json" ? ValidationResult.Success() : ValidationResult.Error($"--log-format must be text or json, not '{LogFormat}'.");
        }
    }

    protected virtual bool Schedules => false;

    private static bool PortInUse(string bind, int port)
    {
        try
        {
            using var probe = new System.Net.Sockets.TcpListener(IPAddress.Parse(bind), port);
            probe.Start();
            return false;
        }
        catch (System.Net.Sockets.SocketException e) when (e.SocketErrorCode == System.Net.Sockets.SocketError.AddressAlreadyInUse)
        {
            return true;
        }
    }

    public override async Task<int> ExecuteAsync(CommandContext context, Settings settings, CancellationToken ct)
    {
        var spec = Schedules ? settings.Load() : settings.LoadForReading();
        if (Schedules && spec.Schedule == null)
        {
            Console.Error.WriteLine($"caudal: {spec.File} has no 'schedule' section (caudal up runs the scheduler and the API).");
            return ExitCodes.InvalidSpec;
        }
        var builder = WebApplication.CreateSlimBuilder(new WebApplicationOptions { ContentRootPath = spec.BaseDirectory });
        // HTTPS through Kestrel's own configuration (Kestrel__Endpoints__Https__Url, Kestrel__Certificates__Default__Path …):
        // when endpoints are configured there, they replace --bind/--port.
        builder.WebHost.UseKestrelHttpsConfiguration();
        var configured = builder.Configuration.GetSection("Kestrel:Endpoints").GetChildren().Any();
        if (!configured && settings.Port != 0 && PortInUse(settings.Bind, settings.Port))
        {
            // Said before the host starts: a failed start is logged by the host with its whole stack trace.
            Console.Error.WriteLine($"caudal: cannot listen at {settings.Bind}:{settings.Port}: the address is already in use (another server there?); choose another --port.");
            return ExitCodes.Failed;
        }
        if (!configured) builder.WebHost.UseUrls($"http://{(settings.Bind.Contains(':') ? $"[{settings.Bind}]" : settings.Bind)}:{settings.Port}");
        builder.Services.AddSystemd();
        Logs.Configure(builder.Logging, settings.LogFormat);
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromMinutes(1));
        builder.Services.AddSingleton(spec);
        if (settings.PublicUrl != null) builder.Services.AddSingleton(new ScheduleCommand.PublicUrl(settings.PublicUrl.TrimEnd('/')));
        builder.Services.AddLakeServing(spec);
        if (Schedules)
        {
            builder.Services.AddSingleton<ScheduleCommand.SchedulerOutcome>();
            builder.Services.AddHostedService<ScheduleCommand.SchedulerService>();
        }
        await using var app = builder.Build();
        var access = await app.PrepareLakeServingAsync(spec, ct);
        if (spec.Serve.Auth == ServeAuth.Keys && access.KeyCount == 0)
        {
            Console.Error.WriteLine($"caudal: {spec.File} asks for API keys (serve.auth: keys) and the lake has none: add one with caudal keys add <name> --scopes tables.");
            return ExitCodes.InvalidSpec;
        }
        var beyondLoopback = configured || !IPAddress.IsLoopback(IPAddress.Parse(settings.Bind));
        if (!access.Enabled && beyondLoopback)
        {
            Console.Error.WriteLine($"caudal: {(configured ? "the Kestrel endpoints configured" : $"--bind {settings.Bind}")} would serve beyond loopback without authentication. " +
                "Add an API key (caudal keys add <name> --scopes tables), or serve on 127.0.0.1 behind a proxy that authenticates.");
            return ExitCodes.InvalidSpec;
        }
        access.BeyondLoopback = beyondLoopback; // never open beyond loopback, even when the last key is removed
        app.Services.GetRequiredService<Caudal.Serve.Pg.PgServer>().Bind = IPAddress.Parse(settings.Bind);
        app.MapLakeServing(spec);
        var outcome = Schedules ? app.Services.GetRequiredService<ScheduleCommand.SchedulerOutcome>() : null;
        try
        {
            await app.StartAsync(ct);
        }
        catch (Caudal.Serve.Pg.PgServer.ListenException e)
        {
            Console.Error.WriteLine($"caudal: {e.Message}");
            return ExitCodes.Failed;
        }
        catch (IOException e) when (e.InnerException is AddressInUseException || e.Message.Contains("address already in use", StringComparison.OrdinalIgnoreCase))
        {
            Console.Error.WriteLine($"caudal: cannot listen at {(configured ? "the configured Kestrel endpoint" : $"{settings.Bind}:{settings.Port}")}: " +
                                    "the address is already in use (another server there?); choose another --port.");
            return ExitCodes.Failed;
        }
        foreach (var url in app.Urls)
            app.Logger.LogInformation("Serving the lake of {Pipeline} at {Url}/v1/tables (dashboard {Url}/, API docs {Url}/scalar; auth {Auth})",
                spec.Name, url, url, url, access.Enabled ? "on" : "off");
        await app.WaitForShutdownAsync(ct);
        return outcome?.Failed == true ? ExitCodes.Failed : ExitCodes.Ok;
    }
}

/// <summary><c>caudal up</c>: the scheduler and the API in one process — the single-machine default.</summary>
public sealed class UpCommand : ServeCommand
{
    protected override bool Schedules => true;
}
