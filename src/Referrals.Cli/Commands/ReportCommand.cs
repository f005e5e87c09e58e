using System.CommandLine;
using System.CommandLine.Parsing;
using Referrals.Reporting;

namespace Referrals.Cli.Commands;

/// <summary>
/// <c>referrals report</c>: a program's figures (<see cref="ProgramReports.GetReportAsync"/>) as a table, CSV or JSON,
/// the rows being groups (combination, medium, capture method, store, referrer kind) or periods (day, week, month).
/// </summary>
internal static class ReportCommand
{
    /// <summary>What <c>--by</c> makes the rows: the report's groups, or its time series by <see cref="Period"/>.</summary>
    private sealed record RowsBy(string Token, ReportGrouping? Group, ReportInterval? Period, string CsvColumn)
    {
        public override string ToString() => Token; // --help shows the default
    }

    private static readonly RowsBy[] Rows =
    [
        new("combination", ReportGrouping.Combination, null, "combination"),
        new("medium", ReportGrouping.Medium, null, "medium"),
        new("capture", ReportGrouping.CaptureMethod, null, "capture_method"),
        new("store", ReportGrouping.Store, null, "store"),
        new("referrer-kind", ReportGrouping.ReferrerKind, null, "referrer_kind"),
        new("day", null, ReportInterval.Day, "day"),
        new("week", null, ReportInterval.Week, "week"),
        new("month", null, ReportInterval.Month, "month"),
    ];

    private static readonly string ByTokens = string.Join(", ", Rows.Select(r => r.Token));

