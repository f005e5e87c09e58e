namespace Referrals.Fraud;

/// <summary>A referrer's referred orders and how many of them were refunded in full or charged back.</summary>
/// <param name="Orders">Conversions currently credited to the referrer (first conversions, not repeats).</param>
/// <param name="Refunded">Of those, the orders refunded in full or charged back.</param>
public readonly record struct ReferredOrderStats(int Orders, int Refunded);
