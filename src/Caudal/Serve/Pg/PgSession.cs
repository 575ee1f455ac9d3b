using DuckDB.NET.Data;

namespace Caudal.Serve.Pg;

/// <summary>
/// One PostgreSQL connection: start-up (TLS, authentication with an API key, parameters), then the simple and extended
/// query protocols until the client says Terminate. Statements run on an engine of the session's own that mounts every
/// table of the lake at its latest version; before each statement the session looks whether any table moved on and,
/// if so, mounts the new versions (each statement reads one snapshot).
/// </summary>
internal sealed partial class PgSession(PgServer server, Stream stream, int pid, int secret) : IAsyncDisposable
{
    private readonly PgInput _input = new(stream, server.Endpoint.MessageTimeout);
    private readonly PgOutput _output = new(stream);
    private readonly Dictionary<string, PgPrepared> _prepared = new();
    private readonly Dictionary<string, PgPortal> _portals = new();
    private readonly Dictionary<string, PgPortal> _cursors = new(StringComparer.Ordinal);
    private PgSettings _settings = new("caudal");
    private string _user = "caudal", _database = "caudal";
    private char _transaction = 'I';
    private PgLakeEngine? _engine;
    private readonly List<PgLakeEngine> _retired = [];
    private volatile DuckDBCommand? _running;
    private volatile string? _cancelReason;

    public int Secret => secret;

    /// <summary>Interrupts the statement running now, if any (a CancelRequest with this session's key).</summary>
    public void Cancel(string reason = "canceling statement due to user request")
    {
        _cancelReason = reason;
        try
        {
            _running?.Cancel();
        }
        catch (Exception e) when (e is ObjectDisposedException or InvalidOperationException)
        {
        }
    }

    public async Task RunAsync(Func<Task<Stream?>> tls, CancellationToken ct)
    {
        try
        {
            if (!await StartAsync(tls, ct)) return;
            await LoopAsync(ct);
        }
        catch (PgProtocolException e)
        {
            await FatalAsync("08P01", e.Message, ct);
        }
        catch (PgError e) when (e.Severity == "FATAL")
        {
            await FatalAsync(e.Code, e.Message, ct);
        }
        catch (Exception e) when (e is IOException or EndOfStreamException or OperationCanceledException or ObjectDisposedException)
        {
            // The client went away, or the server is stopping.
        }
    }

    /// <summary>Turns a connection away before start-up (too many clients).</summary>
    public Task RefuseAsync(string code, string message, CancellationToken ct) => FatalAsync(code, message, ct);

    private async Task FatalAsync(string code, string message, CancellationToken ct)
    {
        try
        {
            _output.Abandon();
            WriteError(new PgError(code, message, severity: "FATAL"));
            await _output.FlushAsync(ct);
        }
        catch (Exception e) when (e is IOException or ObjectDisposedException or OperationCanceledException)
        {
        }
    }

    /// <summary>The start-up exchange; false when the connection ends with it (a cancel request, a refused login).</summary>
    private async Task<bool> StartAsync(Func<Task<Stream?>> tls, CancellationToken ct)
    {
        using var startupDeadline = CancellationTokenSource.CreateLinkedTokenSource(ct);
        startupDeadline.CancelAfter(TimeSpan.FromSeconds(60));
        PgMessage? startup;
        var encrypted = false;
        while (true)
        {
            startup = await _input.ReadStartupAsync(startupDeadline.Token);
            if (startup == null) return false;
            var code = startup.Int32();
            switch (code)
            {
                case 80877103: // SSLRequest
                    if (encrypted) throw new PgProtocolException("SSLRequest after TLS is already on");
                    var secured = await tls();
                    if (secured == null) continue;
                    _input.Stream = _output.Stream = secured;
                    encrypted = true;
                    continue;
                case 80877104: // GSSENCRequest: not offered.
                    await stream.WriteAsync("N"u8.ToArray(), ct);
                    continue;
                case 80877102: // CancelRequest
                    server.CancelSession(startup.Int32(), startup.Int32());
                    return false;
                case 196608: // protocol 3.0
                    break;
                default:
                    throw new PgProtocolException(code >> 16 == 3
                        ? $"unsupported frontend protocol {code >> 16}.{code & 0xffff}: server supports 3.0"
                        : "invalid startup packet (not a PostgreSQL client?)");
            }
            break;
        }
        var parameters = new Dictionary<string, string>();
        while (!startup.AtEnd)
        {
            var name = startup.CString();
            if (name.Length == 0) break;
            parameters[name] = startup.CString();
        }
        _user = parameters.GetValueOrDefault("user") ?? throw new PgError("28000", "no PostgreSQL user name specified in startup packet", severity: "FATAL");
        _database = parameters.GetValueOrDefault("database") is { Length: > 0 } db ? db : _user;
        // Protocol options (_pq_.*) are declined before anything else, where libpq looks for the answer.
        var declined = parameters.Keys.Where(k => k.StartsWith("_pq_.", StringComparison.Ordinal)).ToList();
        if (declined.Count > 0)
        {
            _output.Begin('v');
            _output.Int32(0);
            _output.Int32(declined.Count);
            foreach (var option in declined) _output.CString(option);
            _output.End();
        }
        await AuthenticateAsync(encrypted, startupDeadline.Token);
        _settings = new PgSettings(_user);
        if (parameters.ContainsKey("replication")) throw new PgError("28000", "this server does not do replication", severity: "FATAL");
        _output.Begin('R');
        _output.Int32(0); // AuthenticationOk
        _output.End();
        // After AuthenticationOk, as in PostgreSQL (drivers take nothing else while they authenticate): the
        // -c name=value of "options" (PGOPTIONS) first, then every other name of the packet is a run-time parameter
        // too (an unknown one ends the connection).
        var settings = PgSettings.CommandLine(parameters.GetValueOrDefault("options") ?? "").Concat(parameters
            .Where(p => p.Key is not ("user" or "database" or "options") && !p.Key.StartsWith("_pq_.", StringComparison.Ordinal))
            .Select(p => (p.Key, p.Value)));
        foreach (var (name, value) in settings)
        {
            if (_settings.Set(name, value) is not { } refused) continue;
            // Drivers send the client's own time zone (pgJDBC: the JVM's): the connection goes on in UTC, which the
            // ParameterStatus below reports; timestamptz values carry their offset, so no instant is misread.
            if (_settings.NameOf(name) != "TimeZone") throw new PgError(refused.Code, refused.Message, severity: "FATAL");
            Notice($"this server answers in UTC, not time zone \"{value}\"; timestamptz values carry their offset (+00)", "01000");
        }
        foreach (var name in PgSettings.Reported)
        {
            _output.Begin('S');
            _output.CString(name);
            _output.CString(_settings.Get(name) ?? "");
            _output.End();
        }
        _output.Begin('K');
        _output.Int32(pid);
        _output.Int32(secret);
        _output.End();
        ReadyForQuery();
        await _output.FlushAsync(ct);
        return true;
    }

