using System.Globalization;
using System.Text;
using Caudal.Processing;
using DuckDB.NET.Data;

namespace Caudal.Serve.Pg;

internal sealed partial class PgSession
{
    private static readonly HashSet<string> Writes =
    [
        "INSERT", "UPDATE", "DELETE", "MERGE", "CREATE", "DROP", "ALTER", "TRUNCATE", "GRANT", "REVOKE", "VACUUM", "ANALYZE", "CLUSTER",
        "REINDEX", "COMMENT", "SECURITY", "REFRESH", "CALL", "DO", "LOCK", "IMPORT", "ATTACH", "DETACH", "INSTALL", "LOAD", "PRAGMA",
        "EXPORT", "CHECKPOINT", "NOTIFY", "LISTEN", "UNLISTEN", "PREPARE", "EXECUTE", "REASSIGN",
    ];

    /// <summary>The statements the session answers itself (<see cref="UtilityAsync"/>).</summary>
    private static readonly HashSet<string> Utilities =
    [
        "BEGIN", "START", "COMMIT", "END", "ROLLBACK", "ABORT", "SAVEPOINT", "RELEASE", "SET", "RESET", "DISCARD", "DEALLOCATE", "DECLARE", "FETCH",
        "MOVE", "CLOSE", "COPY", "EXPLAIN",
    ];

    private async Task SimpleQueryAsync(string sql, CancellationToken ct)
    {
        var statements = PgSql.Split(sql);
        if (statements.Count == 0)
        {
            _output.Begin('I');
            _output.End();
        }
        foreach (var text in statements)
        {
            var portal = new PgPortal(Prepare(text, []), [], []);
            try
            {
                await RunAsync(portal, describe: true, maxRows: 0, ct);
            }
            finally
            {
                if (!_cursors.ContainsValue(portal)) portal.Dispose();
            }
            await _output.MaybeFlushAsync(ct);
        }
        ReadyForQuery();
    }

    private PgPrepared Prepare(string sql, uint[] types)
    {
        var words = PgSql.Words(sql, 6);
        var rewritten = PgSql.Rewrite(sql);
        var count = Math.Max(types.Length, PgSql.ParameterCount(sql));
        var all = new uint[count];
        for (var k = 0; k < count; k++) all[k] = k < types.Length && types[k] != 0 ? types[k] : PgType.Text.Oid;
        return new PgPrepared(sql, rewritten, all, words);
    }

    /// <summary>Parse: a statement that does not parse, or that the sandbox refuses, fails here, as in PostgreSQL.
    /// One naming a missing table or column fails when it is bound to the lake (Bind/Execute; PostgreSQL: here).</summary>
    private async Task ParseAsync(PgMessage message, CancellationToken ct)
    {
        var name = message.CString();
        var sql = message.CString();
        var types = new uint[message.Int16()];
        for (var k = 0; k < types.Length; k++) types[k] = (uint)message.Int32();
        var statements = PgSql.Split(sql);
        if (statements.Count > 1) throw new PgError("42601", "cannot insert multiple commands into a prepared statement");
        if (name.Length > 0 && _prepared.ContainsKey(name)) throw new PgError("42P05", $"prepared statement \"{name}\" already exists");
        var prepared = Prepare(statements.Count == 0 ? "" : statements[0], types);
        if (prepared.IsQuery && prepared.Command != "SHOW") Check(prepared, prepared.Rewritten, _engine ?? await EngineAsync(ct));
        else if (prepared.Words.Count > 0 && !prepared.IsQuery && !Utilities.Contains(prepared.Command) && !Writes.Contains(prepared.Command))
            throw NotAStatement(prepared);
        _prepared[name] = prepared;
        _output.Begin('1');
        _output.End();
    }

    private void Bind(PgMessage message)
    {
        var portalName = message.CString();
        var statementName = message.CString();
        if (!_prepared.TryGetValue(statementName, out var statement))
            throw new PgError("26000", $"prepared statement \"{statementName}\" does not exist");
        var formats = new short[message.Int16()];
        for (var k = 0; k < formats.Length; k++) formats[k] = message.Int16();
        var values = new object?[message.Int16()];
        if (values.Length != statement.ParameterTypes.Length)
            throw new PgError("08P01", $"bind message supplies {values.Length} parameters, but prepared statement \"{statementName}\" requires {statement.ParameterTypes.Length}");
        for (var k = 0; k < values.Length; k++)
        {
            var raw = message.Value();
            var binary = formats.Length == 1 ? formats[0] == 1 : k < formats.Length && formats[k] == 1;
            values[k] = raw == null ? null : PgParameters.Decode(raw, binary, statement.ParameterTypes[k], k + 1);
        }
        var results = new short[message.Int16()];
        for (var k = 0; k < results.Length; k++) results[k] = message.Int16();
        if (_portals.Remove(portalName, out var old)) old.Dispose();
        _portals[portalName] = new PgPortal(statement, values, results);
        _output.Begin('2');
        _output.End();
    }

