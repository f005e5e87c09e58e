namespace Referrals.Rewards;

/// <summary>
/// Turns an approved reward into what it is in the host's systems: store credit, a coupon, points, a payout, a gift card,
/// a free product. Register one through DI; without one, approved rewards wait (<c>RewardService.ProcessDueAsync</c>
/// approves them but does not fulfil them).
/// </summary>
/// <remarks>
/// Must be idempotent by <see cref="Reward.Id"/>: the library calls again for the same reward after a crash or a failed
/// write (at least once, never concurrently for one reward from one process), and a second call must not deliver twice.
/// Throw to report a failure: the reward stays approved and is retried on the next pass.
/// </remarks>
public interface IRewardFulfiller
{
    /// <summary>Delivers the reward and returns the host's reference for it (a coupon or transaction id), or <see langword="null"/>.</summary>
    ValueTask<string?> FulfilAsync(Reward reward, CancellationToken cancellationToken);
}