    public static Command Build(CliApp app)
    {
        var program = CliOptions.Program();
        var from = CliOptions.Day("--from", "The first day reported (default: the start of the history).");
        var to = CliOptions.Day("--to", "The last day reported, included (default: the end of the history).");
        var by = new Option<RowsBy>("--by")
        {
            Description = $"The rows: groups ({string.Join(", ", Rows.Where(r => r.Group is not null).Select(r => r.Token))}; combination is "
                + "where the referral was shared and where the friend converted, online or offline) or periods (day, week for ISO weeks, month).",
            HelpName = "rows",
            DefaultValueFactory = _ => Rows[0],
            CustomParser = ParseBy,
        };
        var interval = new Option<ReportInterval?>("--interval")
        {
            Description = "The period of the time series in --json: day, week (ISO, Monday first) or month (the default; with --by day, week or month, that period).",
            HelpName = "period",
            CustomParser = ParseInterval,
        };
        var top = new Option<int>("--top")
        {
            Description = "How many top referrers to list (0 to 1,000).",
            HelpName = "n",
            DefaultValueFactory = _ => 10,
            CustomParser = ParseTop,
        };
        var csv = CliOptions.Csv("the rows and the total");
        var command = new Command("report", "Reports a program's figures: touches, conversions, attributed, new customers, credited revenue, the rewards' "
            + "cost and the cost per new customer, per group or period with a total row, then the top referrers and why conversions were not "
            + "attributed. Days are in the program's time zone; conversions count on the day of the order, touches on theirs. Reads only.")
        {
            program, from, to, by, interval, top, csv,
        };
        app.Example(command,
            "referrals report --program customers --from 2026-11-01 --to 2026-11-30",
            "referrals report -p customers --by store --csv > stores.csv",
            "referrals report -p customers --by week",
            "referrals report -p customers --interval day --json");
        app.Action(command, async (r, ct) =>
        {
            CliOptions.OneOf(r, csv, app.Json);
            var rowsBy = r.GetRequiredValue(by);
            var (group, period) = (rowsBy.Group, rowsBy.Period);
            var series = r.GetValue(interval);
            if (period is not null && series is not null && series != period)
            {
                throw CliException.Usage($"--by {rowsBy.Token} makes the rows {rowsBy.Token}s; --interval {series.Value.ToString().ToLowerInvariant()} contradicts it. Leave --interval out.");
            }
            var (first, last) = (r.GetValue(from), r.GetValue(to));
            CliOptions.Days(first, last);

            await using var host = await app.StartAsync(r, ct, StoreFile.MustExist);
            var programId = host.Program(r.GetRequiredValue(program));
            var report = await host.Get<ProgramReports>().GetReportAsync(new ReportQuery
            {
                Program = programId,
                From = first,
                To = last,
                By = group ?? ReportGrouping.Combination,
                Interval = period ?? series ?? ReportInterval.Month,
                TopReferrers = r.GetValue(top),
            }, ct);

            if (r.GetValue(app.Json))
            {
                CliOptions.WriteJson(app.Console, report);
                return ExitCodes.Ok;
            }
            var rows = period is null ? report.Groups : report.Series;
            if (r.GetValue(csv))
            {
                WriteCsv(app.Console, report, rows, rowsBy.CsvColumn, period is null ? "group" : "period");
            }
            else
            {
                WriteTable(app.Console, report, rows, rowsBy.Token);
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static RowsBy ParseBy(ArgumentResult result)
    {
        string token = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        var rows = Rows.FirstOrDefault(row => string.Equals(row.Token, token, StringComparison.OrdinalIgnoreCase));
        if (rows is null)
        {
            result.AddError($"--by {Text.Echo(token)} is no grouping; use one of {ByTokens}.");
            return Rows[0];
        }
        return rows;
    }

    private static ReportInterval? ParseInterval(ArgumentResult result)
    {
        string token = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        var rows = Rows.FirstOrDefault(row => row.Period is not null && string.Equals(row.Token, token, StringComparison.OrdinalIgnoreCase));
        if (rows is null)
        {
            result.AddError($"--interval {Text.Echo(token)} is no period; use day, week or month.");
        }
        return rows?.Period;
    }

    private static int ParseTop(ArgumentResult result)
    {
        string token = result.Tokens.Count > 0 ? result.Tokens[0].Value : string.Empty;
        if (!int.TryParse(token, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out int n) || n > 1_000)
        {
            result.AddError($"--top {Text.Echo(token)} is not a whole number from 0 to 1,000.");
            return 0;
        }
        return n;
    }

    private static string Days(ProgramReport report) => (report.From, report.To) switch
    {
        (null, null) => "all days",
        ({ } f, null) => $"from {CliOptions.Iso(f)}",
        (null, { } t) => $"until {CliOptions.Iso(t)}",
        ({ } f, { } t) when f == t => CliOptions.Iso(f),
        ({ } f, { } t) => $"{CliOptions.Iso(f)} to {CliOptions.Iso(t)}",
    };

    private static void WriteTable(CliConsole console, ProgramReport report, IReadOnlyList<ReportRow> rows, string by)
    {
        var o = console.Out;
        var amounts = AmountFormat.Of(
            rows.Select(row => row.Figures).Append(report.Total)
                .SelectMany(f => f.CreditedRevenue.Concat(f.RewardCost).Concat(f.CostPerNewCustomer))
                .Concat(report.TopReferrers.SelectMany(t => t.Revenue.Concat(t.Rewards))));
        o.WriteLine($"Program {report.Program.Value}, {Days(report)} ({report.TimeZone}), by {by}{amounts.Note}:");
        o.WriteLine();
        if (report.Total.Touches == 0 && report.Total.Conversions == 0)
        {
            o.WriteLine("No touches and no conversions in these days.");
            return;
        }

        var table = new TextTable(by, "touches", "conversions", "attributed", "new customers", "revenue", "reward cost", "cost/customer");
        void Add(string key, ReportFigures f) => table.Add(
            key,
            CliApp.N(f.Touches),
            CliApp.N(f.Conversions),
            CliApp.N(f.Attributed),
            CliApp.N(f.NewCustomers),
            amounts.Format(f.CreditedRevenue),
            amounts.Format(f.RewardCost),
            amounts.Format(f.CostPerNewCustomer));
        foreach (var row in rows)
        {
            Add(Text.Plain(row.Key, 60), row.Figures);
        }
        table.Rule();
        Add("total", report.Total);
        table.Write(console);

        if (report.TopReferrers.Count > 0)
        {
            o.WriteLine();
            var referrers = new TextTable("top referrers", "new customers", "revenue", "rewards");
            foreach (var t in report.TopReferrers)
            {
                referrers.Add(Text.Plain(t.Referrer.Value, 60), CliApp.N(t.Referrals), amounts.Format(t.Revenue), amounts.Format(t.Rewards));
            }
            referrers.Write(console);
        }

        if (report.Total.NotAttributed.Count > 0)
        {
            o.WriteLine();
            var reasons = new TextTable("not attributed", "conversions");
            foreach (var reason in report.Total.NotAttributed)
            {
                reasons.Add(reason.Reason.ToString(), CliApp.N(reason.Count));
            }
            reasons.Write(console);
        }

        var total = report.Total;
        o.WriteLine();
        o.WriteLine($"Fraud checks: {CliApp.N(total.FraudAllowed)} allowed, {CliApp.N(total.FraudReview)} sent to review, {CliApp.N(total.FraudBlocked)} blocked.");
    }

    /// <summary>
    /// One header line, a row per group or period and the total row: <c>row</c> says which (<c>group</c>, <c>period</c>,
    /// <c>total</c>, the total's key empty, so no group can be mistaken for it), counts, then each amount per currency of the
    /// report (<c>revenue_EUR</c>), 0 where a row has none of it, empty cost per customer without new customers.
    /// </summary>
    private static void WriteCsv(CliConsole console, ProgramReport report, IReadOnlyList<ReportRow> rows, string column, string kind)
    {
        var currencies = AmountFormat.Of(rows.Select(row => row.Figures).Append(report.Total)
            .SelectMany(f => f.CreditedRevenue.Concat(f.Earned).Concat(f.ClawedBack).Concat(f.RewardCost))).Currencies;
        (string Name, Func<ReportFigures, IReadOnlyList<Money>> Amounts)[] money =
        [
            ("revenue", f => f.CreditedRevenue),
            ("earned", f => f.Earned),
            ("clawed_back", f => f.ClawedBack),
            ("rewards_cost", f => f.RewardCost),
            ("cost_per_customer", f => f.CostPerNewCustomer),
        ];
        var o = console.Out;
        o.WriteLine(string.Join(',', new[] { "row", column, "touches", "conversions", "attributed", "not_attributed", "new_customers", "fraud_allowed", "fraud_review", "fraud_blocked" }
            .Concat(money.SelectMany(m => currencies.Select(c => $"{m.Name}_{c}")))));
        void Write(string rowKind, string key, ReportFigures f)
        {
            var cells = new List<string>
            {
                rowKind, Text.Csv(key), Int(f.Touches), Int(f.Conversions), Int(f.Attributed), Int(f.Conversions - f.Attributed), Int(f.NewCustomers),
                Int(f.FraudAllowed), Int(f.FraudReview), Int(f.FraudBlocked),
            };
            foreach (var (name, amounts) in money)
            {
                foreach (var c in currencies)
                {
                    cells.Add(name == "cost_per_customer" && f.NewCustomers == 0 ? string.Empty : AmountFormat.Csv(AmountFormat.In(amounts(f), c), c));
                }
            }
            o.WriteLine(string.Join(',', cells));
        }
        foreach (var row in rows)
        {
            Write(kind, row.Key, row.Figures);
        }
        Write("total", string.Empty, report.Total);
    }

    private static string Int(int n) => n.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