    private async Task DescribeAsync(PgMessage message, CancellationToken ct)
    {
        var kind = (char)message.Byte();
        var name = message.CString();
        if (kind == 'S')
        {
            if (!_prepared.TryGetValue(name, out var statement)) throw new PgError("26000", $"prepared statement \"{name}\" does not exist");
            _output.Begin('t');
            _output.Int16((short)statement.ParameterTypes.Length);
            foreach (var t in statement.ParameterTypes) _output.Int32((int)t);
            _output.End();
            if (!statement.IsQuery)
            {
                NoData();
                return;
            }
            // The columns of a statement not yet bound: the query run with NULL parameters and no rows.
            using var probe = new PgPortal(statement with { Rewritten = $"SELECT * FROM ({statement.Rewritten}) AS describe LIMIT 0" },
                new object?[statement.ParameterTypes.Length], []);
            await OpenAsync(probe, ct, names: statement);
            RowDescription(probe);
            return;
        }
        // A cursor (DECLARE) is a portal too, under its own name.
        if (!_portals.TryGetValue(name, out var portal) && !_cursors.TryGetValue(name, out portal))
            throw new PgError("34000", $"portal \"{name}\" does not exist");
        if (portal.Statement.Command == "FETCH")
        {
            var cursor = Cursor(portal.Statement);
            RowDescription(cursor.Columns!, portal.HasFormats ? portal.Binary : cursor.Binary);
            return;
        }
        if (!portal.Statement.IsQuery)
        {
            NoData();
            return;
        }
        if (portal.Reader == null) await OpenAsync(portal, ct);
        RowDescription(portal);
    }

    private void NoData()
    {
        _output.Begin('n');
        _output.End();
    }

    private async Task ExecuteAsync(PgMessage message, CancellationToken ct)
    {
        var name = message.CString();
        var maxRows = message.Int32();
        if (!_portals.TryGetValue(name, out var portal)) throw new PgError("34000", $"portal \"{name}\" does not exist");
        await RunAsync(portal, describe: false, maxRows, ct);
    }

    private void Close(PgMessage message)
    {
        var kind = (char)message.Byte();
        var name = message.CString();
        if (kind == 'S') _prepared.Remove(name);
        else if (_portals.Remove(name, out var portal) || _cursors.Remove(name, out portal)) portal.Dispose();
        _output.Begin('3');
        _output.End();
    }

    /// <summary>Runs a portal: a query's rows (at most <paramref name="maxRows"/>, 0 = all), or the session's own
    /// statements (SET, BEGIN, DECLARE…).</summary>
    private async Task RunAsync(PgPortal portal, bool describe, int maxRows, CancellationToken ct)
    {
        var statement = portal.Statement;
        if (statement.Words.Count == 0)
        {
            _output.Begin('I');
            _output.End();
            return;
        }
        if (_transaction == 'E' && statement.Command is not ("ROLLBACK" or "ABORT" or "COMMIT" or "END"))
            throw new PgError("25P02", "current transaction is aborted, commands ignored until end of transaction block");
        if (statement.IsQuery)
        {
            if (portal.Reader == null) await OpenAsync(portal, ct);
            if (describe) RowDescription(portal);
            await SendRowsAsync(portal, maxRows, ct);
            return;
        }
        await UtilityAsync(portal, describe, ct);
    }

    /// <summary>The sandbox's verdict on a query (as the engine will run it, <paramref name="sql"/>), thrown as
    /// PostgreSQL's error when it may not run: 25006 for what writes, 42501 for what the sandbox hides, 42601 for
    /// what does not parse.</summary>
    private PgServer.Checked Check(PgPrepared statement, string sql, PgLakeEngine engine)
    {
        if (statement.Command is "SELECT" or "WITH" && PgSql.SelectsInto(statement.Sql)) throw PgError.ReadOnly("SELECT INTO");
        var check = server.Check(engine.Connection, sql);
        if (check.Reason is { } refused)
            throw refused.StartsWith("only a read-only query", StringComparison.Ordinal)
                ? PgError.ReadOnly(statement.Command)
                : new PgError(refused.Contains("is not available here", StringComparison.Ordinal) ? "42501" : "42601", refused);
        return check;
    }

