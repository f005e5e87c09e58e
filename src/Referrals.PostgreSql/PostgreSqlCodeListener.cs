using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Npgsql;
using Referrals.Services;

namespace Referrals.PostgreSql;

/// <summary>
/// Keeps this process's code index current with the other instances: <c>LISTEN</c>s on one connection for the code
/// changes they commit (the store sends a <c>NOTIFY</c> with every unit that writes a code) and reads the change feed
/// when told; after every (re)connection it first reads everything after the last position it saw, so nothing committed
/// while it was disconnected is missed. See <c>UsePostgreSql</c> for what a host sees in between.
/// </summary>
internal sealed partial class PostgreSqlCodeListener(PostgreSqlReferralStore store, ReferralCodeService codes, ILogger<PostgreSqlCodeListener>? logger)
    : BackgroundService
{
    /// <summary>With no notification for this long, the connection is checked and the feed read anyway.</summary>
    internal static readonly TimeSpan Quiet = TimeSpan.FromSeconds(10);

    /// <summary>The listener connection's <c>application_name</c>.</summary>
    internal const string ApplicationName = "referrals-code-listener";

    private readonly ILogger _logger = logger ?? (ILogger)NullLogger.Instance;
    private int _told;

    /// <summary>How many times the listener (re)connected and caught up; for tests.</summary>
    internal int Connections { get; private set; }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        var retry = TimeSpan.FromSeconds(1);
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                await ListenAsync(stoppingToken).ConfigureAwait(false);
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                return;
            }
#pragma warning disable CA1031 // the server may be restarting or failing over: reconnect and catch up
            catch (Exception ex)
#pragma warning restore CA1031
            {
                LogDisconnected(_logger, retry.TotalSeconds, ex);
                try
                {
                    await Task.Delay(retry, stoppingToken).ConfigureAwait(false);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
                retry = TimeSpan.FromSeconds(Math.Min(10, retry.TotalSeconds * 2));
                continue;
            }
        }
    }

    private async Task ListenAsync(CancellationToken ct)
    {
        await using var connection = await store.OpenConnectionAsync(ct).ConfigureAwait(false);
        try
        {
            await ListenAsync(connection, ct).ConfigureAwait(false);
        }
        finally
        {
            await ForgetAsync(connection).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Undoes what the listener did to its connection before it goes back to the pool: the store's own data source hands
    /// connections out again without Npgsql's reset (PostgreSqlReferralStore.BuildDataSource), so a pooled connection
    /// would go on listening under the listener's name. A connection that cannot take the statement is broken, and a broken
    /// connection is closed, not pooled.
    /// </summary>
    private static async Task ForgetAsync(NpgsqlConnection connection)
    {
        if (connection.FullState != System.Data.ConnectionState.Open)
        {
            return;
        }
        try
        {
            await using var forget = new NpgsqlCommand("UNLISTEN *; RESET application_name;", connection) { CommandTimeout = 5 };
            await forget.ExecuteNonQueryAsync(CancellationToken.None).ConfigureAwait(false);
        }
        catch (Exception e) when (e is NpgsqlException or InvalidOperationException or OperationCanceledException)
        {
            // Broken: not pooled.
        }
    }

    private async Task ListenAsync(NpgsqlConnection connection, CancellationToken ct)
    {
        connection.Notification += OnNotification;
        // Named, so an operator (and the tests) can tell the listener's connection apart in pg_stat_activity.
        await using (var listen = new NpgsqlCommand($"SET application_name = '{ApplicationName}'; LISTEN {PostgreSqlReferralStore.CodeChannel};", connection))
        {
            await listen.ExecuteNonQueryAsync(ct).ConfigureAwait(false);
        }
        // Listening: whatever commits from now on is notified; what committed before (while disconnected) is read now.
        await codes.RefreshAsync(ct).ConfigureAwait(false);
        Connections++;
        while (true)
        {
            Interlocked.Exchange(ref _told, 0);
            bool notified = await connection.WaitAsync(Quiet, ct).ConfigureAwait(false);
            if (!notified)
            {
                // Quiet: check that the connection is alive (a dead one throws here) and read the feed anyway.
                await using var ping = new NpgsqlCommand("SELECT 1;", connection);
                await ping.ExecuteScalarAsync(ct).ConfigureAwait(false);
            }
            if (!notified || Interlocked.Exchange(ref _told, 0) != 0)
            {
                await codes.RefreshAsync(ct).ConfigureAwait(false);
            }
        }
    }

    private void OnNotification(object sender, NpgsqlNotificationEventArgs e)
    {
        if (string.Equals(e.Payload, store.Schema, StringComparison.Ordinal))
        {
            Interlocked.Exchange(ref _told, 1);
        }
    }

    [LoggerMessage(EventId = 2001, Level = LogLevel.Warning, Message = "The code change listener lost its PostgreSQL connection; reconnecting in {Seconds} s and catching up")]
    private static partial void LogDisconnected(ILogger logger, double seconds, Exception exception);
}
