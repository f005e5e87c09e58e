using System.Globalization;
using NodaTime;
using Referrals.Rewards;
using Referrals.Storage;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Contracts;

/// <summary>What every <see cref="IRewardStore"/> must do; a store's test class derives from this.</summary>
public abstract class RewardStoreContract
{
    /// <summary>A new, empty store.</summary>
    protected abstract IRewardStore CreateStore();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public static readonly ParticipantId Ana = new("ana");
    public static readonly ParticipantId Bea = new("bea");

    // One instance each, so that records compared with these in place of their lists are equal.
    private static readonly IReadOnlyList<string> NoStrings = new List<string>();
    private static readonly IReadOnlyList<ParticipantId> NoChain = new List<ParticipantId>();
    private static readonly IReadOnlyList<SkippedReward> NoSkipped = new List<SkippedReward>();

    /// <summary>The terms of a reward with every field set (amounts with trailing zeros and the extremes of decimal).</summary>
    public static RewardTerms FullTerms() => new()
    {
        Role = RewardRole.Referrer,
        Level = 2,
        Kind = RewardKind.GiftCard,
        Item = "sku-\U0001F600-42",
        Rule = "ladder \"gold\"",
        Tier = "referrals 5-9",
        ReferralNumber = 7,
        PercentOfOrder = true,
        OrderAmount = new Money(79228162514264337593543950335m, "EUR"),
        Boosts = ["black-friday", "weekend", "black-friday"],
        CappedBy = "month: at most 100.00 EUR",
        BeforeCap = new Money(12.5000m, "eur"),
        ConversionTime = Start + Duration.FromTicks(123_456_789),
        HoldUntil = Start + Duration.FromDays(14) + Duration.FromTicks(3),
        HeldForReview = true,
    };

    /// <summary>An entry of <paramref name="beneficiary"/> with only what is required set, 10.00 EUR earned unless said.</summary>
    public static RewardEntry Entry(
        string entryId,
        string rewardId,
        Instant at,
        ParticipantId? beneficiary = null,
        RewardEntryType type = RewardEntryType.Earned,
        decimal amount = 10.00m,
        string orderId = "o-1",
        ProgramId? program = null) => new()
    {
        EntryId = entryId,
        RewardId = rewardId,
        Program = program ?? Program,
        Beneficiary = beneficiary ?? Ana,
        OrderId = orderId,
        Type = type,
        Amount = new Money(amount, "EUR"),
        RecordedAt = at,
        Terms = type == RewardEntryType.Earned
            ? new RewardTerms
            {
                Role = RewardRole.Referrer,
                Level = 1,
                Kind = RewardKind.AccountCredit,
                Rule = "credit",
                Tier = "all referrals",
                ReferralNumber = 1,
                PercentOfOrder = false,
                OrderAmount = new Money(50m, "EUR"),
                BeforeCap = new Money(amount, "EUR"),
                ConversionTime = at,
                HoldUntil = at + Duration.FromDays(14),
            }
            : null,
    };

    /// <summary>A decision crediting <paramref name="referrer"/> (or nobody) with only what is required set.</summary>
    public static RewardDecision Decision(string orderId, ParticipantId? referrer, int revision = 1, ProgramId? program = null) => new()
    {
        Program = program ?? Program,
        OrderId = orderId,
        Revision = revision,
        Referrer = referrer,
        Chain = referrer is { } r ? [r] : [],
        ReferralNumber = referrer is null ? 0 : 1,
        Counted = referrer is not null,
        DecidedAt = Start,
    };

    public static Refund NewRefund(string orderId, string refundId, decimal amount, Instant at, bool chargeback = false, ProgramId? program = null) => new()
    {
        Program = program ?? Program,
        OrderId = orderId,
        RefundId = refundId,
        Amount = new Money(amount, "EUR"),
        EventTime = at,
        IsChargeback = chargeback,
    };

    /// <summary>A commit of entries to the accounts named, at the versions given (beneficiary, version) pairs.</summary>
    public static RewardCommit Commit(IReadOnlyList<RewardEntry> entries, params (ParticipantId Who, long Version)[] accounts) => new()
    {
        Program = entries.Count > 0 ? entries[0].Program : Program,
        Accounts = accounts.Select(a => new AccountVersion(a.Who, a.Version)).ToList(),
        Entries = entries,
    };

    [Fact]
    public async Task A_new_account_has_version_0_and_nothing_else_and_nothing_is_found()
    {
        var store = CreateStore();

        var account = await store.LoadAccountAsync(Program, Ana, Ct);

        Assert.Equal((Program, Ana, 0L), (account.Program, account.Beneficiary, account.Version));
        Assert.Empty(account.Entries);
        Assert.Empty(account.Referrals);
        Assert.Null(await store.FindDecisionAsync(Program, "o-1", Ct));
        Assert.Empty(await store.ListOrderEntriesAsync(Program, "o-1", Ct));
        Assert.Empty(await store.ListRewardEntriesAsync(Program, "r-1", Ct));
        Assert.Empty(await store.ListRefundsAsync(Program, "o-1", Ct));
        Assert.Empty(await store.ListOpenEntriesAsync(Program, Ct));
    }