    /// <summary>Starts a query: rewritten, checked by the sandbox's rules, then run on the session's engine. The
    /// columns are named as PostgreSQL names them, from <paramref name="names"/>'s text when given (a Describe runs its
    /// statement wrapped).</summary>
    private async Task OpenAsync(PgPortal portal, CancellationToken ct, PgPrepared? names = null)
    {
        var engine = await EngineAsync(ct);
        var statement = portal.Statement;
        var sql = statement.Command == "SHOW" ? Show(statement) : statement.Rewritten;
        var check = Check(statement, sql, engine);
        var command = engine.Connection.CreateCommand();
        command.CommandText = sql;
        command.UseStreamingMode = true;
        foreach (var value in portal.Parameters) command.Parameters.Add(new DuckDBParameter(value ?? DBNull.Value));
        portal.Command = command;
        portal.Engine = engine;
        portal.Reader = RunEngine(command, () => command.ExecuteReader(), sql == statement.Sql, statement.Sql, ct);
        var named = names == null ? check : server.Check(engine.Connection, names.Command == "SHOW" ? Show(names) : names.Rewritten);
        portal.Columns = PgColumn.Of(portal.Reader, named.Columns);
    }

    /// <summary>Runs engine work under the statement timeout and the session's cancel key.</summary>
    private T RunEngine<T>(DuckDBCommand command, Func<T> work, bool positionsHold, string statement, CancellationToken ct)
    {
        using var _ = Running(command, ct);
        try
        {
            return work();
        }
        catch (Exception e) when (e is DuckDBException or OperationCanceledException)
        {
            throw Translate(e, statement, positionsHold, ct);
        }
    }

    /// <summary>While a statement runs, a CancelRequest, the statement timeout or the server stopping interrupts it.</summary>
    private StatementRun Running(DuckDBCommand command, CancellationToken ct)
    {
        _cancelReason = null;
        _running = command;
        return new StatementRun(this, server.StatementTimeout(_settings), ct);
    }

    private sealed class StatementRun : IDisposable
    {
        private readonly PgSession _session;
        private readonly CancellationTokenSource _deadline;
        private readonly CancellationTokenRegistration _onTimeout, _onStop;

        public StatementRun(PgSession session, TimeSpan timeout, CancellationToken ct)
        {
            _session = session;
            _deadline = new CancellationTokenSource(timeout);
            _onTimeout = _deadline.Token.Register(() => session.Cancel("canceling statement due to statement timeout"));
            _onStop = ct.Register(() => session.Cancel("terminating connection due to administrator command"));
        }

        public void Dispose()
        {
            _onTimeout.Dispose();
            _onStop.Dispose();
            _deadline.Dispose();
            _session._running = null;
        }
    }

    /// <summary>An engine failure as the client sees it: 57014 when the statement was cancelled or timed out.</summary>
    private Exception Translate(Exception e, string statement, bool positionsHold, CancellationToken ct) =>
        _cancelReason is { } reason && !ct.IsCancellationRequested ? new PgError("57014", reason)
        : e is DuckDBException engine ? PgError.FromEngine(engine, statement, positionsHold)
        : e;

    private void RowDescription(PgPortal portal) => RowDescription(portal.Columns!, portal.Binary);

    private void RowDescription(PgColumn[] columns, Func<int, bool> binary)
    {
        _output.Begin('T');
        _output.Int16((short)columns.Length);
        for (var i = 0; i < columns.Length; i++)
        {
            _output.CString(columns[i].Name);
            _output.Int32(0);
            _output.Int16(0);
            _output.Int32((int)columns[i].Type.Oid);
            _output.Int16(columns[i].Type.Length);
            _output.Int32(columns[i].TypeMod);
            _output.Int16(binary(i) ? (short)1 : (short)0);
        }
        _output.End();
    }

