using Referrals.Privacy;

namespace Referrals.Fraud;

/// <summary>
/// Validation of <see cref="FraudOptions"/> and <see cref="FraudPolicyOptions"/>, beside them: each adds a message naming
/// the setting by its path (<c>Referrals:Fraud:DisposableDomains:0</c>) for every bad one.
/// </summary>
internal static class FraudOptionsValidation
{
    /// <summary>Checks <c>Referrals:Fraud</c>.</summary>
    internal static void Validate(this FraudOptions o, string path, List<string> f)
    {
        var domains = o.DisposableDomains ?? [];
        for (int i = 0; i < domains.Count; i++)
        {
            if (!DisposableEmailDomainList.IsValidDomain(domains[i]))
            {
                f.Add($"{path}:DisposableDomains:{i} must be a domain name of at least two labels; got '{domains[i]}'.");
            }
        }
        if (o.CodeGuessing is null)
        {
            f.Add($"{path}:CodeGuessing is required.");
            return;
        }
        o.CodeGuessing.Validate($"{path}:CodeGuessing", f);
    }

    /// <summary>Checks a program's fraud policy, <c>Referrals:Programs:{id}:Fraud</c>.</summary>
    internal static void Validate(this FraudPolicyOptions o, string path, List<string> f)
    {
        if (o.ReviewAt is < 1 or > 1000)
        {
            f.Add($"{path}:ReviewAt must be 1 to 1,000; got {o.ReviewAt}.");
        }
        if (o.BlockAt is < 1 or > 1000 || o.BlockAt < o.ReviewAt)
        {
            f.Add($"{path}:BlockAt must be 1 to 1,000 and at least ReviewAt ({o.ReviewAt}); got {o.BlockAt}.");
        }
        foreach (var (name, score) in o.Scores ?? new Dictionary<string, int>())
        {
            if (string.IsNullOrWhiteSpace(name) || score is < 0 or > 1000)
            {
                f.Add($"{path}:Scores:{name} must be 0 to 1,000; got {score}.");
            }
        }
        foreach (var (name, value) in new[]
        {
            (nameof(o.MaxReferralsPerHour), o.MaxReferralsPerHour),
            (nameof(o.MaxReferralsPerDay), o.MaxReferralsPerDay),
            (nameof(o.MaxConversionsPerHour), o.MaxConversionsPerHour),
            (nameof(o.MaxConversionsPerDay), o.MaxConversionsPerDay),
            (nameof(o.MaxFriendsPerDevicePerDay), o.MaxFriendsPerDevicePerDay),
            (nameof(o.MaxFriendsPerIpPerDay), o.MaxFriendsPerIpPerDay),
        })
        {
            if (value is < 0 or > 1_000_000)
            {
                f.Add($"{path}:{name} must be 0 to 1,000,000; got {value}.");
            }
        }
        if (o.MaxRefundRate is < 0 or > 1)
        {
            f.Add($"{path}:MaxRefundRate must be 0 to 1; got {o.MaxRefundRate}.");
        }
        if (o.MinOrdersForRefundRate < 1)
        {
            f.Add($"{path}:MinOrdersForRefundRate must be 1 or more; got {o.MinOrdersForRefundRate}.");
        }
        if (o.ReviewDeadline is { } d && (d < TimeSpan.FromMinutes(1) || d > TimeSpan.FromDays(366)))
        {
            f.Add($"{path}:ReviewDeadline must be 1 minute to 366 days; got {d}.");
        }
        if (!Enum.IsDefined(o.AfterReviewDeadline))
        {
            f.Add($"{path}:AfterReviewDeadline must be KeepHolding, Release or Reject; got {o.AfterReviewDeadline}.");
        }
    }
}
