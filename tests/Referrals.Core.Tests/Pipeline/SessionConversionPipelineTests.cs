using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Logging.Abstractions;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Pipeline;
using Referrals.Rewards;
using Referrals.Storage;
using Referrals.Tests.Support;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Pipeline;

/// <summary>
/// The conversion pipeline on the narrow store contract (<see cref="SessionConversionPipeline"/>): it decides and rewards
/// exactly as the pipeline on today's stores, while reading summaries instead of histories, and it keeps the summaries,
/// cap-usage rows and due index that later decisions read.
/// </summary>
public sealed class SessionConversionPipelineTests
{
    private static readonly string[] People = ["r0", "r1", "r2", "f3", "f4", "f5", "f6", "f7", "f8", "f9"];

    /// <summary>Customer <paramref name="Buyer"/> orders <paramref name="Hour"/> hours after Monday, presenting referrer <paramref name="Referrer"/>'s code.</summary>
    public sealed record Buy(int Buyer, int Referrer, int Hour, int Cents);

    private static Arbitrary<Buy[]> Histories() =>
        Gen.Choose(0, People.Length - 1).Zip(Gen.Choose(0, 2)).Zip(Gen.Choose(0, 24 * 60)).Zip(Gen.Choose(100, 20_000))
            .Select(t => new Buy(t.Item1.Item1.Item1, t.Item1.Item1.Item2, t.Item1.Item2, t.Item2))
            .ListOf().Select(l => l.Take(40).ToArray()).ToArbitrary();

