using Referrals.Rewards;

namespace Referrals.Omnichannel;

/// <summary>
/// The shop's side of paying a reward out. A real shop books store credit, creates the coupon or loads the gift card here,
/// keyed by the reward id so a second call (after a crash) does not pay twice; the sample only hands back the reference it
/// would have booked, the same one on every call.
/// </summary>
internal sealed class StoreCreditFulfiller : IRewardFulfiller
{
    public ValueTask<string?> FulfilAsync(Reward reward, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(reward);
        string prefix = reward.Terms.Kind switch
        {
            RewardKind.Coupon => "coupon",
            RewardKind.GiftCard => "gift-card",
            _ => "store-credit",
        };
        return ValueTask.FromResult<string?>($"{prefix}:{reward.Id}");
    }
}
