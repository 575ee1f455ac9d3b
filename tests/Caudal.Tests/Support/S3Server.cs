using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Amazon.S3;
using Caudal.Lake.Stores;

namespace Caudal.Tests.Support;

/// <summary>
/// A real S3-protocol server (s3rver, from npm) on 127.0.0.1, started once per test run. scripts/test.sh installs it
/// and sets CAUDAL_S3RVER; where it is missing, S3 tests fail with instructions rather than pass silently.
/// </summary>
public sealed class S3Server : IDisposable
{
    public const string Bucket = "caudal-test";
    private static readonly Lazy<S3Server> Shared = new(() => new S3Server());
    private readonly string _script;
    private readonly int _port;
    private readonly string _directory;
    private Process? _process;

    public static S3Server Instance => Shared.Value;

    /// <summary>A server of the test's own, which it may stop and start again (objects persist in its folder).</summary>
    public static S3Server StartPrivate() => new();

    public string Endpoint { get; }

    private S3Server()
    {
        var script = Environment.GetEnvironmentVariable("CAUDAL_S3RVER");
        if (string.IsNullOrEmpty(script) || !File.Exists(script))
            throw new InvalidOperationException(
                "The S3 tests need s3rver. Run the tests with 'bash scripts/test.sh' (it installs s3rver into .tools/), " +
                "or set CAUDAL_S3RVER to s3rver's bin/s3rver.js.");
        _script = script;
        _port = FreePort();
        _directory = Path.Combine(Path.GetTempPath(), "caudal-s3rver-" + Guid.NewGuid().ToString("N")[..8]);
        Directory.CreateDirectory(_directory);
        Endpoint = $"http://127.0.0.1:{_port}";
        Start();
        AppDomain.CurrentDomain.ProcessExit += (_, _) => Dispose();
        Environment.SetEnvironmentVariable("AWS_ACCESS_KEY_ID", "S3RVER");
        Environment.SetEnvironmentVariable("AWS_SECRET_ACCESS_KEY", "S3RVER");
        Environment.SetEnvironmentVariable("AWS_REGION", "us-east-1");
    }

    /// <summary>Starts the server (again) on its port, over the objects it already holds.</summary>
    public void Start()
    {
        var start = new ProcessStartInfo("node", [_script, "-d", _directory, "-a", "127.0.0.1", "-p", _port.ToString(), "--silent", "--configure-bucket", Bucket])
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["NODE_OPTIONS"] = "--openssl-legacy-provider";
        _process = Process.Start(start)!;
        _process.OutputDataReceived += (_, _) => { };
        _process.ErrorDataReceived += (_, _) => { };
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
        WaitUntilListening(_port);
    }

    /// <summary>Kills the server: the lake becomes unreachable (connections refused).</summary>
    public void Stop()
    {
        if (_process is { HasExited: false } p)
        {
            p.Kill(entireProcessTree: true);
            p.WaitForExit();
        }
    }

    /// <summary>A store under a fresh prefix of the test bucket, so tests never see each other's objects.</summary>
    public S3ObjectStore NewStore(string? prefix = null) =>
        new(new S3Settings(Bucket, prefix ?? "t-" + Guid.NewGuid().ToString("N")[..10], Endpoint, "us-east-1", PathStyle: true, "S3RVER", "S3RVER"));

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private void WaitUntilListening(int port)
    {
        var deadline = DateTime.UtcNow.AddSeconds(30);
        while (DateTime.UtcNow < deadline)
        {
            if (_process!.HasExited) throw new InvalidOperationException($"s3rver exited with code {_process.ExitCode}.");
            try
            {
                using var client = new TcpClient();
                client.Connect(IPAddress.Loopback, port);
                return;
            }
            catch (SocketException)
            {
                Thread.Sleep(100);
            }
        }
        throw new TimeoutException("s3rver did not start listening within 30 s.");
    }

    public void Dispose()
    {
        try
        {
            Stop();
            Directory.Delete(_directory, recursive: true);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException)
        {
        }
    }
}
