using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Configs;
using BenchmarkDotNet.Jobs;
using Npgsql;

namespace Referrals.Benchmarks;

/// <summary>
/// How to keep a referrer's counts and account version right when several app instances record conversions of the same
/// referrer at once: the conversion-shaped transaction in raw SQL — read the referrer's summary row, insert the order,
/// update the summary with a version check — from <see cref="Callers"/> connections at once, each transaction picking one
/// of <see cref="Referrers"/> referrers (8: every transaction overlaps others; 100: some do), under
/// <list type="bullet">
/// <item>READ COMMITTED with <c>SELECT … FOR UPDATE</c> on the read (pessimistic: the row is locked when read, the
/// others wait; the version check cannot fail),</item>
/// <item>READ COMMITTED, the read unlocked and the version checked by the update, the unit rolled back to its savepoint and
/// done again on a failed check (what the store does: its units lock what they read only when written),</item>
/// <item>SERIALIZABLE, the whole transaction done again on a serialization failure (SQLSTATE 40001).</item>
/// </list>
/// Time per committed transaction; the retries per committed transaction are printed at the end of each run
/// (<c>// retries</c> in the log).
/// </summary>
[Config(typeof(FewIterations))]
public class PostgreSqlIsolationBenchmarks
{
    public const int Callers = 8;
    public const int PerCaller = 16;

    private string _database = null!;
    private NpgsqlConnection[] _connections = [];
    private int _next;
    private long _commits;
    private long _retries;

    [Params(8, 100)]
    public int Referrers { get; set; }

