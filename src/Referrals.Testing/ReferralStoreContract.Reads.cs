using NodaTime;
using Referrals.Codes;
using Referrals.Rewards;
using Referrals.Storage;
using Xunit;
using static Referrals.Testing.ContractData;

namespace Referrals.Testing;

public abstract partial class ReferralStoreContract
{
    // Ordinal order of these ids: "B" < "Z" < "a" < "b" < "é" (a culture or case-insensitive collation sorts them otherwise).
    private static readonly string[] OrdinalIds = ["B", "Z", "a", "b", "é"];

    /// <summary>Orders page by (event time, order id) in ordinal order, each once, strictly after the position given.</summary>
    [Fact]
    public async Task Program_orders_page_in_event_time_then_ordinal_id_order()
    {
        var store = await NewStoreAsync();
        string[] written = ["é", "b", "Z", "a", "B", "late", "early"];
        await WrittenAsync(store, new UnitOfWork(orders: [.. written.Select(id => Order(id, minute: id == "late" ? 5 : id == "early" ? -5 : 0))]));
        var seen = new List<string>();
        ListPosition? after = null;
        while (true)
        {
            var page = await store.ListProgramOrdersAsync(Program, after, 2, Ct);
            Assert.True(page.Count <= 2);
            if (page.Count == 0)
            {
                break;
            }
            seen.AddRange(page.Select(o => o.Conversion.OrderId));
            after = new ListPosition(page[^1].Conversion.EventTime, page[^1].Conversion.OrderId);
        }
        Assert.Equal(["early", .. OrdinalIds, "late"], seen);
        Assert.Empty(await store.ListProgramOrdersAsync(OtherProgram, null, 10, Ct));
    }

    /// <summary>
    /// A program's touches page by (event time, touch id) in ordinal order, each once and read back whole, strictly after
    /// the position given, whatever order they were written in; another program's touches are not among them.
    /// </summary>
    [Fact]
    public async Task Program_touches_page_in_event_time_then_ordinal_id_order()
    {
        var store = await NewStoreAsync();
        Assert.Empty(await store.ListProgramTouchesAsync(Program, null, 10, Ct));
        string[] written = ["é", "b", "Z", "late", "a", "B", "early"];
        var touches = written.Select((id, i) => Touch(id, id == "late" ? 5 : id == "early" ? -5 : 0, referrer: i % 2 == 0 ? "ana" : "bob",
            customer: i % 3 == 0 ? "c-" + i : null, visitor: i % 3 == 1 ? "v-" + i : null, contact: i % 3 == 2 ? Email(i) : null)).ToList();
        await WrittenAsync(store, new UnitOfWork(touches: [.. touches.Take(4), Touch("a", 0, program: OtherProgram)]));
        await WrittenAsync(store, new UnitOfWork(touches: [.. touches.Skip(4), Touch("x", -10, program: OtherProgram)]));

        var pages = new List<string>();
        var seen = new List<Attribution.Touch>();
        ListPosition? after = null;
        while ((await store.ListProgramTouchesAsync(Program, after, 2, Ct)) is { Count: > 0 } page)
        {
            pages.Add(string.Join(" ", page.Select(t => t.Id)));
            seen.AddRange(page);
            after = new ListPosition(page[^1].EventTime, page[^1].Id);
        }
        Assert.Equal(["early B", "Z a", "b é", "late"], pages);
        Assert.Equal(touches.OrderBy(t => t.EventTime).ThenBy(t => t.Id, StringComparer.Ordinal), seen);

        Assert.Equal(["a", "b", "é", "late"], (await store.ListProgramTouchesAsync(Program, new ListPosition(At(0), "Z"), 10, Ct)).Select(t => t.Id));
        Assert.Equal(["B", "Z", "a"], (await store.ListProgramTouchesAsync(Program, new ListPosition(At(0), ""), 3, Ct)).Select(t => t.Id));
        Assert.Equal(["late"], (await store.ListProgramTouchesAsync(Program, new ListPosition(At(0), "é"), 10, Ct)).Select(t => t.Id));
        Assert.Empty(await store.ListProgramTouchesAsync(Program, new ListPosition(At(5), "late"), 10, Ct));
        Assert.Equal(["x", "a"], (await store.ListProgramTouchesAsync(OtherProgram, null, 10, Ct)).Select(t => t.Id));
    }

