using System.Globalization;
using Microsoft.Data.Sqlite;
using Referrals.Sqlite;
using Referrals.Storage;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// The database file deleted, renamed or replaced while the store has it open: no write is acknowledged after that; the
/// store fails every operation with <see cref="ReferralErrorCode.StoreFileLost"/>, naming the file, and leaves whatever is
/// at the path alone.
/// </summary>
public sealed class SqliteFileLossTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData("Data Source={0}")]
    [InlineData("Data Source=file:{0}?mode=rwc")]
    public async Task A_write_after_the_file_was_deleted_fails_and_so_does_every_operation_after_it(string connectionString)
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Windows does not let an open database file be deleted.");
        string path = _directory.NewDatabasePath();
        await using var store = SqliteReferralStore.Open(string.Format(CultureInfo.InvariantCulture, connectionString, path));
        for (int i = 0; i < 10; i++)
        {
            Assert.True(await store.TryAddAsync(Record(Code(i)), Ct));
        }

        File.Delete(path); // as `rm referrals.db` would, leaving the log and its index beside it

        var lost = await Assert.ThrowsAsync<ReferralException>(async () => await store.TryAddAsync(Record(Code(10)), Ct));
        Assert.Equal(ReferralErrorCode.StoreFileLost, lost.ErrorCode);
        Assert.Contains(path, lost.Message, StringComparison.Ordinal);
        // Every write and read after it, the conversion's unit of work included.
        await AssertLostAsync(async () => await store.TryAddAsync(Record(Code(11)), Ct));
        await AssertLostAsync(async () => await ((IReferralStore)store).BeginAsync(Ct));
        await AssertLostAsync(async () => await store.FindAsync(Code(1), Ct));
        await AssertLostAsync(async () => await store.GetChangePositionAsync(Ct));
        // Nothing was created in the deleted file's place: an empty database there would hide that it is gone.
        Assert.False(File.Exists(path));
    }

    [Fact]
    public async Task A_write_after_another_database_was_moved_over_the_file_fails_and_leaves_that_database_as_it_was()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Windows does not let an open database file be replaced.");
        string path = _directory.NewDatabasePath();
        string replacement = _directory.NewDatabasePath("replacement");
        await using (var other = SqliteReferralStore.OpenFile(replacement))
        {
            Assert.True(await other.TryAddAsync(Record(Code("THEIRS1")), Ct));
        }
        var store = SqliteReferralStore.OpenFile(path);
        try
        {
            for (int i = 0; i < 10; i++)
            {
                Assert.True(await store.TryAddAsync(Record(Code(i)), Ct));
            }

            File.Move(replacement, path, overwrite: true); // rename(2) over the open file, as `mv` would

            var lost = await Assert.ThrowsAsync<ReferralException>(async () => await store.TryAddAsync(Record(Code(10)), Ct));
            Assert.Equal(ReferralErrorCode.StoreFileLost, lost.ErrorCode);
            await AssertLostAsync(async () => await store.TryAddAsync(Record(Code("MINE1")), Ct));
            await AssertLostAsync(async () => await store.FindAsync(Code("THEIRS1"), Ct));
        }
        finally
        {
            await store.DisposeAsync();
        }

        // The database now at the path is the replacement, whole: none of this store's pages were laid over it (its log
        // at the path was emptied, not left to be taken for the replacement's).
        await using var reopened = SqliteReferralStore.OpenFile(path);
        Assert.NotNull(await reopened.FindAsync(Code("THEIRS1"), Ct));
        Assert.Null(await reopened.FindAsync(Code(0), Ct));
        Assert.Null(await reopened.FindAsync(Code(10), Ct));
        Assert.Equal(1, await reopened.GetChangePositionAsync(Ct));
        Assert.Equal("ok", IntegrityCheck(path));
    }

    [Fact]
    public async Task A_file_renamed_away_keeps_every_write_acknowledged_before_and_none_after()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Windows does not let an open database file be renamed.");
        string path = _directory.NewDatabasePath();
        string movedTo = path + ".moved";
        var store = SqliteReferralStore.OpenFile(path);
        try
        {
            for (int i = 0; i < 10; i++)
            {
                Assert.True(await store.TryAddAsync(Record(Code(i)), Ct));
            }

            File.Move(path, movedTo);

            await AssertLostAsync(async () => await store.TryAddAsync(Record(Code(10)), Ct));
        }
        finally
        {
            await store.DisposeAsync();
        }

        // The renamed file holds the ten acknowledged writes by itself (its log stayed at the old path, by name): the store
        // copied its log into it, and the log left at the old path is empty.
        Assert.Equal(0, new FileInfo(path + "-wal").Length);
        await using var reopened = SqliteReferralStore.OpenFile(movedTo);
        Assert.Equal(10, await reopened.GetChangePositionAsync(Ct));
        Assert.NotNull(await reopened.FindAsync(Code(9), Ct));
        Assert.Null(await reopened.FindAsync(Code(10), Ct));
    }

    [Fact]
    public async Task A_file_replaced_while_the_store_is_quiet_is_noticed_within_seconds_and_reads_then_fail_too()
    {
        Assert.SkipWhen(OperatingSystem.IsWindows(), "Windows does not let an open database file be replaced.");
        string path = _directory.NewDatabasePath();
        string replacement = _directory.NewDatabasePath("replacement");
        await using (var other = SqliteReferralStore.OpenFile(replacement))
        {
            Assert.True(await other.TryAddAsync(Record(Code("THEIRS1")), Ct));
        }
        await using var store = SqliteReferralStore.OpenFile(path);
        Assert.True(await store.TryAddAsync(Record(Code("MINE1")), Ct));
        Assert.NotNull(await store.FindAsync(Code("MINE1"), Ct)); // the reads below reuse this read's open connection

        File.Move(replacement, path, overwrite: true);

        // No write comes; reads go on. Until the store notices, they answer from the file it opened (never from the
        // replacement); then they fail.
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        timeout.CancelAfter(TimeSpan.FromSeconds(10));
        ReferralException? lost = null;
        while (lost is null)
        {
            try
            {
                Assert.Null(await store.FindAsync(Code("THEIRS1"), timeout.Token));
                Assert.NotNull(await store.FindAsync(Code("MINE1"), timeout.Token));
                await Task.Delay(20, timeout.Token);
            }
            catch (ReferralException e)
            {
                lost = e;
            }
        }
        Assert.Equal(ReferralErrorCode.StoreFileLost, lost.ErrorCode);
    }

    private static async Task AssertLostAsync(Func<Task> operation)
    {
        var e = await Assert.ThrowsAsync<ReferralException>(operation);
        Assert.Equal(ReferralErrorCode.StoreFileLost, e.ErrorCode);
    }

    private static string? IntegrityCheck(string path)
    {
        using var connection = new SqliteConnection($"Data Source={path};Pooling=False");
        connection.Open();
        using var command = connection.CreateCommand();
        command.CommandText = "PRAGMA integrity_check;";
        return command.ExecuteScalar() as string;
    }
}
