// The regions are a host's code, which leaves out optional cancellation tokens; the tests pass theirs outside them.
#pragma warning disable xUnit1051

using System.Collections.Concurrent;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Notifications;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Storage;

namespace Referrals.Docs;

/// <summary>The code docs/rewards.md shows, run on a SQLite file; every amount the page states is asserted here.</summary>
public sealed class RewardsSnippets
{
    private static readonly ProgramId Customers = new("customers");
    private static readonly ParticipantId Anna = new("cust-anna");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>The program of the page: docs/rewards.md shows the same settings as JSON.</summary>
    internal static void Configure(ReferralsOptions options)
    {
        #region Rewards.Configure
        options.Programs["customers"] = new ProgramOptions
        {
            TimeZone = "Europe/Berlin",
            MaxChainDepth = 2,
            Rewards = new RewardOptions
            {
                HoldPeriod = TimeSpan.FromDays(14),
                Rules =
                [
                    new RewardRuleOptions
                    {
                        Name = "ladder",
                        Kind = RewardKind.AccountCredit,
                        Tiers =
                        [
                            new RewardTierOptions { From = 1, Amount = 10m, Currency = "EUR" },
                            new RewardTierOptions { From = 3, Amount = 15m, Currency = "EUR" },
                            new RewardTierOptions { From = 10, Amount = 20m, Currency = "EUR" },
                        ],
                    },
                    new RewardRuleOptions { Name = "fifth", Kind = RewardKind.GiftCard, Item = "classic-card", Milestone = 5, Amount = 25m, Currency = "EUR" },
                    new RewardRuleOptions { Name = "upline", Level = 2, Amount = 2m, Currency = "EUR" },
                    new RewardRuleOptions { Name = "friend", For = RewardRole.Referee, Kind = RewardKind.Coupon, Percent = 10m },
                ],
                Boosts =
                [
                    new RewardBoostOptions { Name = "black-friday", From = "2026-11-27", Until = "2026-12-01", Multiply = 2m, Rules = ["ladder"] },
                ],
                Caps =
                [
                    new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 100m, Currency = "EUR", Policy = CapPolicy.ReduceToRemainder },
                    new RewardCapOptions { Period = CapPeriod.Day, MaxCount = 5 },
                ],
            },
        };
        #endregion
    }

    private static Task<DocsServices> StartAsync(Action<IServiceCollection>? services = null) =>
        DocsServices.StartAsync(
            o =>
            {
                Configure(o);
                o.Privacy.ContactHashKey = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());
            },
            services: services);

    private static Task<ReferralCodeRecord> CodeAsync(DocsServices app, ParticipantId owner) =>
        app.Get<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Customers, Owner = owner, Medium = ShareMedium.Email }, Ct);

    /// <summary>A friend types the referrer's code at web checkout.</summary>
    private static async Task<AttributionResult> ReferAsync(DocsServices app, ReferralCodeRecord code, string orderId, Instant at, decimal amount = 49.95m, string? friend = null)
    {
        var result = await app.Get<AttributionService>().RecordConversionAsync(
            new Conversion
            {
                Program = Customers,
                OrderId = orderId,
                Customer = new ParticipantId(friend ?? "friend-" + orderId),
                Amount = new Money(amount, "EUR"),
                EventTime = at,
                PresentedCode = code.Display,
            },
            Ct);
        Assert.True(result.IsAttributed, result.Explain());
        Assert.Equal(Referrals.Fraud.FraudVerdict.Allow, result.Fraud?.Verdict);
        return result;
    }

    /// <summary>Anna refers one friend an hour, from 11:00 in Berlin (10:00 UTC) on Monday 23 November 2026.</summary>
    private static async Task<ReferralCodeRecord> AnnaRefersAsync(DocsServices app, int friends, string prefix = "web-100")
    {
        var code = await CodeAsync(app, Anna);
        for (int i = 1; i <= friends; i++)
        {
            app.Clock.Advance(Duration.FromHours(1));
            await ReferAsync(app, code, prefix + i, app.Clock.GetCurrentInstant());
        }
        return code;
    }

    private static async Task<decimal[]> LadderAsync(DocsServices app, params string[] orders)
    {
        var rewards = app.Get<RewardService>();
        var amounts = new List<decimal>();
        foreach (var order in orders)
        {
            amounts.Add((await rewards.ListOrderRewardsAsync(Customers, order, Ct)).Where(r => r.Terms.Rule == "ladder").Sum(r => r.Net.Amount));
        }
        return [.. amounts];
    }

    [Fact]
    public async Task TheLadderPaysByReferralNumberTheMilestoneOnceAndTheFriendTenPercentRounded()
    {
        await using var app = await StartAsync();
        IServiceProvider provider = app.Services;
        await AnnaRefersAsync(app, friends: 5);

        #region Rewards.OrderRewards
        var rewards = provider.GetRequiredService<RewardService>();
        var program = new ProgramId("customers");
        foreach (var reward in await rewards.ListOrderRewardsAsync(program, "web-1005"))
        {
            Console.WriteLine(reward.Explain());
        }
        #endregion

        Assert.Equal([10m, 10m, 15m, 15m, 15m], await LadderAsync(app, "web-1001", "web-1002", "web-1003", "web-1004", "web-1005"));
        var fifth = await rewards.ListOrderRewardsAsync(program, "web-1005", Ct);
        Assert.Equal(
            [
                "15.00 EUR AccountCredit for referrer cust-anna on order web-1005: rule ladder, referrals 3-9, referral #5; Pending, net 15.00 EUR.",
                "25.00 EUR GiftCard (classic-card) for referrer cust-anna on order web-1005: rule fifth, milestone: referral 5, referral #5; Pending, net 25.00 EUR.",
                "5.00 EUR Coupon for referee friend-web-1005 on order web-1005: rule friend, every referral, referral #5, of 49.95 EUR; Pending, net 5.00 EUR.",
            ],
            fifth.Select(r => r.Explain()));
        Assert.Equal(["web-1005#1:ladder", "web-1005#1:fifth", "web-1005#1:friend"], fifth.Select(r => r.Id));
        Assert.Equal(DocsServices.Start + Duration.FromHours(5) + Duration.FromDays(14), fifth[0].Terms.HoldUntil);
        // Only the fifth referral earns the milestone.
        Assert.DoesNotContain(await rewards.ListOrderRewardsAsync(program, "web-1004", Ct), r => r.Terms.Rule == "fifth");

        #region Rewards.ReferrerSummary
        var summary = await rewards.GetReferrerSummaryAsync(program, new ParticipantId("cust-anna"));
        string standing = $"{summary.SuccessfulReferrals} referrals, balance {string.Join(" + ", summary.Balance)}, "
            + $"{summary.Pending.Count} rewards pending";
        if (summary.Tier is { NextTier: { } next } tier)
        {
            standing += $"; {tier.ReferralsUntilNextTier} more to reach {next}";
        }
        #endregion

        Assert.Equal("5 referrals, balance 90.00 EUR, 6 rewards pending; 5 more to reach referrals 10+", standing);
        Assert.Equal("referrals 3-9", summary.Tier!.CurrentTier);
        Assert.Equal([new Money(90m, "EUR")], summary.Pending.Amounts);
        Assert.Equal(0, summary.Approved.Count);
    }

    [Fact]
    public async Task ALevelTwoRulePaysTheReferrersReferrer()
    {
        await using var app = await StartAsync();
        var ben = new ParticipantId("cust-ben");
        var bens = await CodeAsync(app, ben);
        app.Clock.Advance(Duration.FromHours(1));
        await ReferAsync(app, bens, "web-0001", app.Clock.GetCurrentInstant(), friend: Anna.Value);
        var annas = await CodeAsync(app, Anna);
        app.Clock.Advance(Duration.FromHours(1));

        var result = await ReferAsync(app, annas, "web-0002", app.Clock.GetCurrentInstant());

        Assert.Equal([Anna, ben], result.Chain);
        var rewards = await app.Get<RewardService>().ListOrderRewardsAsync(Customers, "web-0002", Ct);
        var upline = Assert.Single(rewards, r => r.Terms.Rule == "upline");
        Assert.Equal((ben, 2, new Money(2m, "EUR")), (upline.Beneficiary, upline.Terms.Level, upline.Earned));
        Assert.Equal(new Money(10m, "EUR"), Assert.Single(rewards, r => r.Terms.Rule == "ladder").Earned);
    }

    [Fact]
    public async Task TheBoostFollowsTheProgramsLocalDate()
    {
        await using var app = await StartAsync();
        var code = await CodeAsync(app, Anna);
        var ben = await CodeAsync(app, new ParticipantId("cust-ben"));
        app.Clock.Reset(Instant.FromUtc(2026, 11, 27, 12, 0));

        // 23:59 on Thursday 26 November in Berlin; 00:30 on Black Friday in Berlin, still the 26th in UTC.
        await ReferAsync(app, ben, "web-3001", Instant.FromUtc(2026, 11, 26, 22, 59));
        await ReferAsync(app, code, "web-3002", Instant.FromUtc(2026, 11, 26, 23, 30));

        var rewards = app.Get<RewardService>();
        var before = Assert.Single(await rewards.ListOrderRewardsAsync(Customers, "web-3001", Ct), r => r.Terms.Rule == "ladder");
        var during = Assert.Single(await rewards.ListOrderRewardsAsync(Customers, "web-3002", Ct), r => r.Terms.Rule == "ladder");
        Assert.Equal((new Money(10m, "EUR"), 0), (before.Earned, before.Terms.Boosts.Count));
        Assert.Equal((new Money(20m, "EUR"), "black-friday"), (during.Earned, Assert.Single(during.Terms.Boosts)));
        // The boost names the ladder only: the friend's coupon is not doubled.
        Assert.Equal(new Money(5m, "EUR"), Assert.Single(await rewards.ListOrderRewardsAsync(Customers, "web-3002", Ct), r => r.Terms.Rule == "friend").Earned);
    }

    [Fact]
    public async Task TheDayCapSkipsTheSixthReferralAndTheMonthCapReducesThenSkips()
    {
        await using var app = await StartAsync();
        IServiceProvider provider = app.Services;
        var code = await AnnaRefersAsync(app, friends: 6);
        // Tuesday: two more.
        app.Clock.Reset(DocsServices.Start + Duration.FromDays(1));
        await ReferAsync(app, code, "web-1007", app.Clock.GetCurrentInstant());
        app.Clock.Advance(Duration.FromHours(1));
        await ReferAsync(app, code, "web-1008", app.Clock.GetCurrentInstant());

        #region Rewards.Skipped
        var rewards = provider.GetRequiredService<RewardService>();
        var decision = await rewards.FindDecisionAsync(new ProgramId("customers"), "web-1006");
        foreach (var skipped in decision!.Skipped)
        {
            Console.WriteLine($"{skipped.Rule} paid {skipped.Beneficiary} nothing: {skipped.Reason} ({skipped.Detail})");
        }
        #endregion

        var six = Assert.Single(decision.Skipped);
        Assert.Equal(("ladder", RewardSkipReason.CountCapReached, "day cap of 5 referrals"), (six.Rule, six.Reason, six.Detail));
        Assert.Equal(6, decision.ReferralNumber);
        Assert.True(decision.Counted);

        var seventh = Assert.Single(await rewards.ListOrderRewardsAsync(Customers, "web-1007", Ct), r => r.Terms.Rule == "ladder");
        Assert.Equal((new Money(10m, "EUR"), new Money(15m, "EUR"), "month cap of 100.00 EUR"), (seventh.Earned, seventh.Terms.BeforeCap, seventh.Terms.CappedBy));
        Assert.Equal(
            "10.00 EUR AccountCredit for referrer cust-anna on order web-1007: rule ladder, referrals 3-9, referral #7, reduced from 15.00 EUR by month cap of 100.00 EUR; Pending, net 10.00 EUR.",
            seventh.Explain());
        var eighth = Assert.Single((await rewards.FindDecisionAsync(Customers, "web-1008", Ct))!.Skipped);
        Assert.Equal((RewardSkipReason.ValueCapReached, "month cap of 100.00 EUR"), (eighth.Reason, eighth.Detail));
        // The friends' coupons are referee rewards: no cap applies to them.
        Assert.Single(await rewards.ListOrderRewardsAsync(Customers, "web-1008", Ct), r => r.Terms.Rule == "friend");
        Assert.Equal([new Money(100m, "EUR")], (await rewards.GetReferrerSummaryAsync(Customers, Anna, Ct)).Balance);
    }

    [Fact]
    public async Task TheFulfillerIsCalledOnceTheHoldEndsAndASecondCallBooksNothing()
    {
        var accounts = new StoreCreditAccounts();
        await using var app = await StartAsync(services =>
        {
            services.AddSingleton<IStoreCreditAccounts>(accounts);
            #region Rewards.RegisterFulfiller
            services.AddSingleton<IRewardFulfiller, StoreCreditFulfiller>();
            #endregion
        });
        IServiceProvider provider = app.Services;
        await AnnaRefersAsync(app, friends: 1);
        var rewards = app.Get<RewardService>();
        Assert.Equal((0, 0, 0), Counts(await rewards.ProcessDueAsync(Ct)));

        app.Clock.Advance(Duration.FromDays(14));

        #region Rewards.ProcessDue
        var result = await provider.GetRequiredService<RewardService>().ProcessDueAsync();
        Console.WriteLine($"{result.Approved} approved, {result.Fulfilled} fulfilled, {result.Failed} failed");
        #endregion

        Assert.Equal((2, 2, 0), Counts(result));
        Assert.Equal((0, 0, 0), Counts(await rewards.ProcessDueAsync(Ct)));
        var credit = Assert.Single(await rewards.ListOrderRewardsAsync(Customers, "web-1001", Ct), r => r.Terms.Rule == "ladder");
        Assert.Equal(RewardStatus.Fulfilled, credit.Status);
        Assert.Equal(accounts.BookingFor(credit.Id).Id, credit.FulfilmentReference);
        Assert.Equal(
            [RewardEntryType.Earned, RewardEntryType.Approved, RewardEntryType.Fulfilled],
            credit.Entries.Select(e => e.Type));

        // Called again for the same reward (as after a crash between delivering and recording it): nothing more is booked.
        var fulfiller = provider.GetRequiredService<IRewardFulfiller>();
        Assert.Equal(credit.FulfilmentReference, await fulfiller.FulfilAsync(credit, Ct));
        Assert.Equal(2, accounts.Bookings);
        Assert.Equal(new Money(10m, "EUR"), accounts.Balance("cust-anna"));
    }

    [Fact]
    public async Task ASecondFulfillerStopsTheServices()
    {
        await using var app = await DocsServices.StartAsync(Configure, sqlite: false, services: services =>
        {
            services.AddSingleton<IStoreCreditAccounts>(new StoreCreditAccounts());
            services.AddSingleton<IRewardFulfiller, StoreCreditFulfiller>();
            services.AddSingleton<IRewardFulfiller, StoreCreditFulfiller>();
        });

        var error = Record.Exception(() => app.Get<RewardService>());

        var argument = Assert.IsAssignableFrom<ArgumentException>(error);
        Assert.StartsWith("Register at most one IRewardFulfiller; found 2.", argument.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AFailingFulfillerLeavesTheRewardApprovedForTheNextPass()
    {
        var accounts = new StoreCreditAccounts { Down = true };
        await using var app = await StartAsync(services =>
        {
            services.AddSingleton<IStoreCreditAccounts>(accounts);
            services.AddSingleton<IRewardFulfiller, StoreCreditFulfiller>();
        });
        await AnnaRefersAsync(app, friends: 1);
        var rewards = app.Get<RewardService>();
        app.Clock.Advance(Duration.FromDays(15));

        Assert.Equal((2, 0, 2), Counts(await rewards.ProcessDueAsync(Ct)));
        Assert.All(await rewards.ListOrderRewardsAsync(Customers, "web-1001", Ct), r => Assert.Equal(RewardStatus.Approved, r.Status));

        accounts.Down = false;
        Assert.Equal((0, 2, 0), Counts(await rewards.ProcessDueAsync(Ct)));
    }

    [Fact]
    public async Task APersonCanApproveARewardEarlyOrRejectIt()
    {
        await using var app = await StartAsync();
        IServiceProvider provider = app.Services;
        var rewards = provider.GetRequiredService<RewardService>();
        var program = new ProgramId("customers");
        await AnnaRefersAsync(app, friends: 1);

        #region Rewards.ManualDecisions
        var coupon = await rewards.ApproveAsync(program, "web-1001#1:friend", actor: "support:kim", reason: "VIP customer, no return risk");
        var credit = await rewards.RejectAsync(program, "web-1001#1:ladder", actor: "fraud:lee", reason: "same household as the friend");
        #endregion

        Assert.Equal(RewardStatus.Approved, coupon!.Status);
        Assert.Equal((RewardStatus.Rejected, new Money(0m, "EUR")), (credit!.Status, credit.Net));
        Assert.Equal((RewardEntryType.Rejected, new Money(-10m, "EUR"), "fraud:lee"), (credit.Entries[^1].Type, credit.Entries[^1].Amount, credit.Entries[^1].Actor));
        Assert.Null(await rewards.RejectAsync(program, "web-1001#1:ladder", "fraud:lee", "again", Ct));
        Assert.Null(await rewards.ApproveAsync(program, "no-such-reward", "support:kim", "typo", Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await rewards.ApproveAsync(program, "web-1001#1:friend", "", "no actor", Ct));
        // A rejected level-1 reward is a rejected referral: it no longer counts.
        Assert.Equal(0, (await rewards.GetReferrerSummaryAsync(program, Anna, Ct)).SuccessfulReferrals);
    }

    [Fact]
    public async Task AFullRefundAfterFulfilmentClawsBackAndAPartialRefundReducesOnlyThePercentage()
    {
        var accounts = new StoreCreditAccounts();
        await using var app = await StartAsync(services =>
        {
            services.AddSingleton<IStoreCreditAccounts>(accounts);
            services.AddSingleton<IRewardFulfiller, StoreCreditFulfiller>();
        });
        IServiceProvider provider = app.Services;
        var clock = app.Clock;
        await AnnaRefersAsync(app, friends: 1);
        app.Clock.Advance(Duration.FromDays(15));
        await app.Get<RewardService>().ProcessDueAsync(Ct); // both fulfilled

        #region Rewards.PartialRefund
        var rewards = provider.GetRequiredService<RewardService>();
        var partial = await rewards.RecordRefundAsync(new Refund
        {
            Program = new ProgramId("customers"), OrderId = "web-1001", RefundId = "rf-1001-a",
            Amount = new Money(19.95m, "EUR"), EventTime = clock.GetCurrentInstant(),
        });
        #endregion

        Assert.Equal(RefundOutcome.Recorded, partial.Outcome);
        Assert.Equal(new Money(19.95m, "EUR"), partial.RefundedTotal);
        var reduced = Assert.Single(partial.Entries);
        Assert.Equal(("web-1001#1:friend", RewardEntryType.ClawedBack, new Money(-2m, "EUR")), (reduced.RewardId, reduced.Type, reduced.Amount));
        Assert.Equal(1, (await rewards.GetReferrerSummaryAsync(Customers, Anna, Ct)).SuccessfulReferrals);

        #region Rewards.FullRefund
        var full = await rewards.RecordRefundAsync(new Refund
        {
            Program = new ProgramId("customers"), OrderId = "web-1001", RefundId = "rf-1001-b",
            Amount = new Money(30.00m, "EUR"), EventTime = clock.GetCurrentInstant(),
        });
        foreach (var entry in full.Entries)
        {
            Console.WriteLine($"{entry.RewardId}: {entry.Type} {entry.Amount}");
        }
        #endregion

        Assert.Equal(
            [("web-1001#1:ladder", RewardEntryType.ClawedBack, new Money(-10m, "EUR")), ("web-1001#1:friend", RewardEntryType.ClawedBack, new Money(-3m, "EUR"))],
            full.Entries.Select(e => (e.RewardId, e.Type, e.Amount)).OrderByDescending(e => e.RewardId, StringComparer.Ordinal));
        Assert.All(await rewards.ListOrderRewardsAsync(Customers, "web-1001", Ct), r => Assert.Equal((RewardStatus.Revoked, 0m), (r.Status, r.Net.Amount)));
        var summary = await rewards.GetReferrerSummaryAsync(Customers, Anna, Ct);
        Assert.Equal((0, 1, new Money(10m, "EUR")), (summary.SuccessfulReferrals, summary.Revoked.Count, summary.Revoked.Amounts.Single()));
        Assert.Equal([new Money(0m, "EUR")], summary.Balance);
        Assert.Equal(RefundOutcome.Duplicate, (await rewards.RecordRefundAsync(new Refund
        {
            Program = Customers, OrderId = "web-1001", RefundId = "rf-1001-b", Amount = new Money(30m, "EUR"), EventTime = clock.GetCurrentInstant(),
        }, Ct)).Outcome);
        Assert.Equal(RefundOutcome.CurrencyMismatch, (await rewards.RecordRefundAsync(new Refund
        {
            Program = Customers, OrderId = "web-1001", RefundId = "rf-1001-c", Amount = new Money(5m, "USD"), EventTime = clock.GetCurrentInstant(),
        }, Ct)).Outcome);
        await Assert.ThrowsAsync<ArgumentException>(async () => await rewards.RecordRefundAsync(new Refund
        {
            Program = Customers, OrderId = "web-1001", RefundId = "rf-1001-d", Amount = new Money(0m, "EUR"), EventTime = clock.GetCurrentInstant(),
        }, Ct));
    }

    [Fact]
    public async Task AFullRefundBeforeFulfilmentCancelsAndGivesTheReferralNumberBack()
    {
        await using var app = await StartAsync();
        var code = await AnnaRefersAsync(app, friends: 3);
        var rewards = app.Get<RewardService>();
        Assert.Equal([10m, 10m, 15m], await LadderAsync(app, "web-1001", "web-1002", "web-1003"));

        var refund = await rewards.RecordRefundAsync(new Refund
        {
            Program = Customers, OrderId = "web-1001", RefundId = "rf-1", Amount = new Money(49.95m, "EUR"), EventTime = app.Clock.GetCurrentInstant(),
        }, Ct);

        Assert.Contains(refund.Entries, e => (e.RewardId, e.Type, e.Amount) == ("web-1001#1:ladder", RewardEntryType.Cancelled, new Money(-10m, "EUR")));
        // web-1003 is now referral #2: its 15 EUR is adjusted to 10 EUR, in the same write.
        Assert.Equal([0m, 10m, 10m], await LadderAsync(app, "web-1001", "web-1002", "web-1003"));
        Assert.Equal(2, (await rewards.FindDecisionAsync(Customers, "web-1003", Ct))!.ReferralNumber);
        var adjusted = Assert.Single(await rewards.ListOrderRewardsAsync(Customers, "web-1003", Ct), r => r.Terms.Rule == "ladder").Entries[^1];
        Assert.Equal((RewardEntryType.Adjusted, new Money(-5m, "EUR"), "re-decided by event time"), (adjusted.Type, adjusted.Amount, adjusted.Reason));
        _ = code;
    }

    [Fact]
    public async Task ARefundBeforeItsOrderIsKeptAndAppliedWhenTheOrderArrives()
    {
        await using var app = await StartAsync();
        IServiceProvider provider = app.Services;
        var clock = app.Clock;
        var code = await AnnaRefersAsync(app, friends: 1);

        #region Rewards.RefundBeforeOrder
        var rewards = provider.GetRequiredService<RewardService>();
        var early = await rewards.RecordRefundAsync(new Refund
        {
            Program = new ProgramId("customers"), OrderId = "pos-0457", RefundId = "rf-0457",
            Amount = new Money(30.00m, "EUR"), EventTime = clock.GetCurrentInstant(),
        });
        if (early.Outcome == RefundOutcome.RecordedBeforeOrder)
        {
            // Kept: it applies in the write that records order pos-0457, as if it had come after it.
        }
        #endregion

        Assert.Equal(RefundOutcome.RecordedBeforeOrder, early.Outcome);
        Assert.Empty(early.Entries);
        Assert.Null(early.RefundedTotal);
        Assert.Equal(RefundOutcome.Duplicate, (await rewards.RecordRefundAsync(new Refund
        {
            Program = Customers, OrderId = "pos-0457", RefundId = "rf-0457", Amount = new Money(30m, "EUR"), EventTime = clock.GetCurrentInstant(),
        }, Ct)).Outcome);

        // The till's upload arrives: the order of 30.00 EUR, refunded in full.
        await ReferAsync(app, code, "pos-0457", clock.GetCurrentInstant() - Duration.FromMinutes(30), amount: 30m);

        var order = await rewards.ListOrderRewardsAsync(Customers, "pos-0457", Ct);
        Assert.Equal(["ladder", "friend"], order.Select(r => r.Terms.Rule));
        Assert.All(order, r => Assert.Equal((RewardStatus.Revoked, 0m), (r.Status, r.Net.Amount)));
        Assert.False((await rewards.FindDecisionAsync(Customers, "pos-0457", Ct))!.Counted);
        Assert.Equal(1, (await rewards.GetReferrerSummaryAsync(Customers, Anna, Ct)).SuccessfulReferrals);
        Assert.Equal(RefundOutcome.Duplicate, (await rewards.RecordRefundAsync(new Refund
        {
            Program = Customers, OrderId = "pos-0457", RefundId = "rf-0457", Amount = new Money(30m, "EUR"), EventTime = clock.GetCurrentInstant(),
        }, Ct)).Outcome);
    }

    [Fact]
    public async Task AChargeBackReversesTheWholeOrderWhateverItsAmount()
    {
        await using var app = await StartAsync();
        await AnnaRefersAsync(app, friends: 1);
        var rewards = app.Get<RewardService>();

        var result = await rewards.RecordRefundAsync(new Refund
        {
            Program = Customers, OrderId = "web-1001", RefundId = "cb-1001", Amount = new Money(0.01m, "EUR"),
            EventTime = app.Clock.GetCurrentInstant(), IsChargeback = true,
        }, Ct);

        Assert.Equal(new Money(49.95m, "EUR"), result.RefundedTotal);
        Assert.Equal(
            [("web-1001#1:friend", RewardEntryType.Cancelled, -5m), ("web-1001#1:ladder", RewardEntryType.Cancelled, -10m)],
            result.Entries.Select(e => (e.RewardId, e.Type, e.Amount.Amount)).Order());
        Assert.Equal(0, (await rewards.GetReferrerSummaryAsync(Customers, Anna, Ct)).SuccessfulReferrals);
    }

    [Fact]
    public async Task ARefundKeptBeforeItsOrderInAnotherCurrencyRefundsNothing()
    {
        await using var app = await StartAsync();
        var code = await AnnaRefersAsync(app, friends: 1);
        var rewards = app.Get<RewardService>();
        Assert.Equal(RefundOutcome.RecordedBeforeOrder, (await rewards.RecordRefundAsync(new Refund
        {
            Program = Customers, OrderId = "pos-0458", RefundId = "rf-0458", Amount = new Money(30m, "USD"), EventTime = app.Clock.GetCurrentInstant(),
        }, Ct)).Outcome);

        await ReferAsync(app, code, "pos-0458", app.Clock.GetCurrentInstant() - Duration.FromMinutes(30), amount: 30m);

        Assert.All(await rewards.ListOrderRewardsAsync(Customers, "pos-0458", Ct), r => Assert.Equal(RewardStatus.Pending, r.Status));
        Assert.True((await rewards.FindDecisionAsync(Customers, "pos-0458", Ct))!.Counted);
    }

    [Fact]
    public async Task AValueCapWithTheSkipPolicyPaysNothingRatherThanTheRemainder()
    {
        await using var app = await DocsServices.StartAsync(o =>
        {
            Configure(o);
            o.Programs["customers"].Rewards!.Caps = [new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 25m, Currency = "EUR", Policy = CapPolicy.Skip }];
        });

        await AnnaRefersAsync(app, friends: 3);

        Assert.Equal([10m, 10m, 0m], await LadderAsync(app, "web-1001", "web-1002", "web-1003"));
        var skipped = Assert.Single((await app.Get<RewardService>().FindDecisionAsync(Customers, "web-1003", Ct))!.Skipped);
        Assert.Equal((RewardSkipReason.ValueCapReached, "month cap of 25.00 EUR"), (skipped.Reason, skipped.Detail));
    }

    [Fact]
    public async Task ALateConversionTakesItsPlaceByEventTimeAndTopsUpTheReferralItPushesIntoTheNextTier()
    {
        await using var app = await StartAsync();
        IServiceProvider provider = app.Services;
        var code = await AnnaRefersAsync(app, friends: 2); // web-1001 at 11:00, web-1002 at 12:00 (Berlin)
        var rewards = provider.GetRequiredService<RewardService>();
        Assert.Equal([10m, 10m], await LadderAsync(app, "web-1001", "web-1002"));

        // The next day, the till's upload: a sale at 10:30 on Monday (Berlin), before both.
        app.Clock.Advance(Duration.FromDays(1));
        await ReferAsync(app, code, "pos-1000", DocsServices.Start + Duration.FromMinutes(30));

        Assert.Equal([10m, 10m, 15m], await LadderAsync(app, "pos-1000", "web-1001", "web-1002"));

        #region Rewards.TopUp
        var program = new ProgramId("customers");
        var now = await rewards.FindDecisionAsync(program, "web-1002");
        var ladder = (await rewards.ListOrderRewardsAsync(program, "web-1002")).Where(r => r.Terms.Rule == "ladder");
        string history = string.Join("; ", ladder.Select(r => $"{r.Id} {r.Earned} as referral #{r.Terms.ReferralNumber}"));
        #endregion

        Assert.Equal(3, now!.ReferralNumber);
        Assert.Equal("web-1002#1:ladder 10.00 EUR as referral #2; web-1002#2:ladder 5.00 EUR as referral #3", history);
        var topUp = await rewards.FindRewardAsync(program, "web-1002#2:ladder", Ct);
        Assert.Equal(("referrals 3-9", RewardStatus.Pending, DocsServices.Start + Duration.FromHours(2) + Duration.FromDays(14)), (topUp!.Terms.Tier, topUp.Status, topUp.Terms.HoldUntil));
    }

    [Fact]
    public async Task TheNotifierIsToldOfEveryLedgerEntry()
    {
        var queue = new InMemoryMessageQueue();
        await using var app = await StartAsync(services =>
        {
            services.AddSingleton<IMessageQueue>(queue);
            #region Rewards.RegisterNotifier
            services.AddSingleton<IReferralNotifier, RewardChangeNotifier>();
            #endregion
        });
        await AnnaRefersAsync(app, friends: 1);
        app.Clock.Advance(Duration.FromDays(15));
        await app.Get<RewardService>().ProcessDueAsync(Ct);

        Assert.Equal(
            [
                "cust-anna: Approved 0.00 EUR", "cust-anna: Earned 10.00 EUR",
                "friend-web-1001: Approved 0.00 EUR", "friend-web-1001: Earned 5.00 EUR",
            ],
            queue.Messages.Select(m => m.Value).Order(StringComparer.Ordinal));
        Assert.Contains("web-1001#1:ladder/web-1001#1:ladder:earned", queue.Messages.Select(m => m.Key));
    }

    [Fact]
    public async Task TheProgramsLedgerSumsToTheParticipantsBalances()
    {
        await using var app = await StartAsync();
        IServiceProvider provider = app.Services;
        var code = await AnnaRefersAsync(app, friends: 3);
        await app.Get<RewardService>().RecordRefundAsync(new Refund
        {
            Program = Customers, OrderId = "web-1002", RefundId = "rf-1", Amount = new Money(49.95m, "EUR"), EventTime = app.Clock.GetCurrentInstant(),
        }, Ct);
        _ = code;
        var lines = new List<string>();
        var sums = new Dictionary<string, decimal>(StringComparer.Ordinal);

        #region Rewards.ProgramLedger
        var store = provider.GetRequiredService<IReferralStore>();
        var rewards = provider.GetRequiredService<RewardService>();
        var program = new ProgramId("customers");
        ListPosition? after = null;
        while (await store.ListProgramOrdersAsync(program, after, limit: 500) is { Count: > 0 } orders)
        {
            foreach (var order in orders)
            {
                foreach (var reward in await rewards.ListOrderRewardsAsync(program, order.Conversion.OrderId))
                {
                    foreach (var entry in reward.Entries)
                    {
                        lines.Add($"{entry.OrderId} {entry.Beneficiary} {entry.Type} {entry.Amount}");
                    }
                }
            }
            after = new ListPosition(orders[^1].Conversion.EventTime, orders[^1].Conversion.OrderId);
        }
        #endregion

        foreach (var reward in await AllRewardsAsync(rewards, program, Anna))
        {
            foreach (var e in reward.Entries)
            {
                sums[e.Amount.Currency] = sums.GetValueOrDefault(e.Amount.Currency) + e.Amount.Amount;
            }
        }
        Assert.Equal(
            [
                "web-1001 cust-anna Earned 10.00 EUR", "web-1001 friend-web-1001 Earned 5.00 EUR",
                "web-1002 cust-anna Earned 10.00 EUR", "web-1002 cust-anna Cancelled -10.00 EUR",
                "web-1002 friend-web-1002 Earned 5.00 EUR", "web-1002 friend-web-1002 Cancelled -5.00 EUR",
                "web-1003 cust-anna Earned 15.00 EUR", "web-1003 cust-anna Adjusted -5.00 EUR",
                "web-1003 friend-web-1003 Earned 5.00 EUR",
            ],
            lines);
        var balance = (await rewards.GetReferrerSummaryAsync(program, Anna, Ct)).Balance;
        Assert.Equal([new Money(20m, "EUR")], balance);
        Assert.Equal(20m, sums["EUR"]);
    }

    private static async Task<List<Reward>> AllRewardsAsync(RewardService rewards, ProgramId program, ParticipantId referrer)
    {
        var all = new List<Reward>();

        #region Rewards.ListRewards
        for (Reward? after = null; ;)
        {
            var page = await rewards.ListRewardsAsync(program, referrer, after, limit: 100);
            all.AddRange(page);
            if (page.Count < 100)
            {
                break;
            }
            after = page[^1];
        }
        #endregion

        return all;
    }

    [Fact]
    public async Task ListRewardsPagesEveryRewardOfTheParticipantOnce()
    {
        await using var app = await StartAsync();
        await AnnaRefersAsync(app, friends: 5);
        var rewards = app.Get<RewardService>();

        var all = await AllRewardsAsync(rewards, Customers, Anna);
        var small = new List<Reward>();
        for (Reward? after = null; ;)
        {
            var page = await rewards.ListRewardsAsync(Customers, Anna, after, 2, Ct);
            small.AddRange(page);
            if (page.Count < 2)
            {
                break;
            }
            after = page[^1];
        }

        Assert.Equal(6, all.Count);
        Assert.Equal(all.Select(r => r.Id), small.Select(r => r.Id));
        await Assert.ThrowsAsync<ArgumentOutOfRangeException>(async () => await rewards.ListRewardsAsync(Customers, Anna, null, 1001, Ct));
    }

    [Fact]
    public void TheRewardPassRunsInTheBackground()
    {
        var configuration = new ConfigurationBuilder().Build();
        var services = new ServiceCollection();

        #region Rewards.AddRewardProcessing
        services.AddReferrals(configuration).AddRewardProcessing(TimeSpan.FromMinutes(1));
        #endregion

        Assert.Single(services, d => d.ServiceType == typeof(IHostedService));
        Assert.Throws<ArgumentOutOfRangeException>(() => services.AddReferrals(configuration).AddRewardProcessing(TimeSpan.FromMilliseconds(10)));
    }

    private static (int Approved, int Fulfilled, int Failed) Counts(RewardProcessingResult r) => (r.Approved, r.Fulfilled, r.Failed);
}

#region Rewards.Fulfiller
/// <summary>Pays rewards out as store credit in the shop's own accounts.</summary>
public sealed class StoreCreditFulfiller(IStoreCreditAccounts accounts) : IRewardFulfiller
{
    public async ValueTask<string?> FulfilAsync(Reward reward, CancellationToken cancellationToken)
    {
        // Net: what is left of the reward after refunds so far. The reward id is the idempotency key:
        // a second call for the same reward must return the first booking, not book again.
        var booking = await accounts.CreditAsync(reward.Beneficiary.Value, reward.Net, idempotencyKey: reward.Id, cancellationToken);
        return booking.Id;
    }
}
#endregion

/// <summary>The shop's store-credit accounts (the host's own system; in memory here).</summary>
public interface IStoreCreditAccounts
{
    /// <summary>Credits a customer once per idempotency key; a repeated key returns the first booking.</summary>
    ValueTask<StoreCreditBooking> CreditAsync(string customerId, Money amount, string idempotencyKey, CancellationToken cancellationToken);
}

/// <summary>A booking of store credit.</summary>
public sealed record StoreCreditBooking(string Id, string CustomerId, Money Amount);

internal sealed class StoreCreditAccounts : IStoreCreditAccounts
{
    private readonly ConcurrentDictionary<string, StoreCreditBooking> _bookings = new(StringComparer.Ordinal);

    public bool Down { get; set; }

    public int Bookings => _bookings.Count;

    public StoreCreditBooking BookingFor(string idempotencyKey) => _bookings[idempotencyKey];

    public Money Balance(string customerId) =>
        _bookings.Values.Where(b => b.CustomerId == customerId).Select(b => b.Amount).Aggregate((a, b) => a + b);

    public ValueTask<StoreCreditBooking> CreditAsync(string customerId, Money amount, string idempotencyKey, CancellationToken cancellationToken)
    {
        if (Down)
        {
            throw new InvalidOperationException("The accounts service is down.");
        }
        lock (_bookings)
        {
            return ValueTask.FromResult(_bookings.GetOrAdd(idempotencyKey, _ => new StoreCreditBooking($"credit-{_bookings.Count + 1}", customerId, amount)));
        }
    }
}

#region Rewards.Notifier
/// <summary>Queues a message for every change of a reward (earned, approved, fulfilled, reversed, ...).</summary>
public sealed class RewardChangeNotifier(IMessageQueue queue) : IReferralNotifier
{
    public ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    public ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken) => ValueTask.CompletedTask;

    // Told at least once, rarely twice: the reward id and entry id together are the message's deduplication key.
    public ValueTask OnRewardChangedAsync(RewardEntry entry, CancellationToken cancellationToken) =>
        queue.SendAsync($"{entry.RewardId}/{entry.EntryId}", $"{entry.Beneficiary}: {entry.Type} {entry.Amount}", cancellationToken);
}
#endregion

/// <summary>The host's message queue (in memory here): one message per deduplication key.</summary>
public interface IMessageQueue
{
    /// <summary>Queues a message unless one with the key was queued before.</summary>
    ValueTask SendAsync(string deduplicationKey, string message, CancellationToken cancellationToken);
}

internal sealed class InMemoryMessageQueue : IMessageQueue
{
    private readonly List<KeyValuePair<string, string>> _messages = [];

    public IReadOnlyList<KeyValuePair<string, string>> Messages
    {
        get
        {
            lock (_messages)
            {
                return [.. _messages];
            }
        }
    }

    public ValueTask SendAsync(string deduplicationKey, string message, CancellationToken cancellationToken)
    {
        lock (_messages)
        {
            if (!_messages.Any(m => m.Key == deduplicationKey))
            {
                _messages.Add(new(deduplicationKey, message));
            }
        }
        return ValueTask.CompletedTask;
    }
}
