using NodaTime;
using Referrals.Rewards;
using Referrals.Storage;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Contracts;

/// <summary>
/// What a store implementing <see cref="ITransactionalStore"/> must do: the operations a piece of work makes from its flow
/// are one transaction — committed together, undone together, serialisable with other writers — and a refused or failed
/// write inside it leaves the earlier ones alone.
/// </summary>
public abstract class TransactionalStoreContract
{
    /// <summary>A new, empty store implementing the transaction and the conversion, touch and reward interfaces.</summary>
    protected abstract (ITransactionalStore Transactions, IConversionStore Conversions, ITouchStore Touches, IRewardStore Rewards) CreateStore();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly ParticipantId Ana = new("ref-1");

    private static RewardEntry Earned(string id) => new()
    {
        EntryId = id + ":earned",
        RewardId = id,
        Program = Program,
        Beneficiary = Ana,
        OrderId = "o-" + id,
        Type = RewardEntryType.Earned,
        Amount = new Money(10m, "EUR"),
        RecordedAt = Start,
        Terms = new RewardTerms
        {
            Role = RewardRole.Referrer,
            Level = 1,
            Kind = RewardKind.AccountCredit,
            Rule = "credit",
            Tier = "all",
            ReferralNumber = 1,
            PercentOfOrder = false,
            OrderAmount = new Money(50m, "EUR"),
            BeforeCap = new Money(10m, "EUR"),
            ConversionTime = Start,
            HoldUntil = Start + Duration.FromDays(14),
        },
    };

    private static RewardCommit Credit(string id, long expectedVersion) => new()
    {
        Program = Program,
        Accounts = [new AccountVersion(Ana, expectedVersion)],
        Entries = [Earned(id)],
    };

    [Fact]
    public async Task The_writes_of_the_work_commit_together_and_its_reads_see_them()
    {
        var (transactions, conversions, touches, rewards) = CreateStore();

        var seen = await transactions.RunInTransactionAsync((conversions, touches, rewards), static async (s, ct) =>
        {
            Assert.True(await s.conversions.TryAddConversionAsync(NewOrder("o-1", "bea", Start), ct));
            Assert.True(await s.touches.TryAddTouchAsync(NewTouch("t-1", Start) with { Customer = new ParticipantId("bea") }, ct));
            Assert.Equal(RewardCommitOutcome.Committed, await s.rewards.TryCommitAsync(Credit("r-1", 0), ct));
            var order = await s.conversions.FindConversionAsync(Program, "o-1", ct);
            var found = await s.touches.FindTouchesAsync(Program, new ParticipantId("bea"), [], [], ct);
            var account = await s.rewards.LoadAccountAsync(Program, Ana, ct);
            return (order?.OrderId, found.Count, account.Version);
        }, Ct);

        Assert.Equal(("o-1", 1, 1L), seen);
        Assert.NotNull(await conversions.FindConversionAsync(Program, "o-1", Ct));
        Assert.Single(await touches.FindTouchesAsync(Program, new ParticipantId("bea"), [], [], Ct));
        Assert.Equal(1, (await rewards.LoadAccountAsync(Program, Ana, Ct)).Version);
    }

    [Fact]
    public async Task Work_that_throws_leaves_nothing_and_its_exception_propagates_unchanged()
    {
        var (transactions, conversions, touches, rewards) = CreateStore();
        var failure = new InvalidOperationException("the decision failed");

        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await transactions.RunInTransactionAsync((conversions, touches, rewards, failure), static async (s, ct) =>
            {
                Assert.True(await s.conversions.TryAddConversionAsync(NewOrder("o-1", "bea", Start), ct));
                Assert.True(await s.touches.TryAddTouchAsync(NewTouch("t-1", Start) with { Customer = new ParticipantId("bea") }, ct));
                Assert.Equal(RewardCommitOutcome.Committed, await s.rewards.TryCommitAsync(Credit("r-1", 0), ct));
                throw s.failure;
#pragma warning disable CS0162 // the lambda needs a result type
                return 0;
#pragma warning restore CS0162
            }, Ct));

