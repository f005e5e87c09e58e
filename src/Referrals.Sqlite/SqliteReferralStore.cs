using System.Globalization;
using System.Runtime.CompilerServices;
using System.Text.RegularExpressions;
using Microsoft.Data.Sqlite;
using NodaTime;
using Referrals.Storage;

namespace Referrals.Sqlite;

/// <summary>
/// A durable store in one SQLite database file, for a single shop served by one process (or a few processes on one
/// machine sharing the file). Implements the store contract <see cref="IReferralStore"/> (explicitly; resolve or cast to
/// the interface), with the semantics of <see cref="InMemoryStore"/>.
/// </summary>
/// <remarks>
/// <para>
/// <b>Sessions.</b> A session (<see cref="IReferralStore.BeginAsync"/>) is one <c>BEGIN IMMEDIATE</c> transaction on the
/// writer's connection, taken as one write of this store: it waits for this instance's other writers and for other
/// processes' write lock (on the calling thread, up to <c>Default Timeout</c>), they wait for it until it is committed or
/// disposed, and it gets the checks every write gets (the file's identity before and after, a checkpoint first after a
/// full disk or past the log's bound); so a caller holding a session must not write through this store otherwise. Each
/// unit of work is a savepoint: a duplicate key or a stale version rolls back to it and the session goes on; a database
/// error dooms the session (its commit throws, disposal rolls it back). Keys and versions are checked by the database
/// (<c>INSERT ... ON CONFLICT DO NOTHING</c>, the version in the <c>UPDATE</c>'s <c>WHERE</c>); no trigger or SQL derives a
/// value of the contract's rows. Paged reads walk an index in (instant, id) order and order the ids of one instant in
/// .NET, since SQLite's BINARY order (UTF-8 bytes) differs from ordinal UTF-16 order above U+FFFF. An erasure runs with
/// <c>PRAGMA secure_delete</c> on, so the values it removes are zeroed in the file's pages, and gone from the log once the
/// log is copied and starts over (within about a second when no long read holds it).
/// </para>
/// <para>
/// <b>Opening.</b> <see cref="Open"/> and <see cref="OpenFile"/> create the file if it is missing, switch it to WAL mode
/// (<c>PRAGMA journal_mode=WAL</c>: readers never block the writer and the writer never blocks readers) and apply the
/// schema migrations this version knows and the file lacks. Migrations are forward only, recorded in the
/// <c>schema_migrations</c> table (version, description, applied_at as ISO-8601 UTC text from the database's clock) and
/// each applied in its own <c>BEGIN IMMEDIATE</c> transaction that first re-reads the recorded versions: when several
/// processes open a new file at once, one applies a migration and the others wait for its lock, see the version and
/// skip it. A file whose schema is newer than this version knows is refused.
/// </para>
/// <para>
/// <b>Concurrency.</b> Thread-safe. The store keeps its connections open between operations, each with its statements
/// compiled once and reused: one for the writers, and one per concurrent reader (idle ones kept, up to the number of
/// processors or 4); each operation has a connection to itself while it runs. Each connection gets
/// <c>PRAGMA foreign_keys=ON</c>, <c>busy_timeout</c> and <c>synchronous</c> when it is opened. Reads run in parallel,
/// each on a consistent snapshot. Writes of one store instance are serialised in process (an async gate, so callers queue instead of
/// spinning on SQLite's lock); writes of other processes or instances on the same file wait for SQLite's write lock up to
/// the connection string's <c>Default Timeout</c> (30 seconds unless set), then fail with a <see cref="SqliteException"/>.
/// Correctness never rests on the gate: uniqueness and optimistic concurrency are enforced by the database (a unique key
/// with <c>INSERT ... ON CONFLICT DO NOTHING</c>, a version check in the <c>UPDATE</c>'s <c>WHERE</c> clause), and
/// sessions and other multi-row writes run in <c>BEGIN IMMEDIATE</c> transactions.
/// Microsoft.Data.Sqlite does its I/O synchronously, so the asynchronous methods complete on the caller's thread: waiting
/// for this instance's gate does not hold a thread, waiting for another process's lock does.
/// </para>
/// <para>
/// <b>Durability.</b> Every connection runs with <c>PRAGMA synchronous=NORMAL</c>, the setting SQLite recommends for WAL
/// mode: a commit is in the write-ahead log when the call returns, so it survives the process crashing, being killed or
/// restarted; the log is synced to the disk at checkpoints rather than at every commit, so a power cut or an operating
/// system crash may lose the last commits before it (the file stays consistent, never half a unit of work). This is what
/// lets one conversion commit in tens of microseconds instead of waiting for the disk each time. Checkpoints (copying the
/// log into the database file) run in the background on a connection of the store's own, every 64 writes and at the
/// latest a second after any write, instead of inside whichever commit crosses SQLite's automatic threshold; a checkpoint
/// syncs the log first, so a commit normally reaches the disk within about a second, however quiet the shop. So that
/// the log starts over (it is reused from its start only after a checkpoint that copied all of it with no write in
/// between), the last frames are copied while this
/// instance's writers wait — whenever none is waiting, and otherwise once 4,096 writes or 256 MB of log have passed
/// (not always: that copy syncs the files while the writers wait; past 8,192 writes or 512 MB of log a writer does it
/// itself). Under a steady stream of writes the log stays bounded by about that, plus what is written while a checkpoint
/// runs (large batches of <see cref="Services.AttributionService.RecordConversionsAsync"/> count as one write each, so
/// their log is larger). Other processes on the same file keep SQLite's automatic checkpoints.
/// </para>
/// <para>
/// <b>The log's file.</b> When a write starts the log over, its file is cut back to 512 MB
/// (<c>PRAGMA journal_size_limit</c>; a steady stream leaves less, so it is not cut and grown again each time); a log
/// that grew past that (a long read, a large batch, a full disk) is truncated to nothing by the checkpointer as soon as
/// all of it is copied, without waiting for the next write. The log cannot be
/// copied past the oldest state a read transaction on the file still reads, so while a read is open the log grows by
/// everything written meanwhile. This store's own reads are short: each is one query, and paged reads (the code change
/// feed, the ledger) read each page in a read of its own. A read of the host on the same
/// file (its own connection, a report, a backup through SQLite's backup API, the <c>sqlite3</c> shell left in a
/// transaction) pins the log for as long as it lasts: once the log holds 1 GB that it cannot copy, writes fail with a
/// <see cref="ReferralException"/> of <see cref="ReferralErrorCode.StoreLogFull"/> until that read ends (then the next
/// write copies the log and writes, and the log's file is cut back). Keep reads on the file short, or read a copy
/// (<c>VACUUM INTO</c>, which holds one read for as long as the copy takes).
/// </para>
/// <para>
/// <b>A full disk.</b> A write that finds no space fails with SQLite's <see cref="SqliteException"/> (<c>SQLITE_FULL</c>),
/// nothing of it written. From then on each write first copies the log into the database file and fails with that
/// checkpoint's error while there is still no room: the log, which cannot start over until it is copied, does not take
/// space that comes back before the database file can. Once space is free again, the next write succeeds and starts the
/// log over; the store recovers without a restart and keeps every write it acknowledged.
/// </para>
/// <para>
/// <b>The file deleted, renamed or replaced.</b> The store notices when its file is no longer the file at its path
/// (SQLite compares the open file's inode with the path's, on Unix: one <c>stat</c> before each write and one after its
/// commit, and one a second in the background). A write that starts after that writes nothing; one under way when it
/// happened committed to the file that is gone and is reported failed, not acknowledged; in both cases, and for every
/// read and write from then on, the store throws a <see cref="ReferralException"/> of
/// <see cref="ReferralErrorCode.StoreFileLost"/> naming the file. Reads made before it noticed (at most about a second,
/// or until the next write) answered from the file it had open, never from a file put in its place; connections are
/// opened only on the file it opened, and never create one where it was deleted. On noticing, the store copies its log
/// into the file it had open and empties the log at the path, so a database later put at the path (a restored backup)
/// is not read with this store's log; a file renamed away keeps every write acknowledged to it. Open a new store once the
/// file is in place. Windows does not let an open database file be deleted or replaced, so there the check never fires.
/// </para>
/// <para>
/// <b>Stored forms.</b> Instants are INTEGER Unix ticks (100 ns since 1970-01-01T00:00Z, <see cref="Instant.ToUnixTimeTicks"/>);
/// a sub-tick remainder, which no .NET clock produces, is dropped. Enumerations are their documented numeric values;
/// contact hashes and fingerprints their stored string forms (<see cref="Privacy.ContactHash.ToString"/>,
/// <see cref="Privacy.Fingerprint.ToString"/>); identifiers and codes their text; money an exact decimal text and a
/// currency. Core's documents (an order's attribution and reward decision, a reward, a ledger entry, a summary) are kept
/// as the text Core wrote, beside the plain index values Core computed. Text compares and sorts ordinally (SQLite's
/// BINARY collation), and lists the contract promises in order are sorted by .NET ordinal comparison, the order of the
/// in-memory store.
/// </para>
/// <para>
/// <b>Fraud history.</b> What the fraud checks read is the data the contract's writes keep, through indexes: touches by
/// referrer and time, credited orders by referrer and event time (the index values Core computed), fingerprints of
/// participants and of orders (with the order's time). After a restart the checks see the whole history.
/// </para>
/// <para>
/// Exceptions of the database (<see cref="SqliteException"/>) propagate unchanged, except that a failure caused by the
/// file being deleted or replaced throws <see cref="ReferralErrorCode.StoreFileLost"/> (with the database's exception
/// inside); a row that cannot be read back into a
/// domain value (a file edited by hand) throws <see cref="InvalidDataException"/> naming the table and value; a connection
/// whose operation failed is closed, not reused. Dispose the store to close its connections and release the pooled
/// connections of its file; operations started afterwards throw
/// <see cref="ObjectDisposedException"/>.
/// </para>
/// </remarks>
public sealed partial class SqliteReferralStore : IDisposable, IAsyncDisposable
{
    // Every connection after the first opens the file without creating it (Mode=ReadWrite): a file deleted while the store
    // runs is not silently replaced by a new empty one. The first connection, which creates the file, uses the caller's.
    private readonly string _createConnectionString;
    private readonly string _connectionString;
    private readonly string _connectionPragmas;
    private readonly SqliteLogBounds _logBounds;
    // The log bounds in pages of the file's page size, set when it is opened.
    private long _restartLogAfterFrames;
    private long _truncateLogPastFrames;
    private long _maxLogFrames;
    // The connection Initialize opened, kept open until Dispose: the file this store opened. A connection opened later is
    // on the same file when this one has not moved since (VerifySameFile). Used under _anchorLock only.
    private readonly object _anchorLock = new();
    private SqliteConnection? _anchor;
    // 1 once the file was found deleted, renamed or replaced: every operation then throws (LostException).
    private int _lost;
    // 1 when a checkpoint or a write failed with an I/O error (a full disk), or the log grew past its bound while a reader
    // kept it from being copied: the next write first copies the log itself (CheckpointBeforeWrite) instead of adding to it.
    private int _checkpointFirst;
    // Serialises this instance's writers; see the class remarks. Never disposed: it owns no handle unless
    // AvailableWaitHandle is read, which this class does not do, and a late Release must not throw.
    private readonly SemaphoreSlim _writeGate = new(1, 1);
    // Open connections with their prepared statements, kept between operations: the writer's (used under the write gate)
    // and idle readers' (each rented by one read at a time). Guarded by _sessionsLock, as is the disposed check that
    // decides whether a returned session is kept.
    private readonly object _sessionsLock = new();
    private readonly Stack<SqliteSession> _idleReaders = new();
    private readonly int _maxIdleReaders = Math.Max(4, Environment.ProcessorCount);
    private SqliteSession? _idleWriter;
    private int _disposed;

