// The snippets show a host's code, which passes no test cancellation token where one is optional.
#pragma warning disable xUnit1051

using Microsoft.Extensions.Configuration;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Programs;
using Referrals.Reporting;
using Referrals.Rewards;
using Referrals.Services;

namespace Referrals.Docs;

/// <summary>The code of docs/reports.md, run: a program report by channel combination, and a what-if replay.</summary>
public sealed class ReportingSnippets
{
    private static readonly ProgramId Customers = new("customers");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static void TenEuros(ReferralsOptions o) => o.Programs["customers"] = new ProgramOptions
    {
        TimeZone = "Europe/Berlin",
        Rewards = new RewardOptions { Rules = [new RewardRuleOptions { Name = "thanks", Amount = 10m, Currency = "EUR" }] },
    };

    /// <summary>Anna's code brings six friends in November, one a day from the 23rd.</summary>
    private static async Task<DocsServices> NovemberAsync()
    {
        var app = await DocsServices.StartAsync(TenEuros);
        var code = await app.Get<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("anna") }, Ct);
        app.Clock.Reset(Instant.FromUtc(2026, 12, 1, 9, 0));
        for (int i = 0; i < 6; i++)
        {
            await app.Get<AttributionService>().RecordConversionAsync(new Conversion
            {
                Program = Customers, OrderId = $"web-{1000 + i}", Customer = new ParticipantId($"friend-{i}"), PresentedCode = code.Display,
                Amount = new Money(40m, "EUR"), EventTime = DocsServices.Start + Duration.FromDays(i),
            }, Ct);
        }
        return app;
    }

    [Fact]
    public async Task TheMonthByChannelCombination()
    {
        await using var app = await NovemberAsync();
        var reports = app.Get<ProgramReports>();

        #region Reports.Report
        var report = await reports.GetReportAsync(new ReportQuery
        {
            Program = new ProgramId("customers"),
            From = new LocalDate(2026, 11, 1),
            To = new LocalDate(2026, 11, 30),        // days in the program's time zone, both included
            By = ReportGrouping.Combination,
            Interval = ReportInterval.Week,
        });
        foreach (var row in report.Groups)
        {
            var f = row.Figures;
            Console.WriteLine($"{row.Key}: {f.Conversions} conversions, {f.NewCustomers} new customers, "
                + $"revenue {string.Join(" + ", f.CreditedRevenue)}, cost per customer {string.Join(" + ", f.CostPerNewCustomer)}");
        }
        #endregion

        var online = Assert.Single(report.Groups);
        Assert.Equal("OnlineToOnline", online.Key);
        Assert.Equal(6, online.Figures.NewCustomers);
        Assert.Equal(new Money(10m, "EUR"), Assert.Single(online.Figures.CostPerNewCustomer));
        Assert.Equal("2026-W48", Assert.Single(report.Series).Key); // Monday 23 to Saturday 28 November: ISO week 48
    }

    [Fact]
    public async Task WhatFifteenEurosFromTheFifthReferralWouldHaveCost()
    {
        await using var app = await NovemberAsync();
        var reports = app.Get<ProgramReports>();
        string folder = app.Folder!.FullName;
        File.WriteAllText(Path.Combine(folder, "new-rules.json"), """
            { "Rules": [ { "Name": "thanks", "Tiers": [ { "From": 1, "Amount": 10, "Currency": "EUR" }, { "From": 5, "Amount": 15, "Currency": "EUR" } ] } ] }
            """);

        #region Reports.Replay
        var candidate = new ConfigurationBuilder().AddJsonFile(Path.Combine(folder, "new-rules.json")).Build();
        var rules = reports.ReadRules(candidate, new ProgramId("customers"));   // strict: a typo is an error naming it
        var replay = await reports.ReplayAsync(new ReplayQuery { Program = new ProgramId("customers"), Rules = rules });
        Console.WriteLine($"paid {string.Join(" + ", replay.Paid.Amounts)}, would pay {string.Join(" + ", replay.WouldPay.Amounts)}");
        foreach (var line in replay.Lines.Where(l => l.Dimension == ReplayDimension.Tier))
        {
            Console.WriteLine($"  {line.Name}: {string.Join(" + ", line.Paid.Amounts)} paid, {string.Join(" + ", line.WouldPay.Amounts)} would be");
        }
        #endregion

        Assert.Equal(new Money(60m, "EUR"), Assert.Single(replay.Paid.Amounts));
        Assert.Equal(new Money(70m, "EUR"), Assert.Single(replay.WouldPay.Amounts)); // 4 x 10 + 2 x 15
        Assert.Equal(1, replay.Gainers);
    }
}
