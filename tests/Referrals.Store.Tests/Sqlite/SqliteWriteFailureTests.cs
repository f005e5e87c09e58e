using Microsoft.Data.Sqlite;
using Referrals.Rewards;
using Referrals.Sqlite;
using Referrals.Storage;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Contracts.RewardStoreContract;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// A reward commit checks everything before it writes, then writes rows that cannot refuse; inside a store transaction it
/// has no savepoint of its own. These tests make a write fail after the first rows are written (a trigger in the file that
/// aborts one entry's insert, standing in for an I/O error) and check that nothing half-written is ever committed.
/// </summary>
public sealed class SqliteWriteFailureTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task A_commit_that_fails_after_its_first_writes_leaves_nothing_on_its_own()
    {
        string path = _directory.NewDatabasePath();
        await using var store = SqliteReferralStore.OpenFile(path);
        AbortInsertOf(path, "boom");

        var commit = Commit([Entry("fine", "r-1", Start), Entry("boom", "r-2", Start)], (Ana, 0)) with { Decision = Decision("o-1", Ana) };
        await Assert.ThrowsAsync<SqliteException>(async () => await store.TryCommitAsync(commit, Ct));

        await AssertNothingOfTheCommitAsync(store);
        // The store goes on: a commit without the failing entry is written.
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit([Entry("fine", "r-1", Start)], (Ana, 0)), Ct));
    }

    [Fact]
    public async Task Inside_a_store_transaction_a_commit_that_fails_part_way_dooms_the_whole_transaction_even_when_the_work_goes_on()
    {
        string path = _directory.NewDatabasePath();
        await using var store = SqliteReferralStore.OpenFile(path);
        AbortInsertOf(path, "boom");

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(async () => await store.RunInTransactionAsync(store, static async (s, ct) =>
        {
            Assert.True(await s.TryAddConversionAsync(NewOrder("o-1", "bea", Start), ct));
            var commit = Commit([Entry("fine", "r-1", Start), Entry("boom", "r-2", Start)], (Ana, 0)) with { Decision = Decision("o-1", Ana) };
            // The work catches the write's failure and carries on; the half-written commit must still never be committed.
            await Assert.ThrowsAsync<SqliteException>(async () => await s.TryCommitAsync(commit, ct));
            return true;
        }, Ct));
        Assert.Contains("rolled back", thrown.Message, StringComparison.Ordinal);

        await AssertNothingOfTheCommitAsync(store);
        Assert.Null(await store.FindConversionAsync(Program, "o-1", Ct)); // the transaction's earlier write went with it
    }

    [Fact]
    public async Task Inside_a_store_transaction_a_refused_commit_leaves_the_earlier_writes_and_the_transaction_commits()
    {
        string path = _directory.NewDatabasePath();
        await using var store = SqliteReferralStore.OpenFile(path);

        await store.RunInTransactionAsync(store, static async (s, ct) =>
        {
            Assert.True(await s.TryAddConversionAsync(NewOrder("o-1", "bea", Start), ct));
            Assert.Equal(RewardCommitOutcome.Committed, await s.TryCommitAsync(Commit([Entry("e-1", "r-1", Start)], (Ana, 0)), ct));
            // Refused at the check, before any write: nothing to undo, and the transaction is not doomed.
            Assert.Equal(RewardCommitOutcome.Conflict, await s.TryCommitAsync(Commit([Entry("e-2", "r-2", Start)], (Ana, 0)), ct));
            Assert.Equal(RewardCommitOutcome.Duplicate, await s.TryCommitAsync(Commit([Entry("e-1", "r-1", Start)], (Ana, 1)), ct));
            return true;
        }, Ct);

        Assert.NotNull(await store.FindConversionAsync(Program, "o-1", Ct));
        var ana = await store.LoadAccountAsync(Program, Ana, Ct);
        Assert.Equal(1, ana.Version);
        Assert.Equal(["e-1"], ana.Entries.Select(e => e.EntryId));
    }

    private static async Task AssertNothingOfTheCommitAsync(SqliteReferralStore store)
    {
        var ana = await store.LoadAccountAsync(Program, Ana, Ct);
        Assert.Equal(0, ana.Version);
        Assert.Empty(ana.Entries);
        Assert.Null(await store.FindDecisionAsync(Program, "o-1", Ct));
        Assert.Empty(await store.ListOpenEntriesAsync(Program, Ct));
    }

    /// <summary>A trigger in the file that aborts the insert of the ledger entry with this id.</summary>
    private static void AbortInsertOf(string path, string entryId)
    {
        using var connection = new SqliteConnection($"Data Source={path}");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = $"""
            CREATE TRIGGER test_abort_entry BEFORE INSERT ON reward_entries WHEN NEW.entry_id = '{entryId}'
            BEGIN SELECT RAISE(ABORT, 'test: this entry fails'); END;
            """;
        command.ExecuteNonQuery();
    }
}