    [Fact]
    public async Task A_commit_writes_entries_decision_and_refund_that_read_back_with_every_field()
    {
        var store = CreateStore();
        var earned = Entry("r-1:earned", "r-1", Start + Duration.FromTicks(1)) with
        {
            Amount = new Money(0.0000000000000000000000000001m, "eur"),
            Reason = "earned: ü \"quoted\"",
            Terms = FullTerms(),
        };
        var approved = Entry("r-1:approved", "r-1", Start + Duration.FromTicks(2), type: RewardEntryType.Approved, amount: 0.00m) with
        {
            Actor = "mia (support)",
            Reason = "checked",
            Reference = "ref-\U0001F600",
        };
        var friend = Entry("r-2:earned", "r-2", Start + Duration.FromTicks(3), beneficiary: Bea, amount: -79228162514264337593543950335m) with
        {
            Terms = FullTerms() with { Role = RewardRole.Referee, Level = 1, Item = null, Boosts = [], CappedBy = null, HeldForReview = false, PercentOfOrder = false },
        };
        var decision = new RewardDecision
        {
            Program = Program,
            OrderId = "o-1",
            Revision = 1,
            Referrer = Ana,
            Chain = [Ana, new ParticipantId("zoe"), new ParticipantId(AstralText)],
            ReferralNumber = 7,
            Counted = true,
            RewardIds = ["r-1", "r-2"],
            Skipped =
            [
                new SkippedReward("upline", new ParticipantId("zoe"), RewardSkipReason.ValueCapReached, "month: 100.00 EUR reached"),
                new SkippedReward("tenth", Ana, RewardSkipReason.CountCapReached, ""),
            ],
            DecidedAt = Start + Duration.FromTicks(123_456_789),
        };
        var refund = NewRefund("o-1", "cb-1", 50.10m, Start + Duration.FromTicks(99), chargeback: true) with { Amount = new Money(50.10m, "usd") };

        var outcome = await store.TryCommitAsync(
            new RewardCommit
            {
                Program = Program,
                Accounts = [new AccountVersion(Ana, 0), new AccountVersion(Bea, 0)],
                Entries = [earned, approved, friend],
                Decision = decision,
                ExpectedDecisionRevision = 0,
                Refund = refund,
            },
            Ct);

        Assert.Equal(RewardCommitOutcome.Committed, outcome);
        var ana = await store.LoadAccountAsync(Program, Ana, Ct);
        Assert.Equal(1, ana.Version);
        AssertSame([earned, approved], ana.Entries);
        AssertSame(decision, Assert.Single(ana.Referrals));
        var bea = await store.LoadAccountAsync(Program, Bea, Ct);
        Assert.Equal(1, bea.Version);
        AssertSame([friend], bea.Entries);
        Assert.Empty(bea.Referrals);
        AssertSame([earned, approved, friend], await store.ListOrderEntriesAsync(Program, "o-1", Ct));
        AssertSame([earned, approved], await store.ListRewardEntriesAsync(Program, "r-1", Ct));
        AssertSame(decision, await store.FindDecisionAsync(Program, "o-1", Ct));
        Assert.Equal([refund], await store.ListRefundsAsync(Program, "o-1", Ct));
        Assert.Equal("50.10", (await store.ListRefundsAsync(Program, "o-1", Ct))[0].Amount.Amount.ToString(CultureInfo.InvariantCulture));
        // Nothing of it in another program.
        Assert.Equal(0, (await store.LoadAccountAsync(OtherProgram, Ana, Ct)).Version);
        Assert.Null(await store.FindDecisionAsync(OtherProgram, "o-1", Ct));
        Assert.Empty(await store.ListOrderEntriesAsync(OtherProgram, "o-1", Ct));
        Assert.Empty(await store.ListRefundsAsync(OtherProgram, "o-1", Ct));
    }

