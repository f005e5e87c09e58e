using Referrals.Sqlite;
using Referrals.Storage;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// A session of the narrow store contract on SQLite: one <c>BEGIN IMMEDIATE</c> transaction, serialised with every other
/// writer of the file (other store instances and processes, this instance's old-interface writes), and one write of the
/// store for the file-identity checks and the checkpointer.
/// </summary>
public sealed class SqliteStoreSessionTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    private static SummaryRow Account(long version, string document = """{"v":1}""") => new(Program, new("ana"), "", version, document);

    [Fact]
    public async Task A_session_of_another_instance_on_the_file_waits_for_the_first_to_commit_then_sees_its_versions()
    {
        string path = _directory.NewDatabasePath();
        using var first = SqliteReferralStore.OpenFile(path);
        using var second = SqliteReferralStore.OpenFile(path); // as another process would
        IReferralStore a = first, b = second;

        var sessionA = await a.BeginAsync(Ct);
        Assert.Equal(WriteOutcome.Written, await sessionA.WriteAsync(new UnitOfWork(summaries: [Account(1)]), Ct));
        // Microsoft.Data.Sqlite waits for another connection's lock on the calling thread: the second begins on its own.
        var beginB = Task.Run(() => b.BeginAsync(Ct).AsTask(), Ct);
        await Task.Delay(300, Ct);
        Assert.False(beginB.IsCompleted); // BEGIN IMMEDIATE: the file's write lock is held by the first session
        await sessionA.CommitAsync(Ct);
        await sessionA.DisposeAsync();

        await using var sessionB = await beginB.WaitAsync(TimeSpan.FromSeconds(30), Ct);
        Assert.Equal(WriteOutcome.Conflict(RowKind.Summary, "ana/"), await sessionB.WriteAsync(new UnitOfWork(summaries: [Account(1)]), Ct));
        Assert.Equal(WriteOutcome.Written, await sessionB.WriteAsync(new UnitOfWork(summaries: [Account(2)]), Ct));
        await sessionB.CommitAsync(Ct);
        Assert.Equal(2, Assert.Single(await a.GetSummariesAsync(Program, new("ana"), [""], Ct)).Version);
    }

    [Fact]
    public async Task An_old_interface_write_of_the_same_instance_waits_for_an_open_session()
    {
        using var store = SqliteReferralStore.OpenFile(_directory.NewDatabasePath());
        IReferralStore contract = store;
        var session = await contract.BeginAsync(Ct);
        var write = store.TryAddTouchAsync(NewTouch("t-old", Start), Ct).AsTask();
        await Task.Delay(200, Ct);
        Assert.False(write.IsCompleted);
        await session.DisposeAsync(); // rolled back: the writer goes on
        Assert.True(await write.WaitAsync(TimeSpan.FromSeconds(30), Ct));
    }

    [Fact]
    public async Task A_session_whose_file_is_deleted_before_its_commit_fails_it_as_lost()
    {
        string path = _directory.NewDatabasePath();
        using var store = SqliteReferralStore.OpenFile(path);
        IReferralStore contract = store;
        await using var session = await contract.BeginAsync(Ct);
        Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(summaries: [Account(1)]), Ct));
        File.Delete(path);

        var lost = await Assert.ThrowsAsync<ReferralException>(() => session.CommitAsync(Ct).AsTask());
        Assert.Equal(ReferralErrorCode.StoreFileLost, lost.ErrorCode);
        var after = await Assert.ThrowsAsync<ReferralException>(() => contract.GetSummariesAsync(Program, new("ana"), [""], Ct).AsTask());
        Assert.Equal(ReferralErrorCode.StoreFileLost, after.ErrorCode);
    }

    [Fact]
    public async Task Committed_sessions_count_as_writes_for_the_checkpointer()
    {
        using var store = SqliteReferralStore.OpenFile(_directory.NewDatabasePath());
        IReferralStore contract = store;
        long before = store.Checkpoints;
        for (int i = 1; i <= SqliteReferralStore.CheckpointEveryWrites; i++)
        {
            await using var session = await contract.BeginAsync(Ct);
            Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(summaries: [Account(i)]), Ct));
            await session.CommitAsync(Ct);
        }
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(30));
        while (store.Checkpoints <= before)
        {
            await Task.Delay(5, timeout.Token);
        }
    }
}
