using Microsoft.Extensions.Options;
using NodaTime;
using Referrals.Pipeline;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Storage;
using Referrals.Tests.Support;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Pipeline;

/// <summary>
/// Issue 17 item 5 as a count rather than a time: on the narrow contract, one conversion and one reward pass make the same
/// reads, returning the same number of rows, whether the referrer has a short or a long history.
/// </summary>
public sealed class ConstantCostTests
{
    private sealed class Shop
    {
        public Shop(int history)
        {
            World = new AttributionWorld(p =>
            {
                p.Rewards = new RewardOptions
                {
                    HoldPeriod = TimeSpan.FromDays(30),
                    Rules =
                    [
                        new RewardRuleOptions
                        {
                            Name = "ladder",
                            Tiers = [new RewardTierOptions { From = 1, Amount = 10m, Currency = "EUR" }, new RewardTierOptions { From = 5, Amount = 15m, Currency = "EUR" }, new RewardTierOptions { From = 20, Percent = 12.5m }],
                        },
                        new RewardRuleOptions { Name = "welcome", For = RewardRole.Referee, Amount = 5m, Currency = "EUR" },
                    ],
                    Caps = [new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 2_000_000m, Currency = "EUR" }, new RewardCapOptions { Period = CapPeriod.Day, MaxCount = 100_000 }],
                };
                p.Fraud = new FraudPolicyOptions { MaxReferralsPerHour = 100_000, MaxReferralsPerDay = 100_000, MaxConversionsPerHour = 100_000, MaxConversionsPerDay = 100_000 };
            });
            (Store, Counter) = CountingStore.Wrap(World.Contract);
            var options = Options.Create(World.Options);
            Codes = new ReferralCodeService(Store, options, World.Clock, CryptoRandomSource.Instance, World.Links, null);
            Rewards = new RewardService(options, World.Clock, Store, [World.Fulfiller], [World.Notifier], null);
            var fraud = new FraudAssessor(options, World.Clock, new Referrals.Pipeline.ContractFraudHistory(Store), BuiltInChecks(options));
            Attribution = new AttributionService(options, World.Clock, Codes, Store, [World.Notifier], null, fraud);
            History = history;
        }

        public AttributionWorld World { get; }

        public IReferralStore Store { get; }

        public CountingStore Counter { get; }

        public ReferralCodeService Codes { get; }

        public RewardService Rewards { get; }

        public AttributionService Attribution { get; }

        public int History { get; }

        public ReferralCodeRecord Code { get; private set; } = null!;

        /// <summary>ana's code and <see cref="History"/> friends who bought with it, one an hour, the first 40 days ago.</summary>
        public async Task SeedAsync()
        {
            Code = await Codes.IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("ana"), Medium = ShareMedium.Sms }, Ct);
            var start = Monday - Duration.FromDays(40);
            var orders = Enumerable.Range(0, History)
                .Select(i => Order(i, start + Duration.FromHours(i)))
                .ToList();
            World.Clock.Reset(start);
            await Attribution.RecordConversionsAsync(orders, Ct);
            World.Clock.Reset(Monday);
        }

        public Conversion Order(int friend, Instant at) =>
            World.Order($"o-{friend}", new ParticipantId($"f-{friend}"), at) with { PresentedCode = Code.Display };
    }

    [Fact]
    public async Task A_conversion_reads_the_same_rows_after_3_or_60_earlier_referrals()
    {
        var reads = new List<SortedDictionary<string, int>>();
        foreach (int history in new[] { 3, 60 })
        {
            var shop = new Shop(history);
            await shop.SeedAsync();
            shop.Counter.Reset();

            var result = await shop.Attribution.RecordConversionAsync(shop.Order(1000, Monday), Ct);

            Assert.True(result.IsAttributed, result.Explain());
            reads.Add(shop.Counter.Reads());
        }
        Assert.Equal(reads[0], reads[1]);
        Assert.Equal(0, reads[1].GetValueOrDefault("ListReferralsAsync") + reads[1].GetValueOrDefault("ListBeneficiaryRewardsAsync") + reads[1].GetValueOrDefault("ListLedgerAsync"));
    }

    [Fact]
    public async Task A_reward_pass_probes_the_due_index_and_reads_only_the_due_reward_whatever_the_rewards_held()
    {
        var reads = new List<SortedDictionary<string, int>>();
        foreach (int history in new[] { 3, 60 })
        {
            var shop = new Shop(history);
            await shop.SeedAsync();
            // The first referral's two rewards are past their 30-day hold; every other reward is held.
            shop.World.Clock.Reset(Monday - Duration.FromDays(40) + Duration.FromDays(30) + Duration.FromMinutes(30));
            shop.Counter.Reset();

            var pass = await shop.Rewards.ProcessDueAsync(Ct);

            Assert.Equal((2, 2, 0), (pass.Approved, pass.Fulfilled, pass.Failed));
            reads.Add(shop.Counter.Reads());
        }
        Assert.Equal(reads[0], reads[1]);
        Assert.Equal(0, reads[1].GetValueOrDefault("ListBeneficiaryRewardsAsync") + reads[1].GetValueOrDefault("ListLedgerAsync"));
    }

    [Fact]
    public async Task A_referrer_summary_reads_the_account_summary_alone_whatever_the_rewards_held()
    {
        var reads = new List<SortedDictionary<string, int>>();
        foreach (int history in new[] { 3, 60 })
        {
            var shop = new Shop(history);
            await shop.SeedAsync();
            shop.Counter.Reset();

            var summary = await shop.Rewards.GetReferrerSummaryAsync(Customers, new ParticipantId("ana"), Ct);

            Assert.Equal(history, summary.SuccessfulReferrals);
            reads.Add(shop.Counter.Reads());
        }
        Assert.Equal(reads[0], reads[1]);
        Assert.Equal(0, reads[1].GetValueOrDefault("ListBeneficiaryRewardsAsync") + reads[1].GetValueOrDefault("ListEntriesAsync"));
    }
}