    [Fact]
    public async Task Every_commit_increases_the_version_of_each_account_it_lists_by_one()
    {
        var store = CreateStore();

        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit([Entry("e-1", "r-1", Start)], (Ana, 0), (Bea, 0)), Ct));
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit([], (Ana, 1)), Ct));
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit([Entry("e-2", "r-2", Start, Bea)], (Bea, 1), (Ana, 2)), Ct));

        Assert.Equal(3, (await store.LoadAccountAsync(Program, Ana, Ct)).Version);
        Assert.Equal(2, (await store.LoadAccountAsync(Program, Bea, Ct)).Version);
        Assert.Equal(0, (await store.LoadAccountAsync(OtherProgram, Ana, Ct)).Version);
        Assert.Equal(["e-1"], (await store.LoadAccountAsync(Program, Ana, Ct)).Entries.Select(e => e.EntryId));
    }

    [Fact]
    public async Task An_account_listed_twice_counts_twice_and_two_different_versions_of_it_are_a_conflict()
    {
        var store = CreateStore();

        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit([Entry("e-1", "r-1", Start)], (Ana, 0), (Ana, 0)), Ct));
        Assert.Equal(2, (await store.LoadAccountAsync(Program, Ana, Ct)).Version);
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit([], (Bea, 0), (Ana, 2), (Ana, 2)), Ct));
        Assert.Equal(4, (await store.LoadAccountAsync(Program, Ana, Ct)).Version);

        // One of the two versions is stale, whichever it is.
        Assert.Equal(RewardCommitOutcome.Conflict, await store.TryCommitAsync(Commit([Entry("e-2", "r-2", Start)], (Ana, 4), (Ana, 3)), Ct));
        Assert.Equal(RewardCommitOutcome.Conflict, await store.TryCommitAsync(Commit([Entry("e-2", "r-2", Start)], (Ana, 3), (Ana, 4)), Ct));
        Assert.Equal(4, (await store.LoadAccountAsync(Program, Ana, Ct)).Version);
        Assert.Equal(1, (await store.LoadAccountAsync(Program, Bea, Ct)).Version);
        Assert.Empty(await store.ListRewardEntriesAsync(Program, "r-2", Ct));
    }

    [Fact]
    public async Task A_commit_of_many_accounts_and_entries_is_checked_and_written_like_a_small_one()
    {
        var store = CreateStore();
        var people = Enumerable.Range(0, 12).Select(i => new ParticipantId($"p-{i:D2}")).ToArray();
        var entries = people.Select((p, i) => Entry($"e-{i:D2}", $"r-{i:D2}", Start, p)).ToList();

        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit(entries, [.. people.Select(p => (p, 0L))]), Ct));
        // The twelfth account stale, or the twelfth entry written already: refused whole.
        var next = people.Select((p, i) => Entry($"f-{i:D2}", $"s-{i:D2}", Start, p)).ToList();
        Assert.Equal(RewardCommitOutcome.Conflict, await store.TryCommitAsync(Commit(next, [.. people.Select((p, i) => (p, i == 11 ? 0L : 1L))]), Ct));
        Assert.Equal(RewardCommitOutcome.Duplicate, await store.TryCommitAsync(Commit([.. next.Take(11), entries[11]], [.. people.Select(p => (p, 1L))]), Ct));
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit(next, [.. people.Select(p => (p, 1L))]), Ct));

        var last = await store.LoadAccountAsync(Program, people[11], Ct);
        Assert.Equal(2, last.Version);
        Assert.Equal(["e-11", "f-11"], last.Entries.Select(e => e.EntryId));
    }

    [Fact]
    public async Task A_stale_decision_revision_is_reported_before_a_duplicate_id()
    {
        var store = CreateStore();
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit([Entry("e-1", "r-1", Start)], (Ana, 0)) with { Decision = Decision("o-1", Ana) }, Ct));

        var both = Commit([Entry("e-1", "r-1", Start)], (Ana, 1)) with { Decision = Decision("o-1", Bea, revision: 2), ExpectedDecisionRevision = 0 };
        Assert.Equal(RewardCommitOutcome.Conflict, await store.TryCommitAsync(both, Ct));
        Assert.Equal(RewardCommitOutcome.Duplicate, await store.TryCommitAsync(both with { ExpectedDecisionRevision = 1 }, Ct));
        Assert.Equal(Ana, (await store.FindDecisionAsync(Program, "o-1", Ct))!.Referrer);
        Assert.Equal(1, (await store.LoadAccountAsync(Program, Ana, Ct)).Version);
    }

    [Fact]
    public async Task A_stale_account_version_is_a_conflict_and_nothing_of_the_commit_is_written()
    {
        var store = CreateStore();
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit([Entry("e-1", "r-1", Start)], (Ana, 0)), Ct));

        var stale = new RewardCommit
        {
            Program = Program,
            // Bea's version is right, Ana's is not: the whole commit is refused.
            Accounts = [new AccountVersion(Bea, 0), new AccountVersion(Ana, 0)],
            Entries = [Entry("e-2", "r-2", Start, Bea, orderId: "o-2"), Entry("e-3", "r-3", Start, orderId: "o-2")],
            Decision = Decision("o-2", Ana),
            Refund = NewRefund("o-2", "rf-1", 5m, Start),
        };
        Assert.Equal(RewardCommitOutcome.Conflict, await store.TryCommitAsync(stale, Ct));
        // A version ahead of the store is as stale as one behind it, and so is any but 0 for a new account.
        Assert.Equal(RewardCommitOutcome.Conflict, await store.TryCommitAsync(stale with { Accounts = [new AccountVersion(Bea, 0), new AccountVersion(Ana, 2)] }, Ct));
        Assert.Equal(RewardCommitOutcome.Conflict, await store.TryCommitAsync(Commit([Entry("e-4", "r-4", Start, Bea)], (Bea, 1)), Ct));

        await AssertUnchangedAsync(store);

        // Read again, committed.
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(stale with { Accounts = [new AccountVersion(Bea, 0), new AccountVersion(Ana, 1)] }, Ct));
        Assert.Equal(2, (await store.LoadAccountAsync(Program, Ana, Ct)).Version);
        Assert.Equal(["e-2", "e-3"], (await store.ListOrderEntriesAsync(Program, "o-2", Ct)).Select(e => e.EntryId));

        static async Task AssertUnchangedAsync(IRewardStore store)
        {
            var ana = await store.LoadAccountAsync(Program, Ana, Ct);
            Assert.Equal(1, ana.Version);
            Assert.Equal(["e-1"], ana.Entries.Select(e => e.EntryId));
            Assert.Empty(ana.Referrals);
            var bea = await store.LoadAccountAsync(Program, Bea, Ct);
            Assert.Equal(0, bea.Version);
            Assert.Empty(bea.Entries);
            Assert.Empty(await store.ListOrderEntriesAsync(Program, "o-2", Ct));
            Assert.Null(await store.FindDecisionAsync(Program, "o-2", Ct));
            Assert.Empty(await store.ListRefundsAsync(Program, "o-2", Ct));
            Assert.Equal(["e-1"], (await store.ListOpenEntriesAsync(Program, Ct)).Select(e => e.EntryId));
        }
    }

    [Fact]
    public async Task A_stale_decision_revision_is_a_conflict_and_nothing_of_the_commit_is_written()
    {
        var store = CreateStore();
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit([], (Ana, 0)) with { Decision = Decision("o-1", Ana) }, Ct));

        // Another writer decided o-1 first: a second first decision (expecting none) is refused, with its entry.
        var second = Commit([Entry("e-1", "r-1", Start)], (Ana, 1)) with { Decision = Decision("o-1", Bea), ExpectedDecisionRevision = 0 };
        Assert.Equal(RewardCommitOutcome.Conflict, await store.TryCommitAsync(second, Ct));
        Assert.Equal(RewardCommitOutcome.Conflict, await store.TryCommitAsync(second with { ExpectedDecisionRevision = 2 }, Ct));
        Assert.Equal(RewardCommitOutcome.Conflict, await store.TryCommitAsync(Commit([], (Ana, 1)) with { Decision = Decision("o-2", Ana, revision: 2), ExpectedDecisionRevision = 1 }, Ct));

        Assert.Equal(Ana, (await store.FindDecisionAsync(Program, "o-1", Ct))!.Referrer);
        Assert.Null(await store.FindDecisionAsync(Program, "o-2", Ct));
        Assert.Empty(await store.ListRewardEntriesAsync(Program, "r-1", Ct));
        Assert.Equal(1, (await store.LoadAccountAsync(Program, Ana, Ct)).Version);

        // The revision read: the decision is replaced.
        var replacement = Decision("o-1", Bea, revision: 2);
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(second with { Decision = replacement, ExpectedDecisionRevision = 1 }, Ct));
        AssertSame(replacement, await store.FindDecisionAsync(Program, "o-1", Ct));
        Assert.Equal(["e-1"], (await store.ListRewardEntriesAsync(Program, "r-1", Ct)).Select(e => e.EntryId));
    }

    [Fact]
    public async Task Entry_ids_are_unique_per_reward()
    {
        var store = CreateStore();
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit([Entry("e-1", "r-1", Start)], (Ana, 0)), Ct));

        // The same id in another reward is another entry; in the same reward again, a duplicate.
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit([Entry("e-1", "r-2", Start, orderId: "o-2")], (Ana, 1)), Ct));
        Assert.Equal(RewardCommitOutcome.Duplicate, await store.TryCommitAsync(Commit([Entry("e-1", "r-2", Start, orderId: "o-2")], (Ana, 2)), Ct));
        Assert.Equal(RewardCommitOutcome.Duplicate, await store.TryCommitAsync(
            Commit([Entry("e-2", "r-3", Start, orderId: "o-3"), Entry("e-2", "r-3", Start, orderId: "o-3")], (Ana, 2)),
            Ct));
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(
            Commit([Entry("e-2", "r-3", Start, orderId: "o-3"), Entry("e-2", "r-4", Start, orderId: "o-3")], (Ana, 2)),
            Ct));

        Assert.Equal([("r-1", "e-1"), ("r-2", "e-1"), ("r-3", "e-2"), ("r-4", "e-2")],
            (await store.LoadAccountAsync(Program, Ana, Ct)).Entries.Select(e => (e.RewardId, e.EntryId)));
        Assert.Equal(["o-2"], (await store.ListRewardEntriesAsync(Program, "r-2", Ct)).Select(e => e.OrderId));
        Assert.Equal(["r-3", "r-4"], (await store.ListOrderEntriesAsync(Program, "o-3", Ct)).Select(e => e.RewardId));
    }

    [Fact]
    public async Task An_existing_entry_or_refund_id_is_a_duplicate_and_nothing_of_the_commit_is_written()
    {
        var store = CreateStore();
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(
            Commit([Entry("e-1", "r-1", Start)], (Ana, 0)) with { Refund = NewRefund("o-1", "rf-1", 5m, Start) },
            Ct));

        // An entry id written before, beside a new one: refused whole.
        var again = Commit([Entry("e-2", "r-2", Start, orderId: "o-2"), Entry("e-1", "r-1", Start)], (Ana, 1)) with { Decision = Decision("o-2", Ana) };
        Assert.Equal(RewardCommitOutcome.Duplicate, await store.TryCommitAsync(again, Ct));
        // The same id twice in one commit.
        Assert.Equal(RewardCommitOutcome.Duplicate, await store.TryCommitAsync(
            Commit([Entry("e-3", "r-3", Start, orderId: "o-2"), Entry("e-3", "r-3", Start, orderId: "o-2")], (Ana, 1)),
            Ct));
        // A refund id recorded before, with new entries.
        Assert.Equal(RewardCommitOutcome.Duplicate, await store.TryCommitAsync(
            Commit([Entry("e-4", "r-4", Start, orderId: "o-2")], (Ana, 1)) with { Refund = NewRefund("o-2", "rf-1", 1m, Start) },
            Ct));
        // A stale version is reported before a duplicate id.
        Assert.Equal(RewardCommitOutcome.Conflict, await store.TryCommitAsync(again with { Accounts = [new AccountVersion(Ana, 0)] }, Ct));

        var ana = await store.LoadAccountAsync(Program, Ana, Ct);
        Assert.Equal(1, ana.Version);
        Assert.Equal(["e-1"], ana.Entries.Select(e => e.EntryId));
        Assert.Empty(ana.Referrals);
        Assert.Empty(await store.ListOrderEntriesAsync(Program, "o-2", Ct));
        Assert.Null(await store.FindDecisionAsync(Program, "o-2", Ct));
        Assert.Empty(await store.ListRefundsAsync(Program, "o-2", Ct));
        Assert.Equal(["rf-1"], (await store.ListRefundsAsync(Program, "o-1", Ct)).Select(r => r.RefundId));
        Assert.Equal(["e-1"], (await store.ListOpenEntriesAsync(Program, Ct)).Select(e => e.EntryId));

        // Ids are unique per program: the same ids in another program are new.
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(
            Commit([Entry("e-1", "r-1", Start, program: OtherProgram)], (Ana, 0)) with { Refund = NewRefund("o-1", "rf-1", 5m, Start, program: OtherProgram) },
            Ct));
        Assert.Single(await store.ListRefundsAsync(OtherProgram, "o-1", Ct));
    }

    [Fact]
    public async Task Entries_for_another_program_or_an_account_not_listed_are_refused_with_ArgumentException()
    {
        var store = CreateStore();

        await Assert.ThrowsAnyAsync<ArgumentNullException>(async () => await store.TryCommitAsync(null!, Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await store.TryCommitAsync(
            Commit([Entry("e-1", "r-1", Start), Entry("e-2", "r-2", Start, program: OtherProgram)], (Ana, 0)) with { Program = Program },
            Ct));
        await Assert.ThrowsAnyAsync<ArgumentException>(async () => await store.TryCommitAsync(
            Commit([Entry("e-1", "r-1", Start), Entry("e-2", "r-2", Start, Bea)], (Ana, 0)),
            Ct));

        var ana = await store.LoadAccountAsync(Program, Ana, Ct);
        Assert.Equal(0, ana.Version);
        Assert.Empty(ana.Entries);
        Assert.Empty(await store.ListRewardEntriesAsync(Program, "r-1", Ct));
        Assert.Empty(await store.ListRewardEntriesAsync(OtherProgram, "r-2", Ct));
    }

    [Fact]
    public async Task Lists_are_oldest_first_in_the_order_written()
    {
        var store = CreateStore();
        long ana = 0, bea = 0;
        // Ids that sort against the order of writing, so that only the ledger's own order can give this result.
        await CommitAsync([Entry("z-earned", "r-z", Start, orderId: "o-1")], Ana);
        await CommitAsync([Entry("y-earned", "r-y", Start, Bea, orderId: "o-1"), Entry("x-earned", "r-x", Start, orderId: "o-2")], Ana, Bea);
        await CommitAsync([Entry("w-approved", "r-z", Start + Duration.FromHours(1), type: RewardEntryType.Approved, amount: 0m, orderId: "o-1")], Ana);
        await CommitAsync([Entry("v-cancelled", "r-y", Start + Duration.FromHours(1), Bea, RewardEntryType.Cancelled, -10m, "o-1")], Bea);
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit([]) with { Refund = NewRefund("o-1", "rf-z", 10m, Start + Duration.FromHours(2)) }, Ct));
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit([]) with { Refund = NewRefund("o-1", "rf-a", 20m, Start + Duration.FromHours(1)) }, Ct));

        Assert.Equal(["z-earned", "y-earned", "w-approved", "v-cancelled"], (await store.ListOrderEntriesAsync(Program, "o-1", Ct)).Select(e => e.EntryId));
        Assert.Equal(["x-earned"], (await store.ListOrderEntriesAsync(Program, "o-2", Ct)).Select(e => e.EntryId));
        Assert.Equal(["z-earned", "w-approved"], (await store.ListRewardEntriesAsync(Program, "r-z", Ct)).Select(e => e.EntryId));
        Assert.Equal(["z-earned", "x-earned", "w-approved"], (await store.LoadAccountAsync(Program, Ana, Ct)).Entries.Select(e => e.EntryId));
        Assert.Equal(["y-earned", "v-cancelled"], (await store.LoadAccountAsync(Program, Bea, Ct)).Entries.Select(e => e.EntryId));
        // Refunds in the order recorded, not by id or event time.
        Assert.Equal(["rf-z", "rf-a"], (await store.ListRefundsAsync(Program, "o-1", Ct)).Select(r => r.RefundId));

        async Task CommitAsync(RewardEntry[] entries, params ParticipantId[] accounts)
        {
            var versions = accounts.Select(a => (a, a == Ana ? ana : bea)).ToArray();
            Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit(entries, versions), Ct));
            ana += accounts.Count(a => a == Ana);
            bea += accounts.Count(a => a == Bea);
        }
    }

    [Fact]
    public async Task Referrals_are_the_current_decisions_crediting_the_account_in_the_order_they_were_made()
    {
        var store = CreateStore();
        await DecideAsync(Decision("o-1", Ana));
        await DecideAsync(Decision("o-2", Ana));
        await DecideAsync(Decision("o-3", Bea));
        await DecideAsync(Decision("o-4", null));

        Assert.Equal(["o-1", "o-2"], await ReferralsAsync(Ana));
        Assert.Equal(["o-3"], await ReferralsAsync(Bea));

        // A re-attribution moves o-1 to bea: the end of her list.
        await DecideAsync(Decision("o-1", Bea, revision: 2), expected: 1);
        Assert.Equal(["o-2"], await ReferralsAsync(Ana));
        Assert.Equal(["o-3", "o-1"], await ReferralsAsync(Bea));
        // A new revision for the same referrer moves the decision to the end too, and the account holds the new one.
        await DecideAsync(Decision("o-3", Bea, revision: 2) with { Counted = false }, expected: 1);
        Assert.Equal(["o-1", "o-3"], await ReferralsAsync(Bea));
        Assert.False((await store.LoadAccountAsync(Program, Bea, Ct)).Referrals[1].Counted);
        // Credit taken away: in nobody's list, still found by order.
        await DecideAsync(Decision("o-2", null, revision: 2), expected: 1);
        Assert.Empty(await ReferralsAsync(Ana));
        Assert.Null((await store.FindDecisionAsync(Program, "o-2", Ct))!.Referrer);
        // And given again.
        await DecideAsync(Decision("o-4", Ana, revision: 2), expected: 1);
        Assert.Equal(["o-4"], await ReferralsAsync(Ana));
        Assert.Equal(2, (await store.LoadAccountAsync(Program, Ana, Ct)).Referrals[0].Revision);

        async Task DecideAsync(RewardDecision decision, int expected = 0)
        {
            var account = await store.LoadAccountAsync(Program, Ana, Ct);
            Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(
                Commit([], (Ana, account.Version)) with { Decision = decision, ExpectedDecisionRevision = expected },
                Ct));
        }

        async Task<string[]> ReferralsAsync(ParticipantId who) =>
            (await store.LoadAccountAsync(Program, who, Ct)).Referrals.Select(d => d.OrderId).ToArray();
    }

    [Fact]
    public async Task Open_entries_are_those_of_pending_and_approved_rewards_by_recorded_time()
    {
        var store = CreateStore();
        long version = 0;
        var t = Enumerable.Range(0, 20).Select(i => Start + Duration.FromMinutes(i)).ToArray();
        // r-a pending, r-b pending, r-c in another program.
        await WriteAsync(Entry("a:earned", "r-a", t[1]), Entry("b:earned", "r-b", t[0]));
        Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit([Entry("c:earned", "r-c", t[2], program: OtherProgram)], (Ana, 0)), Ct));
        Assert.Equal(["b:earned", "a:earned"], await OpenAsync());

        // Approved: still open, and the approval is listed with it.
        await WriteAsync(Entry("a:approved", "r-a", t[3], type: RewardEntryType.Approved, amount: 0m));
        Assert.Equal(["b:earned", "a:earned", "a:approved"], await OpenAsync());
        // Fulfilled: closed.
        await WriteAsync(Entry("a:fulfilled", "r-a", t[4], type: RewardEntryType.Fulfilled, amount: 0m) with { Reference = "coupon-1" });
        Assert.Equal(["b:earned"], await OpenAsync());
        // Released from review: open; adjusted down to a cent: open; cancelled to zero: closed.
        await WriteAsync(Entry("b:released", "r-b", t[5], type: RewardEntryType.Released, amount: 0m));
        await WriteAsync(Entry("b:adjusted", "r-b", t[6], type: RewardEntryType.Adjusted, amount: -9.99m));
        Assert.Equal(["b:earned", "b:released", "b:adjusted"], await OpenAsync());
        await WriteAsync(Entry("b:cancelled", "r-b", t[7], type: RewardEntryType.Cancelled, amount: -0.01m));
        Assert.Empty(await OpenAsync());
        // Entries of a closed reward do not open it again.
        await WriteAsync(Entry("a:clawed", "r-a", t[8], type: RewardEntryType.ClawedBack, amount: -10m));
        Assert.Empty(await OpenAsync());

        // Earned and approved in one commit; another earned, then rejected; one approved, then fully clawed back before
        // fulfilment.
        await WriteAsync(Entry("d:earned", "r-d", t[9]), Entry("d:approved", "r-d", t[10], type: RewardEntryType.Approved, amount: 0m), Entry("e:earned", "r-e", t[11]));
        await WriteAsync(Entry("f:earned", "r-f", t[12]));
        Assert.Equal(["d:earned", "d:approved", "e:earned", "f:earned"], await OpenAsync());
        await WriteAsync(Entry("e:rejected", "r-e", t[13], type: RewardEntryType.Rejected, amount: -10m));
        await WriteAsync(Entry("f:approved", "r-f", t[14], type: RewardEntryType.Approved, amount: 0m), Entry("f:clawed", "r-f", t[15], type: RewardEntryType.ClawedBack, amount: -10m));
        Assert.Equal(["d:earned", "d:approved"], await OpenAsync());

        // Recorded time decides the order, not the order of writing: an entry recorded earlier sorts first.
        await WriteAsync(Entry("g:earned", "r-g", t[0] - Duration.FromMinutes(1)));
        Assert.Equal(["g:earned", "d:earned", "d:approved"], await OpenAsync());
        Assert.Equal(["c:earned"], (await store.ListOpenEntriesAsync(OtherProgram, Ct)).Select(e => e.EntryId));
        AssertSame(
            [Entry("g:earned", "r-g", t[0] - Duration.FromMinutes(1)), Entry("d:earned", "r-d", t[9]), Entry("d:approved", "r-d", t[10], type: RewardEntryType.Approved, amount: 0m)],
            await store.ListOpenEntriesAsync(Program, Ct));

        async Task WriteAsync(params RewardEntry[] entries)
        {
            Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(Commit(entries, (Ana, version)), Ct));
            version++;
        }

        async Task<string[]> OpenAsync() => (await store.ListOpenEntriesAsync(Program, Ct)).Select(e => e.EntryId).ToArray();
    }

    [Fact]
    public async Task Entries_recorded_at_the_same_instant_keep_their_write_order_so_every_reward_folds_from_its_earned_entry()
    {
        var store = CreateStore();
        // 40 rewards, each earned and approved at one instant (a nightly pass writing many at once): enough entries that
        // an unstable sort would interleave them.
        for (int i = 0; i < 40; i++)
        {
            Assert.Equal(RewardCommitOutcome.Committed, await store.TryCommitAsync(
                Commit([Entry($"{i}:earned", $"r-{i}", Start), Entry($"{i}:approved", $"r-{i}", Start, type: RewardEntryType.Approved, amount: 0m)], (Ana, i)),
                Ct));
        }

        var open = await store.ListOpenEntriesAsync(Program, Ct);

        Assert.Equal(80, open.Count);
        foreach (var reward in open.GroupBy(e => e.RewardId))
        {
            Assert.Equal([RewardEntryType.Earned, RewardEntryType.Approved], reward.Select(e => e.Type));
        }
    }

    [Fact]
    public async Task Concurrent_commits_to_one_account_from_the_version_read_keep_every_entry_once_and_count_every_commit()
    {
        var store = CreateStore();
        const int Tasks = 8, PerTask = 25;
        using var start = new Barrier(Tasks);
        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            var own = new ParticipantId($"friend-{t}");
            start.SignalAndWait(Ct);
            for (int n = 0; n < PerTask; n++)
            {
                while (true)
                {
                    var ana = await store.LoadAccountAsync(Program, Ana, Ct);
                    var friend = await store.LoadAccountAsync(Program, own, Ct);
                    // Like a referral number: the position in Ana's ledger as read. A lost update would repeat one.
                    int number = ana.Entries.Count + 1;
                    var commit = new RewardCommit
                    {
                        Program = Program,
                        Accounts = t % 2 == 0
                            ? [new AccountVersion(Ana, ana.Version), new AccountVersion(own, friend.Version)]
                            : [new AccountVersion(own, friend.Version), new AccountVersion(Ana, ana.Version)],
                        Entries =
                        [
                            Entry($"t{t}-{n}:ana", $"t{t}-{n}:ana", Start, orderId: $"t{t}-{n}") with { Reason = $"#{number}" },
                            Entry($"t{t}-{n}:friend", $"t{t}-{n}:friend", Start, own, orderId: $"t{t}-{n}"),
                        ],
                        Decision = Decision($"t{t}-{n}", Ana),
                    };
                    var outcome = await store.TryCommitAsync(commit, Ct);
                    if (outcome == RewardCommitOutcome.Committed)
                    {
                        break;
                    }
                    Assert.Equal(RewardCommitOutcome.Conflict, outcome);
                }
            }
        }, Ct)));

        const int Commits = Tasks * PerTask;
        var account = await store.LoadAccountAsync(Program, Ana, Ct);
        Assert.Equal(Commits, account.Version);
        Assert.Equal(Commits, account.Entries.Count);
        Assert.Equal(Commits, account.Entries.Select(e => e.EntryId).Distinct(StringComparer.Ordinal).Count());
        // Every commit saw every one before it: the numbers are 1 to Commits, each once, in ledger order.
        Assert.Equal(Enumerable.Range(1, Commits).Select(i => $"#{i}"), account.Entries.Select(e => e.Reason));
        Assert.Equal(Commits, account.Referrals.Count);
        for (int t = 0; t < Tasks; t++)
        {
            var friend = await store.LoadAccountAsync(Program, new ParticipantId($"friend-{t}"), Ct);
            Assert.Equal(PerTask, friend.Version);
            Assert.Equal(PerTask, friend.Entries.Count);
        }
        Assert.Equal(2 * Commits, (await store.ListOpenEntriesAsync(Program, Ct)).Count);
    }

    /// <summary>Every property of each entry, in order; terms by their elements, amounts as exact decimal text.</summary>
    public static void AssertSame(IReadOnlyList<RewardEntry> expected, IReadOnlyList<RewardEntry> actual)
    {
        Assert.Equal(expected.Count, actual.Count);
        for (int i = 0; i < expected.Count; i++)
        {
            AssertSame(expected[i], actual[i]);
        }
    }

    public static void AssertSame(RewardEntry expected, RewardEntry actual)
    {
        Assert.Equal(expected with { Terms = null }, actual with { Terms = null });
        Assert.Equal(Exact(expected.Amount), Exact(actual.Amount));
        if (expected.Terms is not { } e)
        {
            Assert.Null(actual.Terms);
            return;
        }
        var a = actual.Terms;
        Assert.NotNull(a);
        Assert.Equal(e with { Boosts = NoStrings }, a with { Boosts = NoStrings });
        Assert.Equal(e.Boosts, a.Boosts);
        Assert.Equal(Exact(e.OrderAmount), Exact(a.OrderAmount));
        Assert.Equal(Exact(e.BeforeCap), Exact(a.BeforeCap));
    }

    /// <summary>Every property, lists by their elements.</summary>
    public static void AssertSame(RewardDecision expected, RewardDecision? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(
            expected with { Chain = NoChain, RewardIds = NoStrings, Skipped = NoSkipped },
            actual with { Chain = NoChain, RewardIds = NoStrings, Skipped = NoSkipped });
        Assert.Equal(expected.Chain, actual.Chain);
        Assert.Equal(expected.RewardIds, actual.RewardIds);
        Assert.Equal(expected.Skipped, actual.Skipped);
    }

    private static string Exact(Money m) => m.Amount.ToString(CultureInfo.InvariantCulture) + " " + m.Currency;
}
