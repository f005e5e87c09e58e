namespace Referrals.Internal;

/// <summary>
/// The largest values that amounts in orders and options may take, chosen so that no reward computation can overflow
/// <see cref="decimal"/> (about 7.9 × 10^28) for any order and any options that pass validation.
/// </summary>
/// <remarks>
/// <para>The worst cases, with O = <see cref="MaxAmount"/> (10^12):</para>
/// <list type="bullet">
/// <item>a reward before boosts is at most a fixed amount (≤ O) or <see cref="MaxPercent"/> % of an order (≤ 10·O = 10^13);</item>
/// <item>the boosts that apply to one reward at once turn an amount a into at most (a + ΣAdd)·Π max(Multiply, 1), every
/// intermediate step included, so with ΣAdd ≤ O and the product ≤ <see cref="MaxBoostFactor"/> a reward is at most
/// (10^13 + 10^12) × 1,000 ≈ 1.1 × 10^16;</item>
/// <item>a partial refund computes reward × (order − refunded) / order: at most 1.1 × 10^16 × 10^12 ≈ 1.1 × 10^28;</item>
/// <item>caps and balances sum a referrer's rewards: more than 7 × 10^12 rewards of the largest size would be needed
/// to overflow.</item>
/// </list>
/// </remarks>
internal static class AmountLimits
{
    /// <summary>
    /// 10^12 in major units (or points): the largest order amount, fixed reward amount, cap, minimum order and boost
    /// addition (one boost's, and the total of the boosts that apply to a reward at once).
    /// </summary>
    public const decimal MaxAmount = 1_000_000_000_000m;

    /// <summary>The largest percentage of the order a reward may be.</summary>
    public const decimal MaxPercent = 1000m;

    /// <summary>
    /// The most that the boosts applying to one reward at once may multiply it by: the product of their factors, a factor
    /// below 1 counted as 1 (so that no step between them exceeds it either). Also the largest single factor.
    /// </summary>
    public const decimal MaxBoostFactor = 1000m;

    /// <summary>The text of <see cref="MaxAmount"/> in messages.</summary>
    public const string MaxAmountText = "1,000,000,000,000";
}
