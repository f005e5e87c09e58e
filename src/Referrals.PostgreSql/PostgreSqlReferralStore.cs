using System.Collections.Concurrent;
using Npgsql;
using Referrals.Storage;

namespace Referrals.PostgreSql;

/// <summary>
/// The store for many app instances sharing one PostgreSQL database (Npgsql): web shop instances behind a load balancer,
/// a POS integration service and nightly jobs. Implements the store contract <see cref="IReferralStore"/> (explicitly;
/// resolve or cast to the interface) with the semantics of <see cref="InMemoryStore"/>; every guarantee comes from the
/// database, none from a lock in this process.
/// </summary>
/// <remarks>
/// <para>
/// <b>Opening.</b> <see cref="OpenAsync(NpgsqlDataSource, PostgreSqlStoreOptions?, CancellationToken)"/> creates the
/// schema (<see cref="PostgreSqlStoreOptions.Schema"/>) when missing and applies the migrations this version knows and
/// the schema lacks, forward only, each in a transaction holding a PostgreSQL advisory lock of the schema: instances
/// starting at once migrate once, the others wait for the lock and find the work done. A schema newer than this version
/// is refused (<see cref="InvalidOperationException"/>). The database user needs <c>CREATE</c> on the database (or the
/// schema created beforehand and owned by it).
/// </para>
/// <para>
/// <b>Sessions.</b> A session (<see cref="IReferralStore.BeginAsync"/>) is one <c>READ COMMITTED</c> transaction on one
/// connection of the data source. Sessions run at once; each unit of work is one round trip (a batch under a savepoint).
/// Keys are the database's: unique keys with <c>INSERT … ON CONFLICT DO NOTHING</c> (nothing inserted: a duplicate), the
/// version in the <c>UPDATE</c>'s <c>WHERE</c> (nothing updated: a conflict). A row written or read by a unit stays
/// locked to the end of the session (the update's row lock; <c>SELECT … FOR UPDATE</c> for a row only read; for a row
/// read as absent, a transaction advisory lock on its key that every insert of that key takes too), so a version check
/// holds until commit and a commit never fails for a conflict the unit did not report. A writer that waits for another's
/// row finds, once that one commits, the version moved and reports a conflict; Core reads again and decides again, so
/// referral numbers, caps and account versions of one referrer are decided one after the other across instances. Two
/// sessions that each wait for the other (PostgreSQL's deadlock detection after <c>deadlock_timeout</c>) or a lock
/// timeout are reported as a conflict too: the unit is rolled back to its savepoint and the session goes on.
/// </para>
/// <para>
/// <b>The code index across instances.</b> Every code write takes the next position of the change feed from one counter
/// row, locked to the end of its transaction (so positions follow commit order), and sends a <c>NOTIFY</c> that is
/// delivered when it commits. <c>UsePostgreSql</c> registers a listener per process that refreshes the in-memory code
/// index on each notification and catches up by position after every reconnect.
/// </para>
/// <para>
/// <b>Errors.</b> Exceptions of the database propagate: <see cref="NpgsqlException"/> (a <see cref="PostgresException"/>
/// for an error the server reported). Those with <see cref="NpgsqlException.IsTransient"/> — the connection lost, the
/// server restarting or failing over, too many connections — are worth retrying: the operation, sent again, is
/// idempotent by its natural keys (an order id, a refund id), and returns what the first attempt did if that one landed.
/// A commit that throws may or may not have happened; sending the operation again tells. A session whose unit or read
/// failed with a database error can only be disposed (which rolls it back): its later reads, units and commit throw an
/// <see cref="NpgsqlException"/> holding that error, transient when it was, so an operation that caught the first one
/// and went on still fails with an error its caller knows to retry. With a multi-host connection string, a moment with no
/// host of the target type (a failover: the primary gone, the standby not promoted or not yet seen as promoted) fails
/// with a transient <see cref="NpgsqlException"/> too, which Npgsql's own "no suitable host" error is not.
/// </para>
/// <para>
/// <b>Stored forms.</b> Instants are <c>bigint</c> Unix ticks (100 ns); enumerations their documented numbers; money
/// <c>numeric</c> and a currency; identifiers and codes text in the <c>"C"</c> collation; Core's documents the text it
/// wrote. Lists the contract orders by id are ordered ordinally (UTF-16) in .NET where byte order differs.
/// </para>
/// <para>
/// Thread-safe. Dispose the store to dispose the data source it created from a connection string (a data source passed in
/// stays the caller's).
/// </para>
/// </remarks>
public sealed partial class PostgreSqlReferralStore : IAsyncDisposable
{
    /// <summary>The channel of the code change notifications; the payload is the schema's name.</summary>
    internal const string CodeChannel = "referrals_codes";

