using Microsoft.Data.Sqlite;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Sqlite;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// A full disk, for real (a small tmpfs filled to the last block): writes fail with SQLite's own error while it is full;
/// once space is back the store works again by itself, its log cut back, and everything it acknowledged is kept.
/// </summary>
public sealed class SqliteDiskFullTests
{
    // At most the frames one record's write adds to the log: 8 pages of 4,096 bytes with their 24-byte frame headers, and
    // the log's 32-byte header.
    private const long OneWriteFrames = 32 + (8 * (4096 + 24));

    private const int SqliteFull = 13;

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Once_space_is_back_after_a_full_disk_writes_succeed_again_without_a_restart_and_the_log_is_cut_back()
    {
        using var fileSystem = SmallFileSystem.Mount(megabytes: 16);
        if (fileSystem is null)
        {
            return; // ran, and passed, in a mount namespace of its own
        }
        string path = Path.Combine(fileSystem.Path, "referrals.db");
        long Log() => new FileInfo(path + "-wal").Length;
        // A log that starts over at 1 MB and whose file is kept to 2 MB (instead of 256 and 512 MB, more than this file
        // system holds).
        const long LogLimit = 2 << 20;
        var acknowledged = new List<ReferralCodeRecord>();
        int next = 0;
        var store = SqliteReferralStore.OpenWithLogBounds($"Data Source={path}", SqliteLogBounds.Default with { RestartLogBytes = LogLimit / 2, LogFileLimitBytes = LogLimit });
        try
        {
            // A shop's database of a few MB, then a disk that fills up.
            var imported = Enumerable.Range(0, 20_000).Select(NewRecord).ToList();
            Assert.True(await store.AddManyAsync(imported, Ct));
            acknowledged.AddRange(imported);
            next = imported.Count;
            await WriteUntilTheLogIsCutBackAsync(); // the import copied into the database file
            for (int i = 0; i < 200; i++)
            {
                // A shop's steady sales: the log's file grows to what a stream of writes keeps using.
                var record = NewRecord(next++);
                Assert.True(await store.TryAddAsync(record, Ct));
                acknowledged.Add(record);
            }
            string filler = fileSystem.Fill();

            // The shop keeps selling: writes fail (some may still fit in the log's file) with SQLite's error, never silently.
            int failures = 0;
            for (int attempt = 0; attempt < 5_000 && failures < 100; attempt++)
            {
                var record = NewRecord(next++);
                try
                {
                    Assert.True(await store.TryAddAsync(record, Ct));
                    acknowledged.Add(record);
                }
                catch (SqliteException e)
                {
                    Assert.Equal(SqliteFull, e.SqliteErrorCode);
                    failures++;
                }
            }
            Assert.Equal(100, failures);
            long logWhenFull = Log();

            // Space comes back: 4 MB of the 16. The store was not reopened. The first write copies the log into the
            // database file before it writes, so the space goes there first, and the write starts the log over: the log
            // did not grow into the space (which would leave the checkpoint none to grow the database file with).
            using (var stream = new FileStream(filler, FileMode.Open))
            {
                stream.SetLength(stream.Length - (4 << 20));
            }
            var firstBack = NewRecord(next++);
            Assert.True(await store.TryAddAsync(firstBack, Ct));
            acknowledged.Add(firstBack);
            // When the last failed write's checkpoint had emptied the log (logWhenFull 0), one write's own frames are all
            // it may hold: a log that had kept growing would hold the frames before it too.
            Assert.True(Log() <= Math.Max(logWhenFull, OneWriteFrames), $"The log file grew from {logWhenFull} to {Log()} bytes at the first write after the space came back.");

            // Every write from now on succeeds.
            for (int i = 0; i < 3_000; i++)
            {
                var record = NewRecord(next++);
                Assert.True(await store.TryAddAsync(record, Ct), $"Write {i} after the space came back was refused.");
                acknowledged.Add(record);
            }

            // The log is copied in a quiet moment; the next write starts it over and its file is cut back to the limit.
            await WriteUntilTheLogIsCutBackAsync();
        }
        finally
        {
            await store.DisposeAsync();
        }

        // Everything acknowledged, before, during and after the full disk, is in the file; nothing else is.
        await using var reopened = SqliteReferralStore.OpenFile(path);
        var listed = new List<ReferralCodeRecord>();
        await foreach (var record in reopened.ListAllAsync(Ct))
        {
            listed.Add(record);
        }
        Assert.Equal(acknowledged.Select(r => r.Code.Value).Order(StringComparer.Ordinal), listed.Select(r => r.Code.Value).Order(StringComparer.Ordinal));

        // A write now and then, as a quiet shop makes: the checkpointer copies the log meanwhile, and a write after that
        // starts it over, cutting its file back to the limit (within seconds).
        async Task WriteUntilTheLogIsCutBackAsync()
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            do
            {
                await Task.Delay(SqliteReferralStore.CheckpointAfterQuiet / 4, timeout.Token);
                var record = NewRecord(next++);
                Assert.True(await store.TryAddAsync(record, Ct));
                acknowledged.Add(record);
            }
            while (Log() > LogLimit);
        }
    }

    /// <summary>
    /// Sessions of the narrow store contract go through the same machinery: on a full disk a unit or its commit fails with
    /// SQLite's error and nothing of it is kept; once space is back the next session copies the log first and succeeds.
    /// </summary>
    [Fact]
    public async Task A_session_on_a_full_disk_fails_with_SQLITE_FULL_and_the_next_succeeds_once_space_is_back()
    {
        using var fileSystem = SmallFileSystem.Mount(megabytes: 16);
        if (fileSystem is null)
        {
            return; // ran, and passed, in a mount namespace of its own
        }
        string path = Path.Combine(fileSystem.Path, "referrals.db");
        const long LogLimit = 2 << 20;
        using var store = SqliteReferralStore.OpenWithLogBounds($"Data Source={path}", SqliteLogBounds.Default with { RestartLogBytes = LogLimit / 2, LogFileLimitBytes = LogLimit });
        Referrals.Storage.IReferralStore contract = store;
        string document = "{\"v\":1,\"pad\":\"" + new string('x', 3000) + "\"}";
        var acknowledged = new List<string>();
        string filler = fileSystem.Fill();

        int failures = 0;
        for (int n = 0; n < 5_000 && failures < 20; n++)
        {
            var participant = new ParticipantId($"p-{n}");
            try
            {
                await using var session = await contract.BeginAsync(Ct);
                var outcome = await session.WriteAsync(new Referrals.Storage.UnitOfWork(summaries: [new Referrals.Storage.SummaryRow(Program, participant, "", 1, document)]), Ct);
                Assert.Equal(Referrals.Storage.WriteOutcome.Written, outcome);
                await session.CommitAsync(Ct);
                acknowledged.Add(participant.Value);
            }
            catch (SqliteException e)
            {
                Assert.Equal(SqliteFull, e.SqliteErrorCode);
                failures++;
            }
        }
        Assert.Equal(20, failures);

        using (var stream = new FileStream(filler, FileMode.Open))
        {
            stream.SetLength(stream.Length - (4 << 20));
        }
        await using (var session = await contract.BeginAsync(Ct))
        {
            Assert.Equal(Referrals.Storage.WriteOutcome.Written, await session.WriteAsync(new Referrals.Storage.UnitOfWork(summaries: [new Referrals.Storage.SummaryRow(Program, new ParticipantId("back"), "", 1, document)]), Ct));
            await session.CommitAsync(Ct);
        }
        acknowledged.Add("back");
        foreach (var id in acknowledged)
        {
            Assert.Single(await contract.GetSummariesAsync(Program, new ParticipantId(id), [""], Ct));
        }
    }

    private static ReferralCodeRecord NewRecord(int n) => Record(Code(n), owner: $"c-{n % 997}");
}
