using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Rewards;
using Referrals.Services;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Tests.Shared;

/// <summary>
/// The whole engine on a store's database, for every store (<c>SqliteRewardServiceTests</c>,
/// <c>PostgreSqlRewardServiceTests</c> supply the engine): conversions earn rewards and feed the fraud history, across
/// restarts (each engine a new process on the same database).
/// </summary>
public abstract class RewardServiceTests
{
    private static readonly ParticipantId Ana = new("ana");
    private static readonly ParticipantId Bob = new("bob");
    private static readonly ParticipantId Carl = new("carl");

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A new, empty database for one test: a SQLite file's path, a PostgreSQL schema's name.</summary>
    protected abstract string NewDatabase();

    /// <summary>The whole engine on <paramref name="database"/> as one process builds it (<c>AddReferrals</c> and the store's <c>UseXxx</c>).</summary>
    protected abstract ServiceProvider Build(string database, IClock clock);

    [Fact]
    public async Task Rewards_balances_reviews_and_the_fraud_history_survive_restarts()
    {
        string database = NewDatabase();
        var clock = new FakeClock(Start);
        ReferralCodeRecord code;

        // Process 1: ana registers on her phone and shares a code; bob converts; carl converts on ana's phone.
        await using (var provider = Build(database, clock))
        {
            var attribution = provider.GetRequiredService<AttributionService>();
            await provider.GetRequiredService<ParticipantService>().RegisterAsync(new Participant { Id = Ana, Fingerprints = [Device(1)] }, Ct);
            code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Program, Owner = Ana, Medium = ShareMedium.Sms }, Ct);

            var clean = await attribution.RecordConversionAsync(NewOrder("o-1", "bob", Start) with { PresentedCode = code.Display, Fingerprints = [Device(2)] }, Ct);
            var suspicious = await attribution.RecordConversionAsync(
                NewOrder("o-2", "carl", Start + Duration.FromHours(2)) with { PresentedCode = code.Display, Fingerprints = [Device(1)] }, Ct);

