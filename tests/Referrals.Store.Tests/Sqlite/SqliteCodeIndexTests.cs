using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NodaTime.Testing;
using Referrals.Codes;
using Referrals.Programs;
using Referrals.Services;
using Referrals.Sqlite;
using Referrals.Storage;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// The in-memory code index over a SQLite file that two processes share (two store instances on one file stand for
/// them): loaded at start, current at once with its own writes, caught up with the other's by a refresh.
/// </summary>
public sealed class SqliteCodeIndexTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    private static ReferralCodeService Codes(SqliteReferralStore store)
    {
        var options = new ReferralsOptions();
        options.Links.Template = "https://shop.example/r/{code}";
        options.Programs[Program.Value] = new ProgramOptions { TimeZone = "Europe/Berlin" };
        return new ReferralCodeService(store, options, new FakeClock(Start));
    }

    [Fact]
    public async Task Bulk_codes_drawn_twice_or_held_already_are_drawn_again_and_each_yielded_record_is_the_one_in_the_file()
    {
        // 5 symbols (25 bits): 40,000 codes over 2,000 held draw codes twice within a chunk of 32,768 and codes the file
        // holds, so the store refuses rows of a bulk unit and the chunk draws them again.
        string path = _directory.NewDatabasePath();
        await using var store = SqliteReferralStore.OpenFile(path);
        var options = new ReferralsOptions();
        options.Codes.Length = 5;
        options.Codes.Prefix = "SHOP";
        options.Programs[Program.Value] = new ProgramOptions { TimeZone = "Europe/Berlin" };
        var codes = new ReferralCodeService(store, options, new FakeClock(Start));
        var held = new HashSet<string>(StringComparer.Ordinal);
        for (int i = 0; i < 2_000; i++)
        {
            held.Add((await codes.IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId($"c-{i}"), Medium = ShareMedium.Sms }, Ct)).Code.Value);
        }
        var request = new CodeRequest { Program = Program, Medium = ShareMedium.Receipt, Prefix = "SHOP", MaxUses = 3 };
        var batch = new List<ReferralCodeRecord>();
        await foreach (var record in codes.GenerateBulkAsync(request, 40_000, Ct))
        {
            batch.Add(record);
        }
        Assert.Equal(40_000, batch.Count);
        Assert.Equal(40_000, batch.Select(r => r.Code.Value).Distinct(StringComparer.Ordinal).Count());
        Assert.DoesNotContain(batch, r => held.Contains(r.Code.Value));
        foreach (var record in batch.Where((_, i) => i % 97 == 0).Append(batch[^1]))
        {
            Assert.Equal(record, await codes.FindAsync(record.Code, Ct)); // the very fields, display and instant included
            Assert.StartsWith("SHOP-", record.Display, StringComparison.Ordinal);
            var resolved = codes.Resolve(record.Display);
            Assert.Equal(CodeResolutionOutcome.Found, resolved.Outcome);
            Assert.Equal(record.Display, resolved.Display);
        }
        await using var connection = new SqliteConnection($"Data Source={path}");
        await connection.OpenAsync(Ct);
        await using var count = connection.CreateCommand();
        count.CommandText = "SELECT count(*) FROM codes;";
        Assert.Equal(42_000L, (long)(await count.ExecuteScalarAsync(Ct))!);
    }

    [Fact]
    public async Task The_fast_start_from_the_file_resolves_every_code_as_the_process_that_wrote_them_does()
    {
        string path = _directory.NewDatabasePath();
        await using var storeA = SqliteReferralStore.OpenFile(path);
        var writer = Codes(storeA);
        var request = new CodeRequest { Program = Program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Receipt };
        var issued = new List<ReferralCodeRecord>
        {
            await writer.IssueAsync(request, Ct),
            await writer.IssueAsync(request with { Owner = new ParticipantId("bea"), Medium = ShareMedium.Email, ExpiresAt = Start + NodaTime.Duration.FromDays(30), MaxUses = 5 }, Ct),
            await writer.IssueAsync(request with { Owner = new ParticipantId("cem"), ExpiresAt = Start - NodaTime.Duration.FromDays(1) }, Ct),
            (await writer.IssueVanityAsync("Jane 20", request with { Owner = new ParticipantId("jane") }, Ct)).Record!,
            (await writer.IssueVanityAsync("Louise-Summer", request with { Owner = new ParticipantId("louise") }, Ct)).Record!, // a U: held whole
        };
        await foreach (var bulk in writer.GenerateBulkAsync(new CodeRequest { Program = Program, Medium = ShareMedium.Card }, 50, Ct))
        {
            issued.Add(bulk);
        }
        await writer.PauseAsync(issued[0].Code, Ct);
        await writer.RevokeAsync(issued[^1].Code, Ct);
        await writer.AssignAsync(issued[^2].Code, new ParticipantId("dan"), Ct);

        await using var storeB = SqliteReferralStore.OpenFile(path);
        var reader = Codes(storeB);
        await reader.InitializeAsync(Ct);

        Assert.Equal(issued.Count, reader.IndexedCount);
        foreach (var record in issued)
        {
            var expected = writer.Resolve(record.Display);
            var loaded = reader.Resolve(record.Display);
            Assert.Equal(CodeResolutionOutcome.Found, loaded.Outcome);
            Assert.Equal((expected.Code, expected.Display, expected.Program, expected.Owner, expected.Medium, expected.State), (loaded.Code, loaded.Display, loaded.Program, loaded.Owner, loaded.Medium, loaded.State));
        }

        // A change after the snapshot is read by the next refresh, from the snapshot's feed position: nothing missed, nothing twice.
        var late = await writer.IssueAsync(request with { Owner = new ParticipantId("eve") }, Ct);
        await writer.ResumeAsync(issued[0].Code, Ct);
        Assert.Equal(2, await reader.RefreshAsync(Ct));
        Assert.Equal(new ParticipantId("eve"), reader.Resolve(late.Display).Owner);
        Assert.True(reader.Resolve(issued[0].Display).IsUsable);
    }

    [Fact]
    public async Task Loading_the_index_leaves_no_statement_prepared_on_the_connection_it_read_with()
    {
        // A statement left prepared (a command never disposed) keeps its connection from closing when the store is
        // disposed, until the garbage collector finalizes it: the write-ahead log then outlives the store, for a time.
        string path = _directory.NewDatabasePath();
        await using (var writer = SqliteReferralStore.OpenFile(path))
        {
            await Codes(writer).IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Receipt }, Ct);
        }
        await using var store = SqliteReferralStore.OpenFile(path);
        var (position, rows) = await store.ReadCodeIndexForTestsAsync(Ct);
        Assert.Equal((1, 1), (position, rows));
        var connection = Assert.Single(store.IdleReaderConnections());
        Assert.Null(SQLitePCL.raw.sqlite3_next_stmt(connection.Handle, null));
    }

    [Fact]
    public async Task A_hand_edited_code_row_the_index_cannot_take_is_named_at_start()
    {
        string path = _directory.NewDatabasePath();
        await using (var writer = SqliteReferralStore.OpenFile(path))
        {
            await Codes(writer).IssueVanityAsync("Louise-Summer", new CodeRequest { Program = Program, Owner = new ParticipantId("louise"), Medium = ShareMedium.Social }, Ct);
        }
        SqliteConnection.ClearAllPools();
        await using (var edit = new SqliteConnection($"Data Source={path}"))
        {
            await edit.OpenAsync(Ct);
            await using var command = edit.CreateCommand();
            command.CommandText = "UPDATE codes SET program = '';";
            Assert.Equal(1, await command.ExecuteNonQueryAsync(Ct));
        }
        SqliteConnection.ClearAllPools();

        await using var store = SqliteReferralStore.OpenFile(path);
        var e = await Assert.ThrowsAsync<InvalidDataException>(async () => await Codes(store).InitializeAsync(Ct));
        Assert.Contains("'codes'", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Codes_issued_and_paused_by_another_process_resolve_here_after_a_refresh()
    {
        string path = _directory.NewDatabasePath();
        await using var storeA = SqliteReferralStore.OpenFile(path);
        await using var storeB = SqliteReferralStore.OpenFile(path);
        var till = Codes(storeA);
        var backOffice = Codes(storeB);
        var early = await backOffice.IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Receipt }, Ct);
        await till.InitializeAsync(Ct);
        Assert.Equal(CodeResolutionOutcome.Found, till.Resolve(early.Display).Outcome);

        // The back office issues a code and pauses the early one: the till does not know yet...
        var late = await backOffice.IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId("bea"), Medium = ShareMedium.Email }, Ct);
        await backOffice.PauseAsync(early.Code, Ct);
        Assert.Equal(CodeResolutionOutcome.NotFound, till.Resolve(late.Display).Outcome);
        Assert.True(till.Resolve(early.Display).IsUsable);

        // ...until its refresh reads the two changes.
        Assert.Equal(2, await till.RefreshAsync(Ct));

        Assert.Equal(CodeResolutionOutcome.Found, till.Resolve(late.Display).Outcome);
        Assert.Equal(new ParticipantId("bea"), till.Resolve(late.Display).Owner);
        Assert.Equal(CodeState.Paused, till.Resolve(early.Display).State);
        Assert.False(till.Resolve(early.Display).IsUsable);
        Assert.Equal(0, await till.RefreshAsync(Ct));
        // The till's own write is in its index at once, and the back office catches up with it the same way.
        var own = await till.IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId("cem"), Medium = ShareMedium.Card }, Ct);
        Assert.Equal(CodeResolutionOutcome.Found, till.Resolve(own.Display).Outcome);
        Assert.Equal(CodeResolutionOutcome.NotFound, backOffice.Resolve(own.Display).Outcome);
        Assert.True(await backOffice.RefreshAsync(Ct) >= 1);
        Assert.Equal(CodeResolutionOutcome.Found, backOffice.Resolve(own.Display).Outcome);
    }

    [Fact]
    public async Task The_change_feed_lists_each_code_once_at_its_latest_change_in_commit_order()
    {
        await using var store = SqliteReferralStore.OpenFile(_directory.NewDatabasePath());
        IReferralStore feed = store;
        Assert.Equal(0, await store.GetChangePositionAsync(Ct));

        Assert.True(await store.TryAddAsync(Record(Code(1)), Ct));
        Assert.True(await store.AddManyAsync([Record(Code(2)), Record(Code(3))], Ct));
        Assert.False(await store.TryAddAsync(Record(Code(2)), Ct)); // refused: no change, no position
        Assert.Equal(3, await store.GetChangePositionAsync(Ct));
        Assert.True(await store.TryUpdateAsync(Changed(Record(Code(1)), version: 2, status: CodeStatus.Revoked), Ct));
        Assert.False(await store.TryUpdateAsync(Changed(Record(Code(3)), version: 9), Ct)); // not the next version: no change

        var changes = await feed.ListCodeChangesAsync(0, 10, Ct);
        Assert.Equal([(2L, Code(2)), (3L, Code(3)), (4L, Code(1))], changes.Select(c => (c.Position, c.Record.Code)));
        Assert.Equal(CodeStatus.Revoked, changes[^1].Record.Status);
        Assert.Equal([Code(3)], (await feed.ListCodeChangesAsync(2, 1, Ct)).Select(c => c.Record.Code));
        Assert.Empty(await feed.ListCodeChangesAsync(4, 10, Ct));
        Assert.Equal(4, await store.GetChangePositionAsync(Ct));
    }

    [Fact]
    public async Task A_file_of_schema_version_1_gets_change_positions_for_its_codes_when_opened()
    {
        string path = _directory.NewDatabasePath();
        var connectionString = new SqliteConnectionStringBuilder { DataSource = path }.ConnectionString;
        using (var connection = new SqliteConnection(connectionString))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            // Version 1 as an earlier library left it, with two codes.
            command.CommandText = $"""
                CREATE TABLE schema_migrations (version INTEGER NOT NULL PRIMARY KEY, description TEXT NOT NULL, applied_at TEXT NOT NULL) STRICT;
                {SqliteSchema.Migrations[0].Sql}
                INSERT INTO schema_migrations VALUES (1, 'v1', '2026-11-01T00:00:00Z');
                INSERT INTO codes (code, display, program, owner, medium, kind, status, created_at, uses, version)
                VALUES ('T000002X', 'T000002X', 'customers', 'c-1', 1, 1, 1, 0, 0, 1),
                       ('T000001X', 'T000001X', 'customers', 'c-1', 1, 1, 1, 0, 0, 1);
                """;
            command.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools();

        await using var store = SqliteReferralStore.OpenFile(path);

        var changes = await ((IReferralStore)store).ListCodeChangesAsync(0, 10, Ct);
        Assert.Equal([(1L, Code(1)), (2L, Code(2))], changes.Select(c => (c.Position, c.Record.Code)));
        Assert.True(await store.TryAddAsync(Record(Code(3)), Ct));
        Assert.Equal(3, await store.GetChangePositionAsync(Ct));
    }

    [Fact]
    public async Task UseSqlite_loads_the_index_when_the_host_starts_and_keeps_refreshing_it()
    {
        string path = _directory.NewDatabasePath();
        await using (var seed = SqliteReferralStore.OpenFile(path))
        {
            Assert.True(await seed.TryAddAsync(Record(Code(1)), Ct));
        }
        var services = new ServiceCollection();
        services.AddSingleton<NodaTime.IClock>(new FakeClock(Start));
        services.AddReferrals(o =>
        {
            o.Links.Template = "https://shop.example/r/{code}";
            o.Programs[Program.Value] = new ProgramOptions { TimeZone = "Europe/Berlin" };
        }).UseSqlite($"Data Source={path}").AddCodeIndexRefresh(TimeSpan.FromMilliseconds(100));
        await using var provider = services.BuildServiceProvider();
        var hosted = Assert.Single(provider.GetServices<IHostedService>());
        var codes = provider.GetRequiredService<ReferralCodeService>();
        Assert.Equal(0, codes.IndexedCount);

        await hosted.StartAsync(Ct);
        try
        {
            Assert.Equal(1, codes.IndexedCount);
            Assert.Equal(CodeResolutionOutcome.Found, codes.Resolve(Code(1).Value).Outcome);

            // Another process adds a code: the timer's refresh brings it in.
            await using (var other = SqliteReferralStore.OpenFile(path))
            {
                Assert.True(await other.TryAddAsync(Record(Code(2)), Ct));
            }
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(Ct);
            timeout.CancelAfter(TimeSpan.FromSeconds(30));
            while (codes.Resolve(Code(2).Value).Outcome != CodeResolutionOutcome.Found)
            {
                await Task.Delay(20, timeout.Token);
            }
        }
        finally
        {
            await hosted.StopAsync(Ct);
        }
    }
}