    private async Task SendRowsAsync(PgPortal portal, int maxRows, CancellationToken ct)
    {
        var reader = portal.Reader!;
        var columns = portal.Columns!;
        var writers = columns.Select((c, i) => portal.Binary(i) ? c.Binary : c.Text).ToArray();
        long sent = 0, cap = RowCap;
        using (Running(portal.Command!, ct))
        {
            try
            {
                while (maxRows <= 0 || sent < maxRows)
                {
                    if (portal.Done || !reader.Read())
                    {
                        portal.Done = true;
                        break;
                    }
                    if (portal.Sent + sent >= cap) throw RowCapExceeded();
                    _output.Begin('D');
                    _output.Int16((short)columns.Length);
                    for (var i = 0; i < writers.Length; i++) writers[i](reader, i, _output);
                    _output.End();
                    sent++;
                    await _output.MaybeFlushAsync(ct);
                }
            }
            catch (Exception e) when (e is DuckDBException or OperationCanceledException)
            {
                throw Translate(e, portal.Statement.Sql, false, ct);
            }
        }
        portal.Sent += sent;
        if (!portal.Done)
        {
            _output.Begin('s');
            _output.End();
            return;
        }
        CommandComplete(portal.Statement.Command == "SHOW" ? "SHOW" : $"SELECT {portal.Sent}");
    }

    /// <summary>The most rows a statement may send (<c>serve.pg.max_rows</c>), as <c>/v1/sql</c> caps its rows; a
    /// statement with more fails once it has sent that many (<see cref="RowCapExceeded"/>): an error rather than a
    /// result cut short without the client knowing.</summary>
    private long RowCap => server.Endpoint.MaxRows ?? long.MaxValue;

    private PgError RowCapExceeded() =>
        new("54000", $"the result has more than {RowCap.ToString("N0", CultureInfo.InvariantCulture)} rows, the most serve.pg.max_rows allows; " +
            "add a LIMIT or a WHERE, or raise serve.pg.max_rows in the spec (none: no limit)");

    /// <summary>SHOW as a query on the engine, so it describes and executes like any other.</summary>
    private string Show(PgPrepared statement)
    {
        var name = string.Join(' ', statement.Words.Skip(1)).Trim();
        if (name.Equals("ALL", StringComparison.OrdinalIgnoreCase))
            return $"SELECT name, setting, short_desc AS description FROM {PgSql.CatalogSchema}.pg_settings ORDER BY name";
        name = name.Replace(" ", "_", StringComparison.Ordinal).Trim('"');
        if (name.Equals("transaction_isolation_level", StringComparison.OrdinalIgnoreCase)) name = "transaction_isolation";
        var known = _settings.NameOf(name) ?? throw new PgError("42704", $"unrecognized configuration parameter \"{name}\"");
        return $"SELECT {Sql.Literal(_settings.Get(known)!)} AS {Sql.Ident(known.ToLowerInvariant())}";
    }

    /// <summary>The statements the session answers itself.</summary>
    private async Task UtilityAsync(PgPortal portal, bool describe, CancellationToken ct)
    {
        var statement = portal.Statement;
        var words = statement.Words;
        switch (statement.Command)
        {
            case "BEGIN" or "START":
                if (_transaction != 'I') Notice("there is already a transaction in progress");
                _transaction = 'T';
                CommandComplete(statement.Command == "BEGIN" ? "BEGIN" : "START TRANSACTION");
                return;
            case "COMMIT" or "END" or "ROLLBACK" or "ABORT":
                if (_transaction == 'I') Notice("there is no transaction in progress");
                var rolledBack = statement.Command is "ROLLBACK" or "ABORT" || _transaction == 'E';
                _transaction = 'I';
                // Cursors end with their transaction, except those declared WITH HOLD.
                foreach (var (name, cursor) in _cursors.Where(c => !c.Value.Hold).ToList())
                {
                    cursor.Dispose();
                    _cursors.Remove(name);
                }
                CommandComplete(rolledBack ? "ROLLBACK" : "COMMIT");
                return;
            case "SAVEPOINT" or "RELEASE":
                CommandComplete(statement.Command);
                return;
            case "SET":
                Set(statement);
                CommandComplete("SET");
                return;
            case "RESET":
                var target = words.Count > 1 ? words[1] : "";
                if (target == "ALL")
                    foreach (var (name, _) in _settings.All.ToList())
                    {
                        if (_settings.Set(name, null) == null) SettingChanged(name);
                    }
                else if (_settings.Set(target, null) is { } refused) throw new PgError(refused.Code, refused.Message);
                else SettingChanged(_settings.NameOf(target)!);
                CommandComplete("RESET");
                return;
            case "DISCARD":
                foreach (var open in _portals.Values.Concat(_cursors.Values).Where(p => p != portal)) open.Dispose();
                _portals.Clear();
                _cursors.Clear();
                _prepared.Clear();
                CommandComplete(words.Count > 1 ? $"DISCARD {words[1]}" : "DISCARD");
                return;
            case "DEALLOCATE":
                var which = words.Skip(1).FirstOrDefault(w => w != "PREPARE");
                if (which == "ALL") _prepared.Clear();
                else if (which != null && !_prepared.Remove(which.Trim('"')) && !_prepared.Remove(which.ToLowerInvariant()))
                    throw new PgError("26000", $"prepared statement \"{which}\" does not exist");
                CommandComplete(which == "ALL" ? "DEALLOCATE ALL" : "DEALLOCATE");
                return;
            case "DECLARE":
                await DeclareAsync(portal, ct);
                return;
            case "FETCH" or "MOVE":
                await FetchAsync(portal, describe, ct);
                return;
            case "CLOSE":
                var cursorName = words.Count > 1 ? words[1] : "";
                if (cursorName == "ALL")
                {
                    foreach (var cursor in _cursors.Values) cursor.Dispose();
                    _cursors.Clear();
                }
                else if (_cursors.Remove(CursorName(statement, 1), out var cursor)) cursor.Dispose();
                else throw new PgError("34000", $"cursor \"{CursorName(statement, 1)}\" does not exist");
                CommandComplete("CLOSE CURSOR");
                return;
            case "COPY":
                await CopyAsync(statement, ct);
                return;
            case "EXPLAIN":
                throw new PgError("0A000", "EXPLAIN is not available here");
        }
        if (Writes.Contains(statement.Command)) throw PgError.ReadOnly(statement.Command);
        throw NotAStatement(statement);
    }