    private readonly NpgsqlDataSource _dataSource;
    private readonly bool _ownsDataSource;
    private readonly string _quotedSchema;
    private readonly ConcurrentDictionary<string, string> _sql = new(StringComparer.Ordinal);
    private readonly bool _multiHost;
    private readonly object _readyLock = new();
    private Task? _ready;
    private int _disposed;

    private PostgreSqlReferralStore(NpgsqlDataSource dataSource, bool ownsDataSource, PostgreSqlStoreOptions options)
    {
        _dataSource = dataSource;
        _ownsDataSource = ownsDataSource;
        Schema = options.Schema;
        _quotedSchema = PostgreSqlSchema.QuoteIdentifier(options.Schema);
        // Its hosts, not its type: Npgsql's WithTargetSession wraps a multi-host data source in another type.
        _multiHost = new NpgsqlConnectionStringBuilder(dataSource.ConnectionString).Host?.Contains(',', StringComparison.Ordinal) == true;
    }

    /// <summary>The PostgreSQL schema holding the store's tables.</summary>
    public string Schema { get; }

    /// <summary>The data source the store takes its connections from.</summary>
    internal NpgsqlDataSource DataSource => _dataSource;

    /// <summary>
    /// Opens the store on a data source the host built (with its own pooling, logging, authentication): creates and
    /// migrates the schema (see the class remarks) and returns the store. The data source stays the caller's to dispose,
    /// after the store.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="dataSource"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The schema name is empty or longer than 63 bytes.</exception>
    /// <exception cref="NpgsqlException">The server could not be reached or refused the migration.</exception>
    /// <exception cref="InvalidOperationException">The schema was migrated by a newer version of this library.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026", Justification = "Two overloads told apart by their first parameter's type, both new in this version.")]
    public static async Task<PostgreSqlReferralStore> OpenAsync(NpgsqlDataSource dataSource, PostgreSqlStoreOptions? options = null, CancellationToken cancellationToken = default)
    {
        var store = Create(dataSource, ownsDataSource: false, options);
        await store.EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        return store;
    }

