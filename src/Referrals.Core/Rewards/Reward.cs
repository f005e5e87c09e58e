using System.Globalization;
using System.Text;
using NodaTime;

namespace Referrals.Rewards;

/// <summary>Where a reward stands.</summary>
public enum RewardStatus
{
    /// <summary>
    /// Held until <see cref="RewardTerms.HoldUntil"/> (the return window) — and, while <see cref="Reward.UnderReview"/>,
    /// until a person releases it.
    /// </summary>
    Pending = 1,

    /// <summary>Approved, waiting for the fulfiller.</summary>
    Approved = 2,

    /// <summary>Delivered by the host's fulfiller (possibly partly clawed back since).</summary>
    Fulfilled = 3,

    /// <summary>Rejected (fraud or a person); never paid.</summary>
    Rejected = 4,

    /// <summary>Revoked: cancelled before fulfilment, or clawed back in full after it.</summary>
    Revoked = 5,
}

/// <summary>A reward as its ledger entries say it stands now.</summary>
public sealed class Reward
{
    // Only Core builds it (a host reads it): constructor and init are internal, so `required` cannot stay; Core's
    // object initialisers set every non-nullable reference that starts as null! below.
    internal Reward()
    {
    }

    /// <summary>The reward id: the fulfiller's idempotency key.</summary>
    public string Id { get; internal init; } = null!;

    /// <summary>The program.</summary>
    public ProgramId Program { get; internal init; }

    /// <summary>The order it was earned on.</summary>
    public string OrderId { get; internal init; } = null!;

    /// <summary>Who is paid.</summary>
    public ParticipantId Beneficiary { get; internal init; }

    /// <summary>What was awarded and why.</summary>
    public RewardTerms Terms { get; internal init; } = null!;

    /// <summary>The amount earned.</summary>
    public Money Earned { get; internal init; }

    /// <summary>What it is worth before refunds: <see cref="Earned"/> as a late event's re-decisions moved it.</summary>
    internal Money Entitled { get; init; }

    /// <summary>What is left of it after reversals (the sum of its entries).</summary>
    public Money Net { get; internal init; }

    /// <summary>Where it stands (a pending reward whose hold has ended reads as approved only once the approval is written).</summary>
    public RewardStatus Status { get; internal init; }

    /// <summary>When it was earned.</summary>
    public Instant CreatedAt { get; internal init; }

    /// <summary>When it was approved, if it was.</summary>
    public Instant? ApprovedAt { get; internal init; }

    /// <summary>When it was fulfilled, if it was.</summary>
    public Instant? FulfilledAt { get; internal init; }

    /// <summary>The fulfiller's reference.</summary>
    public string? FulfilmentReference { get; internal init; }

    /// <summary>The reason of the last reversal or rejection.</summary>
    public string? Reason { get; internal init; }

    /// <summary>Its ledger entries, oldest first.</summary>
    public IReadOnlyList<RewardEntry> Entries { get; internal init; } = [];

    /// <summary>
    /// Pending and held for fraud review: it is not approved when its hold ends until a person releases or approves it
    /// (or the program's review deadline acts).
    /// </summary>
    public bool UnderReview { get; internal init; }

    /// <summary>One line for a support agent or a finance report.</summary>
    public string Explain()
    {
        var inv = CultureInfo.InvariantCulture;
        var t = Terms;
        var sb = new StringBuilder();
        sb.Append(inv, $"{Earned} {t.Kind}{(t.Item is null ? "" : " (" + t.Item + ")")} for {t.Role.ToString().ToLowerInvariant()}");
        if (t.Role == RewardRole.Referrer && t.Level > 1)
        {
            sb.Append(inv, $" level {t.Level}");
        }
        sb.Append(inv, $" {Beneficiary} on order {OrderId}: rule {t.Rule}, {t.Tier}, referral #{t.ReferralNumber}");
        if (t.PercentOfOrder)
        {
            sb.Append(inv, $", of {t.OrderAmount}");
        }
        if (t.Boosts.Count > 0)
        {
            sb.Append(inv, $", boosted by {string.Join(" + ", t.Boosts)}");
        }
        if (t.CappedBy is { } cap)
        {
            sb.Append(inv, $", reduced from {t.BeforeCap} by {cap}");
        }
        sb.Append(inv, $"; {Status}, net {Net}");
        if (UnderReview)
        {
            sb.Append(", held for fraud review");
        }
        if (Reason is { } r)
        {
            sb.Append(inv, $" ({r})");
        }
        return sb.Append('.').ToString();
    }

    /// <summary>Folds one reward's entries (oldest first; the first is its <see cref="RewardEntryType.Earned"/> entry).</summary>
    internal static Reward Fold(IReadOnlyList<RewardEntry> entries)
    {
        var state = RewardFold.Start(entries[0]);
        for (int i = 1; i < entries.Count; i++)
        {
            state = RewardFold.Apply(state, entries[i]);
        }
        return RewardFold.ToReward(state, entries);
    }

    /// <summary>Groups entries by reward (in first-seen order) and folds each.</summary>
    internal static List<Reward> FoldAll(IEnumerable<RewardEntry> entries)
    {
        var byReward = new Dictionary<string, List<RewardEntry>>(StringComparer.Ordinal);
        var order = new List<string>();
        foreach (var e in entries)
        {
            if (!byReward.TryGetValue(e.RewardId, out var list))
            {
                byReward[e.RewardId] = list = [];
                order.Add(e.RewardId);
            }
            list.Add(e);
        }
        var result = new List<Reward>(order.Count);
        foreach (var id in order)
        {
            var list = byReward[id];
            if (list[0].Type == RewardEntryType.Earned)
            {
                result.Add(Fold(list));
            }
        }
        return result;
    }
}