    private static PgError NotAStatement(PgPrepared statement) => new("42601", $"syntax error at or near \"{statement.Words[0]}\"", 1);

    private void Set(PgPrepared statement)
    {
        var tokens = PgSql.Tokens(statement.Sql).Where(t => t.Significant).Select(t => t.Text(statement.Sql)).ToList();
        var at = 1;
        if (at < tokens.Count && tokens[at].ToUpperInvariant() is "SESSION" or "LOCAL")
        {
            at++;
            if (at < tokens.Count && tokens[at].Equals("CHARACTERISTICS", StringComparison.OrdinalIgnoreCase)) return;
        }
        if (at < tokens.Count && tokens[at].Equals("TRANSACTION", StringComparison.OrdinalIgnoreCase))
        {
            if (statement.Sql.Contains("READ WRITE", StringComparison.OrdinalIgnoreCase)) throw PgError.ReadOnly("SET TRANSACTION READ WRITE");
            return;
        }
        if (at >= tokens.Count) throw new PgError("42601", "syntax error at end of input");
        var name = tokens[at].Trim('"');
        at++;
        // SET TIME ZONE 'UTC', SET NAMES 'UTF8', SET SCHEMA 'raw': PostgreSQL's spellings of three parameters.
        if (name.Equals("time", StringComparison.OrdinalIgnoreCase) && at < tokens.Count && tokens[at].Equals("zone", StringComparison.OrdinalIgnoreCase))
        {
            name = "TimeZone";
            at++;
        }
        else if (name.Equals("names", StringComparison.OrdinalIgnoreCase)) name = "client_encoding";
        else if (name.Equals("schema", StringComparison.OrdinalIgnoreCase)) name = "search_path";
        if (at < tokens.Count && (tokens[at] == "=" || tokens[at].Equals("TO", StringComparison.OrdinalIgnoreCase))) at++;
        var value = string.Join(name.Equals("search_path", StringComparison.OrdinalIgnoreCase) ? "" : " ", tokens.Skip(at).Select(Unquote));
        string? setting = value.Equals("DEFAULT", StringComparison.OrdinalIgnoreCase) || value.Length == 0 ? null : value;
        if (name.Equals("search_path", StringComparison.OrdinalIgnoreCase) && setting != null) setting = setting.Replace(",", ", ", StringComparison.Ordinal);
        if (_settings.Set(name, setting) is { } refused) throw new PgError(refused.Code, refused.Message);
        SettingChanged(_settings.NameOf(name)!);

        static string Unquote(string token) =>
            token.StartsWith('\'') ? token[1..^1].Replace("''", "'", StringComparison.Ordinal) : token;
    }

    /// <summary>A parameter set or reset: the catalog's pg_settings follows, and the client is told of the ones it tracks.</summary>
    private void SettingChanged(string known)
    {
        if (_engine != null)
        {
            using var update = _engine.Connection.CreateCommand();
            update.CommandText = $"UPDATE {PgSql.CatalogSchema}.pg_settings SET setting = $1 WHERE name = $2";
            update.Parameters.Add(new DuckDBParameter(_settings.Get(known)!));
            update.Parameters.Add(new DuckDBParameter(known));
            update.ExecuteNonQuery();
        }
        if (PgSettings.Reported.Contains(known))
        {
            _output.Begin('S');
            _output.CString(known);
            _output.CString(_settings.Get(known)!);
            _output.End();
        }
    }

