using NodaTime;
using Referrals.Attribution;
using Referrals.Rewards;

namespace Referrals.Reporting;

/// <summary>How many conversions were not attributed for one reason.</summary>
public sealed class ReasonCount
{
    internal ReasonCount(NotAttributedReason reason, int count)
    {
        Reason = reason;
        Count = count;
    }

    /// <summary>The reason.</summary>
    public NotAttributedReason Reason { get; }

    /// <summary>How many conversions.</summary>
    public int Count { get; }
}

/// <summary>Rewards of one status and kind: their count and value per currency (net; earned for rejected and revoked).</summary>
public sealed class RewardFigure
{
    internal RewardFigure(RewardStatus status, RewardKind kind, RewardTotals totals)
    {
        Status = status;
        Kind = kind;
        Totals = totals;
    }

    /// <summary>The rewards' status.</summary>
    public RewardStatus Status { get; }

    /// <summary>Their kind.</summary>
    public RewardKind Kind { get; }

    /// <summary>How many, and their value per currency.</summary>
    public RewardTotals Totals { get; }
}

/// <summary>The figures of one group, period or the whole report. Conversions and their rewards are placed by the conversion's event time, touches by theirs.</summary>
public sealed class ReportFigures
{
    internal ReportFigures()
    {
    }

    /// <summary>Touches captured (link clicks, codes entered or scanned, look-ups, kiosk sign-ups, batch rows).</summary>
    public int Touches { get; internal init; }

    /// <summary>Conversions recorded.</summary>
    public int Conversions { get; internal init; }

    /// <summary>Conversions credited to a referrer (repeat purchases a program credits included).</summary>
    public int Attributed { get; internal init; }

    /// <summary>The others, by reason (most first).</summary>
    public IReadOnlyList<ReasonCount> NotAttributed { get; internal init; } = [];

    /// <summary>Revenue of the attributed conversions less their refunds, per currency.</summary>
    public IReadOnlyList<Money> CreditedRevenue { get; internal init; } = [];

    /// <summary>New customers acquired: conversions counted as a successful referral (not refunded in full, not rejected in review).</summary>
    public int NewCustomers { get; internal init; }

    /// <summary>Rewards by status and kind (referrer and referee rewards alike).</summary>
    public IReadOnlyList<RewardFigure> Rewards { get; internal init; } = [];

    /// <summary>What the rewards earned when they were decided, whatever became of them since, per currency.</summary>
    public IReadOnlyList<Money> Earned { get; internal init; } = [];

    /// <summary>What was clawed back from rewards after they were fulfilled (an order refunded after the payout), per currency.</summary>
    public IReadOnlyList<Money> ClawedBack { get; internal init; } = [];

    /// <summary>The cost of the program: net of the rewards pending, approved or fulfilled, per currency.</summary>
    public IReadOnlyList<Money> RewardCost { get; internal init; } = [];

    /// <summary><see cref="RewardCost"/> per new customer, per currency (empty without new customers).</summary>
    public IReadOnlyList<Money> CostPerNewCustomer { get; internal init; } = [];

    /// <summary>Conversions the fraud checks allowed.</summary>
    public int FraudAllowed { get; internal init; }

    /// <summary>Conversions sent to review.</summary>
    public int FraudReview { get; internal init; }

    /// <summary>Conversions blocked.</summary>
    public int FraudBlocked { get; internal init; }
}

/// <summary>One row of a report: a group or a period, and its figures.</summary>
public sealed class ReportRow
{
    internal ReportRow(string key, ReportFigures figures)
    {
        Key = key;
        Figures = figures;
    }

    /// <summary>The group (<c>OfflineToOnline</c>, <c>Receipt</c>, a store id, <c>not attributed</c>) or the period (<c>2026-11</c>).</summary>
    public string Key { get; }

    /// <summary>Its figures.</summary>
    public ReportFigures Figures { get; }
}

/// <summary>A referrer among the report's top referrers.</summary>
public sealed class TopReferrer
{
    internal TopReferrer(ParticipantId referrer, int referrals, IReadOnlyList<Money> revenue, IReadOnlyList<Money> rewards)
    {
        Referrer = referrer;
        Referrals = referrals;
        Revenue = revenue;
        Rewards = rewards;
    }

    /// <summary>The referrer.</summary>
    public ParticipantId Referrer { get; }

    /// <summary>New customers they brought in the days (successful referrals).</summary>
    public int Referrals { get; }

    /// <summary>Revenue credited to them less refunds, per currency.</summary>
    public IReadOnlyList<Money> Revenue { get; }

    /// <summary>Net of their rewards pending, approved or fulfilled on those days' conversions, per currency.</summary>
    public IReadOnlyList<Money> Rewards { get; }
}

/// <summary>A program report (<see cref="ProgramReports.GetReportAsync"/>).</summary>
public sealed class ProgramReport
{
    internal ProgramReport()
    {
    }

    /// <summary>The program.</summary>
    public ProgramId Program { get; internal init; }

    /// <summary>The program's time zone (IANA id) the days are in.</summary>
    public string TimeZone { get; internal init; } = null!;

    /// <summary>The first day, if bounded.</summary>
    public LocalDate? From { get; internal init; }

    /// <summary>The last day, if bounded.</summary>
    public LocalDate? To { get; internal init; }

    /// <summary>How <see cref="Groups"/> are grouped.</summary>
    public ReportGrouping By { get; internal init; }

    /// <summary>The period of <see cref="Series"/>.</summary>
    public ReportInterval Interval { get; internal init; }

    /// <summary>Everything in the days.</summary>
    public ReportFigures Total { get; internal init; } = null!;

    /// <summary>The groups, by key (ordinal).</summary>
    public IReadOnlyList<ReportRow> Groups { get; internal init; } = [];

    /// <summary>The periods with any touch or conversion, in time order.</summary>
    public IReadOnlyList<ReportRow> Series { get; internal init; } = [];

    /// <summary>The referrers with the most new customers (then the most revenue in the first currency, then by id).</summary>
    public IReadOnlyList<TopReferrer> TopReferrers { get; internal init; } = [];
}
