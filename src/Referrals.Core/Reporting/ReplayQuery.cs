using NodaTime;
using Referrals.Rewards;

namespace Referrals.Reporting;

/// <summary>What to replay: a program's stored history under a candidate reward rule set (<see cref="ProgramReports.ReplayAsync"/>).</summary>
public sealed class ReplayQuery
{
    /// <summary>The program (configured: its time zone places boosts, caps and the dates).</summary>
    public required ProgramId Program { get; init; }

    /// <summary>
    /// The candidate rules, in the shape of <c>Referrals:Programs:{id}:Rewards</c> (<see cref="ProgramReports.ReadRules"/>
    /// reads them from configuration, e.g. a JSON file). Validated as at start; the program's chain depth bounds the levels.
    /// </summary>
    public required RewardOptions Rules { get; init; }

    /// <summary>
    /// The first day (in the program's time zone) whose orders are compared, or <see langword="null"/> for the first order.
    /// The history before it is replayed too (referral numbers and caps depend on it) but not compared.
    /// </summary>
    public LocalDate? From { get; init; }

    /// <summary>The last day (inclusive) whose orders are compared, or <see langword="null"/> for the last order.</summary>
    public LocalDate? To { get; init; }
}