    // Checkpoints run off the commit path: the store's connections have automatic checkpoints off; every
    // CheckpointEveryWrites writes wake a background checkpointer (a PASSIVE checkpoint on a connection of its own, which
    // never blocks readers or the writer). Should it fall behind (or fail), a writer checkpoints inline past
    // InlineCheckpointAfterWrites, so the write-ahead log stays bounded.
    internal const int CheckpointEveryWrites = 64;
    // ... and at the latest this long after a write, however few writes came: a bulk import (one write of many rows), a
    // large batch of conversions or a quiet shop's last few sales are copied to the database file (and the log synced,
    // so a power cut can no longer take them) soon after, not only after the next 64 writes or when the store closes.
    internal static readonly TimeSpan CheckpointAfterQuiet = TimeSpan.FromSeconds(1);
    // How often, at the latest, the checkpointer makes the writers wait so the log starts over (see CheckpointLoopAsync),
    // and after how many writes without that a writer checkpoints inline: the log holds at most about that many writes.
    // The wait is the copy and sync of the pages written since the last background checkpoint (~25 conversions' worth
    // under a steady stream), which takes longer as the database file grows: 3 ms on a new file, 15-19 ms past 100,000
    // conversions on the benchmark machine. Every 16,384 pages (the earlier bound, ~530 conversions) that was ~30 us per
    // conversion; every 65,536 pages it is a quarter of that, for a log file of up to 256 MB under a sustained stream.
    internal const int RestartLogAfterWrites = 64 * CheckpointEveryWrites;
    // ... or once the log holds SqliteLogBounds.RestartLogBytes (256 MB: 65,536 pages of 4 KB), whichever comes first
    // (a batch is one write).
    private const int InlineCheckpointAfterWrites = 2 * RestartLogAfterWrites;
    private int _writesSinceRestart;
    private readonly SemaphoreSlim _checkpointSignal = new(0, 1);
    private readonly CancellationTokenSource _stopCheckpointer = new();
    private Task _checkpointer = Task.CompletedTask;
    private int _writesSinceCheckpoint;
    private long _checkpoints;
    private long _logRestarts;
    // Set when a pass found the write gate taken and left the log's restart for later: the next pass takes the gate then,
    // even a quiet one with nothing written since (a stream that pauses has its log started over within a second).
    private int _restartPending;
    // The pages in the log after the writer's last commit, stored by SQLite's WAL hook on the writer's connection (see
    // SqliteSession.TrackLogPages): pinned, so SQLite can write to it; one element.
    private readonly long[] _logPages = GC.AllocateArray<long>(1, pinned: true);
    private readonly object _checkpointLock = new();