            Assert.Equal(FraudVerdict.Allow, clean.Fraud!.Verdict);
            Assert.Equal(FraudVerdict.Review, suspicious.Fraud!.Verdict);
            Assert.Equal(FraudSignalNames.SelfReferralDevice, Assert.Single(suspicious.Fraud.Signals).Name);
            var rewards = provider.GetRequiredService<RewardService>();
            Assert.Equal(2, (await rewards.ListOrderRewardsAsync(Program, "o-1", Ct)).Count);
            Assert.All(await rewards.ListOrderRewardsAsync(Program, "o-2", Ct), r => Assert.True(r.UnderReview));
        }

        // Process 2, after the hold: everything decided before is read from the database.
        clock.Reset(Start + Duration.FromDays(15));
        await using (var provider = Build(database, clock))
        {
            await provider.GetRequiredService<ReferralCodeService>().InitializeAsync(Ct);
            var rewards = provider.GetRequiredService<RewardService>();

            var summary = await rewards.GetReferrerSummaryAsync(Program, Ana, Ct);
            Assert.Equal(2, summary.SuccessfulReferrals);
            Assert.Equal(2, summary.Pending.Count);
            Assert.Equal([new Money(20m, "EUR")], summary.Pending.Amounts);
            Assert.Equal([new Money(20m, "EUR")], summary.Balance);
            Assert.Equal([new Money(5m, "EUR")], (await rewards.GetReferrerSummaryAsync(Program, Bob, Ct)).Balance);
            var review = Assert.Single(await provider.GetRequiredService<ReviewQueue>().ListAsync(Program, Ct));
            Assert.Equal(("o-2", Carl), (review.OrderId, review.Customer));
            Assert.Contains(FraudSignalNames.SelfReferralDevice, review.Explain(), StringComparison.Ordinal);

            // The lifecycle pass finds the open rewards in the database: o-1's two are approved, o-2's stay held.
            var pass = await rewards.ProcessDueAsync(Ct);
            Assert.Equal((2, 0, 0, 0, 0, 0), (pass.Approved, pass.Fulfilled, pass.Failed, pass.Redelivered, pass.Undelivered, pass.DeadLettered));
            Assert.All(await rewards.ListOrderRewardsAsync(Program, "o-1", Ct), r => Assert.Equal(RewardStatus.Approved, r.Status));

            // The fraud history the checks read is the database's: o-1 and o-2 are credited to ana; her registered device is still
            // hers, and carl's order on it two weeks ago makes a third friend on that device a ring of her network.
            var fraud = provider.GetRequiredService<IFraudHistory>();
            Assert.Equal((2, 0), Counts(await fraud.GetReferredOrderStatsAsync(Program, Ana, Ct)));
            var again = await provider.GetRequiredService<AttributionService>().RecordConversionAsync(
                NewOrder("o-3", "dan", clock.GetCurrentInstant()) with { PresentedCode = code.Display, Fingerprints = [Device(1)] }, Ct);
            Assert.Equal(FraudVerdict.Block, again.Fraud!.Verdict);
            Assert.Equal([FraudSignalNames.SelfReferralDevice, FraudSignalNames.RingSharedIdentity], again.Fraud.Signals.Select(s => s.Name));
            Assert.Contains("dan, carl", again.Fraud.Signals[1].Evidence, StringComparison.Ordinal);
            Assert.Empty(await rewards.ListOrderRewardsAsync(Program, "o-3", Ct));

            // Bob returns his order in full: his and ana's approved rewards on it are cancelled, the order counts as refunded.
            var refund = await rewards.RecordRefundAsync(new Refund
            {
                Program = Program, OrderId = "o-1", RefundId = "rf-1", Amount = new Money(50m, "EUR"), EventTime = clock.GetCurrentInstant(),
            }, Ct);
            Assert.Equal(RefundOutcome.Recorded, refund.Outcome);
            Assert.Equal(2, refund.Entries.Count);
            Assert.Equal((2, 1), Counts(await fraud.GetReferredOrderStatsAsync(Program, Ana, Ct)));
        }

        // Process 3: the refund, the cancelled rewards and the refunded order are in the database too.
        await using (var provider = Build(database, clock))
        {
            var rewards = provider.GetRequiredService<RewardService>();
            var summary = await rewards.GetReferrerSummaryAsync(Program, Ana, Ct);
            Assert.Equal(1, summary.SuccessfulReferrals); // o-2; o-1 stopped counting with the refund, o-3 was blocked
            Assert.Equal([new Money(10m, "EUR")], summary.Balance);
            Assert.Equal(1, summary.Revoked.Count);
            Assert.All(await rewards.ListOrderRewardsAsync(Program, "o-1", Ct), r => Assert.Equal(RewardStatus.Revoked, r.Status));
            Assert.Equal([new Money(0m, "EUR")], (await rewards.GetReferrerSummaryAsync(Program, Bob, Ct)).Balance);
            Assert.Equal(RefundOutcome.Duplicate, (await rewards.RecordRefundAsync(new Refund
            {
                Program = Program, OrderId = "o-1", RefundId = "rf-1", Amount = new Money(50m, "EUR"), EventTime = clock.GetCurrentInstant(),
            }, Ct)).Outcome);
            Assert.Equal((2, 1), Counts(await provider.GetRequiredService<IFraudHistory>().GetReferredOrderStatsAsync(Program, Ana, Ct)));
            Assert.Equal("o-2", Assert.Single(await provider.GetRequiredService<ReviewQueue>().ListAsync(Program, Ct)).OrderId);
        }
    }

    [Fact]
    public async Task A_refund_recorded_before_its_order_survives_a_restart_and_applies_when_the_order_arrives()
    {
        string database = NewDatabase();
        var clock = new FakeClock(Start);
        var refund = new Refund { Program = Program, OrderId = "o-1", RefundId = "rf-1", Amount = new Money(50m, "EUR"), EventTime = Start };
        ReferralCodeRecord code;

        // Process 1: the refund syncs before the web order; it is kept.
        await using (var provider = Build(database, clock))
        {
            code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Program, Owner = Ana, Medium = ShareMedium.Sms }, Ct);
            var rewards = provider.GetRequiredService<RewardService>();
            Assert.Equal(RefundOutcome.RecordedBeforeOrder, (await rewards.RecordRefundAsync(refund, Ct)).Outcome);
            Assert.Equal(RefundOutcome.Duplicate, (await rewards.RecordRefundAsync(refund, Ct)).Outcome);
        }

        // Process 2: the refund is read from the database — still a duplicate — and the order, arriving now, is refunded at once.
        clock.Reset(Start + Duration.FromHours(1));
        await using (var provider = Build(database, clock))
        {
            await provider.GetRequiredService<ReferralCodeService>().InitializeAsync(Ct);
            var rewards = provider.GetRequiredService<RewardService>();
            Assert.Equal(RefundOutcome.Duplicate, (await rewards.RecordRefundAsync(refund, Ct)).Outcome);
            var result = await provider.GetRequiredService<AttributionService>().RecordConversionAsync(NewOrder("o-1", "bob", Start - Duration.FromHours(1)) with { PresentedCode = code.Display }, Ct);
            Assert.True(result.IsAttributed, result.Explain());
            Assert.All(await rewards.ListOrderRewardsAsync(Program, "o-1", Ct), r => Assert.Equal((RewardStatus.Revoked, 0m), (r.Status, r.Net.Amount)));
        }

        // Process 3: the cancelled rewards, the uncounted referral and the refunded order are in the database.
        await using (var provider = Build(database, clock))
        {
            var rewards = provider.GetRequiredService<RewardService>();
            var rows = await rewards.ListOrderRewardsAsync(Program, "o-1", Ct);
            Assert.Equal(["credit", "friend"], rows.Select(r => r.Terms.Rule).Order(StringComparer.Ordinal));
            Assert.All(rows, r => Assert.Equal([RewardEntryType.Earned, RewardEntryType.Cancelled], r.Entries.Select(e => e.Type)));
            var summary = await rewards.GetReferrerSummaryAsync(Program, Ana, Ct);
            Assert.Equal(0, summary.SuccessfulReferrals);
            Assert.Equal([new Money(0m, "EUR")], summary.Balance);
            Assert.Equal((1, 1), Counts(await provider.GetRequiredService<IFraudHistory>().GetReferredOrderStatsAsync(Program, Ana, Ct)));
            var again = await rewards.RecordRefundAsync(refund, Ct);
            Assert.Equal((RefundOutcome.Duplicate, (Money?)new Money(50m, "EUR")), (again.Outcome, again.RefundedTotal));
        }
    }

    private static (int Orders, int Refunded) Counts(Referrals.Fraud.ReferredOrderStats stats) => (stats.Orders, stats.Refunded);
}
