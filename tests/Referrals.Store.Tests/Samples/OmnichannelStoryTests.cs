using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Omnichannel;
using Referrals.Rewards;
using Referrals.Storage;
using Referrals.Store.Tests.Support;
using Referrals.Services;
using static Referrals.Omnichannel.OmnichannelStory;

namespace Referrals.Store.Tests.Samples;

/// <summary>
/// The omnichannel sample's story on SQLite, run the way a new user runs it: once on an empty folder, then again on the
/// same database. Asserts on the returned summary (read back from the store and the ledger) and on the database file.
/// </summary>
public sealed class OmnichannelStoryTests : IDisposable
{
    private static readonly ParticipantId[] Referrers = [Anna, Carla, Jane, Max];

    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task The_first_run_attributes_all_four_combinations_blocks_the_self_referral_claws_back_the_refund_and_approves_after_the_hold()
    {
        var output = new StringWriter();
        var week1 = await RunAsync(_directory.Path, output, cancellationToken: Ct);

        Assert.Equal(1, week1.Week);
        Assert.False(week1.ContinuedFromStoredState);
        Assert.Equal((0, 0), (week1.CodesBefore, week1.ConversionsBefore));
        Assert.True(File.Exists(week1.DatabasePath));

        // Each channel combination, from the scene meant to produce it.
        AssertCredited(week1.Order(Scene.ReceiptQrOnline), ChannelCombination.OfflineToOnline, Anna, TouchKind.LinkClick);
        AssertCredited(week1.Order(Scene.SmsLinkAtTill), ChannelCombination.OnlineToOffline, Carla, TouchKind.PosCodeScan);
        AssertCredited(week1.Order(Scene.InfluencerCodeOnline), ChannelCombination.OnlineToOnline, Jane, TouchKind.CodeEnteredOnline);
        AssertCredited(week1.Order(Scene.EmployeeCodePosBatch), ChannelCombination.OfflineToOffline, Max, TouchKind.PosBatchCapture);
        AssertCredited(week1.Order(Scene.ContactLookupAtTill), ChannelCombination.OfflineToOffline, Anna, TouchKind.PosContactLookup);

        // The table, from the programs' reports by combination. Online → Online captured four touches: Eve's link click
        // and the code she typed, Gus's code and the link Carla's second account pasted (blocked, but captured). Ben
        // returned his whole order: attributed, but no new customer. Saturday's look-up rewards are still held.
        (ChannelCombination, int Captured, int Attributed, int NewCustomers, decimal Earned, decimal Pending, decimal Approved, decimal ClawedBack)[] table =
        [
            (ChannelCombination.OfflineToOnline, 1, 1, 0, 15.99m, 0m, 0m, 15.99m),
            (ChannelCombination.OnlineToOffline, 1, 1, 1, 18.45m, 0m, 18.45m, 0m),
            (ChannelCombination.OnlineToOnline, 4, 2, 2, 39.50m, 0m, 39.50m, 0m),
            (ChannelCombination.OfflineToOffline, 2, 2, 2, 34.20m, 14.20m, 20.00m, 0m),
        ];
        Assert.Equal(table, week1.Combinations.Select(c => (c.Combination, c.Captured, c.Attributed, c.NewCustomers, Eur(c.Earned), Eur(c.Pending), Eur(c.Approved), Eur(c.ClawedBack))));

        // The next-day POS upload: the employee's sale imported, the mistyped code refused with its line.
        Assert.Equal((1, 1), (week1.PosBatch.Captured, week1.PosBatch.Conversions));
        Assert.Equal(3, Assert.Single(week1.PosBatch.Errors).LineNumber);
        var uploaded = week1.Order(Scene.EmployeeCodePosBatch).Attribution;
        Assert.Equal(Duration.FromHours(10), uploaded.DecidedAt - uploaded.ConversionTime); // sold Monday 16:00, uploaded Tuesday 02:00

        // The self-referral: blocked with its reason, nobody credited, no reward.
        var self = week1.Order(Scene.SelfReferral);
        Assert.Equal(NotAttributedReason.FraudBlocked, self.Attribution.Reason);
        Assert.Equal(Carla, self.Attribution.Referrer);
        Assert.Equal(FraudVerdict.Block, self.Attribution.Fraud!.Verdict);
        Assert.Contains(self.Attribution.Fraud.Signals, s => s.Name == FraudSignalNames.SelfReferralPayment);
        Assert.Empty(self.Rewards);
        Assert.DoesNotContain(week1.RewardsOf(Carla), r => r.OrderId == self.Attribution.OrderId);

        // The refund: the rewards had been paid out, so they are clawed back in full.
        var refunded = week1.Order(Scene.ReceiptQrOnline);
        Assert.Equal(2, refunded.Rewards.Count);
        Assert.All(refunded.Rewards, r =>
        {
            Assert.Equal(RewardStatus.Revoked, r.Status);
            Assert.Equal(
                [RewardEntryType.Earned, RewardEntryType.Approved, RewardEntryType.Fulfilled, RewardEntryType.ClawedBack],
                r.Entries.Select(e => e.Type));
            Assert.Equal(0m, r.Net.Amount);
        });
        var annasClawback = refunded.Rewards.Single(r => r.Beneficiary == Anna).Entries[^1];
        Assert.Equal(-10m, annasClawback.Amount.Amount);
        Assert.Equal(15.99m, week1.Combinations.Single(c => c.Combination == ChannelCombination.OfflineToOnline).ClawedBack.Single().Amount);

        // The hold period: Monday's rewards approved once their hold ended (not before), then paid out.
        foreach (var reward in week1.Order(Scene.SmsLinkAtTill).Rewards.Concat(week1.Order(Scene.EmployeeCodePosBatch).Rewards))
        {
            Assert.Equal(RewardStatus.Fulfilled, reward.Status);
            var approved = reward.Entries.Single(e => e.Type == RewardEntryType.Approved);
            Assert.Equal("hold ended", approved.Reason);
            Assert.True(approved.RecordedAt >= reward.Terms.HoldUntil);
            Assert.Equal(reward.Terms.ConversionTime + Duration.FromDays(3), reward.Terms.HoldUntil);
        }
        // Saturday's rewards are still within their hold at the end of the week.
        Assert.All(week1.Order(Scene.ContactLookupAtTill).Rewards, r =>
        {
            Assert.Equal(RewardStatus.Pending, r.Status);
            Assert.True(r.Terms.HoldUntil > week1.ReportedAt);
        });

        // The order held for review was released by support and paid after its hold.
        var reviewed = week1.Order(Scene.ReviewedOrder);
        Assert.Equal(FraudVerdict.Review, reviewed.Attribution.Fraud!.Verdict);
        Assert.All(reviewed.Rewards, r =>
        {
            Assert.Equal(RewardStatus.Fulfilled, r.Status);
            Assert.Contains(r.Entries, e => e.Type == RewardEntryType.Released && e.Actor == "mia (support)");
        });

        // Balances from the ledger: Anna's paid reward was clawed back; Saturday's is pending.
        Assert.Equal(10m, Balance(week1, Anna));
        Assert.Equal(20m, Balance(week1, Jane));
        Assert.Equal(20m, Balance(week1, Max));

        // The database file holds what the summary says: read by another engine on the file, through the store contract.
        await using (var engine = SqliteEngine.Build(week1.DatabasePath, new FakeClock(week1.ReportedAt)))
        {
            var store = engine.GetRequiredService<IReferralStore>();
            var changes = await store.ListCodeChangesAsync(0, 10_000, Ct);
            Assert.Equal(week1.CodesAfter, changes.Count);
            var orders = (await store.ListProgramOrdersAsync(Customers, null, 10_000, Ct)).Concat(await store.ListProgramOrdersAsync(Staff, null, 10_000, Ct)).ToList();
            Assert.Equal(week1.ConversionsAfter, orders.Count);
            var attribution = engine.GetRequiredService<AttributionService>();
            foreach (var order in week1.Orders)
            {
                var stored = await attribution.FindAttributionAsync(order.Attribution.Program, order.Attribution.OrderId, Ct);
                Assert.Equal(order.Attribution.Combination, stored!.Combination);
                Assert.Equal(order.Attribution.Reason, stored.Reason);
            }
        }

        string report = output.ToString();
        Assert.Contains(week1.DatabasePath, report, StringComparison.Ordinal);
        Assert.Contains("run 1:", report, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_second_run_continues_from_the_stored_state_with_the_same_codes_and_new_orders()
    {
        var week1 = await RunAsync(_directory.Path, TextWriter.Null, cancellationToken: Ct);
        var output = new StringWriter();
        var week2 = await RunAsync(_directory.Path, output, cancellationToken: Ct);

        Assert.Equal(2, week2.Week);
        Assert.True(week2.ContinuedFromStoredState);
        Assert.Equal(week1.DatabasePath, week2.DatabasePath);
        Assert.Equal(week1.CodesAfter, week2.CodesBefore);
        Assert.Equal(week1.ConversionsAfter, week2.ConversionsBefore);
        Assert.True(week2.ConversionsAfter > week1.ConversionsAfter);
        Assert.True(week2.WeekStart >= week1.ReportedAt);
        Assert.Contains($"run 2: continued from the stored state — the database had {week1.CodesAfter} codes and {week1.ConversionsAfter} conversions", output.ToString(), StringComparison.Ordinal);

        // Codes reused: the same code per referrer, the vanity code among them, and no new code in the database.
        Assert.Equal(week1.CodesAfter, week2.CodesAfter);
        foreach (var referrer in Referrers)
        {
            Assert.Equal(week1.Codes[referrer].Code, week2.Codes[referrer].Code);
        }
        Assert.Equal(CodeKind.Vanity, week2.Codes[Jane].Kind);
        Assert.Equal(JaneVanityCode, week2.Codes[Jane].Display);

        // New orders with new ids, decided as in the first week.
        Assert.Empty(week2.Orders.Select(o => o.Attribution.OrderId).Intersect(week1.Orders.Select(o => o.Attribution.OrderId)));
        Assert.Empty(week2.Orders.Select(o => o.Attribution.Customer).Intersect(week1.Orders.Select(o => o.Attribution.Customer)));
        foreach (var order in week2.Orders)
        {
            var before = week1.Order(order.Scene).Attribution;
            Assert.Equal((before.Reason, before.Combination, before.Referrer), (order.Attribution.Reason, order.Attribution.Combination, order.Attribution.Referrer));
        }
        Assert.Equal(FraudVerdict.Block, week2.Order(Scene.SelfReferral).Attribution.Fraud!.Verdict);
        // This week a different friend returns an order; it is clawed back all the same.
        Assert.Contains(week2.Orders.SelectMany(o => o.Rewards).SelectMany(r => r.Entries), e => e.Type == RewardEntryType.ClawedBack);

        // The table counts both weeks.
        foreach (var row in week2.Combinations)
        {
            var first = week1.Combinations.Single(c => c.Combination == row.Combination);
            Assert.True(row.Attributed > first.Attributed, $"{row.Combination}: {row.Attributed} attributed after week 2, {first.Attributed} after week 1");
            Assert.True(row.Captured > first.Captured, $"{row.Combination}: {row.Captured} captured after week 2, {first.Captured} after week 1");
        }
    }

    [Fact]
    public async Task Reset_starts_the_story_over_on_a_new_database()
    {
        var week1 = await RunAsync(_directory.Path, TextWriter.Null, cancellationToken: Ct);
        await RunAsync(_directory.Path, TextWriter.Null, cancellationToken: Ct);

        var again = await RunAsync(_directory.Path, TextWriter.Null, reset: true, cancellationToken: Ct);

        Assert.Equal(1, again.Week);
        Assert.False(again.ContinuedFromStoredState);
        Assert.Equal((0, 0), (again.CodesBefore, again.ConversionsBefore));
        Assert.Equal(week1.ConversionsAfter, again.ConversionsAfter);
        Assert.NotEqual(week1.Codes[Anna].Code, again.Codes[Anna].Code);
    }

    [Fact]
    public async Task Balances_carry_over_to_the_second_run()
    {
        var week1 = await RunAsync(_directory.Path, TextWriter.Null, cancellationToken: Ct);
        var week2 = await RunAsync(_directory.Path, TextWriter.Null, cancellationToken: Ct);

        // Each balance is last week's plus what this week's orders left for the referrer, to the cent.
        foreach (var referrer in Referrers)
        {
            decimal earnedThisWeek = week2.Orders.SelectMany(o => o.Rewards).Where(r => r.Beneficiary == referrer).Sum(r => r.Net.Amount);
            Assert.Equal(Balance(week1, referrer) + earnedThisWeek, Balance(week2, referrer));
        }
        Assert.True(Balance(week2, Jane) > Balance(week1, Jane));
        Assert.True(week2.Referrer(Jane).SuccessfulReferrals > week1.Referrer(Jane).SuccessfulReferrals);

        // Last Saturday's reward, pending at the end of week 1, was approved and paid in week 2 when its hold ended.
        string saturday = week1.Order(Scene.ContactLookupAtTill).Attribution.OrderId;
        var carried = week2.RewardsOf(Anna).Single(r => r.OrderId == saturday);
        Assert.Equal(RewardStatus.Fulfilled, carried.Status);
        Assert.True(carried.ApprovedAt >= week2.WeekStart);

        // And the ledger in the file says the same after the process is gone.
        var time = new SimulatedTime(week2.ReportedAt);
        await using var services = BuildServices(week2.DatabasePath, time, LoadConfiguration());
        var rewards = services.GetRequiredService<RewardService>();
        foreach (var referrer in Referrers)
        {
            var program = referrer == Max ? Staff : Customers;
            var summary = await rewards.GetReferrerSummaryAsync(program, referrer, Ct);
            Assert.Equal(week2.Referrer(referrer).Balance, summary.Balance);
        }
    }

    private static void AssertCredited(StoryOrder order, ChannelCombination combination, ParticipantId referrer, TouchKind capture)
    {
        var a = order.Attribution;
        Assert.True(a.IsAttributed, $"{order.Scene} ({a.OrderId}) was not credited: {a.Reason}");
        Assert.Equal(combination, a.Combination);
        Assert.Equal(referrer, a.Referrer);
        Assert.Equal(capture, a.CaptureMethod);
        Assert.NotEqual(FraudVerdict.Block, a.Fraud?.Verdict);
        Assert.Contains(order.Rewards, r => r.Beneficiary == referrer && r.Terms.Role == RewardRole.Referrer);
    }

    private static decimal Balance(StoryResult result, ParticipantId referrer) => Eur(result.Referrer(referrer).Balance);

    private static decimal Eur(IEnumerable<Money> amounts) => amounts.Where(m => m.Currency == "EUR").Sum(m => m.Amount);
}