    private async Task LoopAsync(CancellationToken ct)
    {
        var skipToSync = false;
        while (true)
        {
            await _output.FlushAsync(ct);
            var message = await _input.ReadAsync(ct);
            if (message == null || message.Type == 'X') return;
            if (skipToSync && message.Type is not ('S' or 'X')) continue;
            skipToSync = false;
            try
            {
                switch (message.Type)
                {
                    case 'Q':
                        await SimpleQueryAsync(message.CString(), ct);
                        break;
                    case 'P':
                        await ParseAsync(message, ct);
                        break;
                    case 'B':
                        Bind(message);
                        break;
                    case 'D':
                        await DescribeAsync(message, ct);
                        break;
                    case 'E':
                        await ExecuteAsync(message, ct);
                        break;
                    case 'C':
                        Close(message);
                        break;
                    case 'S':
                        // Outside a transaction block Sync ends the implicit transaction, and its portals with it.
                        if (_transaction == 'I')
                        {
                            foreach (var portal in _portals.Values) portal.Dispose();
                            _portals.Clear();
                        }
                        ReadyForQuery();
                        break;
                    case 'H':
                        await _output.FlushAsync(ct);
                        break;
                    case 'd' or 'c' or 'f':
                        // Copy data outside COPY FROM (which this server does not do): ignored, as PostgreSQL does.
                        break;
                    default:
                        throw new PgProtocolException($"invalid frontend message type '{message.Type}'");
                }
            }
            catch (Exception e) when (e is PgError { Severity: not "FATAL" } or InvalidCastException or FormatException or OverflowException or
                                          ArgumentException or InvalidOperationException or NotSupportedException or DuckDBException)
            {
                _output.Abandon();
                WriteError(e as PgError ?? new PgError("XX000", e.Message));
                if (_transaction == 'T') _transaction = 'E';
                if (message.Type == 'Q') ReadyForQuery();
                else skipToSync = true;
            }
        }
    }

    private void ReadyForQuery()
    {
        _output.Begin('Z');
        _output.Byte((byte)_transaction);
        _output.End();
    }

    private void WriteError(PgError e)
    {
        _output.Begin('E');
        _output.Byte((byte)'S');
        _output.CString(e.Severity);
        _output.Byte((byte)'V');
        _output.CString(e.Severity);
        _output.Byte((byte)'C');
        _output.CString(e.Code);
        _output.Byte((byte)'M');
        _output.CString(e.Message);
        if (e.Position is { } position)
        {
            _output.Byte((byte)'P');
            _output.CString(position.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        _output.Byte(0);
        _output.End();
    }

    private void Notice(string message, string code = "25P01")
    {
        _output.Begin('N');
        _output.Byte((byte)'S');
        _output.CString("WARNING");
        _output.Byte((byte)'V');
        _output.CString("WARNING");
        _output.Byte((byte)'C');
        _output.CString(code);
        _output.Byte((byte)'M');
        _output.CString(message);
        _output.Byte(0);
        _output.End();
    }

    private void CommandComplete(string tag)
    {
        _output.Begin('C');
        _output.CString(tag);
        _output.End();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var portal in _portals.Values) portal.Dispose();
        foreach (var portal in _cursors.Values) portal.Dispose();
        _engine?.Dispose();
        foreach (var old in _retired) old.Dispose();
        await _input.Stream.DisposeAsync();
        await stream.DisposeAsync();
    }

    /// <summary>The engine with every table at its latest version (a new one when any table moved on).</summary>
    private async Task<PgLakeEngine> EngineAsync(CancellationToken ct)
    {
        if (_engine != null && !await _engine.StaleAsync(_settings, ct)) return _engine;
        var fresh = await server.OpenEngineAsync(_settings, _user, _database, pid, ct);
        // Open portals and cursors keep reading the engine they started on; it goes when none is left.
        if (_engine != null) _retired.Add(_engine);
        _engine = fresh;
        foreach (var old in _retired.Where(e => _portals.Values.Concat(_cursors.Values).All(p => p.Engine != e)).ToList())
        {
            old.Dispose();
            _retired.Remove(old);
        }
        return fresh;
    }
}