    /// <summary>The cursor a FETCH or MOVE names (its last word).</summary>
    private PgPortal Cursor(PgPrepared statement)
    {
        var name = CursorName(statement, PgSql.Tokens(statement.Sql).Count(t => t.Significant) - 1);
        return _cursors.TryGetValue(name, out var cursor) ? cursor : throw new PgError("34000", $"cursor \"{name}\" does not exist");
    }

    private static string CursorName(PgPrepared statement, int index)
    {
        var tokens = PgSql.Tokens(statement.Sql).Where(t => t.Significant).Select(t => t.Text(statement.Sql)).ToList();
        var name = index < tokens.Count ? tokens[index] : "";
        return name.StartsWith('"') ? name[1..^1].Replace("\"\"", "\"", StringComparison.Ordinal) : name.ToLowerInvariant();
    }

    /// <summary><c>DECLARE name [BINARY] [NO SCROLL] CURSOR [WITH|WITHOUT HOLD] FOR query</c>: a portal read by FETCH.</summary>
    private async Task DeclareAsync(PgPortal declare, CancellationToken ct)
    {
        var statement = declare.Statement;
        var tokens = PgSql.Tokens(statement.Sql).Where(t => t.Significant).ToList();
        var forAt = tokens.FindIndex(t => t.Kind == PgSql.Kind.Word && t.Text(statement.Sql).Equals("FOR", StringComparison.OrdinalIgnoreCase));
        if (forAt < 0) throw new PgError("42601", "syntax error: DECLARE name CURSOR FOR query");
        var options = tokens.Take(forAt).Select(t => t.Text(statement.Sql).ToUpperInvariant()).ToList();
        if (!(options.Contains("HOLD") && !options.Contains("WITHOUT")) && _transaction == 'I') throw new PgError("25P01", "DECLARE CURSOR can only be used in transaction blocks");
        var name = CursorName(statement, 1);
        if (_cursors.ContainsKey(name)) throw new PgError("42P03", $"cursor \"{name}\" already exists");
        var query = Prepare(statement.Sql[tokens[forAt + 1].Start..], []);
        if (!query.IsQuery) throw new PgError("42601", "DECLARE CURSOR must be followed by a query");
        // The query keeps the DECLARE's parameters ($1… bound with it, as psycopg's server-side cursors send them).
        var portal = new PgPortal(query with { ParameterTypes = statement.ParameterTypes }, declare.Parameters, options.Contains("BINARY") ? [1] : [])
        {
            Hold = options.Contains("HOLD") && !options.Contains("WITHOUT"),
        };
        await OpenAsync(portal, ct);
        _cursors[name] = portal;
        CommandComplete("DECLARE CURSOR");
    }

    /// <summary><c>FETCH [NEXT | FORWARD [n|ALL] | n | ALL] [FROM|IN] name</c>, and MOVE (the same without the rows).</summary>
    private async Task FetchAsync(PgPortal fetch, bool describe, CancellationToken ct)
    {
        var statement = fetch.Statement;
        var tokens = PgSql.Tokens(statement.Sql).Where(t => t.Significant).Select(t => t.Text(statement.Sql)).ToList();
        long count = 1;
        var at = 1;
        while (at < tokens.Count - 1)
        {
            var word = tokens[at].ToUpperInvariant();
            if (word is "NEXT" or "FROM" or "IN") at++;
            else if (word == "FORWARD")
            {
                at++;
                count = 1;
            }
            else if (word == "ALL")
            {
                count = long.MaxValue;
                at++;
            }
            else if (long.TryParse(word, NumberStyles.None, CultureInfo.InvariantCulture, out var n))
            {
                count = n;
                at++;
            }
            else if (word is "PRIOR" or "FIRST" or "LAST" or "ABSOLUTE" or "RELATIVE" or "BACKWARD")
                throw new PgError("55000", "cursor can only scan forward");
            else break;
        }
        var cursor = Cursor(statement);
        var move = statement.Command == "MOVE";
        // Through the extended protocol the FETCH's own Bind says text or binary; otherwise the DECLARE did (BINARY).
        Func<int, bool> binary = fetch.HasFormats ? fetch.Binary : cursor.Binary;
        if (!move && describe) RowDescription(cursor.Columns!, binary);
        long done = 0, cap = RowCap;
        var writers = cursor.Columns!.Select((c, i) => binary(i) ? c.Binary : c.Text).ToArray();
        using (Running(cursor.Command!, ct))
        {
            try
            {
                while (done < count && !cursor.Done)
                {
                    if (!cursor.Reader!.Read())
                    {
                        cursor.Done = true;
                        break;
                    }
                    if (!move)
                    {
                        if (cursor.Sent++ >= cap) throw RowCapExceeded();
                        _output.Begin('D');
                        _output.Int16((short)writers.Length);
                        for (var i = 0; i < writers.Length; i++) writers[i](cursor.Reader, i, _output);
                        _output.End();
                        await _output.MaybeFlushAsync(ct);
                    }
                    done++;
                }
            }
            catch (Exception e) when (e is DuckDBException or OperationCanceledException)
            {
                throw Translate(e, cursor.Statement.Sql, false, ct);
            }
        }
        CommandComplete($"{statement.Command} {done}");
    }