    private sealed class FewIterations : ManualConfig
    {
        public FewIterations() =>
            AddJob(Job.Default.WithLaunchCount(1).WithWarmupCount(2).WithIterationCount(8).WithUnrollFactor(1).WithIterationTime(Perfolizer.Horology.TimeInterval.FromMilliseconds(750)));
    }

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    public async Task SetupAsync()
    {
        _database = PostgreSqlBench.Prefix + "isolation_" + Environment.ProcessId.ToString(System.Globalization.CultureInfo.InvariantCulture) + "_" + Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(3));
        await PostgreSqlBench.ExecuteAsync("postgres", $"CREATE DATABASE \"{_database}\" TEMPLATE template0 ENCODING 'UTF8'").ConfigureAwait(false);
        await PostgreSqlBench.ExecuteAsync(_database, $"""
            CREATE TABLE summaries (referrer text COLLATE "C" PRIMARY KEY, version bigint NOT NULL, orders integer NOT NULL, amount numeric NOT NULL);
            CREATE TABLE orders (order_id text COLLATE "C" PRIMARY KEY, referrer text COLLATE "C" NOT NULL, amount numeric NOT NULL);
            CREATE INDEX orders_by_referrer ON orders (referrer);
            INSERT INTO summaries SELECT 'r-' || i, 1, 0, 0 FROM generate_series(0, {Referrers - 1}) i;
            """).ConfigureAwait(false);
        await PostgreSqlBench.ExecuteAsync(_database, "VACUUM ANALYZE").ConfigureAwait(false);
        _connections = new NpgsqlConnection[Callers];
        for (int i = 0; i < Callers; i++)
        {
            _connections[i] = new NpgsqlConnection(PostgreSqlBench.ConnectionString(_database));
            await _connections[i].OpenAsync().ConfigureAwait(false);
        }
    }

    [GlobalCleanup]
    public void Cleanup()
    {
        Console.WriteLine($"// retries: {_retries} in {_commits} committed transactions, {(double)_retries / Math.Max(1, _commits):F3} per transaction ({Referrers} referrers)");
        foreach (var connection in _connections)
        {
            connection.Dispose();
        }
        PostgreSqlBench.DropAsync(_database).GetAwaiter().GetResult();
    }

    /// <summary>READ COMMITTED, the summary locked when read.</summary>
    [Benchmark(Baseline = true, OperationsPerInvoke = Callers * PerCaller)]
    public Task ReadCommitted_ForUpdate() => Concurrently(connection => ReadCommittedAsync(connection, forUpdate: true));

    /// <summary>READ COMMITTED, the version checked when written; a failed check redoes the unit.</summary>
    [Benchmark(OperationsPerInvoke = Callers * PerCaller)]
    public Task ReadCommitted_VersionCheck() => Concurrently(connection => ReadCommittedAsync(connection, forUpdate: false));

    /// <summary>SERIALIZABLE, the transaction done again on a serialization failure.</summary>
    [Benchmark(OperationsPerInvoke = Callers * PerCaller)]
    public Task Serializable_Retry() => Concurrently(SerializableAsync);

    /// <summary>Counters for a quick mode: committed transactions and retries so far.</summary>
    public (long Commits, long Retries) Counters => (Interlocked.Read(ref _commits), Interlocked.Read(ref _retries));

    private async Task ReadCommittedAsync(NpgsqlConnection connection, bool forUpdate)
    {
        var (orderId, referrer) = Next();
        await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.ReadCommitted).ConfigureAwait(false);
        while (true)
        {
            long version = await ReadAsync(connection, transaction, referrer, forUpdate).ConfigureAwait(false);
            if (await WriteAsync(connection, transaction, orderId, referrer, version, savepoint: !forUpdate).ConfigureAwait(false))
            {
                break;
            }
            if (forUpdate)
            {
                throw new InvalidOperationException("The version moved under a row lock.");
            }
            Interlocked.Increment(ref _retries);
            await using var rollback = new NpgsqlCommand("ROLLBACK TO SAVEPOINT unit", connection, transaction);
            await rollback.ExecuteNonQueryAsync().ConfigureAwait(false);
        }
        await transaction.CommitAsync().ConfigureAwait(false);
        Interlocked.Increment(ref _commits);
    }

    private async Task SerializableAsync(NpgsqlConnection connection)
    {
        var (orderId, referrer) = Next();
        while (true)
        {
            await using var transaction = await connection.BeginTransactionAsync(System.Data.IsolationLevel.Serializable).ConfigureAwait(false);
            try
            {
                long version = await ReadAsync(connection, transaction, referrer, forUpdate: false).ConfigureAwait(false);
                if (!await WriteAsync(connection, transaction, orderId, referrer, version, savepoint: false).ConfigureAwait(false))
                {
                    throw new InvalidOperationException("The version moved under SERIALIZABLE without a serialization failure.");
                }
                await transaction.CommitAsync().ConfigureAwait(false);
                Interlocked.Increment(ref _commits);
                return;
            }
            catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.SerializationFailure or PostgresErrorCodes.DeadlockDetected)
            {
                // Disposing the transaction rolls it back (or finds it ended by the failed commit).
                Interlocked.Increment(ref _retries);
            }
        }
    }

    private static async Task<long> ReadAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string referrer, bool forUpdate)
    {
        await using var read = new NpgsqlCommand(
            forUpdate ? "SELECT version FROM summaries WHERE referrer = @referrer FOR UPDATE" : "SELECT version FROM summaries WHERE referrer = @referrer",
            connection, transaction);
        read.Parameters.AddWithValue("referrer", referrer);
        return (long)(await read.ExecuteScalarAsync().ConfigureAwait(false))!;
    }

    // One round trip: the order inserted and the summary updated if still at the version read; false when it was not.
    private static async Task<bool> WriteAsync(NpgsqlConnection connection, NpgsqlTransaction transaction, string orderId, string referrer, long version, bool savepoint)
    {
        await using var batch = new NpgsqlBatch(connection, transaction);
        if (savepoint)
        {
            batch.BatchCommands.Add(new NpgsqlBatchCommand("SAVEPOINT unit"));
        }
        var insert = new NpgsqlBatchCommand("INSERT INTO orders (order_id, referrer, amount) VALUES (@order_id, @referrer, 50)");
        insert.Parameters.AddWithValue("order_id", orderId);
        insert.Parameters.AddWithValue("referrer", referrer);
        batch.BatchCommands.Add(insert);
        var update = new NpgsqlBatchCommand("UPDATE summaries SET version = version + 1, orders = orders + 1, amount = amount + 50 WHERE referrer = @referrer AND version = @version");
        update.Parameters.AddWithValue("referrer", referrer);
        update.Parameters.AddWithValue("version", version);
        batch.BatchCommands.Add(update);
        await batch.ExecuteNonQueryAsync().ConfigureAwait(false);
        return update.RecordsAffected == 1;
    }

    // A new order id; the referrer spread by a multiplicative hash of the number, so concurrent callers overlap as chance has it.
    private (string OrderId, string Referrer) Next()
    {
        long n = Interlocked.Increment(ref _next);
        long r = (long)((ulong)(n * 2654435761L) % (ulong)Referrers);
        var inv = System.Globalization.CultureInfo.InvariantCulture;
        return ("o-" + n.ToString(inv), "r-" + r.ToString(inv));
    }

    private async Task Concurrently(Func<NpgsqlConnection, Task> transaction)
    {
        var tasks = new Task[Callers];
        for (int i = 0; i < Callers; i++)
        {
            var connection = _connections[i];
            tasks[i] = Task.Run(async () =>
            {
                for (int k = 0; k < PerCaller; k++)
                {
                    await transaction(connection).ConfigureAwait(false);
                }
            });
        }
        await Task.WhenAll(tasks).ConfigureAwait(false);
    }

    /// <summary>For the quick mode: <paramref name="count"/> transactions of one kind from <see cref="Callers"/> connections.</summary>
    public async Task RunAsync(string kind, int count)
    {
        for (int i = 0; i < count / (Callers * PerCaller); i++)
        {
            await (kind switch
            {
                "for-update" => ReadCommitted_ForUpdate(),
                "version-check" => ReadCommitted_VersionCheck(),
                "serializable" => Serializable_Retry(),
                _ => throw new ArgumentException($"Unknown kind '{kind}'.", nameof(kind)),
            }).ConfigureAwait(false);
        }
    }
}