    private SqliteReferralStore(string connectionString, string dataSource, int busyTimeoutMilliseconds, SqliteLogBounds logBounds)
    {
        _createConnectionString = connectionString;
        _connectionString = WithoutCreate(connectionString);
        DataSource = dataSource;
        _logBounds = logBounds;
        // journal_size_limit: when a write starts the log over, SQLite cuts the log file back to this size, so space the
        // log took in a burst (a long read, a large batch, the time a full disk kept checkpoints from completing) is
        // given back to the file system instead of staying with the log.
        _connectionPragmas = string.Create(
            CultureInfo.InvariantCulture,
            $"PRAGMA foreign_keys = ON; PRAGMA busy_timeout = {busyTimeoutMilliseconds}; PRAGMA synchronous = NORMAL; PRAGMA wal_autocheckpoint = 0; PRAGMA temp_store = MEMORY; PRAGMA journal_size_limit = {logBounds.LogFileLimitBytes};");
    }

    /// <summary>The database file, as a full path (or as given, for a <c>file:</c> URI or a <c>|DataDirectory|</c> path).</summary>
    public string DataSource { get; }

    /// <summary>The schema version this version of the library creates and reads.</summary>
    internal static int SchemaVersion => SqliteSchema.LatestVersion;

    /// <summary>
    /// Opens (creating if missing) the database a Microsoft.Data.Sqlite connection string names, switches it to WAL mode
    /// and migrates its schema. Blocks for the file I/O; call it once at start and share the instance.
    /// </summary>
    /// <param name="connectionString">
    /// For example <c>Data Source=referrals.db</c>. A relative path is resolved against the current directory now, once.
    /// <c>Default Timeout</c> (seconds, default 30; 0 waits without limit) is also how long an operation waits for another
    /// writer's lock. In-memory databases and read-only modes are refused.
    /// </param>
    /// <exception cref="ArgumentException">The connection string is empty, malformed, names an in-memory database or a read-only mode.</exception>
    /// <exception cref="DirectoryNotFoundException">The file's directory does not exist (the store creates the file, not its directory).</exception>
    /// <exception cref="SqliteException">The file cannot be opened or created, or is not a database.</exception>
    /// <exception cref="InvalidOperationException">The file cannot use WAL mode, or its schema is newer than this library.</exception>
    public static SqliteReferralStore Open(string connectionString) => OpenWithLogBounds(connectionString, SqliteLogBounds.Default);