    /// <summary><c>COPY (query) TO STDOUT [WITH (FORMAT text|csv, HEADER, DELIMITER 'x', NULL 'x')]</c> (also the old
    /// <c>WITH CSV HEADER</c> spelling); <c>COPY table TO STDOUT</c> reads the whole table.</summary>
    private async Task CopyAsync(PgPrepared statement, CancellationToken ct)
    {
        var sql = statement.Sql;
        var tokens = PgSql.Tokens(sql).Where(t => t.Significant).ToList();
        string query;
        int next;
        if (tokens.Count > 1 && tokens[1].Text(sql) == "(")
        {
            var depth = 0;
            next = 1;
            for (; next < tokens.Count; next++)
            {
                var text = tokens[next].Text(sql);
                if (text == "(") depth++;
                else if (text == ")" && --depth == 0) break;
            }
            if (next >= tokens.Count) throw new PgError("42601", "syntax error at end of input");
            query = sql[(tokens[1].Start + 1)..tokens[next].Start];
            next++;
        }
        else
        {
            next = 1;
            var name = new StringBuilder();
            while (next < tokens.Count && !tokens[next].Text(sql).Equals("TO", StringComparison.OrdinalIgnoreCase) &&
                   !tokens[next].Text(sql).Equals("FROM", StringComparison.OrdinalIgnoreCase))
                name.Append(tokens[next++].Text(sql));
            query = $"SELECT * FROM {name}";
        }
        var rest = tokens.Skip(next).Select(t => t.Text(sql)).ToList();
        if (rest.Count == 0 || !rest[0].Equals("TO", StringComparison.OrdinalIgnoreCase))
            throw PgError.ReadOnly("COPY FROM");
        if (rest.Count < 2 || !rest[1].Equals("STDOUT", StringComparison.OrdinalIgnoreCase))
            throw new PgError("42501", "COPY to a file is not allowed here: use COPY … TO STDOUT (psql's \\copy)");
        var options = string.Join(' ', rest.Skip(2)).ToUpperInvariant();
        var csv = options.Contains("CSV", StringComparison.Ordinal);
        var header = options.Contains("HEADER", StringComparison.Ordinal) && !options.Contains("HEADER FALSE", StringComparison.Ordinal);
        var delimiter = csv ? ',' : '\t';
        var delimiterAt = rest.FindIndex(t => t.Equals("DELIMITER", StringComparison.OrdinalIgnoreCase));
        if (delimiterAt >= 0 && delimiterAt + 1 < rest.Count && rest[delimiterAt + 1] is ['\'', var d, '\'']) delimiter = d;

        var portal = new PgPortal(Prepare(query, []), [], []);
        try
        {
            if (!portal.Statement.IsQuery) throw new PgError("42601", "COPY takes a query in parentheses, or a table");
            await OpenAsync(portal, ct);
            var columns = portal.Columns!;
            _output.Begin('H');
            _output.Byte(0);
            _output.Int16((short)columns.Length);
            foreach (var _ in columns) _output.Int16(0);
            _output.End();
            if (header)
            {
                _output.Begin('d');
                _output.Utf8(string.Join(delimiter, columns.Select(c => csv ? CsvField(c.Name, delimiter) : CopyText(c.Name))) + "\n");
                _output.End();
            }
            var reader = portal.Reader!;
            var writers = columns.Select(c => c.Text).ToArray();
            long rows = 0, cap = RowCap;
            using (Running(portal.Command!, ct))
            {
                try
                {
                    while (reader.Read())
                    {
                        if (rows >= cap) throw RowCapExceeded();
                        _output.Begin('d');
                        for (var i = 0; i < writers.Length; i++)
                        {
                            if (i > 0) _output.Byte((byte)delimiter);
                            var at = _output.Position;
                            writers[i](reader, i, _output);
                            _output.FieldToCopy(at, csv, delimiter);
                        }
                        _output.Byte((byte)'\n');
                        _output.End();
                        rows++;
                        await _output.MaybeFlushAsync(ct);
                    }
                }
                catch (Exception e) when (e is DuckDBException or OperationCanceledException)
                {
                    throw Translate(e, query, false, ct);
                }
            }
            _output.Begin('c');
            _output.End();
            CommandComplete($"COPY {rows}");
        }
        finally
        {
            portal.Dispose();
        }
    }