        Assert.Same(failure, thrown);
        Assert.Null(await conversions.FindConversionAsync(Program, "o-1", Ct));
        Assert.Empty(await touches.FindTouchesAsync(Program, new ParticipantId("bea"), [], [], Ct));
        Assert.Equal(0, (await rewards.LoadAccountAsync(Program, Ana, Ct)).Version);
        // The store works on afterwards, and the same writes succeed.
        Assert.True(await conversions.TryAddConversionAsync(NewOrder("o-1", "bea", Start), Ct));
    }

    [Fact]
    public async Task A_refused_or_failed_write_inside_leaves_the_earlier_writes_of_the_work()
    {
        var (transactions, conversions, _, rewards) = CreateStore();

        await transactions.RunInTransactionAsync((conversions, rewards), static async (s, ct) =>
        {
            Assert.True(await s.conversions.TryAddConversionAsync(NewOrder("o-1", "bea", Start), ct));
            Assert.Equal(RewardCommitOutcome.Committed, await s.rewards.TryCommitAsync(Credit("r-1", 0), ct));
            // Refusals: the order again, a stale version, an entry id written already.
            Assert.False(await s.conversions.TryAddConversionAsync(NewOrder("o-1", "cem", Start), ct));
            Assert.Equal(RewardCommitOutcome.Conflict, await s.rewards.TryCommitAsync(Credit("r-2", 0), ct));
            Assert.Equal(RewardCommitOutcome.Duplicate, await s.rewards.TryCommitAsync(Credit("r-1", 1), ct));
            // A write that throws (an attribution of an order never recorded), caught by the work.
            var orphan = Credit("r-3", 1) with { Attribution = Decision(NewOrder("o-9", "dan", Start)) };
            await Assert.ThrowsAnyAsync<Exception>(async () => await s.rewards.TryCommitAsync(orphan, ct));
            Assert.Equal(RewardCommitOutcome.Committed, await s.rewards.TryCommitAsync(Credit("r-4", 1), ct));
            return true;
        }, Ct);

        Assert.Equal("bea", (await conversions.FindConversionAsync(Program, "o-1", Ct))!.Customer.Value);
        var account = await rewards.LoadAccountAsync(Program, Ana, Ct);
        Assert.Equal(2, account.Version);
        Assert.Equal(["r-1:earned", "r-4:earned"], account.Entries.Select(e => e.EntryId));
    }

    [Fact]
    public async Task A_transaction_started_inside_the_work_joins_it()
    {
        var (transactions, conversions, _, _) = CreateStore();

        await Assert.ThrowsAsync<TimeoutException>(async () =>
            await transactions.RunInTransactionAsync((transactions, conversions), static async (s, ct) =>
            {
                await s.transactions.RunInTransactionAsync(s.conversions, static async (c, ct2) =>
                    await c.TryAddConversionAsync(NewOrder("o-1", "bea", Start), ct2), ct);
                // The inner one returned; its write is the outer's and goes with it.
                throw new TimeoutException();
#pragma warning disable CS0162
                return 0;
#pragma warning restore CS0162
            }, Ct));

        Assert.Null(await conversions.FindConversionAsync(Program, "o-1", Ct));
    }

    [Fact]
    public async Task Other_flows_read_the_state_before_and_their_writes_wait_for_the_commit()
    {
        var (transactions, conversions, _, _) = CreateStore();
        Assert.True(await conversions.TryAddConversionAsync(NewOrder("o-0", "ann", Start), Ct));
        var inside = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var release = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);

        // Started before the transaction: another flow.
        var reader = Task.Run(async () =>
        {
            await inside.Task;
            return await conversions.FindConversionAsync(Program, "o-1", Ct);
        }, Ct);
        var writer = Task.Run(async () =>
        {
            await inside.Task;
            return await conversions.TryAddConversionAsync(NewOrder("o-1", "cem", Start), Ct);
        }, Ct);

        var work = transactions.RunInTransactionAsync((conversions, inside, release), static async (s, ct) =>
        {
            Assert.True(await s.conversions.TryAddConversionAsync(NewOrder("o-1", "bea", Start), ct));
            s.inside.SetResult();
            await s.release.Task.WaitAsync(ct);
            return true;
        }, Ct).AsTask();

        Assert.Null(await reader.WaitAsync(TimeSpan.FromSeconds(30), Ct)); // the uncommitted order is not seen
        await Task.Delay(200, Ct);
        Assert.False(writer.IsCompleted, "another flow's write went ahead while the transaction was open");
        release.SetResult();
        await work;
        Assert.False(await writer.WaitAsync(TimeSpan.FromSeconds(30), Ct)); // it waited, then found the order taken
        Assert.Equal("bea", (await conversions.FindConversionAsync(Program, "o-1", Ct))!.Customer.Value);
    }

    [Fact]
    public async Task Read_modify_write_in_concurrent_transactions_never_conflicts_and_loses_nothing()
    {
        var (transactions, _, _, rewards) = CreateStore();
        const int Tasks = 6, Each = 10;

        // Each transaction reads the account's version and commits a credit expecting it: serialisable transactions
        // never see a version another one changes before they commit.
        var runs = Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            for (int i = 0; i < Each; i++)
            {
                string id = $"r-{t}-{i}";
                var outcome = await transactions.RunInTransactionAsync((rewards, id), static async (s, ct) =>
                {
                    var account = await s.rewards.LoadAccountAsync(Program, Ana, ct);
                    await Task.Yield();
                    return await s.rewards.TryCommitAsync(Credit(s.id, account.Version), ct);
                }, Ct);
                Assert.Equal(RewardCommitOutcome.Committed, outcome);
            }
        }, Ct)).ToArray();
        await Task.WhenAll(runs);

        var final = await rewards.LoadAccountAsync(Program, Ana, Ct);
        Assert.Equal(Tasks * Each, final.Version);
        Assert.Equal(Tasks * Each, final.Entries.Select(e => e.EntryId).Distinct().Count());
    }

    [Fact]
    public async Task A_cancelled_token_refuses_to_begin()
    {
        var (transactions, conversions, _, _) = CreateStore();
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
            await transactions.RunInTransactionAsync(conversions, static async (c, ct) =>
                await c.TryAddConversionAsync(NewOrder("o-1", "bea", Start), ct), cancelled.Token));

        Assert.Null(await conversions.FindConversionAsync(Program, "o-1", Ct));
    }
}
