using NodaTime;
using Referrals.Rewards;

namespace Referrals.Reporting;

/// <summary>What a line of a replay compares: the rewards of a rule, of a tier, with a boost, or touched by a cap.</summary>
public enum ReplayDimension
{
    /// <summary>A rule, by name.</summary>
    Rule = 1,

    /// <summary>A rule's tier (<c>ladder: referrals 2-3</c>).</summary>
    Tier = 2,

    /// <summary>A boost, by name: the rewards it raised, at their full amount.</summary>
    Boost = 3,

    /// <summary>A cap, by its label: the rewards it reduced or skipped, and what it held back.</summary>
    Cap = 4,
}

/// <summary>One line of a replay: paid (the stored ledger) beside what the candidate rules would have paid.</summary>
public sealed class ReplayLine
{
    internal ReplayLine(ReplayDimension dimension, string name, RewardTotals paid, RewardTotals wouldPay)
    {
        Dimension = dimension;
        Name = name;
        Paid = paid;
        WouldPay = wouldPay;
    }

    /// <summary>What the line compares.</summary>
    public ReplayDimension Dimension { get; }

    /// <summary>The rule, tier, boost or cap.</summary>
    public string Name { get; }

    /// <summary>
    /// The stored rewards: their count and net amount per currency (for <see cref="ReplayDimension.Cap"/>: the rewards
    /// the cap reduced or skipped, and the amount it held back from those it reduced).
    /// </summary>
    public RewardTotals Paid { get; }

    /// <summary>The same under the candidate rules (for a cap, the amount held back includes the rewards it skipped).</summary>
    public RewardTotals WouldPay { get; }
}

/// <summary>One referrer's rewards in a replay (as referrer at any level): paid, would pay, and the difference per currency.</summary>
public sealed class ReplayParticipant
{
    internal ReplayParticipant(ParticipantId participant, IReadOnlyList<Money> paid, IReadOnlyList<Money> wouldPay, IReadOnlyList<Money> difference)
    {
        Participant = participant;
        Paid = paid;
        WouldPay = wouldPay;
        Difference = difference;
    }

    /// <summary>The referrer (level 1 or an upline).</summary>
    public ParticipantId Participant { get; }

    /// <summary>Net amounts of the stored rewards, per currency.</summary>
    public IReadOnlyList<Money> Paid { get; }

    /// <summary>What the candidate rules would have paid, per currency.</summary>
    public IReadOnlyList<Money> WouldPay { get; }

    /// <summary>Would pay minus paid, per currency (every currency of either).</summary>
    public IReadOnlyList<Money> Difference { get; }
}

/// <summary>The result of a replay (<see cref="ProgramReports.ReplayAsync"/>). Nothing was written.</summary>
public sealed class ReplayResult
{
    internal ReplayResult()
    {
    }

    /// <summary>The program.</summary>
    public ProgramId Program { get; internal init; }

    /// <summary>The first day compared, if bounded.</summary>
    public LocalDate? From { get; internal init; }

    /// <summary>The last day compared, if bounded.</summary>
    public LocalDate? To { get; internal init; }

    /// <summary>Orders compared (every recorded order in the days, referred or not).</summary>
    public int Orders { get; internal init; }

    /// <summary>
    /// Customers acquired in the days: orders counted as a successful referral (credited, not refunded in full, not
    /// rejected in review). The same under any rules.
    /// </summary>
    public int AcquiredCustomers { get; internal init; }

    /// <summary>Every stored reward of the orders compared: count and net per currency.</summary>
    public RewardTotals Paid { get; internal init; } = null!;

    /// <summary>Every reward the candidate rules give those orders (after their refunds): count and amount per currency.</summary>
    public RewardTotals WouldPay { get; internal init; } = null!;

    /// <summary>Paid per acquired customer, per currency (empty without acquired customers).</summary>
    public IReadOnlyList<Money> PaidPerCustomer { get; internal init; } = [];

    /// <summary>Would pay per acquired customer, per currency.</summary>
    public IReadOnlyList<Money> WouldPayPerCustomer { get; internal init; } = [];

    /// <summary>Per rule, tier, boost and cap (in that order, then by name): paid beside would pay.</summary>
    public IReadOnlyList<ReplayLine> Lines { get; internal init; } = [];

    /// <summary>
    /// Every referrer paid (or who would be paid) on the orders compared, by difference (largest gain first, then by id); those whose amounts are
    /// the same under both are left out and counted in <see cref="Unchanged"/>.
    /// </summary>
    public IReadOnlyList<ReplayParticipant> Participants { get; internal init; } = [];

    /// <summary>Referrers who would get more (in some currency, and less in none). Referees' rewards count in the totals and lines, not here: one per customer.</summary>
    public int Gainers { get; internal init; }

    /// <summary>Referrers who would get less (in some currency, and more in none).</summary>
    public int Losers { get; internal init; }

    /// <summary>Referrers who would get more in one currency and less in another.</summary>
    public int Mixed { get; internal init; }

    /// <summary>Referrers paid the same.</summary>
    public int Unchanged { get; internal init; }
}
