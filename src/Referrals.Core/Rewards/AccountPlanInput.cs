using Referrals.Attribution;

namespace Referrals.Rewards;

/// <summary>
/// The reward planner's inputs computed from whole accounts, as today's store returns them (<c>LoadAccountAsync</c>):
/// the one place they are derived from a referrer's history. A store with per-referrer summaries replaces this file.
/// </summary>
internal static class AccountPlanInput
{
    /// <summary>
    /// The inputs from whole accounts (today's store): the referral number counts the referrer's counted decisions other
    /// than this order; the usage of each cap counts the level's referrer-role rewards on other orders, not rejected or
    /// revoked and with value left, whose conversions fall in the cap's period.
    /// </summary>
    public static RewardPlanInput From(RewardRuleSet rules, AttributionResult a, RewardAccount referrer, IReadOnlyList<RewardAccount> levelAccounts)
    {
        int number = referrer.Referrals.Count(d => d.Counted && d.OrderId != a.OrderId) + 1;
        int levels = RewardPlanner.Levels(rules, a);
        var usage = new CapUsage[levels * rules.Caps.Length];
        for (int level = 1; level <= levels && rules.Caps.Length > 0; level++)
        {
            FillUsage(rules, levelAccounts[level - 1], a, usage.AsSpan((level - 1) * rules.Caps.Length, rules.Caps.Length));
        }
        return new RewardPlanInput(number, usage);
    }

    private static void FillUsage(RewardRuleSet rules, RewardAccount account, AttributionResult a, Span<CapUsage> usage)
    {
        var live = Reward.FoldAll(account.Entries)
            .Where(r => r.Terms.Role == RewardRole.Referrer && r.OrderId != a.OrderId && r.Status is not (RewardStatus.Rejected or RewardStatus.Revoked) && r.Net.Amount > 0)
            .ToList();
        for (int i = 0; i < rules.Caps.Length; i++)
        {
            var cap = rules.Caps[i];
            var (start, end) = rules.PeriodOf(cap.Period, a.ConversionTime);
            var inPeriod = live.Where(r => r.Terms.ConversionTime >= start && r.Terms.ConversionTime < end).ToList();
            usage[i].Count = inPeriod.Select(r => r.OrderId).Distinct(StringComparer.Ordinal).Count();
            usage[i].Value = inPeriod.Where(r => r.Net.Currency == cap.Currency).Sum(r => r.Net.Amount);
        }
    }
}
