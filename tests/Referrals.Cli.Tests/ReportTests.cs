using System.Security.Cryptography;
using System.Text.Json;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Rewards;
using Referrals.Services;

namespace Referrals.Cli.Tests;

/// <summary>
/// <c>referrals report</c> and <c>referrals replay</c> on a shop's file seeded through the library: the table, CSV and JSON
/// with figures worked out by hand, and every bad input a usage error naming it.
/// </summary>
public sealed class ReportTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// Program <c>customers</c> (UTC; 10 EUR to the referrer per referral, <c>thanks</c>). anna (a customer) shared her
    /// code by e-mail, bob (an employee) his on receipts. Week 48: f1 buys online for 40 EUR with anna's code (Mon 23
    /// November), f2 for 60 EUR with it (Tue), refunded in full on Friday; f3 for 30 EUR at the berlin-1 till with bob's
    /// code (Wed); f4 for 25 EUR online with no code (Thu). Week 49: f5 enters anna's code online (Mon 30 November, a
    /// touch) and buys for 50 EUR with it the next day.
    /// </summary>
    /// <remarks>
    /// Touches 5: each code presented with an order is captured as a touch too, besides f5's entry. Conversions 5,
    /// attributed 4 (f4 not); revenue credited 40 + 0 + 30 + 50 = 120; new customers 3 (f2's order refunded in full is
    /// none); rewards 3 x 10 = 30 (f2's cancelled), 10 per new customer. By combination: OnlineToOnline f1, f2, f5 and
    /// the entry (4 touches, 90 revenue, 2 new, 20 cost), OfflineToOffline f3 (1, 30, 1, 10), not attributed f4.
    /// </remarks>
    internal static async Task SeedAsync(Shop shop, bool withDollars = false)
    {
        await using (var library = await shop.LibraryAsync())
        {
            var program = new ProgramId("customers");
            var attribution = library.GetRequiredService<AttributionService>();
            var codes = library.GetRequiredService<ReferralCodeService>();
            await library.GetRequiredService<ParticipantService>().RegisterAsync(new Participant { Id = new ParticipantId("anna") }, Ct);
            await library.GetRequiredService<ParticipantService>().RegisterAsync(new Participant { Id = new ParticipantId("bob"), Kind = ParticipantKind.Employee }, Ct);
            var anna = await codes.IssueAsync(new CodeRequest { Program = program, Owner = new ParticipantId("anna"), Medium = ShareMedium.Email }, Ct);
            var bob = await codes.IssueAsync(new CodeRequest { Program = program, Owner = new ParticipantId("bob"), Medium = ShareMedium.Receipt }, Ct);

            Conversion Order(string id, string customer, int day, int month, decimal amount, ReferralCodeRecord? code, string currency = "EUR") => new()
            {
                Program = program,
                OrderId = id,
                Customer = new ParticipantId(customer),
                Amount = new Money(amount, currency),
                EventTime = Instant.FromUtc(2026, month, day, 10, 0),
                PresentedCode = code?.Display,
            };
            await attribution.RecordConversionAsync(Order("o1", "f1", 23, 11, 40m, anna), Ct);
            await attribution.RecordConversionAsync(Order("o2", "f2", 24, 11, 60m, anna), Ct);
            await attribution.RecordConversionAsync(Order("o3", "f3", 25, 11, 30m, bob) with { Channel = Channel.Offline, StoreId = "berlin-1" }, Ct);
            await attribution.RecordConversionAsync(Order("o4", "f4", 26, 11, 25m, null), Ct);
            await library.GetRequiredService<RewardService>().RecordRefundAsync(
                new Refund { Program = program, OrderId = "o2", RefundId = "rf-o2", Amount = new Money(60m, "EUR"), EventTime = Instant.FromUtc(2026, 11, 27, 10, 0) }, Ct);
            var touch = await attribution.CaptureAsync(new CaptureRequest
            {
                Program = program,
                Kind = TouchKind.CodeEnteredOnline,
                Input = anna.Display,
                Customer = new ParticipantId("f5"),
                EventTime = Instant.FromUtc(2026, 11, 30, 10, 0),
            }, Ct);
            Assert.Equal(CaptureOutcome.Captured, touch.Outcome);
            await attribution.RecordConversionAsync(Order("o5", "f5", 1, 12, 50m, anna), Ct);
            if (withDollars)
            {
                // A US customer of anna's: 20 USD of revenue, her 10 EUR as for every referral.
                await attribution.RecordConversionAsync(Order("o6", "f6", 2, 12, 20m, anna, "USD"), Ct);
            }
        }
        // The library's connections closed, so the file holds everything (no write-ahead log left to replay).
        SqliteConnection.ClearAllPools();
    }

    internal const string TwelveFifty = """{ "Rules": [ { "Name": "thanks", "Amount": 12.5, "Currency": "EUR" } ] }""";

    /// <summary>The report of <see cref="SeedAsync"/>'s orders, by combination (the default).</summary>
    internal const string Table =
        """
        Program customers, all days (UTC), by combination; amounts in EUR:

        combination       touches  conversions  attributed  new customers  revenue  reward cost  cost/customer
        OfflineToOffline        1            1           1              1    30.00        10.00          10.00
        OnlineToOnline          4            3           3              2    90.00        20.00          10.00
        not attributed          0            1           0              0        -            -              -
        ------------------------------------------------------------------------------------------------------
        total                   5            5           4              3   120.00        30.00          10.00

        top referrers  new customers  revenue  rewards
        anna                       2    90.00    20.00
        bob                        1    30.00    10.00

        not attributed  conversions
        NoTouch                   1

        Fraud checks: 4 allowed, 0 sent to review, 0 blocked.

        """;

    /// <summary>The replay of <see cref="SeedAsync"/>'s orders under <see cref="TwelveFifty"/>.</summary>
    internal const string Replay =
        """
        Replay of program customers under 'new-rules.json', all orders; amounts in EUR:

          orders compared              5
          acquired customers           3

                         paid  would pay  difference
          rewards       30.00      37.50       +7.50
          count             3          3           0
          per customer  10.00      12.50       +2.50

          line                          paid  count  would pay  count  difference
          rule thanks                  30.00      3      37.50      3       +7.50
          tier thanks: every referral  30.00      3      37.50      3       +7.50

          Beneficiaries: 2 would gain, 0 would lose, 0 mixed (more in one currency, less in another), 0 unchanged.

          gainers   paid  would pay  difference
          anna     20.00      25.00       +5.00
          bob      10.00      12.50       +2.50

        """;

    private static string Normal(string text) => text.ReplaceLineEndings("\n");

    [Fact]
    public async Task TheTableHasARowPerCombinationATotalTheTopReferrersAndWhyTheOthersWereNotAttributed()
    {
        using var shop = new Shop();
        await SeedAsync(shop);
        var result = await shop.RunAsync("report", "--program", "customers");
        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(string.Empty, result.Error);
        Assert.Equal(Table, Normal(result.Out));
    }

    [Fact]
    public async Task ByWeekTheRowsAreIsoWeeksAndTheDaysBoundThem()
    {
        using var shop = new Shop();
        await SeedAsync(shop);
        var weeks = await shop.RunAsync("report", "-p", "customers", "--by", "week", "--top", "1");
        Assert.True(weeks.Exit == 0, weeks.ToString());
        var lines = Normal(weeks.Out).Split('\n');
        Assert.Equal("week      touches  conversions  attributed  new customers  revenue  reward cost  cost/customer", lines[2]);
        Assert.Equal("2026-W48        3            4           3              2    70.00        20.00          10.00", lines[3]);
        Assert.Equal("2026-W49        2            1           1              1    50.00        10.00          10.00", lines[4]);
        Assert.Equal("total           5            5           4              3   120.00        30.00          10.00", lines[6]);
        Assert.Contains("top referrers  new customers  revenue  rewards\nanna                       2    90.00    20.00\n\n", Normal(weeks.Out), StringComparison.Ordinal);

        // The last week alone: f5's touch and order.
        var last = await shop.RunAsync("report", "-p", "customers", "--by", "store", "--from", "2026-11-30", "--to", "2026-12-06");
        Assert.True(last.Exit == 0, last.ToString());
        Assert.StartsWith("Program customers, 2026-11-30 to 2026-12-06 (UTC), by store; amounts in EUR:\n", Normal(last.Out), StringComparison.Ordinal);
        Assert.Contains("\nonline        2            1           1              1    50.00        10.00          10.00\n", Normal(last.Out), StringComparison.Ordinal);
        Assert.DoesNotContain("berlin-1", last.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("not attributed", last.Out, StringComparison.Ordinal);

        var empty = await shop.RunAsync("report", "-p", "customers", "--from", "2027-01-01");
        Assert.Equal(0, empty.Exit);
        Assert.Equal("Program customers, from 2027-01-01 (UTC), by combination:\n\nNo touches and no conversions in these days.\n", Normal(empty.Out));
    }

    [Fact]
    public async Task TheCsvHasAHeaderARowPerGroupAndATotalWithAmountColumnsPerCurrency()
    {
        using var shop = new Shop();
        await SeedAsync(shop, withDollars: true);
        var result = await shop.RunAsync("report", "-p", "customers", "--by", "referrer-kind", "--csv");
        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(
            [
                "row,referrer_kind,touches,conversions,attributed,not_attributed,new_customers,fraud_allowed,fraud_review,fraud_blocked,"
                    + "revenue_EUR,revenue_USD,earned_EUR,earned_USD,clawed_back_EUR,clawed_back_USD,rewards_cost_EUR,rewards_cost_USD,cost_per_customer_EUR,cost_per_customer_USD",
                // anna's f1, f2, f5 and f6 (20 USD); her f2 reward earned and cancelled.
                "group,Customer,5,4,4,0,3,4,0,0,90.00,20.00,40.00,0.00,0.00,0.00,30.00,0.00,10.00,0.00",
                "group,Employee,1,1,1,0,1,1,0,0,30.00,0.00,10.00,0.00,0.00,0.00,10.00,0.00,10.00,0.00",
                "group,not attributed,0,1,0,1,0,0,0,0,0.00,0.00,0.00,0.00,0.00,0.00,0.00,0.00,,",
                "total,,6,6,5,1,4,5,0,0,120.00,20.00,50.00,0.00,0.00,0.00,40.00,0.00,10.00,0.00",
            ],
            Normal(result.Out).TrimEnd('\n').Split('\n'));

        // The table names the currency of every amount when there are two.
        var table = await shop.RunAsync("report", "-p", "customers", "--by", "referrer-kind");
        Assert.StartsWith("Program customers, all days (UTC), by referrer-kind:\n", Normal(table.Out), StringComparison.Ordinal);
        Assert.Contains("120.00 EUR + 20.00 USD", table.Out, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheJsonIsTheWholeReportWithDaysAsDatesAndMoneyAsAmountAndCurrency()
    {
        using var shop = new Shop();
        await SeedAsync(shop);
        var result = await shop.RunAsync("report", "-p", "customers", "--from", "2026-11-23", "--to", "2026-12-31", "--by", "medium", "--interval", "week", "--json");
        Assert.True(result.Exit == 0, result.ToString());
        var json = JsonDocument.Parse(result.Out).RootElement;
        Assert.Equal("customers", json.GetProperty("program").GetString());
        Assert.Equal("2026-11-23", json.GetProperty("from").GetString());
        Assert.Equal("2026-12-31", json.GetProperty("to").GetString());
        Assert.Equal("Medium", json.GetProperty("by").GetString());
        Assert.Equal("Week", json.GetProperty("interval").GetString());
        var total = json.GetProperty("total");
        Assert.Equal((5, 5, 4, 3), (total.GetProperty("touches").GetInt32(), total.GetProperty("conversions").GetInt32(), total.GetProperty("attributed").GetInt32(), total.GetProperty("newCustomers").GetInt32()));
        var revenue = Assert.Single(total.GetProperty("creditedRevenue").EnumerateArray());
        Assert.Equal((120m, "EUR"), (revenue.GetProperty("amount").GetDecimal(), revenue.GetProperty("currency").GetString()));
        Assert.Equal(30m, Assert.Single(total.GetProperty("rewardCost").EnumerateArray()).GetProperty("amount").GetDecimal());
        Assert.Equal(40m, Assert.Single(total.GetProperty("earned").EnumerateArray()).GetProperty("amount").GetDecimal());
        Assert.Equal("NoTouch", Assert.Single(total.GetProperty("notAttributed").EnumerateArray()).GetProperty("reason").GetString());
        // anna's three rewards: two pending, f2's revoked by the refund; bob's pending.
        var rewards = total.GetProperty("rewards").EnumerateArray().Select(f => (f.GetProperty("status").GetString(), f.GetProperty("kind").GetString(), f.GetProperty("totals").GetProperty("count").GetInt32())).ToList();
        Assert.Equal([("Pending", "AccountCredit", 3), ("Revoked", "AccountCredit", 1)], rewards);
        Assert.Equal(["Email", "Receipt", "not attributed"], json.GetProperty("groups").EnumerateArray().Select(g => g.GetProperty("key").GetString()));
        Assert.Equal(["2026-W48", "2026-W49"], json.GetProperty("series").EnumerateArray().Select(g => g.GetProperty("key").GetString()));
        var top = json.GetProperty("topReferrers").EnumerateArray().ToList();
        Assert.Equal(["anna", "bob"], top.Select(t => t.GetProperty("referrer").GetString()));
        Assert.Equal(2, top[0].GetProperty("referrals").GetInt32());
    }

    [Fact]
    public async Task AReplayWithTwelveFiftyAReferralPaysTwoFiftyMorePerCustomer()
    {
        using var shop = new Shop();
        await SeedAsync(shop);
        File.WriteAllText(shop.PathOf("new-rules.json"), TwelveFifty);
        var result = await shop.RunAsync("replay", "--program", "customers", "--rules", "new-rules.json");
        Assert.True(result.Exit == 0, result.ToString());
        Assert.Equal(string.Empty, result.Error);
        // Paid: f1, f3, f5 10 EUR each (f2's cancelled by the refund). Would pay: 12.50 each, f2 refunded in full nothing.
        Assert.Equal(Replay, Normal(result.Out));

        var csv = await shop.RunAsync("replay", "-p", "customers", "--rules", "new-rules.json", "--csv");
        Assert.True(csv.Exit == 0, csv.ToString());
        Assert.Equal(["participant,paid_EUR,would_pay_EUR,difference_EUR", "anna,20.00,25.00,5.00", "bob,10.00,12.50,2.50"], Normal(csv.Out).TrimEnd('\n').Split('\n'));

        // From 1 December: f5's order alone is compared (the ones before it are replayed for the ladder, not compared).
        var json = await shop.RunAsync("replay", "-p", "customers", "--rules", "new-rules.json", "--from", "2026-12-01", "--json");
        Assert.True(json.Exit == 0, json.ToString());
        var root = JsonDocument.Parse(json.Out).RootElement;
        Assert.Equal("2026-12-01", root.GetProperty("from").GetString());
        Assert.Equal(1, root.GetProperty("orders").GetInt32());
        Assert.Equal(10m, Assert.Single(root.GetProperty("paid").GetProperty("amounts").EnumerateArray()).GetProperty("amount").GetDecimal());
        Assert.Equal(12.5m, Assert.Single(root.GetProperty("wouldPay").GetProperty("amounts").EnumerateArray()).GetProperty("amount").GetDecimal());
        var anna = Assert.Single(root.GetProperty("participants").EnumerateArray());
        Assert.Equal("anna", anna.GetProperty("participant").GetString());
        Assert.Equal(2.5m, Assert.Single(anna.GetProperty("difference").EnumerateArray()).GetProperty("amount").GetDecimal());
        Assert.Equal((1, 0, 0), (root.GetProperty("gainers").GetInt32(), root.GetProperty("losers").GetInt32(), root.GetProperty("unchanged").GetInt32()));
        Assert.Equal(["Rule", "Tier"], root.GetProperty("lines").EnumerateArray().Select(l => l.GetProperty("dimension").GetString()));
    }

    [Fact]
    public async Task ALadderFromTheSecondReferralMakesAnnaGainAndACapMakesThemLose()
    {
        using var shop = new Shop();
        await SeedAsync(shop);
        // anna's second referral that counts is f5 (f2's order was refunded in full): 15 EUR instead of 10.
        File.WriteAllText(shop.PathOf("ladder.json"), """
            { "Rules": [ { "Name": "thanks", "Tiers": [ { "From": 1, "Amount": 10, "Currency": "EUR" }, { "From": 2, "Amount": 15, "Currency": "EUR" } ] } ] }
            """);
        var ladder = await shop.RunAsync("replay", "-p", "customers", "--rules", "ladder.json", "--csv");
        Assert.True(ladder.Exit == 0, ladder.ToString());
        Assert.Equal(["participant,paid_EUR,would_pay_EUR,difference_EUR", "anna,20.00,25.00,5.00"], Normal(ladder.Out).TrimEnd('\n').Split('\n'));

        // At most 5 EUR a month per referrer: anna's f1 (November) and f5 (December) and bob's f3 are held back to 5.
        File.WriteAllText(shop.PathOf("cap.json"), """
            { "Rules": [ { "Name": "thanks", "Amount": 10, "Currency": "EUR" } ], "Caps": [ { "Period": "Month", "MaxAmount": 5, "Currency": "EUR" } ] }
            """);
        var cap = await shop.RunAsync("replay", "-p", "customers", "--rules", "cap.json");
        Assert.True(cap.Exit == 0, cap.ToString());
        var text = Normal(cap.Out);
        Assert.Contains("  rewards       30.00      15.00      -15.00\n", text, StringComparison.Ordinal);
        Assert.Contains("  Beneficiaries: 0 would gain, 2 would lose, 0 mixed", text, StringComparison.Ordinal);
        Assert.Contains("  (a cap's line counts the rewards it reduced or skipped, and the amount it held back)\n", text, StringComparison.Ordinal);
        Assert.Contains("\n  losers   paid  would pay  difference\n  anna    20.00      10.00      -10.00\n  bob     10.00       5.00       -5.00\n", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ATypoInTheRulesFileIsAUsageErrorNamingTheSetting()
    {
        using var shop = new Shop();
        await SeedAsync(shop);
        File.WriteAllText(shop.PathOf("typo.json"), """{ "Rules": [ { "Name": "thanks", "Amont": 12.5, "Currency": "EUR" } ], "Caps": [ { "Period": "Fortnight" } ] }""");
        var result = await shop.RunAsync("replay", "-p", "customers", "--rules", "typo.json");
        Assert.Equal(2, result.Exit);
        Assert.Equal(string.Empty, result.Out);
        var error = Normal(result.Error);
        Assert.StartsWith("error: --rules 'typo.json' has bad settings; fix them:\n  ", error, StringComparison.Ordinal);
        Assert.Contains("\n  Rewards:Rules:0:Amont names no setting (a typo of 'Amount'?).\n", error, StringComparison.Ordinal);
        Assert.Contains("'Fortnight'", error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AMissingOrMalformedRulesFileIsAUsageErrorNamingIt()
    {
        using var shop = new Shop();
        await SeedAsync(shop);
        var missing = await shop.RunAsync("replay", "-p", "customers", "--rules", "nope.json");
        Assert.Equal(2, missing.Exit);
        Assert.StartsWith($"error: --rules 'nope.json': no such file ({shop.PathOf("nope.json")}). Name a JSON file of candidate rules", missing.Error, StringComparison.Ordinal);

        File.WriteAllText(shop.PathOf("broken.json"), """{ "Rules": [ { "Name": "thanks", "Amount": 12.5, """);
        var broken = await shop.RunAsync("replay", "-p", "customers", "--rules", "broken.json");
        Assert.Equal(2, broken.Exit);
        Assert.StartsWith("error: --rules 'broken.json' is not a JSON object of settings (" + shop.PathOf("broken.json") + "): Could not parse the JSON file. ", broken.Error, StringComparison.Ordinal);
        // Where in the file, as the JSON reader says it.
        Assert.Contains("LineNumber: 0", broken.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", broken.Error, StringComparison.Ordinal);
        Assert.Single(Normal(broken.Error).TrimEnd('\n').Split('\n'));

        File.WriteAllText(shop.PathOf("array.json"), """[ { "Name": "thanks" } ]""");
        var array = await shop.RunAsync("replay", "-p", "customers", "--rules", "array.json");
        Assert.Equal(2, array.Exit);
        Assert.StartsWith("error: --rules 'array.json' is not a JSON object of settings", array.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("report", "--by", "weak", "--by 'weak' is no grouping; use one of combination, medium, capture, store, referrer-kind, day, week, month.")]
    [InlineData("report", "--from", "2026-11-31", "--from '2026-11-31' is no day; write it like 2026-11-23")]
    [InlineData("report", "--to", "23.11.2026", "--to '23.11.2026' is no day; write it like 2026-11-23")]
    [InlineData("report", "--interval", "year", "--interval 'year' is no period; use day, week or month.")]
    [InlineData("report", "--top", "-1", "--top '-1' is not a whole number from 0 to 1,000.")]
    [InlineData("replay", "--from", "yesterday", "--from 'yesterday' is no day; write it like 2026-11-23")]
    public async Task ABadValueIsAUsageErrorNamingTheOption(string command, string option, string value, string message)
    {
        using var shop = new Shop();
        File.WriteAllText(shop.PathOf("rules.json"), TwelveFifty);
        string[] args = command == "replay" ? [command, "-p", "customers", "--rules", "rules.json", option, value] : [command, "-p", "customers", option, value];
        var result = await shop.RunAsync(args);
        Assert.Equal(2, result.Exit);
        Assert.StartsWith("error: " + message, result.Error, StringComparison.Ordinal);
        Assert.Contains($"Run 'referrals {command} --help'", result.Error, StringComparison.Ordinal);
        // Refused before the store was opened: no file made.
        Assert.False(File.Exists(shop.PathOf("referrals.db")));
    }

    [Fact]
    public async Task ReversedDaysContradictoryOptionsAndAnUnknownProgramAreUsageErrors()
    {
        using var shop = new Shop();
        await SeedAsync(shop);
        var reversed = await shop.RunAsync("report", "-p", "customers", "--from", "2026-12-01", "--to", "2026-11-01");
        Assert.Equal(2, reversed.Exit);
        Assert.Equal("error: --to 2026-11-01 is before --from 2026-12-01; the days run from --from to --to, both included.\n", Normal(reversed.Error));
        var both = await shop.RunAsync("report", "-p", "customers", "--csv", "--json");
        Assert.Equal(2, both.Exit);
        Assert.Equal("error: --csv and --json are two outputs; choose one.\n", Normal(both.Error));
        var contradiction = await shop.RunAsync("report", "-p", "customers", "--by", "week", "--interval", "month");
        Assert.Equal(2, contradiction.Exit);
        Assert.Equal("error: --by week makes the rows weeks; --interval month contradicts it. Leave --interval out.\n", Normal(contradiction.Error));
        var unknown = await shop.RunAsync("report", "-p", "custmers");
        Assert.Equal(2, unknown.Exit);
        Assert.Equal("error: --program 'custmers': no such program; configured: customers, employees.\n", Normal(unknown.Error));
        File.WriteAllText(shop.PathOf("rules.json"), TwelveFifty);
        var unknownReplay = await shop.RunAsync("replay", "-p", "custmers", "--rules", "rules.json");
        Assert.Equal(2, unknownReplay.Exit);
        Assert.Equal("error: --program 'custmers': no such program; configured: customers, employees.\n", Normal(unknownReplay.Error));
    }

    [Fact]
    public async Task WithoutADatabaseNothingIsCreated()
    {
        using var shop = new Shop();
        var report = await shop.RunAsync("report", "-p", "customers");
        Assert.Equal(1, report.Exit);
        Assert.StartsWith($"error: There is no database at {shop.PathOf("referrals.db")} (ConnectionStrings:Referrals): nothing has been recorded there.", report.Error, StringComparison.Ordinal);
        File.WriteAllText(shop.PathOf("rules.json"), TwelveFifty);
        var replay = await shop.RunAsync("replay", "-p", "customers", "--rules", "rules.json");
        Assert.Equal(1, replay.Exit);
        Assert.False(File.Exists(shop.PathOf("referrals.db")));
    }

    [Fact]
    public async Task ReportAndReplayWriteNothingToTheDatabase()
    {
        using var shop = new Shop();
        await SeedAsync(shop);
        File.WriteAllText(shop.PathOf("rules.json"), TwelveFifty);
        byte[] before = Hash(shop);
        Assert.Equal(0, (await shop.RunAsync("report", "-p", "customers", "--by", "store")).Exit);
        Assert.Equal(0, (await shop.RunAsync("report", "-p", "customers", "--json")).Exit);
        Assert.Equal(0, (await shop.RunAsync("replay", "-p", "customers", "--rules", "rules.json")).Exit);
        SqliteConnection.ClearAllPools();
        Assert.Equal(before, Hash(shop));

        static byte[] Hash(Shop shop)
        {
            Assert.False(File.Exists(shop.PathOf("referrals.db-wal")) && new FileInfo(shop.PathOf("referrals.db-wal")).Length > 0, "a write-ahead log is left");
            return SHA256.HashData(File.ReadAllBytes(shop.PathOf("referrals.db")));
        }
    }

    [Fact]
    public async Task TheDllReportsAndReplaysAsAProcess()
    {
        using var shop = new Shop();
        await SeedAsync(shop);
        File.WriteAllText(shop.PathOf("new-rules.json"), TwelveFifty);
        var report = await Shop.ProcessAsync(shop.Directory, "dotnet", [Shop.ToolDll, "report", "--program", "customers", "--by", "store", "--csv"]);
        Assert.True(report.Exit == 0, report.ToString());
        var lines = Normal(report.Out).TrimEnd('\n').Split('\n');
        Assert.Equal(["berlin-1", "online", string.Empty], lines.Skip(1).Select(l => l.Split(',')[1]));
        Assert.StartsWith("total,,5,5,4,1,3,4,0,0,120.00,", lines[^1], StringComparison.Ordinal);

        var replay = await Shop.ProcessAsync(shop.Directory, "dotnet", [Shop.ToolDll, "replay", "--program", "customers", "--rules", "new-rules.json"]);
        Assert.True(replay.Exit == 0, replay.ToString());
        Assert.Contains("  rewards       30.00      37.50       +7.50\n", Normal(replay.Out), StringComparison.Ordinal);
        Assert.DoesNotContain('\u001b', replay.Out);

        File.WriteAllText(shop.PathOf("typo.json"), """{ "Rules": [ { "Name": "thanks", "Amont": 12.5, "Currency": "EUR" } ] }""");
        var typo = await Shop.ProcessAsync(shop.Directory, "dotnet", [Shop.ToolDll, "replay", "--program", "customers", "--rules", "typo.json"]);
        Assert.Equal(2, typo.Exit);
        Assert.Contains("Amont", typo.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", typo.Error, StringComparison.Ordinal);
    }
}