    /// <summary>
    /// A program's reward rows, every beneficiary's, page by (conversion time, reward id) in ordinal order, each once and
    /// read back whole, strictly after the position given; a row rewritten with another conversion time is listed once,
    /// where it is now; another program's rows are not among them.
    /// </summary>
    [Fact]
    public async Task Program_rewards_page_in_conversion_time_then_ordinal_id_order()
    {
        var store = await NewStoreAsync();
        Assert.Empty(await store.ListProgramRewardsAsync(Program, null, 10, Ct));
        string[] written = ["é", "b", "Z", "late", "a", "B", "early"];
        var rewards = written.Select((id, i) => Reward(id, beneficiary: i % 2 == 0 ? "ana" : "bob", orderId: "o-" + i, minute: id == "late" ? 5 : id == "early" ? -5 : 0,
            due: i % 3 == 0 ? RewardDue.HoldEnds : null, dueMinute: 60 + i, document: $$"""{"v":1,"reward":"{{id}}"}""")).ToList();
        await WrittenAsync(store, new UnitOfWork(rewards: [.. rewards.Take(4), Reward("a", program: OtherProgram)]));
        await WrittenAsync(store, new UnitOfWork(rewards: [.. rewards.Skip(4), Reward("x", minute: -10, program: OtherProgram)]));

        var pages = new List<string>();
        var seen = new List<RewardRow>();
        ListPosition? after = null;
        while ((await store.ListProgramRewardsAsync(Program, after, 2, Ct)) is { Count: > 0 } page)
        {
            pages.Add(string.Join(" ", page.Select(r => r.RewardId)));
            seen.AddRange(page);
            after = new ListPosition(page[^1].ConversionTime, page[^1].RewardId);
        }
        Assert.Equal(["early B", "Z a", "b é", "late"], pages);
        Assert.Equal(rewards.OrderBy(r => r.ConversionTime).ThenBy(r => r.RewardId, StringComparer.Ordinal).Select(RewardColumns), seen.Select(RewardColumns));

        Assert.Equal(["a", "b", "é", "late"], (await store.ListProgramRewardsAsync(Program, new ListPosition(At(0), "Z"), 10, Ct)).Select(r => r.RewardId));
        Assert.Equal(["B", "Z", "a"], (await store.ListProgramRewardsAsync(Program, new ListPosition(At(0), ""), 3, Ct)).Select(r => r.RewardId));
        Assert.Equal(["late"], (await store.ListProgramRewardsAsync(Program, new ListPosition(At(0), "é"), 10, Ct)).Select(r => r.RewardId));
        Assert.Empty(await store.ListProgramRewardsAsync(Program, new ListPosition(At(5), "late"), 10, Ct));
        Assert.Equal(["x", "a"], (await store.ListProgramRewardsAsync(OtherProgram, null, 10, Ct)).Select(r => r.RewardId));

        var late = rewards[Array.IndexOf(written, "late")];
        await WrittenAsync(store, new UnitOfWork(
            rewards: [new RewardRow(Program, "late", late.Beneficiary, late.OrderId, At(-10), 2, null, null, late.Document)]));
        Assert.Equal(["late", "early", "B", "Z", "a", "b", "é"], (await store.ListProgramRewardsAsync(Program, null, 10, Ct)).Select(r => r.RewardId));
        Assert.Empty(await store.ListProgramRewardsAsync(Program, new ListPosition(At(0), "é"), 10, Ct));
    }

