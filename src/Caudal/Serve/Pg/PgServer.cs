using System.Collections.Concurrent;
using System.Net;
using System.Net.Security;
using System.Net.Sockets;
using System.Security.Cryptography;
using System.Security.Cryptography.X509Certificates;
using Caudal.Lake;
using Caudal.Runs;
using Caudal.Spec;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Caudal.Serve.Pg;

/// <summary>
/// The lake over PostgreSQL's wire protocol (<c>serve.pg: {port: 5433}</c>): the same tables, keys and sandbox as
/// <c>POST /v1/sql</c>, for psql, JDBC, psycopg, Npgsql and the BI tools built on them. TLS uses the certificate
/// Kestrel is configured with (<c>Kestrel:Certificates:Default</c>); without one, SSLRequest is answered 'N'.
/// </summary>
public sealed class PgServer(PipelineSpec spec, TableCatalog catalog, ApiAccess access, RunWorkspace workspace, IConfiguration configuration,
    ILogger<PgServer> logger) : BackgroundService
{
    public const string ServerVersion = "16.0 (Caudal)";
    public const int MaxConnections = 500;
    public static readonly DateTimeOffset Started = DateTimeOffset.UtcNow;

    private readonly ConcurrentDictionary<int, PgSession> _sessions = new();
    private readonly X509Certificate2? _certificate = LoadCertificate(configuration);
    private TcpListener? _listener;
    private int _nextPid = Random.Shared.Next(1000, 30000);

    /// <summary>The address to listen on (<c>caudal serve --bind</c>); loopback unless set.</summary>
    public IPAddress Bind { get; set; } = IPAddress.Loopback;

    /// <summary>The port listened on once started (the spec's, or the one picked for port 0).</summary>
    public int Port { get; private set; }

    internal ApiAccess Access => access;

    /// <summary>The endpoint's settings (<c>serve.pg</c>).</summary>
    internal PgEndpoint Endpoint => spec.Serve.Pg ?? PgEndpoint.Default;

    internal TimeSpan StatementTimeout(PgSettings settings)
    {
        var max = spec.Serve.SqlTimeout;
        return PgSettings.TryMilliseconds(settings.Get("statement_timeout") ?? "0", out var ms) && ms > 0 && ms < max.TotalMilliseconds
            ? TimeSpan.FromMilliseconds(ms) : max;
    }

    /// <summary>Each table's latest version as sessions mount it, shared by all of them.</summary>
    private readonly ConcurrentDictionary<TableId, PgLakeEngine.TableVersion> _tableVersions = new();

    internal Task<PgLakeEngine> OpenEngineAsync(PgSettings settings, string user, string database, int pid, CancellationToken ct) =>
        PgLakeEngine.OpenAsync(catalog, TablesAsync, _tableVersions, Describe, workspace.Path, settings, user, database, pid, ct);

    private readonly SemaphoreSlim _listing = new(1, 1);
    private IReadOnlyList<TableId>? _tables;
    private long _listedAt;

    /// <summary>The lake's tables, listed at most every <see cref="TableCatalog.Revalidate"/> for all sessions together
    /// (each session looks before each statement: on S3, a listing each would be a LIST request per session).</summary>
    private async Task<IReadOnlyList<TableId>> TablesAsync(CancellationToken ct)
    {
        bool Fresh() => _tables != null && Environment.TickCount64 - Interlocked.Read(ref _listedAt) < TableCatalog.Revalidate.TotalMilliseconds;
        if (Fresh()) return _tables!;
        await _listing.WaitAsync(ct);
        try
        {
            if (Fresh()) return _tables!;
            _tables = await catalog.TablesAsync(ct);
            Interlocked.Exchange(ref _listedAt, Environment.TickCount64);
            return _tables;
        }
        finally
        {
            _listing.Release();
        }
    }

    private (string? Description, IReadOnlyList<string> Key) Describe(TableId id) =>
        spec.Models.FirstOrDefault(m => m.Output == id) is { } model ? (model.Description, model.Incremental?.UniqueKey ?? []) : (null, []);

    /// <summary>Why a statement may not run (the rules of <c>/v1/sql</c>), or null; and its columns' names and types as
    /// PostgreSQL would give them where the engine's result differs (<see cref="PgColumnNames"/>). Both depend on the text alone, and BI tools send the
    /// same catalog queries again and again: they are kept for the last statements seen.</summary>
    internal Checked Check(DuckDB.NET.Data.DuckDBConnection connection, string sql)
    {
        if (_refusals.TryGetValue(sql, out var known)) return known;
        PgColumnHint[]? columns = null;
        var reason = SqlEndpoint.Refusal(connection, sql, PgLakeEngine.CatalogNames, [PgSql.CatalogSchema, PgSql.InformationSchema],
            parsed => columns = PgColumnNames.Of(parsed, sql));
        if (_refusals.Count >= 4096) _refusals.Clear();
        return _refusals[sql] = new Checked(reason, columns);
    }

    internal sealed record Checked(string? Reason, PgColumnHint[]? Columns);

    private readonly ConcurrentDictionary<string, Checked> _refusals = new(StringComparer.Ordinal);

    internal void CancelSession(int pid, int secret)
    {
        if (_sessions.TryGetValue(pid, out var session) && CryptographicOperations.FixedTimeEquals(BitConverter.GetBytes(session.Secret), BitConverter.GetBytes(secret)))
            session.Cancel();
    }

    /// <summary>The port cannot be listened on: the server does not start (asked for, the endpoint is never left out).</summary>
    public sealed class ListenException(string message) : Exception(message);

    public override Task StartAsync(CancellationToken cancellationToken)
    {
        if (spec.Serve.Pg is { } endpoint)
        {
            try
            {
                _listener = new TcpListener(Bind, endpoint.Port);
                _listener.Start(512);
                Port = ((IPEndPoint)_listener.LocalEndpoint).Port;
            }
            catch (SocketException e)
            {
                throw new ListenException($"cannot listen for PostgreSQL clients at {Bind}:{endpoint.Port}: {e.Message}; choose another serve.pg.port.");
            }
        }
        return base.StartAsync(cancellationToken);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (_listener == null) return;
        logger.LogInformation("PostgreSQL clients connect at {Address}:{Port} (TLS {Tls}; auth {Auth})", Bind, Port, _certificate != null ? "on" : "off",
            access.Enabled ? "API keys: user = key name, password = key" : "off, loopback only");
        var connections = new List<Task>();
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                var client = await _listener.AcceptTcpClientAsync(stoppingToken);
                client.NoDelay = true;
                connections.RemoveAll(t => t.IsCompleted);
                connections.Add(ServeAsync(client, stoppingToken));
            }
        }
        catch (OperationCanceledException)
        {
        }
        finally
        {
            _listener.Stop();
            await Task.WhenAll(connections);
        }
    }

    private async Task ServeAsync(TcpClient client, CancellationToken ct)
    {
        await Task.Yield();
        var pid = Interlocked.Increment(ref _nextPid);
        var stream = client.GetStream();
        var session = new PgSession(this, stream, pid, RandomNumberGenerator.GetInt32(int.MaxValue));
        await using (session)
        using (client)
        {
            if (_sessions.Count >= MaxConnections)
            {
                await session.RefuseAsync("53300", "sorry, too many clients already", ct);
                return;
            }
            _sessions[pid] = session;
            try
            {
                await session.RunAsync(() => StartTlsAsync(stream, ct), ct);
            }
            catch (Exception e)
            {
                logger.LogWarning(e, "PostgreSQL connection {Pid} failed", pid);
            }
            finally
            {
                _sessions.TryRemove(pid, out _);
            }
        }
    }

    /// <summary>Answers an SSLRequest: 'S' and the TLS handshake with the configured certificate, or 'N' (null).</summary>
    private async Task<Stream?> StartTlsAsync(NetworkStream stream, CancellationToken ct)
    {
        if (_certificate == null)
        {
            await stream.WriteAsync("N"u8.ToArray(), ct);
            return null;
        }
        await stream.WriteAsync("S"u8.ToArray(), ct);
        var tls = new SslStream(stream, leaveInnerStreamOpen: true);
        await tls.AuthenticateAsServerAsync(new SslServerAuthenticationOptions { ServerCertificate = _certificate }, ct);
        return tls;
    }

    /// <summary>Kestrel's default certificate (<c>Kestrel:Certificates:Default:Path</c>, with <c>KeyPath</c> or
    /// <c>Password</c>), which HTTPS uses too.</summary>
    private static X509Certificate2? LoadCertificate(IConfiguration configuration)
    {
        var section = configuration.GetSection("Kestrel:Certificates:Default");
        if (section["Path"] is not { Length: > 0 } path) return null;
        return section["KeyPath"] is { Length: > 0 } keyPath
            ? X509Certificate2.CreateFromPemFile(path, keyPath)
            : X509CertificateLoader.LoadPkcs12FromFile(path, section["Password"]);
    }
}
