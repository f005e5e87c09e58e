// The regions are a host's code, which leaves out optional cancellation tokens; the tests pass theirs outside them.
#pragma warning disable xUnit1051

using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;

namespace Referrals.Docs;

/// <summary>The code docs/fraud.md shows: fingerprints, verdicts, the review queue and a check of one's own.</summary>
public sealed class FraudSnippets
{
    private static readonly ProgramId Customers = new("customers");
    private static readonly ParticipantId Anna = new("cust-anna");

    /// <summary>An example key (32 bytes, base64) for the tests; a host keeps its own in a secret store.</summary>
    private static readonly string HashKey = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A program paying the referrer 10 EUR and the friend a 5 EUR coupon, with the default fraud policy unless one is given.</summary>
    private static Action<ReferralsOptions> Configure(FraudPolicyOptions? fraud = null) => o =>
    {
        o.Privacy.ContactHashKey = HashKey;
        o.Programs["customers"] = new ProgramOptions
        {
            TimeZone = "Europe/Berlin",
            Rewards = new RewardOptions
            {
                HoldPeriod = TimeSpan.FromDays(14),
                Rules =
                [
                    new RewardRuleOptions { Name = "referrer", Amount = 10m, Currency = "EUR" },
                    new RewardRuleOptions { Name = "friend", For = RewardRole.Referee, Kind = RewardKind.Coupon, Amount = 5m, Currency = "EUR" },
                ],
            },
            Fraud = fraud,
        };
    };

