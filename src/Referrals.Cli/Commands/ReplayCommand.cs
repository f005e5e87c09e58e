using System.CommandLine;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Options;
using Referrals.Reporting;
using Referrals.Rewards;

namespace Referrals.Cli.Commands;

/// <summary>
/// <c>referrals replay</c>: what candidate reward rules would have paid on the stored history
/// (<see cref="ProgramReports.ReplayAsync"/>), beside what was paid.
/// </summary>
internal static class ReplayCommand
{
    private const int Shown = 10;

    public static Command Build(CliApp app)
    {
        var program = CliOptions.Program();
        var rules = new Option<string>("--rules")
        {
            Description = "A JSON file of candidate rules in the shape of Referrals:Programs:{program}:Rewards: "
                + "{ \"Rules\": [...], \"Boosts\": [...], \"Caps\": [...] }.",
            HelpName = "file",
            Required = true,
        };
        var from = CliOptions.Day("--from", "The first day whose orders are compared (default: the first order); the orders before it are replayed too, as ladders and caps count them.");
        var to = CliOptions.Day("--to", "The last day whose orders are compared, included (default: the last order).");
        var csv = CliOptions.Csv("one row per beneficiary whose amount would change");
        var command = new Command("replay", "Replays the program's stored orders under other reward rules and compares what was paid with what "
            + "they would have paid: in total and per acquired customer, per rule, tier, boost and cap, and per beneficiary (who gains, "
            + "who loses). Reads only; nothing is recorded or paid.")
        {
            program, rules, from, to, csv,
        };
        app.Example(command,
            "referrals replay --program customers --rules new-rules.json",
            "referrals replay -p customers --rules ladder.json --from 2026-11-01 --to 2026-11-30 --csv > beneficiaries.csv");
        app.Action(command, async (r, ct) =>
        {
            CliOptions.OneOf(r, csv, app.Json);
            var (first, last) = (r.GetValue(from), r.GetValue(to));
            CliOptions.Days(first, last);
            string given = r.GetRequiredValue(rules);
            var candidate = ReadFile(app.Console, given);

            await using var host = await app.StartAsync(r, ct, StoreFile.MustExist);
            var programId = host.Program(r.GetRequiredValue(program));
            var reports = host.Get<ProgramReports>();
            RewardOptions options;
            try
            {
                options = reports.ReadRules(candidate, programId);
            }
            catch (OptionsValidationException e)
            {
                throw CliException.Usage($"--rules {Text.Echo(given)} has bad settings; fix them:"
                    + System.Environment.NewLine + "  " + string.Join(System.Environment.NewLine + "  ", e.Failures));
            }
            var result = await reports.ReplayAsync(new ReplayQuery { Program = programId, Rules = options, From = first, To = last }, ct);

            if (r.GetValue(app.Json))
            {
                CliOptions.WriteJson(app.Console, result);
            }
            else if (r.GetValue(csv))
            {
                WriteCsv(app.Console, result);
            }
            else
            {
                WriteSummary(app.Console, result, given);
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The rules file as configuration; a missing file or one that is not a JSON object is a usage error naming it.</summary>
    private static IConfigurationRoot ReadFile(CliConsole console, string given)
    {
        string path = console.Resolve(given);
        if (!File.Exists(path))
        {
            throw CliException.Usage($"--rules {Text.Echo(given)}: no such file ({path}). Name a JSON file of candidate rules, like "
                + "{ \"Rules\": [ { \"Name\": \"thanks\", \"Amount\": 15, \"Currency\": \"EUR\" } ] }.");
        }
        try
        {
            return new ConfigurationBuilder().AddJsonFile(path, optional: false, reloadOnChange: false).Build();
        }
        catch (Exception e) when (e is InvalidDataException or FormatException)
        {
            // The JSON provider's own message names the file (named here already); the ones inside it say what and where.
            var messages = new List<string>();
            for (var inner = e.InnerException ?? e; inner is not null; inner = inner.InnerException)
            {
                messages.Add(inner.Message.ReplaceLineEndings(" "));
            }
            throw CliException.Usage($"--rules {Text.Echo(given)} is not a JSON object of settings ({path}): {string.Join(" ", messages)}");
        }
    }

    private static string Days(ReplayResult result) => (result.From, result.To) switch
    {
        (null, null) => "all orders",
        ({ } f, null) => $"orders from {CliOptions.Iso(f)}",
        (null, { } t) => $"orders until {CliOptions.Iso(t)}",
        ({ } f, { } t) => $"orders of {CliOptions.Iso(f)} to {CliOptions.Iso(t)}",
    };

    private static void WriteSummary(CliConsole console, ReplayResult result, string rulesFile)
    {
        var o = console.Out;
        var amounts = AmountFormat.Of(result.Paid.Amounts.Concat(result.WouldPay.Amounts)
            .Concat(result.Lines.SelectMany(l => l.Paid.Amounts.Concat(l.WouldPay.Amounts)))
            .Concat(result.Participants.SelectMany(p => p.Paid.Concat(p.WouldPay))));
        o.WriteLine($"Replay of program {result.Program.Value} under {Text.Echo(rulesFile, 80)}, {Days(result)}{amounts.Note}:");
        o.WriteLine();
        o.WriteLine($"  orders compared     {CliApp.N(result.Orders),10}");
        o.WriteLine($"  acquired customers  {CliApp.N(result.AcquiredCustomers),10}");
        o.WriteLine();

        var totals = new TextTable(string.Empty, "paid", "would pay", "difference");
        totals.Add("rewards", amounts.Format(result.Paid.Amounts), amounts.Format(result.WouldPay.Amounts), amounts.Signed(AmountFormat.Difference(result.Paid.Amounts, result.WouldPay.Amounts)));
        totals.Add("count", CliApp.N(result.Paid.Count), CliApp.N(result.WouldPay.Count), Signed(result.WouldPay.Count - result.Paid.Count));
        totals.Add("per customer", amounts.Format(result.PaidPerCustomer), amounts.Format(result.WouldPayPerCustomer), amounts.Signed(AmountFormat.Difference(result.PaidPerCustomer, result.WouldPayPerCustomer)));
        totals.Write(console, "  ");

        if (result.Lines.Count > 0)
        {
            o.WriteLine();
            var lines = new TextTable("line", "paid", "count", "would pay", "count", "difference");
            foreach (var line in result.Lines)
            {
                lines.Add(
                    $"{line.Dimension.ToString().ToLowerInvariant()} {Text.Plain(line.Name, 60)}",
                    amounts.Format(line.Paid.Amounts),
                    CliApp.N(line.Paid.Count),
                    amounts.Format(line.WouldPay.Amounts),
                    CliApp.N(line.WouldPay.Count),
                    amounts.Signed(AmountFormat.Difference(line.Paid.Amounts, line.WouldPay.Amounts)));
            }
            lines.Write(console, "  ");
            if (result.Lines.Any(l => l.Dimension == ReplayDimension.Cap))
            {
                o.WriteLine("  (a cap's line counts the rewards it reduced or skipped, and the amount it held back)");
            }
        }

        o.WriteLine();
        o.WriteLine($"  Beneficiaries: {CliApp.N(result.Gainers)} would gain, {CliApp.N(result.Losers)} would lose, {CliApp.N(result.Mixed)} mixed (more in one currency, less in another), {CliApp.N(result.Unchanged)} unchanged.");
        // The library lists the changed beneficiaries by difference, largest gain first: the losers are at its end.
        var gainers = result.Participants.Where(p => p.Difference.Any(d => d.Amount > 0) && !p.Difference.Any(d => d.Amount < 0)).Take(Shown).ToList();
        var losers = result.Participants.Where(p => p.Difference.Any(d => d.Amount < 0) && !p.Difference.Any(d => d.Amount > 0)).Reverse().Take(Shown).ToList();
        WriteParticipants(console, amounts, gainers, result.Gainers, "gainers");
        WriteParticipants(console, amounts, losers, result.Losers, "losers");
    }

    private static void WriteParticipants(CliConsole console, AmountFormat amounts, List<ReplayParticipant> shown, int all, string what)
    {
        if (shown.Count == 0)
        {
            return;
        }
        console.Out.WriteLine();
        var table = new TextTable(shown.Count < all ? $"top {shown.Count} {what}" : what, "paid", "would pay", "difference");
        foreach (var p in shown)
        {
            table.Add(Text.Plain(p.Participant.Value, 60), amounts.Format(p.Paid), amounts.Format(p.WouldPay), amounts.Signed(p.Difference));
        }
        table.Write(console, "  ");
    }

    private static string Signed(int n) => n > 0 ? "+" + CliApp.N(n) : CliApp.N(n);

    /// <summary>
    /// A row per beneficiary whose amount would change (as the library lists them: largest gain first), the amounts per
    /// currency of the replay (<c>paid_EUR,would_pay_EUR,difference_EUR</c>); the unchanged are left out, as in the result.
    /// </summary>
    private static void WriteCsv(CliConsole console, ReplayResult result)
    {
        var currencies = AmountFormat.Of(result.Participants.SelectMany(p => p.Paid.Concat(p.WouldPay).Concat(p.Difference))).Currencies;
        var o = console.Out;
        o.WriteLine(string.Join(',', currencies.SelectMany(c => new[] { $"paid_{c}", $"would_pay_{c}", $"difference_{c}" }).Prepend("participant")));
        foreach (var p in result.Participants)
        {
            var cells = new List<string> { Text.Csv(p.Participant.Value) };
            foreach (var c in currencies)
            {
                cells.Add(AmountFormat.Csv(AmountFormat.In(p.Paid, c), c));
                cells.Add(AmountFormat.Csv(AmountFormat.In(p.WouldPay, c), c));
                cells.Add(AmountFormat.Csv(AmountFormat.In(p.Difference, c), c));
            }
            o.WriteLine(string.Join(',', cells));
        }
    }
}
