using Microsoft.Data.Sqlite;
using Referrals.Codes;
using Referrals.Sqlite;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>Checkpoints run in the background, off the commit path, and keep the write-ahead log bounded.</summary>
public sealed class SqliteCheckpointTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task The_background_checkpoints_let_the_log_start_over_so_it_stops_growing()
    {
        string path = _directory.NewDatabasePath();
        await using var store = SqliteReferralStore.OpenFile(path);
        int next = 0;

        // A first burst: the log grows while the checkpointer catches up.
        long before = store.Checkpoints;
        await WriteAsync(20 * SqliteReferralStore.CheckpointEveryWrites);
        await WaitForCheckpointsAsync(store, before + 1);
        long afterFirst = new FileInfo(path + "-wal").Length;

        // As much again, with other work between commits as a shop has: the log is copied in the background and started
        // over, so its file does not grow by another burst's worth.
        for (int round = 0; round < 20; round++)
        {
            long done = store.LogRestarts;
            await WriteAsync(SqliteReferralStore.CheckpointEveryWrites);
            await WaitForLogRestartsAsync(store, done + 1);
        }
        long afterSecond = new FileInfo(path + "-wal").Length;

        Assert.True(afterSecond < afterFirst + afterFirst / 2, $"The write-ahead log grew from {afterFirst} to {afterSecond} bytes.");
        Assert.Equal(next, await store.GetChangePositionAsync(Ct));
        Assert.NotNull(await store.FindAsync(Code(next - 1), Ct));

        async Task WriteAsync(int count)
        {
            for (int i = 0; i < count; i++, next++)
            {
                Assert.True(await store.TryAddAsync(Record(Code(next), owner: $"c-{next % 97}"), Ct));
            }
        }
    }

    /// <summary>
    /// Waits until the checkpointer has copied the whole log under the write gate <paramref name="count"/> times in all, so
    /// the next write starts the log over (fails after 30 seconds: a reader that pins the log keeps this from happening).
    /// When the gate was taken at the checkpoint after a burst, this happens at the next quiet pass, within a second.
    /// </summary>
    private static async Task WaitForLogRestartsAsync(SqliteReferralStore store, long count)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (store.LogRestarts < count)
        {
            await Task.Delay(5, timeout.Token);
        }
    }

    /// <summary>Waits until the store has run <paramref name="count"/> checkpoints in all (fails after 30 seconds).</summary>
    private static async Task WaitForCheckpointsAsync(SqliteReferralStore store, long count)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (store.Checkpoints < count)
        {
            await Task.Delay(5, timeout.Token);
        }
    }

    [Fact]
    public async Task Under_a_steady_stream_of_writes_the_log_still_starts_over()
    {
        string path = _directory.NewDatabasePath();
        await using var store = SqliteReferralStore.OpenFile(path);
        long Log() => new FileInfo(path + "-wal").Length;

        // What one write adds to the log, before the first checkpoint.
        long start = Log();
        const int Sample = 48;
        for (int i = 0; i < Sample; i++)
        {
            Assert.True(await store.TryAddAsync(Record(Code(i), owner: $"c-{i % 97}"), Ct));
        }
        double perWrite = (Log() - start) / (double)Sample;

        // Then writes back to back, with nothing between them: a log that never started over would hold all of them.
        const int Writes = 4 * SqliteReferralStore.RestartLogAfterWrites;
        for (int i = Sample; i < Sample + Writes; i++)
        {
            Assert.True(await store.TryAddAsync(Record(Code(i), owner: $"c-{i % 97}"), Ct));
        }

        // Writers start it over themselves after 2 × RestartLogAfterWrites (half of these) should the checkpointer fall
        // behind (a loaded machine): three quarters of all of them is the bound a log that starts over stays under.
        Assert.True(Log() < perWrite * Writes * 3 / 4, $"The write-ahead log holds {Log()} bytes after {Writes} writes of about {perWrite:F0} bytes each.");
        Assert.NotNull(await store.FindAsync(Code(Sample + Writes - 1), Ct));
    }

    [Fact]
    public async Task A_bulk_import_and_then_quiet_is_copied_to_the_database_file_and_the_log_starts_over()
    {
        string path = _directory.NewDatabasePath();
        await using var store = SqliteReferralStore.OpenFile(path);
        long Log() => new FileInfo(path + "-wal").Length;
        long Database() => new FileInfo(path).Length;

        // One write of many rows, far fewer writes than wake the checkpointer by count, then nothing.
        long checkpoints = store.Checkpoints;
        long databaseBefore = Database();
        Assert.True(await store.AddManyAsync(Enumerable.Range(0, 3_000).Select(i => Record(Code(i), owner: $"c-{i % 97}")).ToList(), Ct));
        long logAfterImport = Log();

        await WaitForCheckpointsAsync(store, checkpoints + 1);

        // The import is in the database file now, and the log is reused from its start: more writes do not make it longer.
        Assert.True(Database() > databaseBefore + logAfterImport / 2, $"The database file has {Database()} bytes after the checkpoint; the import wrote {logAfterImport} bytes of log.");
        for (int i = 3_000; i < 3_010; i++)
        {
            Assert.True(await store.TryAddAsync(Record(Code(i)), Ct));
        }
        Assert.Equal(logAfterImport, Log());
        Assert.NotNull(await store.FindAsync(Code(3_009), Ct));
    }

    [Fact]
    public async Task A_slow_consumer_of_ListAllAsync_does_not_keep_the_log_from_starting_over()
    {
        string path = _directory.NewDatabasePath();
        await using var store = SqliteReferralStore.OpenFile(path);
        long Log() => new FileInfo(path + "-wal").Length;
        const int Codes = 3 * StoreCalls.ListAllPageSize + 10;
        Assert.True(await store.AddManyAsync(Enumerable.Range(0, Codes).Select(i => Record(Code(i), owner: $"c-{i % 97}")).ToList(), Ct));
        int next = Codes;

        // An index load that reads one code, then waits (a slow consumer, a long pause of the host) while the shop writes.
        var listed = new List<ReferralCodeRecord>();
        var enumerator = store.ListAllAsync(Ct).GetAsyncEnumerator(Ct);
        await using (enumerator.ConfigureAwait(false))
        {
            Assert.True(await enumerator.MoveNextAsync());
            listed.Add(enumerator.Current);

            long before = store.Checkpoints;
            await WriteAsync(20 * SqliteReferralStore.CheckpointEveryWrites);
            await WaitForCheckpointsAsync(store, before + 1);
            long afterFirst = Log();
            for (int round = 0; round < 20; round++)
            {
                long done = store.LogRestarts;
                await WriteAsync(SqliteReferralStore.CheckpointEveryWrites);
                await WaitForLogRestartsAsync(store, done + 1);
            }

            // The enumeration held no snapshot meanwhile, so the log was copied and started over as without it.
            Assert.True(Log() < afterFirst + afterFirst / 2, $"The write-ahead log grew from {afterFirst} to {Log()} bytes while the enumeration waited.");

            while (await enumerator.MoveNextAsync())
            {
                listed.Add(enumerator.Current);
            }
        }
        // Each code that existed throughout was listed once (codes written meanwhile may or may not be).
        var counts = listed.GroupBy(r => r.Code.Value, StringComparer.Ordinal).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        Assert.All(Enumerable.Range(0, Codes), i => Assert.Equal(1, counts[Code(i).Value]));
        Assert.All(counts.Values, c => Assert.Equal(1, c));

        async Task WriteAsync(int count)
        {
            for (int i = 0; i < count; i++, next++)
            {
                Assert.True(await store.TryAddAsync(Record(Code(next), owner: $"c-{next % 97}"), Ct));
            }
        }
    }

    [Fact]
    public async Task A_long_read_on_the_file_cannot_grow_the_log_past_its_bound_writes_are_refused_until_it_ends()
    {
        string path = _directory.NewDatabasePath();
        // A bound of 4 MB (1,024 pages) instead of 1 GB, so the test can reach it.
        var bounds = new SqliteLogBounds(RestartLogBytes: 256 << 10, LogFileLimitBytes: 256 << 10, MaxLogBytes: 4 << 20);
        await using var store = SqliteReferralStore.OpenWithLogBounds($"Data Source={path}", bounds);
        long Log() => new FileInfo(path + "-wal").Length;
        Assert.True(await store.TryAddAsync(Record(Code(0)), Ct));
        int next = 1;

        // A host's own long read on the file (a report, an export): its snapshot keeps the log from being copied past it.
        using (var reader = new SqliteConnection($"Data Source={path}"))
        {
            reader.Open();
            using var read = reader.BeginTransaction(deferred: true);
            using (var count = reader.CreateCommand())
            {
                count.CommandText = "SELECT count(*) FROM codes;";
                Assert.Equal(1L, count.ExecuteScalar());
            }

            ReferralException? refused = null;
            for (int attempt = 0; attempt < 20_000 && refused is null; attempt++)
            {
                try
                {
                    Assert.True(await store.TryAddAsync(Record(Code(next), owner: $"c-{next % 97}"), Ct));
                    next++;
                }
                catch (ReferralException e)
                {
                    refused = e;
                }
            }
            Assert.NotNull(refused);
            Assert.Equal(ReferralErrorCode.StoreLogFull, refused.ErrorCode);
            Assert.Contains(path, refused.Message, StringComparison.Ordinal);
            // Bounded: the bound, plus the one write that crossed it (a few pages; the writer learns the log's size at each
            // commit, so the next write is the one refused).
            long frameBytes = 4096 + 24;
            Assert.True(Log() <= (bounds.MaxLogBytes / 4096 + 16) * frameBytes + 32, $"The log file has {Log()} bytes; its bound is {bounds.MaxLogBytes}.");
            // Refused while the read lasts, nothing written.
            await Assert.ThrowsAsync<ReferralException>(async () => await store.TryAddAsync(Record(Code(next)), Ct));
            Assert.Null(await store.FindAsync(Code(next), Ct));
        }

        // The read ended: the next write copies the log, starts it over and cuts its file back to the limit.
        Assert.True(await store.TryAddAsync(Record(Code(next)), Ct));
        Assert.True(Log() <= bounds.LogFileLimitBytes, $"The log file has {Log()} bytes after the read ended; its limit is {bounds.LogFileLimitBytes}.");
        Assert.Equal(next + 1, await store.GetChangePositionAsync(Ct));
    }

    [Fact]
    public async Task A_log_grown_far_past_its_bound_is_cut_to_nothing_once_copied_without_waiting_for_a_write()
    {
        string path = _directory.NewDatabasePath();
        var bounds = new SqliteLogBounds(RestartLogBytes: 256 << 10, LogFileLimitBytes: 2 << 20, MaxLogBytes: 4 << 20);
        await using var store = SqliteReferralStore.OpenWithLogBounds($"Data Source={path}", bounds);
        long Log() => new FileInfo(path + "-wal").Length;

        // One large write (a bulk import) grows the log far past what a steady stream leaves; then the shop is quiet.
        Assert.True(await store.AddManyAsync(Enumerable.Range(0, 20_000).Select(i => Record(Code(i), owner: $"c-{i % 97}")).ToList(), Ct));
        Assert.True(Log() > bounds.LogFileLimitBytes, $"The import wrote only {Log()} bytes of log.");

        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        while (Log() > 0)
        {
            await Task.Delay(20, timeout.Token);
        }
        Assert.Equal(20_000, await store.GetChangePositionAsync(Ct));
    }

    [Fact]
    public async Task A_reopened_file_holds_every_commit_made_between_checkpoints()
    {
        string path = _directory.NewDatabasePath();
        int writes = SqliteReferralStore.CheckpointEveryWrites + 7; // some commits after the last checkpoint signal
        await using (var store = SqliteReferralStore.OpenFile(path))
        {
            for (int i = 0; i < writes; i++)
            {
                Assert.True(await store.TryAddAsync(Record(Code(i)), Ct));
            }
        }

        await using var reopened = SqliteReferralStore.OpenFile(path);
        Assert.Equal(writes, await reopened.GetChangePositionAsync(Ct));
        Assert.NotNull(await reopened.FindAsync(Code(writes - 1), Ct));
    }
}