    /// <summary>Anna signed up in the app on her phone and saved her card; she has a code to share.</summary>
    private static async Task<ReferralCodeRecord> AnnaAsync(DocsServices app)
    {
        IServiceProvider provider = app.Services;

        #region Fraud.RegisterReferrer
        var fingerprints = provider.GetRequiredService<FingerprintHasher>();
        var participants = provider.GetRequiredService<ParticipantService>();
        await participants.RegisterAsync(new Participant
        {
            Id = new ParticipantId("cust-anna"),
            Fingerprints = fingerprints.Fingerprints(deviceId: "A1B2C3D4-app-install", paymentFingerprint: "pm_fp_9Hq2Lk"),
        });
        #endregion

        return await app.Get<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Customers, Owner = Anna, Medium = ShareMedium.Sms }, Ct);
    }

    /// <summary>A friend checks out on the web with Anna's code and what the shop knows of the request.</summary>
    private static async Task<AttributionResult> CheckoutAsync(
        DocsServices app, ReferralCodeRecord code, string orderId, string friend, string deviceId, string pspCardFingerprint)
    {
        IServiceProvider provider = app.Services;
        var clock = app.Clock;
        var fingerprints = provider.GetRequiredService<FingerprintHasher>();
        string presentedCode = code.Display;
        string shippingAddress = "Torstraße 5, 10119 Berlin, DE";
        string clientIp = "203.0.113.7";
        string userAgent = "Mozilla/5.0 (iPhone; CPU iPhone OS 18_1 like Mac OS X)";
        string email = friend + "@example.org";
        string customerId = friend;

        #region Fraud.Checkout
        var attribution = provider.GetRequiredService<AttributionService>();
        var result = await attribution.RecordConversionAsync(new Conversion
        {
            Program = new ProgramId("customers"), OrderId = orderId, Customer = new ParticipantId(customerId),
            Amount = new Money(59.90m, "EUR"), EventTime = clock.GetCurrentInstant(), PresentedCode = presentedCode,
            // Hash at the edge: only keyed hashes reach the library, never the raw values.
            Fingerprints = fingerprints.Fingerprints(
                deviceId: deviceId, paymentFingerprint: pspCardFingerprint, shippingAddress: shippingAddress,
                ipAddress: clientIp, userAgent: userAgent, email: email),
        });
        string? why = result.Fraud?.Explain();   // the verdict, the score and every signal with its evidence
        #endregion

        Assert.NotNull(why);
        return result;
    }

    [Fact]
    public async Task AFriendOnTheReferrersDeviceIsHeldForReviewAndPaidOnlyAfterAPersonApproves()
    {
        await using var app = await DocsServices.StartAsync(Configure());
        IServiceProvider provider = app.Services;
        var code = await AnnaAsync(app);
        app.Clock.Advance(Duration.FromHours(1));

        // Bob orders on Anna's phone (the app's install id, written differently) with his own card.
        var result = await CheckoutAsync(app, code, "web-3001", "cust-bob", deviceId: " a1b2c3d4-APP-INSTALL ", pspCardFingerprint: "pm_fp_Bob77");

        Assert.True(result.IsAttributed);
        var fraud = result.Fraud!;
        Assert.Equal((FraudVerdict.Review, 60), (fraud.Verdict, fraud.Score));
        Assert.Equal(
            """
            Fraud verdict Review: score 60 (review from 40, block from 100):
              self-referral.device (+60): the friend's device is the one the referrer registered with (-Zu0c9R7)
            """,
            fraud.Explain().ReplaceLineEndings("\n"));
        Assert.Equal("-Zu0c9R7", Short(app, "a1b2c3d4-app-install"));
        var rewards = provider.GetRequiredService<RewardService>();
        var held = await rewards.ListOrderRewardsAsync(Customers, "web-3001", Ct);
        Assert.Equal(2, held.Count);
        Assert.All(held, r => Assert.Equal((RewardStatus.Pending, true, true), (r.Status, r.UnderReview, r.Terms.HeldForReview)));

        // The hold ends: nothing under review is approved.
        app.Clock.Advance(Duration.FromDays(15));
        Assert.Equal(0, (await rewards.ProcessDueAsync(Ct)).Approved);
        var text = new StringBuilder();

        #region Fraud.ReviewQueue
        var reviews = provider.GetRequiredService<ReviewQueue>();
        var program = new ProgramId("customers");
        foreach (var item in await reviews.ListAsync(program))
        {
            text.AppendLine(item.Explain());   // the order, the signals, the rewards at stake
        }
        await reviews.ApproveAsync(program, "web-3001", actor: "mia", reason: "same family, separate accounts: checked by phone");
        #endregion

        Assert.Equal(
            """
            Order web-3001 of cust-bob (59.90 EUR) at 2026-11-23T10:00:00Z, referred by cust-anna, held since 2026-11-23T10:00:00Z.
            Fraud verdict Review: score 60 (review from 40, block from 100):
              self-referral.device (+60): the friend's device is the one the referrer registered with (-Zu0c9R7)
              5.00 EUR Coupon for referee cust-bob on order web-3001: rule friend, every referral, referral #1; Pending, net 5.00 EUR, held for fraud review.
              10.00 EUR AccountCredit for referrer cust-anna on order web-3001: rule referrer, every referral, referral #1; Pending, net 10.00 EUR, held for fraud review.
            """,
            text.ToString().ReplaceLineEndings("\n").TrimEnd('\n'));
        Assert.Empty(await reviews.ListAsync(program, Ct));
        Assert.All(await rewards.ListOrderRewardsAsync(Customers, "web-3001", Ct), r => Assert.Equal((RewardEntryType.Released, "mia"), (r.Entries[^1].Type, r.Entries[^1].Actor)));
        // The hold has ended already: the next pass approves both.
        Assert.Equal(2, (await rewards.ProcessDueAsync(Ct)).Approved);
        Assert.Empty(await reviews.ApproveAsync(program, "web-3001", "mia", "again", Ct));
    }

    [Fact]
    public async Task ARejectedReviewRejectsTheRewardsAndTheReferralStopsCounting()
    {
        await using var app = await DocsServices.StartAsync(Configure());
        IServiceProvider provider = app.Services;
        var code = await AnnaAsync(app);
        app.Clock.Advance(Duration.FromHours(1));
        await CheckoutAsync(app, code, "web-3002", "cust-dan", deviceId: "A1B2C3D4-app-install", pspCardFingerprint: "pm_fp_Dan01");
        var reviews = provider.GetRequiredService<ReviewQueue>();
        var program = new ProgramId("customers");

        #region Fraud.Reject
        var rejected = await reviews.RejectAsync(program, "web-3002", actor: "mia", reason: "the referrer's second account");
        #endregion

        Assert.Equal(2, rejected.Count);
        Assert.All(rejected, r => Assert.Equal((RewardStatus.Rejected, 0m), (r.Status, r.Net.Amount)));
        var rewards = provider.GetRequiredService<RewardService>();
        Assert.False((await rewards.FindDecisionAsync(program, "web-3002", Ct))!.Counted);
        var anna = await rewards.GetReferrerSummaryAsync(program, Anna, Ct);
        Assert.Equal((0, 1), (anna.SuccessfulReferrals, anna.Rejected.Count));
        Assert.Empty(await reviews.RejectAsync(program, "web-3002", "mia", "again", Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await reviews.ApproveAsync(program, "web-3002", "mia", " ", Ct));
    }

    [Fact]
    public async Task PayingWithTheReferrersCardBlocksTheReferral()
    {
        await using var app = await DocsServices.StartAsync(Configure());
        var code = await AnnaAsync(app);
        app.Clock.Advance(Duration.FromHours(1));

        var result = await CheckoutAsync(app, code, "web-3003", "cust-carla", deviceId: "carla-pixel-9", pspCardFingerprint: "pm_fp_9Hq2Lk");

        Assert.Equal((NotAttributedReason.FraudBlocked, false, Anna), (result.Reason, result.IsAttributed, result.Referrer!.Value));
        Assert.Equal((FraudVerdict.Block, 100), (result.Fraud!.Verdict, result.Fraud.Score));
        var signal = Assert.Single(result.Fraud.Signals);
        Assert.Equal(
            ("self-referral.payment", 100, "the friend's payment method is the one the referrer registered with (n2wFee0C)"),
            (signal.Name, signal.Score, signal.Evidence));
        Assert.Empty(await app.Get<RewardService>().ListOrderRewardsAsync(Customers, "web-3003", Ct));
    }

    [Theory]
    [InlineData("gus@mailinator.com")]
    [InlineData("gus@eu.throwaway.example")]
    public async Task AFriendAtADisposableMailDomainIsSentToReview(string email)
    {
        await using var app = await DocsServices.StartAsync(o =>
        {
            Configure()(o);
            o.Fraud.DisposableDomains.Add("throwaway.example");
        });
        var code = await app.Get<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Customers, Owner = Anna }, Ct);
        var fingerprints = app.Get<FingerprintHasher>();

        var result = await app.Get<AttributionService>().RecordConversionAsync(
            new Conversion
            {
                Program = Customers, OrderId = "web-3005", Customer = new ParticipantId("cust-gus"), Amount = new Money(59.90m, "EUR"),
                EventTime = app.Clock.GetCurrentInstant(), PresentedCode = code.Display, Fingerprints = fingerprints.Fingerprints(email: email),
            },
            Ct);

        Assert.Equal((FraudVerdict.Review, 50), (result.Fraud!.Verdict, result.Fraud.Score));
        Assert.Equal(FraudSignalNames.DisposableEmail, Assert.Single(result.Fraud.Signals).Name);
    }

    [Fact]
    public async Task AReviewDeadlineWithReleaseLetsTheRewardsContinueWithoutAPerson()
    {
        var policy = new FraudPolicyOptions { ReviewDeadline = TimeSpan.FromDays(7), AfterReviewDeadline = ReviewDeadlineAction.Release };
        await using var app = await DocsServices.StartAsync(Configure(policy));
        var code = await AnnaAsync(app);
        app.Clock.Advance(Duration.FromHours(1));
        await CheckoutAsync(app, code, "web-3004", "cust-eve", deviceId: "A1B2C3D4-app-install", pspCardFingerprint: "pm_fp_Eve42");
        var rewards = app.Get<RewardService>();

        app.Clock.Advance(Duration.FromDays(8));
        Assert.Equal(0, (await rewards.ProcessDueAsync(Ct)).Approved);
        var released = await rewards.ListOrderRewardsAsync(Customers, "web-3004", Ct);
        Assert.All(released, r => Assert.Equal((RewardEntryType.Released, "review deadline", false), (r.Entries[^1].Type, r.Entries[^1].Actor, r.UnderReview)));

        app.Clock.Advance(Duration.FromDays(7)); // the 14-day hold ends
        Assert.Equal(2, (await rewards.ProcessDueAsync(Ct)).Approved);
    }

    private static string Short(DocsServices app, string device)
    {
        Assert.True(app.Get<FingerprintHasher>().TryHashDevice(device, out var f));
        return f.Value[..8];
    }

    /// <summary>The JSON configuration of the test hosts: one program, the example hash key, and the policy given.</summary>
    private static IConfiguration Configuration(string fraud) => new ConfigurationBuilder()
        .AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes($$"""
            {
              "Referrals": {
                "Privacy": { "ContactHashKey": "{{HashKey}}" },
                "Programs": {
                  "customers": {
                    "TimeZone": "Europe/Berlin",
                    "Rewards": { "Rules": [ { "Name": "referrer", "Amount": 10, "Currency": "EUR" } ] },
                    "Fraud": {{fraud}}
                  }
                }
              }
            }
            """)))
        .Build();

    /// <summary>A host's own registration: a fake clock, the in-memory store, the code index loaded.</summary>
    private static async Task<ServiceProvider> HostAsync(IServiceCollection services)
    {
        var provider = services.BuildServiceProvider(new ServiceProviderOptions { ValidateOnBuild = true });
        provider.GetRequiredService<IStartupValidator>().Validate();
        await provider.GetRequiredService<ReferralCodeService>().InitializeAsync(Ct);
        return provider;
    }

    private static async Task<AttributionResult> LargeOrderAsync(IServiceProvider provider, decimal amount)
    {
        var clock = provider.GetRequiredService<IClock>();
        var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Customers, Owner = Anna }, Ct);
        return await provider.GetRequiredService<AttributionService>().RecordConversionAsync(
            new Conversion
            {
                Program = Customers, OrderId = "web-4001", Customer = new ParticipantId("cust-fynn"), Amount = new Money(amount, "EUR"),
                EventTime = clock.GetCurrentInstant(), PresentedCode = code.Display,
            },
            Ct);
    }

    [Fact]
    public async Task AHostsOwnCheckRunsAfterTheBuiltInsAndItsScoreCanBeSetByThePolicy()
    {
        var configuration = Configuration("{}");
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(new FakeClock(DocsServices.Start));

        #region Fraud.AddCheck
        services.AddReferrals(configuration)
            .AddFraudCheck<LargeOrderCheck>()
            .RemoveFraudCheck(FraudCheckNames.RefundAbuse);
        #endregion

        await using var provider = await HostAsync(services);
        Assert.Equal(["self-referral", "disposable-email", "velocity", "ring", "large-order"], provider.GetServices<IFraudCheck>().Select(c => c.Name));

        var result = await LargeOrderAsync(provider, 1200m);

        Assert.Equal(FraudVerdict.Review, result.Fraud!.Verdict);
        var signal = Assert.Single(result.Fraud.Signals);
        Assert.Equal(("large-order.amount", 40, "an order of 1200.00 EUR by a referred friend"), (signal.Name, signal.Score, signal.Evidence));

        // The program's policy weighs a host's signal like a built-in one.
        var strict = new ServiceCollection();
        strict.AddSingleton<IClock>(new FakeClock(DocsServices.Start));
        strict.AddReferrals(Configuration("""{ "Scores": { "large-order.amount": 100 } }""")).AddFraudCheck<LargeOrderCheck>();
        await using var strictProvider = await HostAsync(strict);
        var blocked = await LargeOrderAsync(strictProvider, 1200m);
        Assert.Equal((FraudVerdict.Block, NotAttributedReason.FraudBlocked), (blocked.Fraud!.Verdict, blocked.Reason));

        var off = new ServiceCollection();
        off.AddSingleton<IClock>(new FakeClock(DocsServices.Start));
        off.AddReferrals(Configuration("""{ "Scores": { "large-order.amount": 0 } }""")).AddFraudCheck<LargeOrderCheck>();
        await using var offProvider = await HostAsync(off);
        var allowed = await LargeOrderAsync(offProvider, 1200m);
        Assert.Equal((FraudVerdict.Allow, 0), (allowed.Fraud!.Verdict, allowed.Fraud.Signals.Count));
    }

    [Fact]
    public async Task ACheckThatThrowsIsRecordedAsCheckFailedAndTheConversionIsDecided()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(new FakeClock(DocsServices.Start));
        services.AddReferrals(Configuration("{}")).AddFraudCheck<BrokenCheck>();
        await using var provider = await HostAsync(services);

        var result = await LargeOrderAsync(provider, 50m);

        Assert.True(result.IsAttributed);
        Assert.Equal(FraudVerdict.Allow, result.Fraud!.Verdict);
        var signal = Assert.Single(result.Fraud.Signals);
        Assert.Equal((FraudSignalNames.CheckFailed, 0, "check 'broken' failed with InvalidOperationException; see the log"), (signal.Name, signal.Score, signal.Evidence));
    }

    [Fact]
    public void RemovingACheckThatIsNotBuiltInFails()
    {
        var services = new ServiceCollection();
        var error = Assert.Throws<ArgumentException>(() => services.AddReferrals(Configuration("{}")).RemoveFraudCheck("speed"));
        Assert.StartsWith("'speed' is not a built-in fraud check; the built-ins are self-referral, disposable-email, velocity, ring, refund-abuse.", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoChecksOfOneNameStopTheServices()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(new FakeClock(DocsServices.Start));
        services.AddReferrals(Configuration("{}")).AddFraudCheck<AnotherVelocityCheck>();
        await using var provider = services.BuildServiceProvider();

        var error = Record.Exception(() => provider.GetRequiredService<AttributionService>());

        Assert.Contains("Two fraud checks are named 'velocity'.", (error?.InnerException ?? error)?.Message, StringComparison.Ordinal);
    }

    private sealed class BrokenCheck : IFraudCheck
    {
        public string Name => "broken";

        public ValueTask CheckAsync(FraudContext context, FraudSignalSink signals, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the scoring service is down");
    }

    private sealed class AnotherVelocityCheck : IFraudCheck
    {
        public string Name => FraudCheckNames.Velocity;

        public ValueTask CheckAsync(FraudContext context, FraudSignalSink signals, CancellationToken cancellationToken) => ValueTask.CompletedTask;
    }
}

#region Fraud.CustomCheck
/// <summary>Sends unusually large orders of referred friends to review.</summary>
public sealed class LargeOrderCheck : IFraudCheck
{
    public string Name => "large-order";

    public ValueTask CheckAsync(FraudContext context, FraudSignalSink signals, CancellationToken cancellationToken)
    {
        if (context.Amount is { Currency: "EUR", Amount: >= 1000m })
        {
            // The program can weigh it: Referrals:Programs:{id}:Fraud:Scores:large-order.amount (0 turns it off).
            signals.Add("large-order.amount", defaultScore: 40, evidence: $"an order of {context.Amount} by a referred friend");
        }
        return ValueTask.CompletedTask;
    }
}
#endregion
