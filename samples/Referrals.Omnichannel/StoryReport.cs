using System.Globalization;
using NodaTime;
using Referrals.Attribution;
using Referrals.Fraud;
using Referrals.Rewards;
using Referrals.Reporting;
using Referrals.Services;

namespace Referrals.Omnichannel;

/// <summary>Reads the report's figures back — the library's program report and the ledger — and prints them.</summary>
internal sealed class StoryReport(
    ProgramReports reports,
    RewardService rewards,
    CancellationToken ct)
{
    private static readonly ChannelCombination[] Combinations =
        [ChannelCombination.OfflineToOnline, ChannelCombination.OnlineToOffline, ChannelCombination.OnlineToOnline, ChannelCombination.OfflineToOffline];

    /// <summary>A channel combination as people say it.</summary>
    public static string Name(ChannelCombination combination) => combination switch
    {
        ChannelCombination.OfflineToOnline => "Offline → Online",
        ChannelCombination.OnlineToOffline => "Online → Offline",
        ChannelCombination.OnlineToOnline => "Online → Online",
        _ => "Offline → Offline",
    };

    /// <summary>
    /// Touches, attributions, new customers and rewards per channel combination over the whole history of
    /// <paramref name="programs"/>: each program's report by combination, added up.
    /// </summary>
    public async Task<IReadOnlyList<CombinationTotals>> CombinationsAsync(IEnumerable<ProgramId> programs)
    {
        var rows = Combinations.ToDictionary(c => c, _ => new Row());
        foreach (var program in programs)
        {
            var report = await reports.GetReportAsync(new ReportQuery { Program = program, By = ReportGrouping.Combination, TopReferrers = 0 }, ct).ConfigureAwait(false);
            foreach (var group in report.Groups)
            {
                // The other keys: "not attributed" (conversions credited to nobody, so no rewards; the fraud verdicts below
                // tell the story's) and "unknown" (an attribution stored before combinations were recorded; the story has none).
                if (!Enum.TryParse<ChannelCombination>(group.Key, out var combination) || !rows.TryGetValue(combination, out var row))
                {
                    continue;
                }
                var f = group.Figures;
                row.Captured += f.Touches;
                row.Attributed += f.Attributed;
                row.NewCustomers += f.NewCustomers;
                row.Earned.Add(f.Earned);
                row.ClawedBack.Add(f.ClawedBack);
                foreach (var figure in f.Rewards)
                {
                    if (figure.Status == RewardStatus.Pending)
                    {
                        row.Pending.Add(figure.Totals.Amounts);
                    }
                    else if (figure.Status is RewardStatus.Approved or RewardStatus.Fulfilled)
                    {
                        row.Approved.Add(figure.Totals.Amounts);
                    }
                }
            }
        }

        return Combinations
            .Select(c => new CombinationTotals(c, rows[c].Captured, rows[c].Attributed, rows[c].NewCustomers, rows[c].Earned.ToList(), rows[c].Pending.ToList(),
                rows[c].Approved.ToList(), rows[c].ClawedBack.ToList()))
            .ToList();
    }

    /// <summary>Each referrer's standing from the ledger.</summary>
    public async Task<IReadOnlyList<ReferrerSummary>> ReferrersAsync(IEnumerable<(ProgramId Program, ParticipantId Referrer)> referrers)
    {
        var list = new List<ReferrerSummary>();
        foreach (var (program, referrer) in referrers)
        {
            list.Add(await rewards.GetReferrerSummaryAsync(program, referrer, ct).ConfigureAwait(false));
        }
        return list;
    }

    /// <summary>Each referrer's rewards in the program, oldest first, read a page at a time.</summary>
    public async Task<IReadOnlyDictionary<ParticipantId, IReadOnlyList<Reward>>> RewardsAsync(IEnumerable<(ProgramId Program, ParticipantId Referrer)> referrers)
    {
        var all = new Dictionary<ParticipantId, IReadOnlyList<Reward>>();
        foreach (var (program, referrer) in referrers)
        {
            var list = new List<Reward>();
            for (Reward? after = null; ;)
            {
                var page = await rewards.ListRewardsAsync(program, referrer, after, 100, ct).ConfigureAwait(false);
                list.AddRange(page);
                if (page.Count < 100)
                {
                    break;
                }
                after = page[^1];
            }
            all[referrer] = list;
        }
        return all;
    }

    /// <summary>Writes the report of a run.</summary>
    public static void Write(TextWriter output, StoryResult result, Func<Instant, string> stamp)
    {
        var inv = CultureInfo.InvariantCulture;
        output.WriteLine();
        output.WriteLine(new string('=', 100));
        output.WriteLine($"REPORT — week {result.Week}, {stamp(result.ReportedAt)}");
        output.WriteLine(result.ContinuedFromStoredState
            ? $"run {result.Week}: continued from the stored state — the database had {result.CodesBefore} codes and {result.ConversionsBefore} conversions; "
                + $"now {result.CodesAfter} codes and {result.ConversionsAfter} conversions."
            : $"run 1: started a new database; now {result.CodesAfter} codes and {result.ConversionsAfter} conversions.");

        output.WriteLine();
        output.WriteLine($"Referrals and rewards by channel combination (all {result.Week} week{(result.Week == 1 ? "" : "s")} in the database; amounts in EUR)");
        output.WriteLine($"  {"shared → converted",-19}{"captured",9}{"attributed",11}{"new customers",14}{"earned",10}{"pending",10}{"approved",10}{"clawed back",13}");
        foreach (var row in result.Combinations)
        {
            output.WriteLine(string.Create(inv,
                $"  {Name(row.Combination),-19}{row.Captured,9}{row.Attributed,11}{row.NewCustomers,14}{Amount(row.Earned),10}{Amount(row.Pending),10}{Amount(row.Approved),10}{Amount(row.ClawedBack),13}"));
        }
        output.WriteLine("  captured: touches recorded, whether an order followed or not (link clicks, codes at checkout or till, look-ups,");
        output.WriteLine("  POS batch rows); new customers: attributed orders not refunded in full nor rejected in review;");
        output.WriteLine("  approved: past the hold and paid out; clawed back: taken back after payout because the order was refunded.");

        var assessed = result.Orders.Where(o => o.Attribution.Fraud is not null).ToList();
        output.WriteLine();
        output.WriteLine($"Fraud verdicts this week ({assessed.Count} referred orders assessed)");
        foreach (var order in assessed.Where(o => o.Attribution.Fraud!.Verdict != FraudVerdict.Allow))
        {
            var a = order.Attribution;
            string outcome = a.Fraud!.Verdict == FraudVerdict.Block
                ? "not credited, no reward"
                : order.Rewards.Any(r => r.UnderReview) ? "rewards held for review" : "released by support";
            output.WriteLine($"  {a.OrderId}  {a.Customer} via {a.Referrer}: {a.Fraud.Verdict} — {outcome}");
            foreach (string line in a.Fraud.Explain().Split('\n'))
            {
                output.WriteLine($"    {line.TrimEnd()}");
            }
        }
        int allowed = assessed.Count(o => o.Attribution.Fraud!.Verdict == FraudVerdict.Allow);
        output.WriteLine($"  {allowed} other referred order{(allowed == 1 ? "" : "s")}: Allow (score below the review threshold).");

        output.WriteLine();
        output.WriteLine("Referrers (balance: the sum of their ledger entries over all weeks)");
        output.WriteLine($"  {"referrer",-12}{"program",-11}{"referrals",10}{"balance",12}{"pending",14}{"paid out",14}{"revoked",9}  next tier");
        foreach (var s in result.Referrers)
        {
            string tier = s.Tier is { NextTier: { } next, ReferralsUntilNextTier: { } left } ? $"{next} after {left} more" : s.Tier?.CurrentTier ?? "-";
            output.WriteLine(string.Create(inv,
                $"  {s.Referrer.Value,-12}{s.Program.Value,-11}{s.SuccessfulReferrals,10}{Amount(s.Balance),12}{Totals(s.Pending),14}{Totals(s.Fulfilled),14}{s.Revoked.Count,9}  {tier}"));
        }
        output.WriteLine();
        output.WriteLine("Run again to tell the next week on the same database; --reset starts over.");
    }

    /// <summary>EUR amounts without the currency (the table's unit); any other currency is named.</summary>
    private static string Amount(IReadOnlyList<Money> amounts) =>
        amounts.Count == 0
            ? "0.00"
            : string.Join(" + ", amounts.Select(m => m.Currency == "EUR"
                ? m.Amount.ToString("0.00", CultureInfo.InvariantCulture)
                : m.ToString()));

    private static string Totals(RewardTotals totals) => $"{totals.Count} ({Amount(totals.Amounts)})";

    /// <summary>Sums per currency.</summary>
    private sealed class Sum
    {
        private readonly SortedDictionary<string, decimal> _byCurrency = new(StringComparer.Ordinal);

        public void Add(IEnumerable<Money> amounts)
        {
            foreach (var money in amounts)
            {
                _byCurrency[money.Currency] = _byCurrency.GetValueOrDefault(money.Currency) + money.Amount;
            }
        }

        public List<Money> ToList() => _byCurrency.Select(kv => new Money(kv.Value, kv.Key)).ToList();
    }

    private sealed class Row
    {
        public int Captured { get; set; }

        public int Attributed { get; set; }

        public int NewCustomers { get; set; }

        public Sum Earned { get; } = new();

        public Sum Pending { get; } = new();

        public Sum Approved { get; } = new();

        public Sum ClawedBack { get; } = new();
    }
}