    /// <summary>
    /// Opens the store on an Npgsql connection string (for example
    /// <c>Host=db;Database=shop;Username=app;Password=…</c>; a multi-host one with <c>Target Session Attributes=primary</c>
    /// follows a failover): builds a data source it owns and disposes, creates and migrates the schema, returns the store.
    /// </summary>
    /// <exception cref="ArgumentException">The connection string is empty or malformed, or the schema name is invalid.</exception>
    /// <exception cref="NpgsqlException">The server could not be reached or refused the migration.</exception>
    /// <exception cref="InvalidOperationException">The schema was migrated by a newer version of this library.</exception>
    [System.Diagnostics.CodeAnalysis.SuppressMessage("ApiDesign", "RS0026", Justification = "Two overloads told apart by their first parameter's type, both new in this version.")]
    public static async Task<PostgreSqlReferralStore> OpenAsync(string connectionString, PostgreSqlStoreOptions? options = null, CancellationToken cancellationToken = default)
    {
        var dataSource = BuildDataSource(connectionString);
        PostgreSqlReferralStore store;
        try
        {
            store = Create(dataSource, ownsDataSource: true, options);
        }
        catch
        {
            await dataSource.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        try
        {
            await store.EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            await store.DisposeAsync().ConfigureAwait(false);
            throw;
        }
        return store;
    }

    /// <summary>A store that migrates on first use (dependency injection builds it synchronously).</summary>
    internal static PostgreSqlReferralStore Create(NpgsqlDataSource dataSource, bool ownsDataSource, PostgreSqlStoreOptions? options)
    {
        ArgumentNullException.ThrowIfNull(dataSource);
        options ??= new PostgreSqlStoreOptions();
        ArgumentNullException.ThrowIfNull(options.Schema, "options.Schema");
        return new PostgreSqlReferralStore(dataSource, ownsDataSource, options);
    }

    /// <summary>Checks a connection string and builds a data source on it.</summary>
    /// <exception cref="ArgumentException">Empty or malformed.</exception>
    internal static NpgsqlDataSource BuildDataSource(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (Exception e) when (e is ArgumentException or FormatException or KeyNotFoundException or InvalidCastException)
        {
            throw new ArgumentException($"The PostgreSQL connection string is malformed: {e.Message}", nameof(connectionString), e);
        }
        if (string.IsNullOrEmpty(builder.Host))
        {
            throw new ArgumentException("The PostgreSQL connection string names no Host.", nameof(connectionString));
        }
        if (!SetsAutoPrepare(connectionString))
        {
            // The store's statements repeat with every conversion: prepared, PostgreSQL plans each once per connection
            // instead of every time (planning was most of the server's work per conversion). Their generic plans are
            // checked to use indexes (PostgreSqlSchemaTests). A connection string that sets Max Auto Prepare keeps its own.
            builder.MaxAutoPrepare = AutoPrepared;
        }
        if (!Sets(connectionString, "No Reset On Close", "NoResetOnClose"))
        {
            // Npgsql resets a pooled connection before its next use with seven statements (RESET ALL, DISCARD TEMP, CLOSE
            // ALL, UNLISTEN *, ...), one in five of a conversion's statements, each parsed by the server every time. The
            // store leaves nothing behind to reset: its settings are transaction-local, its advisory locks transaction-level;
            // the code listener, the one that LISTENs and names its connection, undoes both before it lets the connection go.
            builder.NoResetOnClose = true;
        }
        return new NpgsqlDataSourceBuilder(builder.ConnectionString).Build();
    }

    /// <summary>How many statements a connection of the store's own data source keeps prepared (Npgsql's Max Auto Prepare).</summary>
    internal const int AutoPrepared = 64;

    private static bool SetsAutoPrepare(string connectionString) => Sets(connectionString, "Max Auto Prepare", "MaxAutoPrepare");

    /// <summary>Whether a connection string sets a keyword, under either of its spellings.</summary>
    private static bool Sets(string connectionString, string keyword, string alias)
    {
        var keys = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        return keys.ContainsKey(keyword) || keys.ContainsKey(alias);
    }

    /// <summary>The SQL of a template, with <c>{s}</c> replaced by the quoted schema (cached per template).</summary>
    internal string Sql(string template) =>
        _sql.TryGetValue(template, out var sql) ? sql : _sql.GetOrAdd(template, template.Replace("{s}", _quotedSchema, StringComparison.Ordinal));

    /// <summary>The schema migrated: the first caller runs the migration; one that failed is tried again by the next.</summary>
    internal ValueTask EnsureReadyAsync(CancellationToken cancellationToken)
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        var ready = Volatile.Read(ref _ready);
        if (ready is { IsCompletedSuccessfully: true })
        {
            return ValueTask.CompletedTask;
        }
        lock (_readyLock)
        {
            if (_ready is null || _ready.IsFaulted || _ready.IsCanceled)
            {
                _ready = MigrateAsync();
            }
            ready = _ready;
        }
        return new ValueTask(ready.WaitAsync(cancellationToken));

        async Task MigrateAsync()
        {
            try
            {
                await PostgreSqlSchema.MigrateAsync(_dataSource, Schema, CancellationToken.None).ConfigureAwait(false);
            }
            catch (NpgsqlException e) when (_multiHost && IsNoSuitableHostNow(e))
            {
                throw new NoSuitableHostException(e);
            }
        }
    }