    /// <summary>
    /// A session lists the program's touches and reward rows with the ones it wrote and has not committed; nobody else
    /// sees those, and disposing the session without a commit leaves the committed ones alone.
    /// </summary>
    [Fact]
    public async Task A_session_lists_its_own_uncommitted_touches_and_rewards_of_the_program()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(touches: [Touch("t-1", 10)], rewards: [Reward("w-1", minute: 10)]));
        await using (var session = await store.BeginAsync(Ct))
        {
            Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(
                touches: [Touch("t-0", 10), Touch("t-2", 20)],
                rewards: [Reward("w-0", minute: 10), Reward("w-2", minute: 20)]), Ct));
            Assert.Equal(["t-0", "t-1", "t-2"], (await session.ListProgramTouchesAsync(Program, null, 10, Ct)).Select(t => t.Id));
            Assert.Equal(["t-1", "t-2"], (await session.ListProgramTouchesAsync(Program, new ListPosition(At(10), "t-0"), 10, Ct)).Select(t => t.Id));
            Assert.Equal(["w-0", "w-1", "w-2"], (await session.ListProgramRewardsAsync(Program, null, 10, Ct)).Select(r => r.RewardId));
            Assert.Equal(["w-1", "w-2"], (await session.ListProgramRewardsAsync(Program, new ListPosition(At(10), "w-0"), 10, Ct)).Select(r => r.RewardId));
            Assert.Equal(["t-1"], (await store.ListProgramTouchesAsync(Program, null, 10, Ct)).Select(t => t.Id));
            Assert.Equal(["w-1"], (await store.ListProgramRewardsAsync(Program, null, 10, Ct)).Select(r => r.RewardId));
        }
        Assert.Equal(["t-1"], (await store.ListProgramTouchesAsync(Program, null, 10, Ct)).Select(t => t.Id));
        Assert.Equal(["w-1"], (await store.ListProgramRewardsAsync(Program, null, 10, Ct)).Select(r => r.RewardId));
    }

    /// <summary>Every column of a reward row, to compare rows (the type has no value equality).</summary>
    private static (ProgramId, string, ParticipantId, string, NodaTime.Instant, long, RewardDue?, NodaTime.Instant?, string) RewardColumns(RewardRow r) =>
        (r.Program, r.RewardId, r.Beneficiary, r.OrderId, r.ConversionTime, r.Version, r.Due, r.DueAt, r.Document);

    /// <summary>
    /// Ordinal (UTF-16) order holds page by page for ids that a UTF-8 byte order sorts otherwise: characters above U+FFFF
    /// (surrogate pairs) sort before those from U+E000 to U+FFFF (SQLite's BINARY and PostgreSQL's "C" collation put them
    /// after), so a store pages one instant's rows in .NET order, not its index's.
    /// </summary>
    [Fact]
    public async Task Pages_keep_ordinal_order_for_ids_beyond_the_basic_plane()
    {
        var store = await NewStoreAsync();
        string[] ids = ["\uFFFF", "😀", "a", "\uE000", "😀b", "\uFFFFa"];
        await WrittenAsync(store, new UnitOfWork(
            orders: [.. ids.Select(id => Order(id, counted: "ana"))],
            rewards: [.. ids.Select(id => Reward(id, due: RewardDue.HoldEnds))],
            touches: [.. ids.Select(id => Touch(id, 0))]));
        string[] expected = [.. ids.Order(StringComparer.Ordinal)];
        Assert.Equal(["a", "😀", "😀b", "\uE000", "\uFFFF", "\uFFFFa"], expected);

        var referrals = new List<string>();
        ListPosition? after = null;
        while ((await store.ListReferralsAsync(Program, Id("ana"), after, 1, Ct)) is [var order])
        {
            referrals.Add(order.Conversion.OrderId);
            after = new ListPosition(order.Conversion.EventTime, order.Conversion.OrderId);
        }
        Assert.Equal(expected, referrals);

        var due = new List<string>();
        after = null;
        while ((await store.ListDueRewardsAsync(Program, RewardDue.HoldEnds, At(0), after, 2, Ct)) is { Count: > 0 } page)
        {
            due.AddRange(page.Select(r => r.RewardId));
            after = new ListPosition(page[^1].DueAt!.Value, page[^1].RewardId);
        }
        Assert.Equal(expected, due);

        var touches = new List<string>();
        after = null;
        while ((await store.ListProgramTouchesAsync(Program, after, 2, Ct)) is { Count: > 0 } touchPage)
        {
            touches.AddRange(touchPage.Select(t => t.Id));
            after = new ListPosition(touchPage[^1].EventTime, touchPage[^1].Id);
        }
        Assert.Equal(expected, touches);

        var rewards = new List<string>();
        after = null;
        while ((await store.ListProgramRewardsAsync(Program, after, 1, Ct)) is [var reward])
        {
            rewards.Add(reward.RewardId);
            after = new ListPosition(reward.ConversionTime, reward.RewardId);
        }
        Assert.Equal(expected, rewards);
    }

    /// <summary>A limit below 1 is a programmer error.</summary>
    [Fact]
    public async Task A_limit_below_one_throws()
    {
        var store = await NewStoreAsync();
        await Assert.ThrowsAnyAsync<ArgumentOutOfRangeException>(() => store.ListProgramOrdersAsync(Program, null, 0, Ct).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentOutOfRangeException>(() => store.ListProgramTouchesAsync(Program, null, 0, Ct).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentOutOfRangeException>(() => store.ListProgramRewardsAsync(Program, null, 0, Ct).AsTask());
        await Assert.ThrowsAnyAsync<ArgumentOutOfRangeException>(() => store.ListCodeChangesAsync(0, 0, Ct).AsTask());
    }

    /// <summary>
    /// A referrer's referrals are ranked by (event time, order id) whatever order they were written in; an order whose
    /// counted referrer is taken away leaves the ranking; a customer's orders page the same way.
    /// </summary>
    [Fact]
    public async Task Referrals_are_ranked_by_event_time_whatever_the_arrival_order()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(orders: [Order("o-3", minute: 30, counted: "ana", customer: "c"), Order("o-1", minute: 10, counted: "ana", customer: "a")]));
        await WrittenAsync(store, new UnitOfWork(orders: [Order("o-2", minute: 20, counted: "ana", customer: "b"), Order("o-0", minute: 20, counted: "bob", customer: "b")]));
        await WrittenAsync(store, new UnitOfWork(orders: [Order("o-2b", minute: 20, counted: "ana", customer: "b")]));
        var ranked = await store.ListReferralsAsync(Program, Id("ana"), null, 10, Ct);
        Assert.Equal(["o-1", "o-2", "o-2b", "o-3"], ranked.Select(o => o.Conversion.OrderId));
        var later = await store.ListReferralsAsync(Program, Id("ana"), new ListPosition(At(20), "o-2"), 10, Ct);
        Assert.Equal(["o-2b", "o-3"], later.Select(o => o.Conversion.OrderId));
        await WrittenAsync(store, new UnitOfWork(orders: [Order("o-2", minute: 20, version: 2, customer: "b")]));
        Assert.Equal(["o-1", "o-2b", "o-3"], (await store.ListReferralsAsync(Program, Id("ana"), null, 10, Ct)).Select(o => o.Conversion.OrderId));
        Assert.Equal(["o-0", "o-2", "o-2b"], (await store.ListCustomerOrdersAsync(Program, Id("b"), null, 10, Ct)).Select(o => o.Conversion.OrderId));
        Assert.Equal(["o-2b"], (await store.ListCustomerOrdersAsync(Program, Id("b"), new ListPosition(At(20), "o-2"), 10, Ct)).Select(o => o.Conversion.OrderId));
    }

    /// <summary>
    /// A referral's rank: the referrer's counted referrals strictly between two positions (event time, then ordinal order
    /// id; from the first when the lower one is missing), no further than the limit — orders at the same instant as either
    /// end compared by id, an order no longer counted left out.
    /// </summary>
    [Fact]
    public async Task Referrals_are_counted_between_two_positions_by_event_time_then_order_id()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(
            orders: [Order("o-3", minute: 30, counted: "ana", customer: "c"), Order("o-1", minute: 10, counted: "ana", customer: "a"),
                Order("o-2", minute: 20, counted: "ana", customer: "b"), Order("o-2b", minute: 20, counted: "ana", customer: "d"),
                Order("o-0", minute: 20, counted: "bob", customer: "e"), Order("o-4", minute: 40, counted: "ana", customer: "f")]));
        var end = new ListPosition(At(60), "");
        Assert.Equal(0, await store.CountReferralsAsync(Program, Id("ana"), null, new ListPosition(At(10), "o-1"), 10, Ct));
        Assert.Equal(2, await store.CountReferralsAsync(Program, Id("ana"), null, new ListPosition(At(20), "o-2b"), 10, Ct));
        Assert.Equal(3, await store.CountReferralsAsync(Program, Id("ana"), null, new ListPosition(At(20), "o-2c"), 10, Ct));
        Assert.Equal(2, await store.CountReferralsAsync(Program, Id("ana"), null, new ListPosition(At(30), "o-3"), 2, Ct));
        Assert.Equal(3, await store.CountReferralsAsync(Program, Id("ana"), new ListPosition(At(20), "o-2"), end, 10, Ct));
        Assert.Equal(2, await store.CountReferralsAsync(Program, Id("ana"), new ListPosition(At(20), "o-2b"), end, 10, Ct));
        Assert.Equal(1, await store.CountReferralsAsync(Program, Id("ana"), new ListPosition(At(20), "o-2"), new ListPosition(At(20), "o-3"), 10, Ct));
        Assert.Equal(2, await store.CountReferralsAsync(Program, Id("ana"), new ListPosition(At(10), "o-1"), new ListPosition(At(30), "o-3"), 10, Ct));
        Assert.Equal(1, await store.CountReferralsAsync(Program, Id("ana"), new ListPosition(At(10), "o-1"), new ListPosition(At(30), "o-3"), 1, Ct));
        Assert.Equal(0, await store.CountReferralsAsync(Program, Id("ana"), new ListPosition(At(30), "o-3"), new ListPosition(At(20), "o-2"), 10, Ct));
        Assert.Equal(0, await store.CountReferralsAsync(OtherProgram, Id("ana"), null, end, 10, Ct));
        await WrittenAsync(store, new UnitOfWork(orders: [Order("o-2", minute: 20, version: 2, customer: "b")]));
        Assert.Equal(4, await store.CountReferralsAsync(Program, Id("ana"), null, end, 10, Ct));
    }

    /// <summary>Credited orders and touches are counted in a half-open range of event time, and no further than the limit.</summary>
    [Fact]
    public async Task Counts_are_half_open_and_stop_at_the_limit()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(
            orders: [.. Enumerable.Range(0, 6).Select(i => Order("o-" + i, minute: i * 10, credited: "ana")), Order("x", minute: 15, credited: "bob")],
            touches: [.. Enumerable.Range(0, 6).Select(i => Touch("t-" + i, i * 10)), Touch("x", 15, referrer: "bob")]));
        Assert.Equal(3, await store.CountCreditedOrdersAsync(Program, Id("ana"), At(10), At(40), 100, Ct));
        Assert.Equal(2, await store.CountCreditedOrdersAsync(Program, Id("ana"), At(10), At(40), 2, Ct));
        Assert.Equal(0, await store.CountCreditedOrdersAsync(OtherProgram, Id("ana"), At(0), At(60), 100, Ct));
        Assert.Equal(3, await store.CountTouchesAsync(Program, Id("ana"), At(10), At(40), 100, Ct));
        Assert.Equal(1, await store.CountTouchesAsync(Program, Id("ana"), At(10), At(40), 1, Ct));
        Assert.Equal(6, await store.CountTouchesAsync(Program, Id("ana"), At(0), At(51), 100, Ct));
    }

    /// <summary>
    /// The velocity counts over windows of any length and position — within an hour, across hour boundaries, whole days,
    /// ends exactly on the hour, before 1970 — agree with the rows written, after re-decisions moved orders' credits from
    /// one referrer to another or to none; each stops at its limit. (A store may keep counts per period beside the rows;
    /// this is what they must add up to.)
    /// </summary>
    [Fact]
    public Task Counts_over_any_window_agree_with_the_rows_after_credits_move() =>
        CountsAgreeAsync(20261204, rows: 240, days: 3, busy: 1);

    /// <summary>
    /// The same with a busy referrer: hundreds of touches and credited orders a day, ana's mostly, so that a day holds more
    /// rows than a store walks before it adds up what it keeps per period (the SQLite and PostgreSQL stores' hour counts),
    /// and windows count through those.
    /// </summary>
    [Fact]
    public Task Counts_of_a_busy_referrer_over_any_window_agree_with_the_rows_after_credits_move() =>
        CountsAgreeAsync(20261205, rows: 1200, days: 2, busy: 9);

    // rows touches and rows orders over days days (a few before 1970), for ana and bob (ana busy times as often), a third
    // of the orders re-decided, then 300 windows counted against the rows.
    private async Task CountsAgreeAsync(ulong seed, int rows, int days, int busy)
    {
        var store = await NewStoreAsync();
        var random = new Sequence(seed);
        int span = days * 1440;
        string[] referrers = ["ana", "bob"];
        string Referrer() => random.Next(busy + 1) == 0 ? "bob" : "ana";
        // Minutes: mostly within the days, a few on the hour exactly, a few before 1970 (negative Unix times).
        int Minute() => random.Next(10) switch
        {
            0 => random.Next(span / 60) * 60,
            1 => -30_000_000 + random.Next(600),
            _ => random.Next(span),
        };
        // Ticks off a minute: on it, one tick either side (next to an hour's edge when the minute is on the hour), or within it.
        long Ticks() => random.Next(4) switch
        {
            0 => -1,
            1 => 1,
            2 => random.Next(60_000) * 10_000L,
            _ => 0,
        };
        var touches = Enumerable.Range(0, rows).Select(i => Touch("t-" + i, Minute(), referrer: Referrer(), ticks: Ticks())).ToList();
        var orders = Enumerable.Range(0, rows).Select(i =>
        {
            var c = Conversion("o-" + i, "c-" + i, Minute());
            return Order(c with { EventTime = c.EventTime + Duration.FromTicks(Ticks()) }, credited: random.Next(3) < 2 ? Referrer() : null);
        }).ToList();
        for (int i = 0; i < touches.Count; i += 60)
        {
            await WrittenAsync(store, new UnitOfWork(touches: touches.Skip(i).Take(60).ToList(), orders: orders.Skip(i).Take(60).ToList()));
        }
        // Re-decisions: a third of the orders change hands (to the other referrer, to nobody, from nobody).
        var moved = new List<OrderRow>();
        for (int i = 0; i < orders.Count; i += 3)
        {
            var o = orders[i];
            string? now = o.CreditedReferrer is null ? "ana" : random.Next(2) == 0 ? null : o.CreditedReferrer.Value.Value == "ana" ? "bob" : "ana";
            orders[i] = Order(o.Conversion, version: 2, credited: now);
            moved.Add(orders[i]);
        }
        await WrittenAsync(store, new UnitOfWork(orders: moved));

        for (int w = 0; w < 300; w++)
        {
            int a = Minute(), b = random.Next(4) switch { 0 => a + random.Next(60), 1 => a + 1440, 2 => a + random.Next(span), _ => Minute() };
            if (random.Next(5) == 0)
            {
                (a, b) = (a / 60 * 60, b / 60 * 60);
            }
            var (from, until) = (At(a) + Duration.FromTicks(Ticks()), At(b) + Duration.FromTicks(Ticks()));
            string referrer = referrers[random.Next(2)];
            int limit = random.Next(3) == 0 ? 1 + random.Next(40) : random.Next(2) == 0 ? 100 + random.Next(400) : int.MaxValue;
            int expectedTouches = touches.Count(t => t.Referrer == Id(referrer) && t.EventTime >= from && t.EventTime < until);
            int expectedOrders = orders.Count(o => o.CreditedReferrer == Id(referrer) && o.Conversion.EventTime >= from && o.Conversion.EventTime < until);
            Assert.True(Math.Min(expectedTouches, limit) == await store.CountTouchesAsync(Program, Id(referrer), from, until, limit, Ct),
                $"touches of {referrer} in [{from}, {until}) up to {limit}: expected {Math.Min(expectedTouches, limit)}");
            Assert.True(Math.Min(expectedOrders, limit) == await store.CountCreditedOrdersAsync(Program, Id(referrer), from, until, limit, Ct),
                $"credited orders of {referrer} in [{from}, {until}) up to {limit}: expected {Math.Min(expectedOrders, limit)}");
        }
    }

    /// <summary>A reproducible sequence of numbers (SplitMix64) for the window tests: the same rows and windows on every store and run.</summary>
    private sealed class Sequence(ulong seed)
    {
        private ulong _state = seed;

        /// <summary>A number in [0, <paramref name="bound"/>).</summary>
        public int Next(int bound)
        {
            unchecked
            {
                ulong z = _state += 0x9E3779B97F4A7C15;
                z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9;
                z = (z ^ (z >> 27)) * 0x94D049BB133111EB;
                return (int)((z ^ (z >> 31)) % (ulong)bound);
            }
        }
    }

    /// <summary>Uses of a code are the orders crediting it before a position (event time, order id), in every program.</summary>
    [Fact]
    public async Task Code_uses_are_counted_by_event_time()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(
            orders: [Order("o-2", minute: 20, code: "JANE20"), Order("o-1", minute: 10, code: "JANE20"), Order("o-1", minute: 10, code: "JANE20", program: OtherProgram),
                Order("o-3", minute: 30, code: "JANE20"), Order("o-4", minute: 10, code: "ANA2026")]));
        Assert.Equal(2, await store.CountCodeUsesAsync(Code("JANE20"), new ListPosition(At(20), "o-2"), 10, Ct));
        Assert.Equal(3, await store.CountCodeUsesAsync(Code("JANE20"), new ListPosition(At(20), "o-3"), 10, Ct));
        Assert.Equal(1, await store.CountCodeUsesAsync(Code("JANE20"), new ListPosition(At(20), "o-2"), 1, Ct));
        Assert.Equal(0, await store.CountCodeUsesAsync(Code("JANE20"), new ListPosition(At(10), "o-1"), 10, Ct));
    }

    /// <summary>
    /// The due index: rows of one due kind with a due instant at or before the bound, by (due instant, reward id); a row
    /// rewritten without a due value leaves it.
    /// </summary>
    [Fact]
    public async Task Due_index_lists_what_is_due_and_forgets_what_is_closed()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(
            rewards: [Reward("w-b", due: RewardDue.HoldEnds, dueMinute: 10), Reward("w-a", due: RewardDue.HoldEnds, dueMinute: 10),
                Reward("w-c", due: RewardDue.HoldEnds, dueMinute: 5), Reward("w-d", due: RewardDue.HoldEnds, dueMinute: 11),
                Reward("w-e", due: RewardDue.Fulfilment, dueMinute: 1), Reward("w-f", due: RewardDue.Review, dueMinute: 1), Reward("w-g")]));
        var due = await store.ListDueRewardsAsync(Program, RewardDue.HoldEnds, At(10), null, 10, Ct);
        Assert.Equal(["w-c", "w-a", "w-b"], due.Select(r => r.RewardId));
        Assert.Equal(["w-a", "w-b"], (await store.ListDueRewardsAsync(Program, RewardDue.HoldEnds, At(10), new ListPosition(At(5), "w-c"), 10, Ct)).Select(r => r.RewardId));
        Assert.Equal(["w-c"], (await store.ListDueRewardsAsync(Program, RewardDue.HoldEnds, At(10), null, 1, Ct)).Select(r => r.RewardId));
        Assert.Equal(["w-e"], (await store.ListDueRewardsAsync(Program, RewardDue.Fulfilment, At(100), null, 10, Ct)).Select(r => r.RewardId));
        await WrittenAsync(store, new UnitOfWork(rewards: [Reward("w-a", version: 2, due: RewardDue.Fulfilment, dueMinute: 12), Reward("w-c", version: 2)]));
        Assert.Equal(["w-b"], (await store.ListDueRewardsAsync(Program, RewardDue.HoldEnds, At(10), null, 10, Ct)).Select(r => r.RewardId));
        Assert.Equal(["w-e", "w-a"], (await store.ListDueRewardsAsync(Program, RewardDue.Fulfilment, At(100), null, 10, Ct)).Select(r => r.RewardId));
        var closed = await store.FindRewardAsync(Program, "w-c", Ct);
        Assert.Null(closed!.Due);
        Assert.Null(closed.DueAt);
    }

    /// <summary>A beneficiary's rewards after a time: by (conversion time, reward id), the instant included with the empty id.</summary>
    [Fact]
    public async Task Rewards_after_a_time_are_listed_by_conversion_time()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(
            rewards: [Reward("w-3", minute: 30, orderId: "o-3"), Reward("w-1", minute: 10, orderId: "o-1"), Reward("w-2b", minute: 20, orderId: "o-2"),
                Reward("w-2a", minute: 20, orderId: "o-2"), Reward("x", beneficiary: "bob", minute: 20, orderId: "o-2")]));
        Assert.Equal(["w-2a", "w-2b", "w-3"], (await store.ListBeneficiaryRewardsAsync(Program, Id("ana"), new ListPosition(At(20), ""), 10, Ct)).Select(r => r.RewardId));
        Assert.Equal(["w-1", "w-2a"], (await store.ListBeneficiaryRewardsAsync(Program, Id("ana"), null, 2, Ct)).Select(r => r.RewardId));
        Assert.Equal(["w-2a", "w-2b", "x"], (await store.ListOrderRewardsAsync(Program, "o-2", Ct)).Select(r => r.RewardId));
    }

    /// <summary>A refund needs no order: written before its order, it is kept and listed once the order arrives.</summary>
    [Fact]
    public async Task Refunds_may_arrive_before_their_order()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(refunds: [Refund("o-1", "r-2", 5)]));
        await WrittenAsync(store, new UnitOfWork(refunds: [Refund("o-1", "r-1", 3)]));
        Assert.Null(await store.FindOrderAsync(Program, "o-1", Ct));
        await WrittenAsync(store, new UnitOfWork(orders: [Order("o-1")]));
        Assert.Equal(["r-2", "r-1"], (await store.ListRefundsAsync(Program, "o-1", Ct)).Select(r => r.RefundId));
    }

    /// <summary>
    /// A refund row is kept as given whatever its order: written before the order, in another currency than the order's,
    /// as a charge-back — a store checks neither the order nor the currency (what a refund counts for is Core's rule). The
    /// session that records the order reads the refunds whole, and rolling that session back leaves them.
    /// </summary>
    [Fact]
    public async Task A_refund_before_its_order_is_kept_as_given_and_read_by_the_session_recording_the_order()
    {
        var store = await NewStoreAsync();
        var usd = Refund("o-1", "r-1", 3) with { Amount = new Money(12.34m, "USD") };
        var chargeback = Refund("o-1", "r-2", 4) with { IsChargeback = true };
        await WrittenAsync(store, new UnitOfWork(refunds: [usd]));
        await WrittenAsync(store, new UnitOfWork(refunds: [chargeback]));
        await using (var session = await store.BeginAsync(Ct))
        {
            Assert.Equal([usd, chargeback], await session.ListRefundsAsync(Program, "o-1", Ct));
            Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(orders: [Order("o-1")]), Ct));
            Assert.Equal([usd, chargeback], await session.ListRefundsAsync(Program, "o-1", Ct));
        }
        Assert.Null(await store.FindOrderAsync(Program, "o-1", Ct));
        Assert.Equal([usd, chargeback], await store.ListRefundsAsync(Program, "o-1", Ct));
    }

    /// <summary>
    /// Codes keep every version with the instant it took effect; the change feed lists each code once at its latest
    /// write, in increasing positions, from any position on.
    /// </summary>
    [Fact]
    public async Task Codes_keep_their_history_and_feed_their_latest_changes()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(codes: [CodeVersion("JANE20"), CodeVersion("ANA2026")]));
        await WrittenAsync(store, new UnitOfWork(codes: [CodeVersion("BEN7")]));
        var first = await store.ListCodeChangesAsync(0, 10, Ct);
        Assert.Equal(["JANE20", "ANA2026", "BEN7"], first.Select(c => c.Record.Code.Value));
        Assert.True(first[0].Position > 0 && first[0].Position < first[1].Position && first[1].Position < first[2].Position);
        await WrittenAsync(store, new UnitOfWork(codes: [CodeVersion("JANE20", version: 2, status: CodeStatus.Paused, minute: 60)]));
        Assert.Equal(WriteOutcome.Conflict(RowKind.Code, "JANE20"), await WriteAsync(store, new UnitOfWork(codes: [CodeVersion("JANE20", version: 2, status: CodeStatus.Revoked)])));
        var changes = await store.ListCodeChangesAsync(first[1].Position, 10, Ct);
        Assert.Equal(["BEN7", "JANE20"], changes.Select(c => c.Record.Code.Value));
        Assert.Equal(CodeStatus.Paused, changes[1].Record.Status);
        Assert.Equal(["ANA2026", "BEN7", "JANE20"], (await store.ListCodeChangesAsync(0, 10, Ct)).Select(c => c.Record.Code.Value));
        Assert.Equal(["ANA2026"], (await store.ListCodeChangesAsync(0, 1, Ct)).Select(c => c.Record.Code.Value));
        var history = await store.ListCodeHistoryAsync(Code("JANE20"), Ct);
        Assert.Equal([(1L, CodeStatus.Active, At(0)), (2L, CodeStatus.Paused, At(60))], history.Select(h => (h.Record.Version, h.Record.Status, h.ChangedAt)));
        Assert.Equal(CodeStatus.Paused, (await store.FindCodeAsync(Code("JANE20"), Ct))!.Status);
        Assert.Empty(await store.ListCodeHistoryAsync(Code("ZZZ99"), Ct));
    }

    /// <summary>A referrer's codes in a program, paged by code; a code handed to another owner moves.</summary>
    [Fact]
    public async Task Codes_are_listed_by_owner()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(codes: [CodeVersion("JANE20"), CodeVersion("ANA2026"), CodeVersion("BEN7", owner: "bob"), CodeVersion("BUCK9", owner: null)]));
        Assert.Equal(["ANA2026", "JANE20"], (await store.ListCodesByOwnerAsync(Program, Id("ana"), null, 10, Ct)).Select(c => c.Code.Value));
        await WrittenAsync(store, new UnitOfWork(codes: [CodeVersion("JANE20", version: 2, owner: "bob"), CodeVersion("BUCK9", version: 2, owner: "bob")]));
        Assert.Equal(["ANA2026"], (await store.ListCodesByOwnerAsync(Program, Id("ana"), null, 10, Ct)).Select(c => c.Code.Value));
        Assert.Equal(["BEN7", "BUCK9", "JANE20"], (await store.ListCodesByOwnerAsync(Program, Id("bob"), null, 10, Ct)).Select(c => c.Code.Value));
        Assert.Equal(["BUCK9"], (await store.ListCodesByOwnerAsync(Program, Id("bob"), Code("BEN7"), 1, Ct)).Select(c => c.Code.Value));
        Assert.Empty(await store.ListCodesByOwnerAsync(OtherProgram, Id("bob"), null, 10, Ct));
    }

    /// <summary>
    /// A prospect's touches by customer, visitor or contact: each once, in a half-open window, latest first, at most
    /// the limit.
    /// </summary>
    [Fact]
    public async Task Touches_are_found_by_customer_visitor_or_contact()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(
            touches: [Touch("t-1", 10, customer: "c"), Touch("t-2", 20, visitor: "v-1", customer: "c"), Touch("t-3", 30, contact: Email(1)),
                Touch("t-4", 40, visitor: "v-2"), Touch("t-5", 50, customer: "c"), Touch("t-6", 20, customer: "c", program: OtherProgram)]));
        var all = await store.FindTouchesAsync(Program, Id("c"), ["v-1", "v-2"], [Email(1)], At(0), At(100), 10, Ct);
        Assert.Equal(["t-5", "t-4", "t-3", "t-2", "t-1"], all.Select(t => t.Id));
        var window = await store.FindTouchesAsync(Program, Id("c"), ["v-1"], [Email(1)], At(10), At(50), 10, Ct);
        Assert.Equal(["t-3", "t-2", "t-1"], window.Select(t => t.Id));
        Assert.Equal(["t-5", "t-4"], (await store.FindTouchesAsync(Program, Id("c"), ["v-2"], [], At(0), At(100), 2, Ct)).Select(t => t.Id));
        Assert.Equal(["t-3"], (await store.FindTouchesAsync(Program, null, [], [Email(1)], At(0), At(100), 10, Ct)).Select(t => t.Id));
    }

    /// <summary>Participants are replaced whole: a contact hash they no longer have no longer finds them.</summary>
    [Fact]
    public async Task Participants_are_found_by_their_current_contacts()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(participants: [Person("b", [Email(1)]), Person("a", [Email(1), Phone(2)])], visitorLinks: [new VisitorLink("v-2", Id("a")), new VisitorLink("v-1", Id("a"))]));
        Assert.Equal(["a", "b"], (await store.FindParticipantsByContactAsync(Email(1), Ct)).Select(p => p.Id.Value));
        await WrittenAsync(store, new UnitOfWork(participants: [Person("a", [Phone(2)])], visitorLinks: [new VisitorLink("v-1", Id("a"))]));
        Assert.Equal(["b"], (await store.FindParticipantsByContactAsync(Email(1), Ct)).Select(p => p.Id.Value));
        Assert.Equal(["a"], (await store.FindParticipantsByContactAsync(Phone(2), Ct)).Select(p => p.Id.Value));
        Assert.Equal(["v-1", "v-2"], await store.ListVisitorsAsync(Id("a"), Ct));
    }

    /// <summary>Summaries come back in the order of the keys asked for, without the keys that have none.</summary>
    [Fact]
    public async Task Summaries_come_back_in_key_order()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(summaries: [Summary("ana", "", 1), Summary("ana", "cap:M2026-11", 1), Summary("ana", "cap:L", 1), Summary("bob", "cap:Y2026", 1)]));
        var rows = await store.GetSummariesAsync(Program, Id("ana"), ["cap:L", "cap:Y2026", "", "cap:M2026-11"], Ct);
        Assert.Equal(["cap:L", "", "cap:M2026-11"], rows.Select(r => r.Key));
    }

    /// <summary>Ledger entries get increasing sequences; a program's ledger pages by sequence; documents come back verbatim.</summary>
    [Fact]
    public async Task Ledger_pages_by_sequence()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(entries: [Entry("w-2", "e-1"), Entry("w-1", "e-1")]));
        await WrittenAsync(store, new UnitOfWork(entries: [Entry("w-2", "e-2"), Entry("x", "e-1", program: OtherProgram)]));
        var ledger = await store.ListLedgerAsync(Program, 0, 10, Ct);
        Assert.Equal(["w-2/e-1", "w-1/e-1", "w-2/e-2"], ledger.Select(e => e.RewardId + "/" + e.EntryId));
        Assert.True(ledger[0].Sequence > 0 && ledger[0].Sequence < ledger[1].Sequence && ledger[1].Sequence < ledger[2].Sequence);
        Assert.Equal(["w-2/e-2"], (await store.ListLedgerAsync(Program, ledger[1].Sequence, 10, Ct)).Select(e => e.RewardId + "/" + e.EntryId));
        Assert.Equal(["e-1", "e-2"], (await store.ListEntriesAsync(Program, "w-2", Ct)).Select(e => e.EntryId));
        Assert.Equal("""{"v":1,"entry":"e-2"}""", ledger[2].Document);
    }

    /// <summary>
    /// Sightings of a fingerprint: participants registered with it first (by id), then the program's orders that carried
    /// it before the bound, latest first; at most the limit of each.
    /// </summary>
    [Fact]
    public async Task Sightings_list_registrations_then_latest_orders()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, new UnitOfWork(
            participants: [Person("z", fingerprints: [Device(1)]), Person("m", fingerprints: [Device(1), Card(1)])],
            orders: [Order("o-1", minute: 10, customer: "c1", fingerprints: [Device(1)]), Order("o-2", minute: 20, customer: "c2", fingerprints: [Device(1)]),
                Order("o-3", minute: 30, customer: "c3", fingerprints: [Device(1)]), Order("o-4", minute: 15, customer: "c4", fingerprints: [Card(1)])]));
        var seen = await store.FindSightingsAsync(Program, Device(1), At(30), 2, Ct);
        Assert.Equal([("m", (NodaTime.Instant?)null, (string?)null), ("z", null, null), ("c2", At(20), "o-2"), ("c1", At(10), "o-1")],
            seen.Select(s => (s.Participant.Value, s.At, s.OrderId)));
        var one = await store.FindSightingsAsync(Program, Device(1), At(100), 1, Ct);
        Assert.Equal([("m", (NodaTime.Instant?)null, (string?)null), ("c3", At(30), "o-3")], one.Select(s => (s.Participant.Value, s.At, s.OrderId)));
    }
}
