namespace Referrals.Fraud;

/// <summary>A referrer's referred orders and how many of them were refunded in full or charged back.</summary>
/// <remarks>Only Core builds it (<see cref="IFraudHistory.GetReferredOrderStatsAsync"/>); a fraud check reads it.</remarks>
public readonly struct ReferredOrderStats
{
    internal ReferredOrderStats(int orders, int refunded)
    {
        Orders = orders;
        Refunded = refunded;
    }

    /// <summary>Conversions currently credited to the referrer (first conversions, not repeats).</summary>
    public int Orders { get; }

    /// <summary>Of those, the orders refunded in full or charged back.</summary>
    public int Refunded { get; }
}
