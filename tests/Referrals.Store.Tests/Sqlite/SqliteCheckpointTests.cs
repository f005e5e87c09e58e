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
            long done = store.Checkpoints;
            await WriteAsync(SqliteReferralStore.CheckpointEveryWrites);
            await WaitForCheckpointsAsync(store, done + 1);
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

        Assert.True(Log() < perWrite * Writes / 2, $"The write-ahead log holds {Log()} bytes after {Writes} writes of about {perWrite:F0} bytes each.");
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
        var rejected = await store.AddManyAsync(Enumerable.Range(0, 3_000).Select(i => Record(Code(i), owner: $"c-{i % 97}")).ToList(), Ct);
        Assert.Empty(rejected);
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
