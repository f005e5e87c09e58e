using Microsoft.Extensions.DependencyInjection;
using Referrals.Attribution;
using Referrals.PostgreSql.Worker;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Storage;

namespace Referrals.PostgreSql.Tests.Support;

/// <summary>
/// Reads a fault test's database back through an engine of its own (a fresh pool, no fault) and asserts that every order
/// stored is stored once and fully: its decision credits the referrer whose code it presented, its rewards are exactly
/// the program's two rules (a 10 EUR credit for the referrer, a 5 EUR coupon for the friend) with their ledger entries,
/// and each referrer's account counts its orders, numbered 1..n, with a balance of 10 EUR each.
/// </summary>
/// <remarks>Every referrer of these tests has fewer orders than the program's monthly cap, so every order earns both rewards.</remarks>
internal static class ConversionAudit
{
    /// <summary>Asserts the above and returns the ids of the orders found.</summary>
    /// <param name="connectionString">Where to read (after a failover: the new primary).</param>
    /// <param name="sent">Every conversion sent; an order found that is not one of them fails the audit.</param>
    /// <param name="owners">Each code's owner (the code's display text, as the conversions present it).</param>
    /// <param name="cancellationToken">Cancels the reads.</param>
    public static async Task<IReadOnlySet<string>> AssertConsistentAsync(
        string connectionString, IReadOnlyList<Conversion> sent, IReadOnlyDictionary<string, ParticipantId> owners, CancellationToken cancellationToken)
    {
        await using var engine = Engine.Build(connectionString, FaultSchema.Name);
        var store = engine.GetRequiredService<IReferralStore>();
        var rewards = engine.GetRequiredService<RewardService>();
        var byId = sent.ToDictionary(c => c.OrderId, StringComparer.Ordinal);

        var stored = new List<string>();
        for (ListPosition? after = null; ;)
        {
            var page = await store.ListProgramOrdersAsync(Engine.Program, after, 500, cancellationToken);
            stored.AddRange(page.Select(o => o.Conversion.OrderId));
            if (page.Count < 500)
            {
                break;
            }
            after = new ListPosition(page[^1].Conversion.EventTime, page[^1].Conversion.OrderId);
        }
        var found = stored.ToHashSet(StringComparer.Ordinal);
        Assert.True(found.Count == stored.Count, $"An order is listed twice: {string.Join(", ", stored.GroupBy(id => id, StringComparer.Ordinal).Where(g => g.Count() > 1).Select(g => g.Key))}");
        Assert.DoesNotContain(found, id => !byId.ContainsKey(id));

        var numbers = new Dictionary<ParticipantId, List<int>>();
        foreach (var id in stored)
        {
            var conversion = byId[id];
            var referrer = owners[conversion.PresentedCode!];
            var decision = await rewards.FindDecisionAsync(Engine.Program, id, cancellationToken);
            Assert.True(decision is not null, $"{id} is stored without its reward decision.");
            Assert.Equal(referrer, decision.Referrer);
            Assert.True(decision.Counted, $"{id} does not count as a referral.");
            var earned = await rewards.ListOrderRewardsAsync(Engine.Program, id, cancellationToken);
            Assert.Equal(["credit", "friend"], earned.Select(r => r.Terms.Rule).Order(StringComparer.Ordinal));
            Assert.Equal(decision.RewardIds.Order(StringComparer.Ordinal), earned.Select(r => r.Id).Order(StringComparer.Ordinal));
            foreach (var reward in earned)
            {
                Assert.Equal(reward.Terms.Rule == "credit" ? referrer : conversion.Customer, reward.Beneficiary);
                Assert.NotEmpty(reward.Entries);
                Assert.Equal(reward.Earned, reward.Net);
            }
            if (!numbers.TryGetValue(referrer, out var list))
            {
                numbers[referrer] = list = [];
            }
            list.Add(decision.ReferralNumber);
        }

        foreach (var referrer in owners.Values.Distinct())
        {
            var mine = numbers.GetValueOrDefault(referrer) ?? [];
            var summary = await rewards.GetReferrerSummaryAsync(Engine.Program, referrer, cancellationToken);
            Assert.True(mine.Count == summary.SuccessfulReferrals, $"{referrer}: {summary.SuccessfulReferrals} successful referrals, {mine.Count} orders stored.");
            Assert.Equal(Enumerable.Range(1, mine.Count), mine.Order());
            Assert.Equal(mine.Count == 0 ? [] : [new Money(10m * mine.Count, "EUR")], summary.Balance);
            Assert.Equal(mine.Count, summary.Pending.Count);
        }
        return found;
    }
}

/// <summary>The schema the fault tests' stores use (each test has a cluster of its own).</summary>
internal static class FaultSchema
{
    public const string Name = "referrals";
}
