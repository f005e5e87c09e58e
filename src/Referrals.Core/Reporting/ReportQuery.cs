using NodaTime;
using Referrals.Attribution;

namespace Referrals.Reporting;

/// <summary>How a report's rows are grouped.</summary>
public enum ReportGrouping
{
    /// <summary>Where the referral was shared and where the friend converted (<see cref="ChannelCombination"/>).</summary>
    Combination = 1,

    /// <summary>The share medium (receipt, link, e-mail, ...).</summary>
    Medium = 2,

    /// <summary>How the referral was captured (<see cref="TouchKind"/>: link click, code at the POS, ...).</summary>
    CaptureMethod = 3,

    /// <summary>The store of the conversion or touch (<c>online</c> when none).</summary>
    Store = 4,

    /// <summary>The referrer's kind (customer, employee, influencer, partner).</summary>
    ReferrerKind = 5,
}

/// <summary>The length of a report's time-series periods, in the program's time zone.</summary>
public enum ReportInterval
{
    /// <summary>Days (<c>2026-11-23</c>).</summary>
    Day = 1,

    /// <summary>ISO weeks, Monday first (<c>2026-W48</c>).</summary>
    Week = 2,

    /// <summary>Calendar months (<c>2026-11</c>).</summary>
    Month = 3,
}

/// <summary>What to report (<see cref="ProgramReports.GetReportAsync"/>).</summary>
public sealed class ReportQuery
{
    /// <summary>The program (configured: its time zone places the days).</summary>
    public required ProgramId Program { get; init; }

    /// <summary>The first day, in the program's time zone; <see langword="null"/> for the start of the history.</summary>
    public LocalDate? From { get; init; }

    /// <summary>The last day (inclusive); <see langword="null"/> for the end of the history.</summary>
    public LocalDate? To { get; init; }

    /// <summary>How the rows are grouped. Default <see cref="ReportGrouping.Combination"/>.</summary>
    public ReportGrouping By { get; init; } = ReportGrouping.Combination;

    /// <summary>The time series' period. Default <see cref="ReportInterval.Month"/>.</summary>
    public ReportInterval Interval { get; init; } = ReportInterval.Month;

    /// <summary>How many top referrers to list (0 to 1,000). Default 10.</summary>
    public int TopReferrers { get; init; } = 10;
}
