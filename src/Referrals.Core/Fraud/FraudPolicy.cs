using NodaTime;

namespace Referrals.Fraud;

/// <summary>A program's <see cref="FraudPolicyOptions"/> compiled once.</summary>
internal sealed class FraudPolicy
{
    public static readonly FraudPolicy Default = new(new FraudPolicyOptions());

    private readonly Dictionary<string, int> _scores;

    public FraudPolicy(FraudPolicyOptions o)
    {
        Enabled = o.Enabled;
        ReviewAt = o.ReviewAt;
        BlockAt = o.BlockAt;
        _scores = new Dictionary<string, int>(o.Scores, StringComparer.Ordinal);
        MaxReferralsPerHour = o.MaxReferralsPerHour;
        MaxReferralsPerDay = o.MaxReferralsPerDay;
        MaxConversionsPerHour = o.MaxConversionsPerHour;
        MaxConversionsPerDay = o.MaxConversionsPerDay;
        MaxFriendsPerDevicePerDay = o.MaxFriendsPerDevicePerDay;
        MaxFriendsPerIpPerDay = o.MaxFriendsPerIpPerDay;
        MaxRefundRate = o.MaxRefundRate;
        MinOrdersForRefundRate = o.MinOrdersForRefundRate;
        ReviewDeadline = o.ReviewDeadline is { } d ? Duration.FromTimeSpan(d) : null;
        AfterReviewDeadline = o.AfterReviewDeadline;
    }

    public bool Enabled { get; }

    public int ReviewAt { get; }

    public int BlockAt { get; }

    public int MaxReferralsPerHour { get; }

    public int MaxReferralsPerDay { get; }

    public int MaxConversionsPerHour { get; }

    public int MaxConversionsPerDay { get; }

    public int MaxFriendsPerDevicePerDay { get; }

    public int MaxFriendsPerIpPerDay { get; }

    public decimal MaxRefundRate { get; }

    public int MinOrdersForRefundRate { get; }

    public Duration? ReviewDeadline { get; }

    public ReviewDeadlineAction AfterReviewDeadline { get; }

    public int ScoreOf(string name, int defaultScore) => _scores.TryGetValue(name, out var s) ? s : defaultScore;

    public FraudVerdict VerdictOf(int score) =>
        score >= BlockAt ? FraudVerdict.Block : score >= ReviewAt ? FraudVerdict.Review : FraudVerdict.Allow;
}
