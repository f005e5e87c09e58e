using Referrals.Storage;
using Xunit;
using static Referrals.Testing.ContractData;

namespace Referrals.Testing;

public abstract partial class ReferralStoreContract
{
    /// <summary>
    /// A new store has no program pending a rebuild, and a unit that names one as rebuilt is a duplicate naming the program
    /// and writes nothing of itself (a store that carries data over lists its programs; its own tests cover that).
    /// </summary>
    [Fact]
    public async Task A_new_store_has_no_pending_rebuild_and_a_unit_claiming_one_is_a_duplicate()
    {
        var store = await NewStoreAsync();
        Assert.Empty(await store.ListPendingRebuildsAsync(Ct));
        var outcome = await WriteAsync(store, new UnitOfWork(orders: [Order("o-1")], rebuiltPrograms: [Program]));
        Assert.Equal(WriteOutcome.Duplicate(RowKind.Rebuild, Program.Value), outcome);
        Assert.Null(await store.FindOrderAsync(Program, "o-1", Ct));
    }

    /// <summary>A code inserted twice (version 1) is a duplicate naming the code; a code is unique across programs.</summary>
    [Fact]
    public async Task Code_inserted_twice_is_a_duplicate_naming_the_code()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(codes: [CodeVersion("JANE20")]));
        var again = await WriteAsync(store, new UnitOfWork(codes: [CodeVersion("JANE20", program: OtherProgram)]));
        Assert.Equal(WriteOutcome.Duplicate(RowKind.Code, "JANE20"), again);
        Assert.Equal(Program, (await store.FindCodeAsync(Code("JANE20"), Ct))!.Program);
    }

    /// <summary>
    /// A unit of new codes (a bulk generation writes thousands per unit) with one that exists, or one listed twice, is a
    /// duplicate naming the first such code in list order, and writes none of its codes.
    /// </summary>
    [Fact]
    public async Task A_unit_of_new_codes_is_a_duplicate_naming_the_first_code_that_exists_or_repeats()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(codes: [CodeVersion("BEN7"), CodeVersion("JANE20")]));
        var exists = await WriteAsync(store, new UnitOfWork(codes: [CodeVersion("ANA2026"), CodeVersion("JANE20", program: OtherProgram), CodeVersion("BEN7")]));
        Assert.Equal(WriteOutcome.Duplicate(RowKind.Code, "JANE20"), exists);
        var repeats = await WriteAsync(store, new UnitOfWork(codes: [CodeVersion("ANA2026"), CodeVersion("BUCK9"), CodeVersion("BUCK9"), CodeVersion("BEN7")]));
        Assert.Equal(WriteOutcome.Duplicate(RowKind.Code, "BUCK9"), repeats);
        Assert.Null(await store.FindCodeAsync(Code("ANA2026"), Ct));
        Assert.Null(await store.FindCodeAsync(Code("BUCK9"), Ct));
        Assert.Equal(["BEN7", "JANE20"], (await store.ListCodeChangesAsync(0, 10, Ct)).Select(c => c.Record.Code.Value));
        Assert.Equal(Program, (await store.FindCodeAsync(Code("JANE20"), Ct))!.Program);
    }

    /// <summary>
    /// A large unit of new codes (a bulk generation's chunk), listed in no key order: the codes take positions of the change
    /// feed in list order; a unit with a code that exists and one listed twice is a duplicate naming the first of them in
    /// list order (a store may write such a unit in another order, for its own reasons), and writes none of its codes.
    /// </summary>
    [Fact]
    public async Task A_large_unit_of_new_codes_takes_feed_positions_in_list_order_and_names_its_first_duplicate_in_list_order()
    {
        var store = await NewStoreAsync();
        // 7,919 is prime to 100,000: 300 distinct codes, their list order not their key order.
        var codes = Enumerable.Range(0, 300).Select(n => $"K{n * 7919 % 100_000:D5}").ToList();
        await WrittenAsync(store, new UnitOfWork(codes: codes.Select(c => CodeVersion(c, owner: null)).ToList()));
        var changes = await store.ListCodeChangesAsync(0, 1000, Ct);
        Assert.Equal(codes, changes.Select(c => c.Record.Code.Value));
        Assert.True(changes.Zip(changes.Skip(1)).All(p => p.First.Position < p.Second.Position));

        // M codes sort after K codes: a store writing in key order meets the existing K code (at 200) before the repeated
        // M code (at 150), which comes first in the list.
        var fresh = Enumerable.Range(0, 300).Select(n => $"M{n * 7919 % 100_000:D5}").ToList();
        fresh[150] = fresh[40];
        fresh[200] = codes[5];
        var outcome = await WriteAsync(store, new UnitOfWork(codes: fresh.Select(c => CodeVersion(c, owner: null)).ToList()));
        Assert.Equal(WriteOutcome.Duplicate(RowKind.Code, fresh[40]), outcome);
        Assert.Null(await store.FindCodeAsync(Code(fresh[0]), Ct));
        Assert.Equal(300, (await store.ListCodeChangesAsync(0, 1000, Ct)).Count);
    }

    /// <summary>A large unit with several versions of one code among new codes writes that code's versions in list order.</summary>
    [Fact]
    public async Task A_large_unit_writes_the_versions_of_a_code_in_list_order()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(codes: [CodeVersion("JANE20")]));
        var rows = Enumerable.Range(0, 200).Select(n => CodeVersion($"K{n * 7919 % 100_000:D5}", owner: null)).ToList();
        for (int v = 2; v <= 21; v++)
        {
            rows.Insert((v - 2) * 10, CodeVersion("JANE20", version: v, minute: v));
        }
        await WrittenAsync(store, new UnitOfWork(codes: rows));
        Assert.Equal(Enumerable.Range(1, 21).Select(v => (long)v), (await store.ListCodeHistoryAsync(Code("JANE20"), Ct)).Select(h => h.Record.Version));
        Assert.Equal(21, (await store.FindCodeAsync(Code("JANE20"), Ct))!.Version);
    }

    /// <summary>Touches, orders, refunds, ledger entries, notifications: a second insert of a key is a duplicate naming it.</summary>
    [Fact]
    public async Task Natural_keys_are_duplicates_naming_the_key()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(
            touches: [Touch("t-1", 0)],
            orders: [Order("o-1")],
            refunds: [Refund("o-1", "r-1")],
            entries: [Entry("w-1", "w-1:earned")],
            notifications: [Notification("n-1", 1)]));
        Assert.Equal(WriteOutcome.Duplicate(RowKind.Touch, "t-1"), await WriteAsync(store, new UnitOfWork(touches: [Touch("t-1", 5)])));
        Assert.Equal(WriteOutcome.Duplicate(RowKind.Order, "o-1"), await WriteAsync(store, new UnitOfWork(orders: [Order("o-1", minute: 9)])));
        Assert.Equal(WriteOutcome.Duplicate(RowKind.Refund, "r-1"), await WriteAsync(store, new UnitOfWork(refunds: [Refund("o-2", "r-1")])));
        Assert.Equal(WriteOutcome.Duplicate(RowKind.Entry, "w-1/w-1:earned"), await WriteAsync(store, new UnitOfWork(entries: [Entry("w-1", "w-1:earned", 3)])));
        Assert.Equal(WriteOutcome.Duplicate(RowKind.Notification, "n-1"), await WriteAsync(store, new UnitOfWork(notifications: [Notification("n-1", 2)])));
    }

    /// <summary>Keys other than codes, participants and erasures are per program; an entry id is unique per reward only.</summary>
    [Fact]
    public async Task Keys_are_per_program_and_entry_ids_per_reward()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(touches: [Touch("t-1", 0)], orders: [Order("o-1")], refunds: [Refund("o-1", "r-1")], entries: [Entry("w-1", "e-1")]));
        await WrittenAsync(store, new UnitOfWork(
            touches: [Touch("t-1", 0, program: OtherProgram)],
            orders: [Order("o-1", program: OtherProgram)],
            refunds: [Refund("o-1", "r-1", program: OtherProgram)],
            entries: [Entry("w-1", "e-1", program: OtherProgram), Entry("w-2", "e-1")]));
        Assert.NotNull(await store.FindOrderAsync(OtherProgram, "o-1", Ct));
        Assert.Single(await store.ListEntriesAsync(Program, "w-2", Ct));
    }

    /// <summary>An order's version n replaces only n - 1: a skipped or stale version is a conflict naming the order.</summary>
    [Fact]
    public async Task Order_versions_replace_only_the_previous_one()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(orders: [Order("o-1")]));
        Assert.Equal(WriteOutcome.Conflict(RowKind.Order, "o-1"), await WriteAsync(store, new UnitOfWork(orders: [Order("o-1", version: 3)])));
        Assert.Equal(WriteOutcome.Conflict(RowKind.Order, "o-2"), await WriteAsync(store, new UnitOfWork(orders: [Order("o-2", version: 2)])));
        await WrittenAsync(store, new UnitOfWork(orders: [Order("o-1", version: 2, document: """{"v":1,"decided":2}""")]));
        Assert.Equal(WriteOutcome.Conflict(RowKind.Order, "o-1"), await WriteAsync(store, new UnitOfWork(orders: [Order("o-1", version: 2)])));
        var stored = await store.FindOrderAsync(Program, "o-1", Ct);
        Assert.Equal(2, stored!.Version);
        Assert.Equal("""{"v":1,"decided":2}""", stored.Document);
    }

    /// <summary>Summaries and reward rows: version 1 over an existing row, or a stale version, is a conflict naming the row.</summary>
    [Fact]
    public async Task Summary_and_reward_versions_conflict_when_stale()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(summaries: [Summary("ana", "", 1)], rewards: [Reward("w-1")]));
        Assert.Equal(WriteOutcome.Conflict(RowKind.Summary, "ana/"), await WriteAsync(store, new UnitOfWork(summaries: [Summary("ana", "", 1)])));
        Assert.Equal(WriteOutcome.Conflict(RowKind.Summary, "ana/cap:M2026-11"), await WriteAsync(store, new UnitOfWork(summaries: [Summary("ana", "cap:M2026-11", 2)])));
        Assert.Equal(WriteOutcome.Conflict(RowKind.Reward, "w-1"), await WriteAsync(store, new UnitOfWork(rewards: [Reward("w-1")])));
        Assert.Equal(WriteOutcome.Conflict(RowKind.Reward, "w-1"), await WriteAsync(store, new UnitOfWork(rewards: [Reward("w-1", version: 3)])));
        await WrittenAsync(store, new UnitOfWork(summaries: [Summary("ana", "", 2, """{"v":1,"n":2}""")], rewards: [Reward("w-1", version: 2)]));
        var summaries = await store.GetSummariesAsync(Program, Id("ana"), [""], Ct);
        Assert.Equal(2, Assert.Single(summaries).Version);
        Assert.Equal("""{"v":1,"n":2}""", summaries[0].Document);
        Assert.Equal(2, (await store.FindRewardAsync(Program, "w-1", Ct))!.Version);
    }

    /// <summary>Rows only read must still have the version read (0: still absent), or the unit is a conflict.</summary>
    [Fact]
    public async Task Rows_read_must_keep_the_version_read()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(summaries: [Summary("ana", "", 1)], orders: [Order("o-1")]));
        Assert.Equal(WriteOutcome.Conflict(RowKind.Summary, "ana/"), await WriteAsync(store, new UnitOfWork(readSummaries: [Summary("ana", "", 0)], touches: [Touch("t-1", 0)])));
        Assert.Equal(WriteOutcome.Conflict(RowKind.Summary, "bob/"), await WriteAsync(store, new UnitOfWork(readSummaries: [Summary("bob", "", 1)], touches: [Touch("t-1", 0)])));
        Assert.Equal(WriteOutcome.Conflict(RowKind.Order, "o-1"), await WriteAsync(store, new UnitOfWork(readOrders: [Order("o-1", version: 2)], touches: [Touch("t-1", 0)])));
        Assert.Equal(WriteOutcome.Conflict(RowKind.Order, "o-1"), await WriteAsync(store, new UnitOfWork(readOrders: [Order("o-1", version: 0)], touches: [Touch("t-1", 0)])));
        Assert.Null(await store.FindTouchAsync(Program, "t-1", Ct));
        await WrittenAsync(store, new UnitOfWork(
            readSummaries: [Summary("ana", "", 1), Summary("bob", "", 0)],
            readOrders: [Order("o-1"), Order("o-9", version: 0)],
            touches: [Touch("t-1", 0)]));
        Assert.Empty(await store.GetSummariesAsync(Program, Id("bob"), [""], Ct));
        Assert.NotNull(await store.FindTouchAsync(Program, "t-1", Ct));
    }

    /// <summary>A version below 1 on a written row is a programmer error, not an outcome.</summary>
    [Fact]
    public async Task A_written_version_below_one_throws()
    {
        var store = await NewStoreAsync();
        await using var session = await store.BeginAsync(Ct);
        await Assert.ThrowsAnyAsync<ArgumentOutOfRangeException>(() => session.WriteAsync(new UnitOfWork(summaries: [Summary("ana", "", 0)]), Ct).AsTask());
    }

    /// <summary>
    /// A unit is all or nothing: one duplicate row stops it and none of its other rows is written; the session stays
    /// usable, and its commit publishes the units that were written.
    /// </summary>
    [Fact]
    public async Task A_stopped_unit_writes_nothing_and_the_session_goes_on()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(refunds: [Refund("o-0", "r-1")]));
        await using (var session = await store.BeginAsync(Ct))
        {
            Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(touches: [Touch("t-0", 0)]), Ct));
            var stopped = await session.WriteAsync(new UnitOfWork(
                codes: [CodeVersion("JANE20")],
                participants: [Person("ana", [Email(1)])],
                visitorLinks: [new VisitorLink("v-1", Id("ana"))],
                touches: [Touch("t-1", 0)],
                orders: [Order("o-1")],
                entries: [Entry("w-1", "e-1")],
                rewards: [Reward("w-1")],
                summaries: [Summary("ana", "", 1)],
                notifications: [Notification("n-1", 1)],
                refunds: [Refund("o-1", "r-1")]), Ct);
            Assert.Equal(WriteOutcome.Duplicate(RowKind.Refund, "r-1"), stopped);
            Assert.Null(await session.FindCodeAsync(Code("JANE20"), Ct));
            Assert.Null(await session.FindParticipantAsync(Id("ana"), Ct));
            Assert.Empty(await session.ListVisitorsAsync(Id("ana"), Ct));
            Assert.Null(await session.FindTouchAsync(Program, "t-1", Ct));
            Assert.Null(await session.FindOrderAsync(Program, "o-1", Ct));
            Assert.Empty(await session.ListEntriesAsync(Program, "w-1", Ct));
            Assert.Null(await session.FindRewardAsync(Program, "w-1", Ct));
            Assert.Empty(await session.GetSummariesAsync(Program, Id("ana"), [""], Ct));
            Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(orders: [Order("o-1")], notifications: [Notification("n-1", 1)]), Ct));
            await session.CommitAsync(Ct);
        }
        Assert.NotNull(await store.FindTouchAsync(Program, "t-0", Ct));
        Assert.NotNull(await store.FindOrderAsync(Program, "o-1", Ct));
        Assert.Null(await store.FindCodeAsync(Code("JANE20"), Ct));
        Assert.Equal("n-1", Assert.Single(await store.ListDueNotificationsAsync(At(10), 10, Ct)).Id);
    }

    /// <summary>A session reads its own writes; nobody else sees them before the commit; then everyone does.</summary>
    [Fact]
    public async Task Uncommitted_writes_are_seen_by_their_session_only()
    {
        var store = await NewStoreAsync();
        await using (var session = await store.BeginAsync(Ct))
        {
            await session.WriteAsync(new UnitOfWork(orders: [Order("o-1")], summaries: [Summary("ana", "", 1)], notifications: [Notification("n-1", 0)]), Ct);
            Assert.NotNull(await session.FindOrderAsync(Program, "o-1", Ct));
            Assert.Single(await session.GetSummariesAsync(Program, Id("ana"), [""], Ct));
            Assert.Null(await store.FindOrderAsync(Program, "o-1", Ct));
            Assert.Empty(await store.GetSummariesAsync(Program, Id("ana"), [""], Ct));
            Assert.Empty(await store.ListDueNotificationsAsync(At(10), 10, Ct));
            await session.CommitAsync(Ct);
        }
        Assert.NotNull(await store.FindOrderAsync(Program, "o-1", Ct));
        Assert.Single(await store.ListDueNotificationsAsync(At(10), 10, Ct));
    }

    /// <summary>Disposing a session without committing rolls back every unit it wrote, notifications included.</summary>
    [Fact]
    public async Task Disposing_without_commit_rolls_back()
    {
        var store = await NewStoreAsync();
        await using (var session = await store.BeginAsync(Ct))
        {
            await session.WriteAsync(new UnitOfWork(codes: [CodeVersion("JANE20")], notifications: [Notification("n-1", 0)]), Ct);
            await session.WriteAsync(new UnitOfWork(orders: [Order("o-1")], entries: [Entry("w-1", "e-1")]), Ct);
        }
        Assert.Null(await store.FindCodeAsync(Code("JANE20"), Ct));
        Assert.Null(await store.FindOrderAsync(Program, "o-1", Ct));
        Assert.Empty(await store.ListEntriesAsync(Program, "w-1", Ct));
        Assert.Empty(await store.ListCodeChangesAsync(0, 10, Ct));
        Assert.Empty(await store.ListDueNotificationsAsync(At(10), 10, Ct));
        await WrittenAsync(store, new UnitOfWork(codes: [CodeVersion("JANE20")], notifications: [Notification("n-1", 0)]));
    }

    /// <summary>A committed session takes no more writes.</summary>
    [Fact]
    public async Task A_committed_session_refuses_writes()
    {
        var store = await NewStoreAsync();
        await using var session = await store.BeginAsync(Ct);
        await session.WriteAsync(new UnitOfWork(orders: [Order("o-1")]), Ct);
        await session.CommitAsync(Ct);
        await Assert.ThrowsAsync<InvalidOperationException>(() => session.WriteAsync(new UnitOfWork(orders: [Order("o-2")]), Ct).AsTask());
    }

    /// <summary>Of sessions racing to write the same version of a summary, exactly one is written; the others conflict.</summary>
    [Fact]
    public async Task Racing_sessions_write_one_version_once()
    {
        var store = await NewStoreAsync();
        for (int round = 1; round <= 5; round++)
        {
            var version = round;
            var outcomes = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
            {
                await using var session = await store.BeginAsync(Ct);
                var outcome = await session.WriteAsync(new UnitOfWork(
                    summaries: [Summary("ana", "", version, $$"""{"v":1,"writer":{{i}}}""")],
                    entries: [Entry("w-" + version, "e-" + i)]), Ct);
                if (outcome.Status == WriteStatus.Written)
                {
                    await session.CommitAsync(Ct);
                }
                return outcome;
            }, Ct)));
            Assert.Equal(1, outcomes.Count(o => o.Status == WriteStatus.Written));
            Assert.Equal(3, outcomes.Count(o => o.Equals(WriteOutcome.Conflict(RowKind.Summary, "ana/"))));
            Assert.Single(await store.ListEntriesAsync(Program, "w-" + version, Ct));
        }
        Assert.Equal(5, Assert.Single(await store.GetSummariesAsync(Program, Id("ana"), [""], Ct)).Version);
    }

    /// <summary>Of sessions racing to record the same order, exactly one is written; the others are duplicates naming it.</summary>
    [Fact]
    public async Task Racing_sessions_record_one_order_once()
    {
        var store = await NewStoreAsync();
        var outcomes = await Task.WhenAll(Enumerable.Range(0, 4).Select(i => Task.Run(async () =>
        {
            await using var session = await store.BeginAsync(Ct);
            var outcome = await session.WriteAsync(new UnitOfWork(
                orders: [Order("o-1", document: $$"""{"v":1,"writer":{{i}}}""")],
                entries: [Entry("w-" + i, "earned")]), Ct);
            if (outcome.Status == WriteStatus.Written)
            {
                await session.CommitAsync(Ct);
            }
            return (i, outcome);
        }, Ct)));
        var winner = Assert.Single(outcomes, o => o.outcome.Status == WriteStatus.Written).i;
        Assert.Equal(3, outcomes.Count(o => o.outcome.Equals(WriteOutcome.Duplicate(RowKind.Order, "o-1"))));
        Assert.Equal($$"""{"v":1,"writer":{{winner}}}""", (await store.FindOrderAsync(Program, "o-1", Ct))!.Document);
        Assert.Equal(["w-" + winner], (await store.ListLedgerAsync(Program, 0, 10, Ct)).Select(e => e.RewardId));
    }

    /// <summary>
    /// Ids and documents come back exactly as written, whatever well-formed Unicode they hold: line and paragraph
    /// separators, non-characters, unassigned and non-BMP code points, quotes, backslashes, case variants.
    /// </summary>
    [Fact]
    public async Task Hostile_but_well_formed_text_round_trips_exactly()
    {
        string[] ids = ["line\u2028sep\u2029end", "\uFFFF\uFFFE", "\u0378", "😀\U0001F600", "'; DROP TABLE orders; --", "\"q\\", "O-1", "o-1", "ǅ"];
        var store = await NewStoreAsync();
        foreach (var id in ids)
        {
            string document = $$"""{"v":1,"note":"{{id.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal)}}"}""";
            await WrittenAsync(store, new UnitOfWork(
                orders: [Order(id, customer: id, counted: id, document: document)],
                touches: [Touch(id, 0, referrer: id, visitor: id)],
                rewards: [Reward(id, beneficiary: id, orderId: id, document: document)],
                entries: [Entry(id, id)],
                summaries: [Summary(id, id, 1, document)]));
            var order = await store.FindOrderAsync(Program, id, Ct);
            Assert.Equal(id, order!.Conversion.OrderId);
            Assert.Equal(document, order.Document);
            Assert.Equal(id, Assert.Single(await store.ListReferralsAsync(Program, Id(id), null, 10, Ct)).Conversion.Customer.Value);
            Assert.Equal(id, (await store.FindTouchAsync(Program, id, Ct))!.VisitorId);
            Assert.Equal(id, Assert.Single(await store.FindTouchesAsync(Program, null, [id], [], At(-1), At(1), 10, Ct)).Id);
            Assert.Equal(document, (await store.FindRewardAsync(Program, id, Ct))!.Document);
            Assert.Equal(id, Assert.Single(await store.ListEntriesAsync(Program, id, Ct)).EntryId);
            Assert.Equal(document, Assert.Single(await store.GetSummariesAsync(Program, Id(id), [id], Ct)).Document);
        }
        Assert.Equal(ids.Order(StringComparer.Ordinal), (await store.ListProgramOrdersAsync(Program, null, 100, Ct)).Select(o => o.Conversion.OrderId));
    }
}