    internal static string CopyText(string value)
    {
        if (value.AsSpan().IndexOfAny("\\\t\n\r") < 0) return value;
        return value.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\t", "\\t", StringComparison.Ordinal)
            .Replace("\n", "\\n", StringComparison.Ordinal).Replace("\r", "\\r", StringComparison.Ordinal);
    }

    internal static string CsvField(string value, char delimiter) =>
        value.Length == 0 || value.Contains(delimiter) || value.AsSpan().IndexOfAny("\"\r\n") >= 0 || value.StartsWith(' ') || value.EndsWith(' ')
            ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : value;

    /// <summary>The password (an API key) or the SCRAM exchange; a refusal is thrown (FATAL).</summary>
    private async Task AuthenticateAsync(bool encrypted, CancellationToken ct)
    {
        var access = server.Access;
        if (!access.Enabled) return;
        var key = await access.FindByNameAsync(_user, ct);
        if (key?.Scram is { } verifier || !encrypted)
        {
            // SCRAM-SHA-256; an unknown user goes through the same exchange with a made-up salt, so the answer does not
            // tell which key names exist.
            var scram = key?.Scram ?? PgScram.Derive(Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16)));
            _output.Begin('R');
            _output.Int32(10);
            _output.CString("SCRAM-SHA-256");
            _output.Byte(0);
            _output.End();
            await _output.FlushAsync(ct);
            var initial = await ExpectPasswordAsync(ct);
            var mechanism = initial.CString();
            if (mechanism != "SCRAM-SHA-256") throw new PgError("28000", $"SASL authentication mechanism \"{mechanism}\" is not supported", severity: "FATAL");
            var length = initial.Int32();
            var first = Encoding.UTF8.GetString(initial.Rest().AsSpan(0, Math.Max(0, length)));
            if (PgScram.Begin(first, scram) is not var (serverFirst, bare, nonce)) throw new PgError("08P01", "malformed SCRAM message", severity: "FATAL");
            _output.Begin('R');
            _output.Int32(11);
            _output.Utf8(serverFirst);
            _output.End();
            await _output.FlushAsync(ct);
            var final = Encoding.UTF8.GetString((await ExpectPasswordAsync(ct)).Rest());
            if (key?.Scram == null || PgScram.Finish(final, bare, serverFirst, nonce, scram) is not { } serverFinal)
                throw Refused(key?.Scram == null && key != null
                    ? $"the key \"{_user}\" was made before PostgreSQL sign-in: connect with sslmode=require, or make a new key (caudal keys add)"
                    : null);
            _output.Begin('R');
            _output.Int32(12);
            _output.Utf8(serverFinal);
            _output.End();
        }
        else
        {
            // Over TLS, a key made before SCRAM verifiers may be sent as a password.
            _output.Begin('R');
            _output.Int32(3);
            _output.End();
            await _output.FlushAsync(ct);
            var password = (await ExpectPasswordAsync(ct)).CString();
            key = await access.FindPresentedAsync(password, ct);
            if (key == null || key.Name != _user) throw Refused(null);
        }
        if (!key!.Allows(ApiScopes.Sql))
            throw new PgError("28000", $"the key \"{key.Name}\" does not have the 'sql' scope that PostgreSQL clients need (it has: {string.Join(", ", key.Scopes)})", severity: "FATAL");

        PgError Refused(string? why) => new("28P01", why ?? $"password authentication failed for user \"{_user}\" (the user is the key's name, the password the key)", severity: "FATAL");
    }

    private async Task<PgMessage> ExpectPasswordAsync(CancellationToken ct)
    {
        var message = await _input.ReadAsync(ct) ?? throw new EndOfStreamException();
        if (message.Type != 'p') throw new PgProtocolException($"expected a password message, got '{message.Type}'");
        return message;
    }
}
