using Microsoft.Data.Sqlite;

namespace Referrals.Sqlite;

/// <summary>
/// One open connection of a <see cref="SqliteReferralStore"/> with the commands it has run, kept prepared: used by one
/// operation at a time, then returned to the store for the next. Microsoft.Data.Sqlite keeps a command's prepared
/// statements while the command lives and its text is unchanged, so each SQL text gets its own command here and the
/// statement is compiled once per connection instead of once per call.
/// </summary>
/// <remarks>
/// Not thread-safe: the store hands a session to one operation at a time. A command returned by <see cref="Command"/> is
/// owned by the session; callers dispose its readers, never the command.
/// </remarks>
internal sealed class SqliteSession : IDisposable
{
    // A bound on the commands kept: the store's SQL texts are a few dozen constants and a few shapes built from the
    // number of arguments (IN lists); past the bound the cache starts over rather than grow without limit.
    private const int MaxCommands = 128;

    private readonly Dictionary<string, SqliteCommand> _commands = new(StringComparer.Ordinal);
    private bool _tracksLogPages;

    public SqliteSession(SqliteConnection connection) => Connection = connection;

    /// <summary>The open connection.</summary>
    public SqliteConnection Connection { get; }

    /// <summary>
    /// The transaction of the store contract's session (<see cref="Referrals.Storage.IReferralStore.BeginAsync"/>) this
    /// session runs, while it runs one: every command enlists in it and <see cref="Begin"/> nests in it.
    /// </summary>
    public SqliteTransaction? Ambient { get; set; }

    /// <summary>
    /// The command for <paramref name="sql"/> on this connection, prepared the first time it runs and kept prepared;
    /// with no parameters and enlisted in the connection's open transaction (<paramref name="work"/>'s, or the session's
    /// store transaction), if it has one.
    /// </summary>
    public SqliteCommand Command(string sql, SqliteWork? work = null)
    {
        if (!_commands.TryGetValue(sql, out var command))
        {
            if (_commands.Count >= MaxCommands)
            {
                DisposeCommands();
            }
            command = Connection.CreateCommand();
            command.CommandText = sql;
            _commands.Add(sql, command);
        }
        command.Parameters.Clear();
        command.Transaction = work?.Transaction ?? Ambient;
        return command;
    }

    /// <summary>
    /// Begins the work of one store operation: a transaction of its own (<c>BEGIN</c> to read when
    /// <paramref name="deferred"/>, else <c>BEGIN IMMEDIATE</c> to write), or inside a store transaction a savepoint for a
    /// write (so a write that fails or refuses leaves the transaction's earlier writes as they were) and nothing for a read.
    /// </summary>
    public SqliteWork Begin(bool deferred)
    {
        if (Ambient is not { } ambient)
        {
            return new SqliteWork(this, Connection.BeginTransaction(deferred), SqliteWork.Mode.Own);
        }
        if (deferred)
        {
            return new SqliteWork(this, ambient, SqliteWork.Mode.Joined);
        }
        Command("SAVEPOINT referrals_write;").ExecuteNonQuery();
        return new SqliteWork(this, ambient, SqliteWork.Mode.Savepoint);
    }

    /// <summary>
    /// Has SQLite store the number of pages in the write-ahead log into <paramref name="pages"/> after each commit on this
    /// connection (the writer's session), until the session is disposed; <paramref name="pages"/> must stay pinned until then.
    /// </summary>
    public unsafe void TrackLogPages(long* pages)
    {
        SqliteNative.TrackLogPages(Connection, pages);
        _tracksLogPages = true;
    }

    /// <summary>Finalizes the prepared statements and closes the connection (back to Microsoft.Data.Sqlite's pool).</summary>
    public void Dispose()
    {
        DisposeCommands();
        if (_tracksLogPages)
        {
            // The pooled connection may serve anyone next: no hook into this store's memory stays on it.
            SqliteNative.StopTrackingLogPages(Connection);
            _tracksLogPages = false;
        }
        Connection.Dispose();
    }

    private void DisposeCommands()
    {
        foreach (var command in _commands.Values)
        {
            command.Dispose();
        }
        _commands.Clear();
    }
}

/// <summary>
/// The work of one store operation on a <see cref="SqliteSession"/>: its own transaction, or a savepoint of (or nothing
/// within) the session's store transaction. Commit it to keep its writes; disposing it uncommitted undoes them.
/// </summary>
internal sealed class SqliteWork : IDisposable
{
    internal enum Mode
    {
        Own,
        Savepoint,
        Joined,
    }

    private readonly SqliteSession _session;
    private readonly Mode _mode;
    private bool _ended;

    internal SqliteWork(SqliteSession session, SqliteTransaction transaction, Mode mode)
    {
        _session = session;
        Transaction = transaction;
        _mode = mode;
    }

    /// <summary>The transaction commands of this work enlist in.</summary>
    public SqliteTransaction Transaction { get; }

    /// <summary>Commits the work: its transaction, or releases its savepoint into the store transaction.</summary>
    public ValueTask CommitAsync(CancellationToken cancellationToken)
    {
        cancellationToken.ThrowIfCancellationRequested();
        _ended = true;
        switch (_mode)
        {
            case Mode.Own:
                Transaction.Commit();
                break;
            case Mode.Savepoint:
                _session.Command("RELEASE referrals_write;").ExecuteNonQuery();
                break;
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>Undoes the work unless it was committed.</summary>
    public void Dispose()
    {
        if (_ended)
        {
            return;
        }
        _ended = true;
        switch (_mode)
        {
            case Mode.Own:
                Transaction.Dispose();
                break;
            case Mode.Savepoint:
                try
                {
                    // ROLLBACK TO keeps the savepoint open; RELEASE ends it.
                    _session.Command("ROLLBACK TO referrals_write; RELEASE referrals_write;").ExecuteNonQuery();
                }
                catch (SqliteException)
                {
                    // SQLite ended the whole transaction itself (an I/O error, a full disk): nothing is left to undo here,
                    // and the store transaction fails with the error that caused it.
                }
                break;
        }
    }
}
