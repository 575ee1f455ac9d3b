using Microsoft.Extensions.Logging;

namespace Caudal.Cli;

/// <summary>Console logs of the long-running commands (schedule, serve, up): one line per event, UTC times, or JSON.</summary>
internal static class Logs
{
    public static void Configure(ILoggingBuilder logging, string format)
    {
        logging.ClearProviders();
        if (format == "json")
            logging.AddJsonConsole(o =>
            {
                o.TimestampFormat = "yyyy-MM-dd'T'HH:mm:ss.fff'Z'";
                o.UseUtcTimestamp = true;
            });
        else logging.AddSimpleConsole(o =>
        {
            o.SingleLine = true;
            o.TimestampFormat = "yyyy-MM-dd HH:mm:ss ";
            o.UseUtcTimestamp = true;
        });
        logging.SetMinimumLevel(LogLevel.Information);
        logging.AddFilter("Microsoft", LogLevel.Warning);
        logging.AddFilter("System.Net.Http", LogLevel.Warning);

    }
}