    /// <summary>A connection of the data source, the schema migrated.</summary>
    /// <exception cref="NpgsqlException">No connection; transient also when no host of a multi-host data source is a suitable one now.</exception>
    internal async ValueTask<NpgsqlConnection> OpenConnectionAsync(CancellationToken cancellationToken)
    {
        await EnsureReadyAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await _dataSource.OpenConnectionAsync(cancellationToken).ConfigureAwait(false);
        }
        catch (NpgsqlException e) when (_multiHost && IsNoSuitableHostNow(e))
        {
            throw new NoSuitableHostException(e);
        }
    }

    /// <summary>
    /// Whether a multi-host data source's failure to open is "no host is of the target type now": Npgsql skips, for Host
    /// Recheck Seconds (10 by default), the hosts it last found down or of the wrong type (a primary wanted, a standby
    /// found) and throws "No suitable host was found." with no cause when none is left; or it tried them and each failed
    /// transiently or was of the wrong type ("Unable to connect to a suitable host", every cause in an
    /// <see cref="AggregateException"/>). Npgsql marks neither transient, but both are what a failover looks like
    /// from here — the old primary gone, the standby not promoted yet or not seen as promoted yet — and pass once it is
    /// over. A host refusing the login (a <see cref="PostgresException"/> that is not transient) keeps the error as it is.
    /// </summary>
    private static bool IsNoSuitableHostNow(NpgsqlException e) =>
        !e.IsTransient && e is not PostgresException && e.InnerException switch
        {
            null => true,
            AggregateException all => all.InnerExceptions.Count > 0 && all.InnerExceptions.All(static x => x is NpgsqlException { IsTransient: true } or IOException or System.Net.Sockets.SocketException or TimeoutException),
            _ => false,
        };

    /// <summary>
    /// No host of a multi-host data source can be used now (see <see cref="IsNoSuitableHostNow"/>): transient, so a
    /// caller following the store's documentation sends the operation again, and finds the new primary once it is there.
    /// </summary>
    private sealed class NoSuitableHostException(NpgsqlException cause)
        : NpgsqlException("No host of the connection string is usable as the Target Session Attributes require now (a failover or restart in progress?): " + cause.Message, cause)
    {
        public override bool IsTransient => true;
    }

    /// <summary>Disposes the data source when the store built it; operations started afterwards throw <see cref="ObjectDisposedException"/>.</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) != 0)
        {
            return;
        }
        if (_ownsDataSource)
        {
            await _dataSource.DisposeAsync().ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Sent with a session's first batch of reads: the rest of its transaction runs prepared statements on their generic
    /// plans. PostgreSQL's default (<c>plan_cache_mode = auto</c>) plans a prepared statement again at every execution while
    /// it estimates a custom plan cheaper than the generic one; for the customer's touches (three lateral look-ups) it did so
    /// at every conversion, ~400 µs of the server's CPU each against ~30 µs to run it (pg_stat_statements, 2026-12-04).
    /// Every read's generic plan is checked to use its indexes (<c>PostgreSqlSchemaTests</c>). Transaction-local
    /// (<c>set_config(..., true)</c>), so it works on a host's own data source too and leaves its connections as they were.
    /// </summary>
    internal const string GenericPlansSql = "SELECT set_config('plan_cache_mode', 'force_generic_plan', true);";

    /// <summary>A connection (and the session's transaction, if any) with the store's SQL.</summary>
    internal sealed class PgDb(PostgreSqlReferralStore store, NpgsqlConnection connection, NpgsqlTransaction? transaction)
    {
        public PostgreSqlReferralStore Store => store;

        public NpgsqlConnection Connection => connection;

        public NpgsqlTransaction? Transaction => transaction;

        /// <summary>Whether the session's transaction has been told to use generic plans (see <see cref="GenericPlansSql"/>).</summary>
        public bool GenericPlans { get; set; }

        /// <summary>
        /// The advisory lock keys the session's transaction holds to its end: those its reads took, and those of its units
        /// that were written (a unit rolled back to its savepoint gave its own back). A unit does not take them again.
        /// </summary>
        public HashSet<string> LockedKeys => _lockedKeys ??= new(StringComparer.Ordinal);

        /// <summary>Whether the transaction holds the advisory lock of <paramref name="key"/> (see <see cref="LockedKeys"/>).</summary>
        public bool HoldsLock(string key) => _lockedKeys?.Contains(key) == true;

        private HashSet<string>? _lockedKeys;

        /// <summary>A command of a template (<c>{s}</c> the schema) on the connection, in the transaction.</summary>
        public NpgsqlCommand Command(string template) => new(store.Sql(template), connection, transaction);

        /// <summary>A batch command of a template.</summary>
        public NpgsqlBatchCommand BatchCommand(string template) => new(store.Sql(template));
    }
}