    /// <summary><see cref="Open(string)"/> with other bounds on the write-ahead log (tests use small ones).</summary>
    internal static SqliteReferralStore OpenWithLogBounds(string connectionString, SqliteLogBounds logBounds)
    {
        var (normalized, dataSource, busyTimeout) = NormalizeConnectionString(connectionString);
        // SQLite says only "unable to open database file" (error 14), without the path: say which, and why.
        if (Path.IsPathRooted(dataSource) && Path.GetDirectoryName(dataSource) is { Length: > 0 } directory && !Directory.Exists(directory))
        {
            throw new DirectoryNotFoundException($"The directory of the SQLite file {dataSource} does not exist: create it first (the store creates the file, not its directory).");
        }
        var store = new SqliteReferralStore(normalized, dataSource, busyTimeout, logBounds);
        try
        {
            store.Initialize();
            return store;
        }
        catch
        {
            store.Dispose();
            throw;
        }
    }

    /// <summary>Opens (creating if missing) a database file; see <see cref="Open"/>. The directory must exist.</summary>
    /// <param name="path">The file's path; a relative path is resolved against the current directory now, once.</param>
    /// <exception cref="ArgumentException"><paramref name="path"/> is empty or white space.</exception>
    /// <exception cref="DirectoryNotFoundException">The file's directory does not exist.</exception>
    /// <exception cref="SqliteException">The file cannot be opened or created, or is not a database.</exception>
    /// <exception cref="InvalidOperationException">The file cannot use WAL mode, or its schema is newer than this library.</exception>
    public static SqliteReferralStore OpenFile(string path)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(path);
        var builder = new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate };
        return Open(builder.ConnectionString);
    }

    /// <summary>Closes the store's connections and releases the pooled connections of the database file. Operations still running finish first on their own connections, which are closed when they end.</summary>
    public void Dispose()
    {
        List<SqliteSession> idle;
        lock (_sessionsLock)
        {
            if (Interlocked.Exchange(ref _disposed, 1) != 0)
            {
                return;
            }
            _stopCheckpointer.Cancel();
            idle = [.. _idleReaders];
            _idleReaders.Clear();
            if (_idleWriter is { } writer)
            {
                idle.Add(writer);
                _idleWriter = null;
            }
        }
        // Sessions in use are closed when their operations return them.
        foreach (var session in idle)
        {
            session.Dispose();
        }
        // The checkpointer ends at its next wait; a checkpoint under way finishes first (the last connection to close
        // checkpoints whatever is left in the log).
        try
        {
            _checkpointer.Wait(TimeSpan.FromSeconds(30));
        }
        catch (AggregateException)
        {
            // It ended with an error or was cancelled: nothing left to stop.
        }
        if (Volatile.Read(ref _lost) != 0)
        {
            CopyLogIntoLostFile(); // the store's other connections are closed now (those still in use, when they end)
        }
        lock (_anchorLock)
        {
            _anchor?.Dispose();
            _anchor = null;
        }
        // (On a file that moved, SQLite closes the last connection without checkpointing or deleting the log at the path.)
        using var connection = new SqliteConnection(_connectionString);
        SqliteConnection.ClearPool(connection);
        using var first = new SqliteConnection(_createConnectionString);
        SqliteConnection.ClearPool(first);
    }

    /// <inheritdoc cref="Dispose" />
    public ValueTask DisposeAsync()
    {
        Dispose();
        return ValueTask.CompletedTask;
    }

    /// <summary>Validates a connection string for <see cref="Open"/> and returns it with an absolute data source.</summary>
    internal static (string ConnectionString, string DataSource, int BusyTimeoutMilliseconds) NormalizeConnectionString(string connectionString)
    {
        ArgumentException.ThrowIfNullOrWhiteSpace(connectionString);
        SqliteConnectionStringBuilder builder;
        try
        {
            builder = new SqliteConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException e)
        {
            // The text itself is not echoed: it may hold a password.
            throw new ArgumentException($"The SQLite connection string is malformed: {e.Message}", nameof(connectionString), e);
        }
        string dataSource = builder.DataSource;
        if (string.IsNullOrWhiteSpace(dataSource)
            || builder.Mode == SqliteOpenMode.Memory
            || dataSource == ":memory:"
            || dataSource.StartsWith("file::memory:", StringComparison.OrdinalIgnoreCase)
            || (dataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase) && dataSource.Contains("mode=memory", StringComparison.OrdinalIgnoreCase)))
        {
            throw new ArgumentException(
                $"SqliteReferralStore keeps its data in a database file; the data source '{dataSource}' is not one. For a store in memory use Referrals.Storage.InMemoryStore (the default when no store is registered).",
                nameof(connectionString));
        }
        if (builder.Mode == SqliteOpenMode.ReadOnly)
        {
            throw new ArgumentException(
                $"SqliteReferralStore writes to its database; Mode={builder.Mode} is not allowed (use ReadWriteCreate or ReadWrite).",
                nameof(connectionString));
        }
        // A relative path is resolved once, so that a later change of the current directory cannot switch files.
        if (!dataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase)
            && !dataSource.Contains("|DataDirectory|", StringComparison.OrdinalIgnoreCase))
        {
            dataSource = Path.GetFullPath(dataSource);
            builder.DataSource = dataSource;
        }
        int busyTimeout = builder.DefaultTimeout <= 0
            ? int.MaxValue
            : (int)Math.Min(int.MaxValue, builder.DefaultTimeout * 1000L);
        return (builder.ConnectionString, dataSource, busyTimeout);
    }

    /// <summary>
    /// The connection string for every connection after the first: opens the file, never creates it (<c>Mode=ReadWrite</c>,
    /// and <c>mode=rw</c> for a URI's <c>mode=rwc</c>, which SQLite refuses as less strict than the open flags).
    /// </summary>
    private static string WithoutCreate(string connectionString)
    {
        var builder = new SqliteConnectionStringBuilder(connectionString) { Mode = SqliteOpenMode.ReadWrite };
        if (builder.DataSource.StartsWith("file:", StringComparison.OrdinalIgnoreCase))
        {
            builder.DataSource = Regex.Replace(builder.DataSource, "([?&]mode=)rwc(?=&|#|$)", "$1rw", RegexOptions.IgnoreCase | RegexOptions.CultureInvariant, TimeSpan.FromSeconds(1));
        }
        return builder.ConnectionString;
    }

    /// <summary>An open connection with the per-connection settings applied, for the synchronous paths (opening, checkpoints).</summary>
    private SqliteConnection OpenConnection(string? connectionString = null)
    {
        var connection = new SqliteConnection(connectionString ?? _connectionString);
        try
        {
            connection.Open();
            using var pragmas = connection.CreateCommand();
            pragmas.CommandText = _connectionPragmas;
            pragmas.ExecuteNonQuery();
            VerifySameFile();
            return connection;
        }
        catch (SqliteException e) when (FileMoved())
        {
            connection.Dispose();
            throw Lose(e);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    private void Initialize()
    {
        var connection = OpenConnection(_createConnectionString);
        // Kept open until Dispose as the anchor of the file's identity; disposed by Open's Dispose if this fails.
        _anchor = connection;
        using (var wal = connection.CreateCommand())
        {
            // Persistent in the file; a no-op when it is in WAL mode already.
            wal.CommandText = "PRAGMA journal_mode = WAL;";
            string? mode = wal.ExecuteScalar() as string;
            if (!string.Equals(mode, "wal", StringComparison.OrdinalIgnoreCase))
            {
                throw new InvalidOperationException(
                    $"The SQLite database '{DataSource}' could not be switched to WAL mode (it reports journal mode '{mode}'); WAL needs a local file system with shared memory.");
            }
        }
        SqliteSchema.Migrate(connection, DataSource);
        using (var pageSize = connection.CreateCommand())
        {
            pageSize.CommandText = "PRAGMA page_size;";
            long bytes = (long)pageSize.ExecuteScalar()!;
            _restartLogAfterFrames = Math.Max(1, _logBounds.RestartLogBytes / bytes);
            _truncateLogPastFrames = Math.Max(1, _logBounds.LogFileLimitBytes / bytes);
            _maxLogFrames = Math.Max(1, _logBounds.MaxLogBytes / bytes);
        }
        _checkpointer = Task.Run(() => CheckpointLoopAsync(_stopCheckpointer.Token));
    }

    /// <summary>The open connections of the idle read sessions (for tests).</summary>
    internal SqliteConnection[] IdleReaderConnections()
    {
        lock (_sessionsLock)
        {
            return [.. _idleReaders.Select(static s => s.Connection)];
        }
    }

    /// <summary>How many background or inline checkpoints this instance ran (for tests).</summary>
    internal long Checkpoints => Interlocked.Read(ref _checkpoints);

    /// <summary>How many times the checkpointer copied the whole log with no write in between, so the next write starts it over.</summary>
    internal long LogRestarts => Interlocked.Read(ref _logRestarts);

    /// <summary>
    /// Counts a committed write; wakes the checkpointer every <see cref="CheckpointEveryWrites"/> writes, and checks the
    /// log's size after the commit (from SQLite's WAL hook, exact whatever the checkpointer's thread is doing).
    /// </summary>
    private void CountWrite(SqliteSession writer)
    {
        int writes = Interlocked.Increment(ref _writesSinceCheckpoint);
        long pages = Volatile.Read(ref _logPages[0]);
        if (pages >= _maxLogFrames)
        {
            // The next write looks whether a reader keeps the log from being copied (and refuses if so).
            Volatile.Write(ref _checkpointFirst, 1);
        }
        if (Interlocked.Increment(ref _writesSinceRestart) >= InlineCheckpointAfterWrites
            || (pages >= 2 * _restartLogAfterFrames && writes >= CheckpointEveryWrites))
        {
            // The checkpointer did not keep up (or failed), or never found the gate free, and the log is twice the size it
            // starts over at or 8,192 writes passed without a restart: checkpoint here (at most every 64 writes), on the writer's
            // connection under the write gate, as SQLite's automatic checkpoint would have — the next write then starts
            // the log over. The write is committed already: a failing checkpoint must not report it as failed, and is
            // tried again by the next write.
            try
            {
                Checkpoint(writer.Connection);
                Volatile.Write(ref _writesSinceRestart, 0);
            }
            catch (SqliteException)
            {
                // The next write checkpoints before it writes (and fails with the error if it persists).
                Volatile.Write(ref _checkpointFirst, 1);
            }
        }
        else if (writes >= CheckpointEveryWrites && _checkpointSignal.CurrentCount == 0)
        {
            try
            {
                _checkpointSignal.Release();
            }
            catch (SemaphoreFullException)
            {
                // Already signalled by a racing writer: one wake-up is enough.
            }
        }
    }

    /// <summary>
    /// Before a write, when the last checkpoint or write failed with an I/O error or the log grew past its bound: copies the
    /// log into the database file first, on the writer's connection under the write gate, so that the write starts the log
    /// over instead of adding to it.
    /// </summary>
    /// <remarks>
    /// On a full disk, checkpoints fail because the database file cannot grow; writes that went on would append to the log
    /// (while it cannot start over), so as soon as space came back the log would take it before a checkpoint could, and the
    /// store would stay failing. Here the write refuses instead, before writing anything, with the checkpoint's own error
    /// (<see cref="SqliteException"/>, <c>SQLITE_FULL</c>): the space that comes back goes to the checkpoint, the next write
    /// starts the log over, and the store recovers by itself. Likewise a log past <see cref="SqliteLogBounds.MaxLogBytes"/>
    /// that a reader keeps from being copied refuses writes until the reader ends.
    /// </remarks>
    private void CheckpointBeforeWrite(SqliteConnection connection)
    {
        var (busy, log, copied) = Checkpoint(connection); // throws when it fails: the write fails with it, nothing written
        if (busy)
        {
            return; // the checkpointer's own pass runs; this write goes ahead and the next one looks again
        }
        if (copied < log && log >= _maxLogFrames)
        {
            throw new ReferralException(
                ReferralErrorCode.StoreLogFull,
                string.Create(CultureInfo.InvariantCulture, $"The write-ahead log of the SQLite database '{DataSource}' holds {log} pages, past its bound of {_maxLogFrames} ({_logBounds.MaxLogBytes >> 20} MB), and only {copied} of them can be copied into the database file: a read transaction still open on the file (of this or another process) reads an older state. Writes are refused until that read ends; end or shorten long reads on the file (see the remarks of SqliteReferralStore)."));
        }
        Volatile.Write(ref _checkpointFirst, 0);
    }

    private async Task CheckpointLoopAsync(CancellationToken stop)
    {
        SqliteConnection? connection = null;
        try
        {
            while (true)
            {
                bool signalled = await _checkpointSignal.WaitAsync(CheckpointAfterQuiet, stop).ConfigureAwait(false);
                // At least once a second, written or not: a file deleted or replaced in a quiet moment is noticed then, and
                // from then on reads fail too instead of answering from a file that is gone.
                if (FileMoved())
                {
                    Lose(null);
                    return; // no checkpoint, no new connection: the path is not this store's file any more
                }
                if (!signalled && Volatile.Read(ref _writesSinceCheckpoint) == 0 && Volatile.Read(ref _checkpointFirst) == 0
                    && Volatile.Read(ref _restartPending) == 0)
                {
                    continue; // nothing written since the last checkpoint
                }
                try
                {
                    connection ??= OpenCheckpointConnection();
                    // Most of the log is copied while this process keeps writing. SQLite starts the log over only for a
                    // write transaction that began on a completely copied log, which a steady stream of writes never
                    // leaves; a log never started over grows without bound. So now and then the last frames are copied
                    // under the write gate, with no write in between: whenever the gate is free (nobody waits), and at
                    // the latest after RestartLogAfterWrites writes or 256 MB of log (_restartLogAfterFrames) — not every time, because that checkpoint syncs the
                    // log and the database file while the writers wait. (Writers do it themselves past
                    // InlineCheckpointAfterWrites, should this loop fall behind.)
                    var (_, log, copied) = Checkpoint(connection);
                    bool gated = _writeGate.Wait(0);
                    if (!gated && (!signalled || log >= _restartLogAfterFrames || Volatile.Read(ref _writesSinceRestart) >= RestartLogAfterWrites))
                    {
                        await _writeGate.WaitAsync(stop).ConfigureAwait(false);
                        gated = true;
                    }
                    if (gated)
                    {
                        try
                        {
                            (_, log, copied) = Checkpoint(connection);
                            Volatile.Write(ref _writesSinceRestart, 0);
                            Volatile.Write(ref _restartPending, 0);
                            if (copied == log)
                            {
                                Interlocked.Increment(ref _logRestarts);
                            }
                            if (copied == log && log > _truncateLogPastFrames)
                            {
                                // The log grew past its file's limit, far past what a steady stream leaves (a long read,
                                // a large batch, a full disk): all of it is copied, so its file is cut to nothing now
                                // rather than back to the limit at the next write, which a quiet shop may not make soon.
                                TruncateLog(connection);
                            }
                        }
                        finally
                        {
                            _writeGate.Release();
                        }
                    }
                    else
                    {
                        Volatile.Write(ref _restartPending, 1);
                    }
                    if (copied < log && log >= _maxLogFrames)
                    {
                        // A reader keeps the log from being copied and it is past its bound: writers look before they write.
                        Volatile.Write(ref _checkpointFirst, 1);
                    }
                }
                catch (SqliteException)
                {
                    // Busy or I/O trouble (a full disk): writers checkpoint before they write until a checkpoint succeeds.
                    Volatile.Write(ref _checkpointFirst, 1);
                    connection?.Dispose();
                    connection = null;
                }
                catch (ReferralException)
                {
                    return; // the file moved (found when a new connection was checked): nothing more to checkpoint
                }
            }
        }
        catch (OperationCanceledException) when (stop.IsCancellationRequested)
        {
            // Disposed.
        }
        finally
        {
            connection?.Dispose();
        }
    }

    /// <summary>The checkpointer's connection: waits for locks briefly, since it may hold the write gate while it waits.</summary>
    private SqliteConnection OpenCheckpointConnection()
    {
        var connection = OpenConnection();
        try
        {
            using var command = connection.CreateCommand();
            // A PASSIVE checkpoint never waits; a TRUNCATE one waits for readers and other processes' writers, and gives up
            // (to try again on a later pass) rather than hold this instance's writers for the connection's full timeout.
            command.CommandText = "PRAGMA busy_timeout = 100;";
            command.ExecuteNonQuery();
            return connection;
        }
        catch
        {
            connection.Dispose();
            throw;
        }
    }

    /// <summary>
    /// A PASSIVE checkpoint: whether another checkpoint was running (another process's: this instance's checkpoints take
    /// turns), the frames in the log and how many of them are copied to the database now.
    /// </summary>
    private (bool Busy, long Log, long Copied) Checkpoint(SqliteConnection connection)
    {
        // A writer that checkpoints (CheckpointBeforeWrite, CountWrite) waits for a background checkpoint under way
        // instead of finding SQLite's checkpoint lock taken and writing to a log it could not copy.
        lock (_checkpointLock)
        {
            return CheckpointLocked(connection);
        }
    }

    private (bool Busy, long Log, long Copied) CheckpointLocked(SqliteConnection connection)
    {
        using var command = connection.CreateCommand();
        // PASSIVE copies what it can without waiting for readers or the writer; the log is reused from the start by the
        // next write once everything in it is copied.
        command.CommandText = "PRAGMA wal_checkpoint(PASSIVE);";
        // Writes from now on count towards the next checkpoint.
        Interlocked.Exchange(ref _writesSinceCheckpoint, 0);
        bool busy = false;
        long log = 0, copied = 0;
        using (var reader = command.ExecuteReader())
        {
            if (reader.Read())
            {
                busy = reader.GetInt64(0) != 0;
                log = reader.GetInt64(1);
                copied = reader.GetInt64(2);
            }
        }
        Interlocked.Increment(ref _checkpoints);
        return (busy, log, copied);
    }

    /// <summary>A TRUNCATE checkpoint (under the write gate): copies what is left and cuts the log file to zero bytes, unless a reader or another process's writer is still busy.</summary>
    private void TruncateLog(SqliteConnection connection)
    {
        lock (_checkpointLock)
        {
            using var command = connection.CreateCommand();
            command.CommandText = "PRAGMA wal_checkpoint(TRUNCATE);";
            command.ExecuteNonQuery();
        }
    }

    /// <summary>Whether the file this store opened is no longer the file at its path; asked of the connection kept since opening.</summary>
    private bool FileMoved()
    {
        lock (_anchorLock)
        {
            return _anchor is { } anchor && SqliteNative.HasMoved(anchor);
        }
    }

    /// <summary>
    /// After a new connection was opened: it is on the file this store opened only if that file is still at its path (the
    /// new connection opened the path a moment before). Otherwise it is on whatever is there now, another database or
    /// nothing, and must not be used.
    /// </summary>
    private void VerifySameFile()
    {
        if (FileMoved())
        {
            throw Lose(null);
        }
    }

    /// <summary>Marks the file as lost (from now on every operation throws) and returns the exception to throw.</summary>
    private ReferralException Lose(Exception? cause)
    {
        if (Interlocked.Exchange(ref _lost, 1) == 0)
        {
            CopyLogIntoLostFile();
        }
        return LostException(cause);
    }

    /// <summary>
    /// Once the file is lost: copies the whole log into the file this store has open (its old inode) and cuts the log file
    /// at the path to zero bytes. The log and its index are found by the path, so left as they are they would be taken
    /// for the log of whatever database is put at the path next (a restored backup): opening that one would lay this
    /// store's pages over it. Emptied, they are harmless; and a file that was renamed away holds everything this store
    /// committed to it, without a log beside it. Best effort: tried again on <see cref="Dispose"/> if a transaction of
    /// this store was still open.
    /// </summary>
    private void CopyLogIntoLostFile()
    {
        lock (_anchorLock)
        {
            if (_anchor is not { } anchor)
            {
                return;
            }
            try
            {
                using var command = anchor.CreateCommand();
                command.CommandText = "PRAGMA busy_timeout = 100; PRAGMA wal_checkpoint(TRUNCATE);";
                command.ExecuteNonQuery();
            }
            catch (SqliteException)
            {
                // Another transaction holds the log; Dispose tries again.
            }
        }
    }

    private ReferralException LostException(Exception? cause) => new(
        ReferralErrorCode.StoreFileLost,
        $"The SQLite database file '{DataSource}' was deleted, renamed or replaced by another file while this store had it open; what is written from now on would go to a file nobody opens again. This store refuses every read and write from now on: put the file back (or restore it) and open a new store on it.",
        cause);

    /// <summary>Throws when the store is disposed or its file was lost; the check every operation makes first.</summary>
    private void ThrowIfUnusable()
    {
        ObjectDisposedException.ThrowIf(Volatile.Read(ref _disposed) != 0, this);
        if (Volatile.Read(ref _lost) != 0)
        {
            throw LostException(null);
        }
    }

    /// <summary>Whether a failed statement failed for lack of space or an I/O error, after which the log may not start over until a checkpoint succeeds.</summary>
    private static bool IsIoFailure(SqliteException e) => e.SqliteErrorCode is SqliteFull or SqliteIoErr;

    private const int SqliteIoErr = 10;
    private const int SqliteFull = 13;

    /// <summary>A pooled connection, open, with the per-connection settings applied.</summary>
    private async ValueTask<SqliteConnection> ConnectAsync(CancellationToken cancellationToken)
    {
        ThrowIfUnusable();
        var connection = new SqliteConnection(_connectionString);
        try
        {
            await connection.OpenAsync(cancellationToken).ConfigureAwait(false);
            // Sessions keep their connections open, so this runs when a session is made, not per operation; the pool may
            // hand out a fresh physical connection, so the settings are applied every time.
            using var pragmas = connection.CreateCommand();
            pragmas.CommandText = _connectionPragmas;
            await pragmas.ExecuteNonQueryAsync(cancellationToken).ConfigureAwait(false);
            VerifySameFile();
            return connection;
        }
        catch (SqliteException e) when (FileMoved())
        {
            // The file is gone (opening without creating fails) or was replaced.
            await connection.DisposeAsync().ConfigureAwait(false);
            throw Lose(e);
        }
        catch
        {
            await connection.DisposeAsync().ConfigureAwait(false);
            throw;
        }
    }

    /// <summary>
    /// Runs a write on the writer's session (one open connection with its prepared statements, kept between writes),
    /// after the writers of this instance queued before it.
    /// </summary>
    private async ValueTask<TResult> WriteAsync<TState, TResult>(
        TState state,
        Func<SqliteSession, TState, CancellationToken, ValueTask<TResult>> write,
        CancellationToken cancellationToken)
    {
        ThrowIfUnusable();
        await _writeGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            ThrowIfUnusable(); // the file may have been lost while this write waited
            SqliteSession? session;
            lock (_sessionsLock)
            {
                session = _idleWriter;
                _idleWriter = null;
            }
            session ??= NewWriterSession(await ConnectAsync(cancellationToken).ConfigureAwait(false));
            TResult result;
            try
            {
                // The file is checked before the write and again after its commit, each a stat of the path (see
                // SqliteNative.HasMoved): a write that starts after the file was deleted or replaced writes nothing, and one
                // under way when it happened went to a file nobody opens again, which its caller must hear.
                if (SqliteNative.HasMoved(session.Connection))
                {
                    throw Lose(null);
                }
                if (Volatile.Read(ref _checkpointFirst) != 0)
                {
                    CheckpointBeforeWrite(session.Connection);
                }
                result = await write(session, state, cancellationToken).ConfigureAwait(false);
                if (SqliteNative.HasMoved(session.Connection))
                {
                    throw Lose(null);
                }
            }
            catch (Exception e)
            {
                bool moved = false;
                if (e is SqliteException sqlite)
                {
                    if (IsIoFailure(sqlite))
                    {
                        // A full disk, most often: the log may not start over until a checkpoint succeeds.
                        Volatile.Write(ref _checkpointFirst, 1);
                    }
                    moved = SqliteNative.HasMoved(session.Connection);
                }
                // The connection may be left in any state (a transaction the rollback could not end): not reused.
                session.Dispose();
                if (moved)
                {
                    throw Lose(e);
                }
                throw;
            }
            CountWrite(session);
            lock (_sessionsLock)
            {
                if (_disposed == 0)
                {
                    _idleWriter = session;
                    session = null;
                }
            }
            session?.Dispose();
            return result;
        }
        finally
        {
            _writeGate.Release();
        }
    }

    private unsafe SqliteSession NewWriterSession(SqliteConnection connection)
    {
        var session = new SqliteSession(connection);
        session.TrackLogPages((long*)Unsafe.AsPointer(ref _logPages[0]));
        return session;
    }

    /// <summary>
    /// Runs a read on a session of its own (an idle one with its prepared statements, or a new one), concurrently with
    /// other reads and writes.
    /// </summary>
    private async ValueTask<TResult> ReadAsync<TState, TResult>(
        TState state,
        Func<SqliteSession, TState, CancellationToken, ValueTask<TResult>> read,
        CancellationToken cancellationToken)
    {
        ThrowIfUnusable();
        SqliteSession? session = null;
        lock (_sessionsLock)
        {
            _idleReaders.TryPop(out session);
        }
        session ??= new SqliteSession(await ConnectAsync(cancellationToken).ConfigureAwait(false));
        TResult result;
        try
        {
            result = await read(session, state, cancellationToken).ConfigureAwait(false);
        }
        catch
        {
            session.Dispose();
            throw;
        }
        lock (_sessionsLock)
        {
            if (_disposed == 0 && _idleReaders.Count < _maxIdleReaders)
            {
                _idleReaders.Push(session);
                session = null;
            }
        }
        session?.Dispose();
        return result;
    }

    /// <summary>By instant, then key in .NET ordinal order: how the in-memory store orders touches, conversions and code uses.</summary>
    private static int CompareByTime(Instant t1, string k1, Instant t2, string k2)
    {
        int c = t1.CompareTo(t2);
        return c != 0 ? c : string.CompareOrdinal(k1, k2);
    }

    private static object DbValue(string? value) => (object?)value ?? DBNull.Value;

    private static object DbValue(long? value) => value is { } v ? v : DBNull.Value;

    private static long ToTicks(Instant instant) => instant.ToUnixTimeTicks();

    private static Instant ToInstant(long ticks) => Instant.FromUnixTimeTicks(ticks);

    private static string? GetNullableString(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static InvalidDataException BadRow(string table, string column, string? value) =>
        new($"The SQLite table '{table}' holds '{value}' in column '{column}', which cannot be read back; was the file edited by hand?");
}