    private static void Program(Referrals.Programs.ProgramOptions p) => p.Rewards = new RewardOptions
    {
        HoldPeriod = TimeSpan.FromDays(14),
        Rules =
        [
            new RewardRuleOptions
            {
                Name = "ladder",
                Tiers = [new RewardTierOptions { From = 1, Amount = 10m, Currency = "EUR" }, new RewardTierOptions { From = 3, Percent = 7.5m }],
            },
            new RewardRuleOptions { Name = "bonus", Milestone = 4, Amount = 12.5m, Currency = "EUR" },
            new RewardRuleOptions { Name = "upline", Level = 2, Amount = 2m, Currency = "EUR" },
            new RewardRuleOptions { Name = "friend", For = RewardRole.Referee, Kind = RewardKind.Coupon, Percent = 12.5m },
        ],
        Caps =
        [
            new RewardCapOptions { Period = CapPeriod.Week, MaxAmount = 30m, Currency = "EUR" },
            new RewardCapOptions { Period = CapPeriod.Day, MaxCount = 2 },
            new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 60m, Currency = "EUR" },
        ],
    };

    private sealed class Worlds
    {
        public Worlds(Action<Referrals.Programs.ProgramOptions>? program = null)
        {
            Old = new AttributionWorld(program ?? Program);
            Store = new InMemoryStore();
            Pipeline = SessionConversionPipeline.Create(Old.Options, Store, Old.Codes.Resolver, Old.Clock, Old.Fraud, [], NullLogger.Instance);
        }

        public AttributionWorld Old { get; }

        public InMemoryStore Store { get; }

        public IReferralStore Contract => Store;

        public SessionConversionPipeline Pipeline { get; }

        public ReferralCodeRecord[] Codes { get; private set; } = [];

        public async Task IssueCodesAsync()
        {
            Codes = new ReferralCodeRecord[3];
            for (int i = 0; i < 3; i++)
            {
                Codes[i] = await Old.CodeAsync(new ParticipantId(People[i]), ShareMedium.Sms);
            }
        }

        public Conversion Order(int index, Buy b) =>
            Old.Order("o" + index.ToString("D3", System.Globalization.CultureInfo.InvariantCulture), new ParticipantId(People[b.Buyer]), Monday + Duration.FromHours(b.Hour), b.Cents / 100m)
                with { PresentedCode = Codes[b.Referrer].Display };
    }

    [Property(MaxTest = 30)]
    public Property Decides_and_rewards_every_order_as_the_pipeline_on_todays_stores() =>
        Prop.ForAll(Histories(), buys => CompareAsync(buys).GetAwaiter().GetResult());

    private static async Task<bool> CompareAsync(Buy[] buys)
    {
        var w = new Worlds();
        await w.IssueCodesAsync();
        for (int i = 0; i < buys.Length; i++)
        {
            var order = w.Order(i, buys[i]);
            var before = await w.Old.Attribution.RecordConversionAsync(order, Ct);
            var after = await w.Pipeline.RecordAsync(order, Ct);
            Assert.Equal(Describe(before), Describe(after));
            var oldRewards = (await w.Old.Rewards.ListOrderRewardsAsync(Customers, order.OrderId, Ct)).Select(r => Describe(r.Id, r.Beneficiary, r.Terms, r.Earned, r.Net, r.Status));
            var newRewards = (await w.Contract.ListOrderRewardsAsync(Customers, order.OrderId, Ct)).Select(RewardDocuments.FromRow).Select(s => Describe(s.Id, s.Beneficiary, s.Terms, s.Earned, s.Net, s.Status));
            Assert.Equal(oldRewards.Order(StringComparer.Ordinal), newRewards.Order(StringComparer.Ordinal));
        }
        foreach (var person in People)
        {
            var id = new ParticipantId(person);
            var old = await w.Old.Rewards.GetReferrerSummaryAsync(Customers, id, Ct);
            var rows = await w.Contract.GetSummariesAsync(Customers, id, [""], Ct);
            var summary = rows.Count == 0 ? AccountSummary.Empty : AccountSummary.FromJson(rows[0].Document);
            Assert.Equal(old.SuccessfulReferrals, summary.CountedReferrals);
            Assert.Equal(old.Balance, summary.Balance);
            Assert.Equal(old.Pending.Count, summary.TotalsOf(RewardStatus.Pending, net: true).Count);
        }
        return true;
    }

    private static string Describe(AttributionResult a) =>
        $"{a.OrderId} {a.Reason} {a.Referrer} {a.Code} {a.IsRepeat} [{string.Join(",", a.Chain)}] [{string.Join(",", a.Touches.Select(t => t.Verdict))}]";

    private static string Describe(string id, ParticipantId beneficiary, RewardTerms t, Money earned, Money net, RewardStatus status) =>
        $"{id} {beneficiary} {t.Rule} #{t.ReferralNumber} {t.Tier} {earned} {net} {status} {t.CappedBy} {t.HoldUntil}";

    [Fact]
    public async Task Keeps_the_referrers_summary_the_cap_usage_of_each_period_and_the_due_index()
    {
        var w = new Worlds();
        await w.IssueCodesAsync();
        var ana = new ParticipantId("r0");
        await w.Pipeline.RecordAsync(w.Order(1, new Buy(3, 0, 1, 4000)), Ct);
        await w.Pipeline.RecordAsync(w.Order(2, new Buy(4, 0, 2, 5000)), Ct);

        var rows = await w.Contract.GetSummariesAsync(Customers, ana, ["", "cap:W2026-11-23", "cap:D2026-11-23", "cap:M2026-11"], Ct);
        Assert.Equal(["", "cap:W2026-11-23", "cap:D2026-11-23", "cap:M2026-11"], rows.Select(r => r.Key));
        var account = AccountSummary.FromJson(rows[0].Document);
        Assert.Equal(2, account.CountedReferrals);
        Assert.Equal(2, account.CreditedOrders);
        Assert.Equal(new AccountSummary.Point(Monday + Duration.FromHours(2), "o002"), account.LastReferral);
        Assert.Equal([new Money(20m, "EUR")], account.Balance);
        foreach (var cap in rows.Skip(1).Select(r => CapUsageDocument.FromJson(r.Document)))
        {
            Assert.Equal(2, cap.Orders);
            Assert.Equal(20m, cap.ValueIn("EUR"));
        }
        var friend = AccountSummary.FromJson((await w.Contract.GetSummariesAsync(Customers, new ParticipantId("f3"), [""], Ct))[0].Document);
        Assert.Equal(new AccountSummary.Point(Monday + Duration.FromHours(1), "o001"), friend.FirstConversion);
        Assert.Equal(ana, friend.FirstReferrer);

        // Every reward waits for the end of its hold, 14 days after its order: in the due index then, not before.
        var holdEnds = Monday + Duration.FromHours(2) + Duration.FromDays(14);
        var due = await w.Contract.ListDueRewardsAsync(Customers, RewardDue.HoldEnds, holdEnds, null, 100, Ct);
        Assert.Equal(["o001#1:friend", "o001#1:ladder", "o002#1:friend", "o002#1:ladder"], due.Select(r => r.RewardId).Order(StringComparer.Ordinal));
        Assert.Empty(await w.Contract.ListDueRewardsAsync(Customers, RewardDue.HoldEnds, Monday + Duration.FromDays(14), null, 100, Ct));
    }

    [Fact]
    public async Task Records_an_order_once_and_returns_the_stored_decision_again()
    {
        var w = new Worlds();
        await w.IssueCodesAsync();
        var order = w.Order(1, new Buy(3, 0, 1, 4000));
        var first = await w.Pipeline.RecordAsync(order, Ct);
        w.Old.Clock.Advance(Duration.FromHours(1));
        var again = await w.Pipeline.RecordAsync(order, Ct);
        Assert.Equal(first.Explain(), again.Explain());
        Assert.Equal(first.DecidedAt, again.DecidedAt);
        var account = AccountSummary.FromJson((await w.Contract.GetSummariesAsync(Customers, new ParticipantId("r0"), [""], Ct))[0].Document);
        Assert.Equal(1, account.CountedReferrals);
        Assert.Single(await w.Contract.ListEntriesAsync(Customers, "o001#1:ladder", Ct));
    }

    [Fact]
    public async Task A_batch_is_one_session_whose_later_orders_read_the_earlier_ones()
    {
        var w = new Worlds();
        await w.IssueCodesAsync();
        // The same friend twice in one batch: the second order is a repeat of the first, decided from the session's own write.
        var results = await w.Pipeline.RecordManyAsync([w.Order(1, new Buy(3, 0, 1, 4000)), w.Order(2, new Buy(3, 0, 5, 4000))], Ct);
        Assert.Equal([false, true], results.Select(r => r.IsRepeat));
        Assert.Equal(1, (await w.Contract.ListOrderRewardsAsync(Customers, "o001", Ct)).Select(RewardDocuments.FromRow).Single(s => s.Terms.Rule == "ladder").Terms.ReferralNumber);
        Assert.Empty(await w.Contract.ListOrderRewardsAsync(Customers, "o002", Ct));
    }
}
