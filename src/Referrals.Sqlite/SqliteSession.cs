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

    public SqliteSession(SqliteConnection connection) => Connection = connection;

    /// <summary>The open connection.</summary>
    public SqliteConnection Connection { get; }

    /// <summary>
    /// The command for <paramref name="sql"/> on this connection, prepared the first time it runs and kept prepared;
    /// with no parameters and enlisted in <paramref name="transaction"/> (which must be the connection's open transaction,
    /// if it has one).
    /// </summary>
    public SqliteCommand Command(string sql, SqliteTransaction? transaction = null)
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
        command.Transaction = transaction;
        return command;
    }

    /// <summary>Begins a transaction: <c>BEGIN</c> when <paramref name="deferred"/>, else <c>BEGIN IMMEDIATE</c>.</summary>
    public SqliteTransaction BeginTransaction(bool deferred) => Connection.BeginTransaction(deferred);

    /// <summary>Finalizes the prepared statements and closes the connection (back to Microsoft.Data.Sqlite's pool).</summary>
    public void Dispose()
    {
        DisposeCommands();
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
