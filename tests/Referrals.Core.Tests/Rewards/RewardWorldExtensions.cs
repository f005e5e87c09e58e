using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Rewards;
using Referrals.Tests.Support;

namespace Referrals.Tests.Rewards;

/// <summary>Short-hands for reward stories: a friend types the referrer's code at checkout.</summary>
internal static class RewardWorldExtensions
{
    public static async Task<AttributionResult> ReferAsync(this AttributionWorld w, ReferralCodeRecord code, string friend, string orderId, Instant at, decimal amount = 50m, string currency = "EUR")
    {
        var customer = await w.ParticipantAsync(friend);
        var order = w.Order(orderId, customer, at, amount) with { PresentedCode = code.Display, Amount = new Money(amount, currency) };
        var result = await w.Attribution.RecordConversionAsync(order, AttributionWorld.Ct);
        Assert.True(result.IsAttributed, result.Explain());
        return result;
    }

    public static async Task<IReadOnlyList<Reward>> RewardsOfAsync(this AttributionWorld w, string orderId) =>
        await w.Rewards.ListOrderRewardsAsync(AttributionWorld.Customers, orderId, AttributionWorld.Ct);

    /// <summary>Every reward of a participant, read through <see cref="Referrals.Services.RewardService.ListRewardsAsync"/> a page of 2 at a time.</summary>
    public static async Task<List<Reward>> AllRewardsAsync(this AttributionWorld w, ParticipantId participant)
    {
        var all = new List<Reward>();
        for (Reward? after = null; ;)
        {
            var page = await w.Rewards.ListRewardsAsync(AttributionWorld.Customers, participant, after, 2, AttributionWorld.Ct);
            all.AddRange(page);
            if (page.Count < 2)
            {
                return all;
            }
            after = page[^1];
        }
    }

    public static Task<ReferrerSummary> SummaryAsync(this AttributionWorld w, ParticipantId referrer) =>
        w.Rewards.GetReferrerSummaryAsync(AttributionWorld.Customers, referrer, AttributionWorld.Ct).AsTask();

    public static RewardRuleOptions Fixed(string name, decimal amount, RewardRole role = RewardRole.Referrer, RewardKind kind = RewardKind.AccountCredit) =>
        new() { Name = name, For = role, Kind = kind, Amount = amount, Currency = "EUR" };
}
