using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Testing;
using Referrals.Pipeline;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Storage;
using Referrals.Services;

namespace Referrals.Tests.Fraud;

/// <summary>Checks come and go through dependency injection; the policy binds from configuration and is validated.</summary>
public sealed class FraudConfigurationTests
{
    private const string Json = """
        {
          "Referrals": {
            "Privacy": { "ContactHashKey": "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=" },
            "Fraud": { "DisposableDomains": [ "throwaway.example" ], "CodeGuessing": { "MaxFailures": 5, "Window": "00:05:00" } },
            "Programs": {
              "customers": {
                "Rewards": { "Rules": [ { "Name": "credit", "Amount": 10, "Currency": "EUR" } ] },
                "Fraud": { "ReviewAt": 30, "BlockAt": 90, "Scores": { "self-referral.address": 0 }, "MaxReferralsPerHour": 5, "ReviewDeadline": "7.00:00:00", "AfterReviewDeadline": "Reject" }
              }
            }
          }
        }
        """;

    private static readonly ProgramId Customers = new("customers");
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static ServiceProvider Build(Action<ReferralsBuilder>? more = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(new FakeClock(Instant.FromUtc(2026, 11, 23, 9, 0)));
        var builder = services.AddReferrals(new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(Json))).Build());
        more?.Invoke(builder);
        return services.BuildServiceProvider();
    }

    [Fact]
    public void The_policy_binds_from_configuration()
    {
        using var provider = Build();
        var o = provider.GetRequiredService<IOptions<ReferralsOptions>>().Value;
        var p = o.Programs["customers"].Fraud!;
        Assert.Equal(30, p.ReviewAt);
        Assert.Equal(90, p.BlockAt);
        Assert.Equal(0, p.Scores[FraudSignalNames.SelfReferralAddress]);
        Assert.Equal(5, p.MaxReferralsPerHour);
        Assert.Equal(TimeSpan.FromDays(7), p.ReviewDeadline);
        Assert.Equal(ReviewDeadlineAction.Reject, p.AfterReviewDeadline);
        Assert.Equal(["throwaway.example"], o.Fraud.DisposableDomains);
        Assert.Equal(5, o.Fraud.CodeGuessing.MaxFailures);
    }

    [Fact]
    public void The_built_in_checks_run_by_default_and_can_be_removed_or_joined_by_the_hosts_own()
    {
        using (var provider = Build())
        {
            Assert.Equal(
                [FraudCheckNames.SelfReferral, FraudCheckNames.DisposableEmail, FraudCheckNames.Velocity, FraudCheckNames.Ring, FraudCheckNames.RefundAbuse],
                provider.GetRequiredService<FraudAssessor>().CheckNames);
        }
        using (var provider = Build(b => b.RemoveFraudCheck(FraudCheckNames.Velocity).AddFraudCheck<WatchListCheck>()))
        {
            Assert.Equal(
                [FraudCheckNames.SelfReferral, FraudCheckNames.DisposableEmail, FraudCheckNames.Ring, FraudCheckNames.RefundAbuse, "watch-list"],
                provider.GetRequiredService<FraudAssessor>().CheckNames);
        }
        var ex = Assert.Throws<ArgumentException>(() => Build(b => b.RemoveFraudCheck("velocityy")));
        Assert.Contains("'velocityy' is not a built-in fraud check", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_hosts_check_adds_its_signals_and_a_failing_check_never_fails_the_conversion()
    {
        using var provider = Build(b => b.AddFraudCheck<WatchListCheck>().AddFraudCheck<BrokenCheck>());
        var attribution = provider.GetRequiredService<AttributionService>();
        var codes = provider.GetRequiredService<ReferralCodeService>();
        await provider.GetRequiredService<ParticipantService>().RegisterAsync(new Participant { Id = new ParticipantId("ana") }, Ct);
        var code = await codes.IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("ana"), Medium = ShareMedium.Email }, Ct);

        var result = await attribution.RecordConversionAsync(
            new Conversion
            {
                Program = Customers,
                OrderId = "o-1",
                Customer = new ParticipantId("watched-7"),
                Amount = new Money(30m, "EUR"),
                EventTime = Instant.FromUtc(2026, 11, 23, 8, 0),
                PresentedCode = code.Display,
            },
            Ct);

        Assert.True(result.IsAttributed, result.Explain());
        Assert.Equal(FraudVerdict.Review, result.Fraud!.Verdict); // 35 >= ReviewAt 30
        Assert.Equal(
            [("watch-list.customer", 35), (FraudSignalNames.CheckFailed, 0)],
            result.Fraud.Signals.Select(s => (s.Name, s.Score)));
        Assert.Contains("check 'broken' failed with InvalidOperationException", result.Fraud.Signals[1].Evidence, StringComparison.Ordinal);
        Assert.Single(await provider.GetRequiredService<ReviewQueue>().ListAsync(Customers, Ct));
    }

    [Fact]
    public async Task A_failed_read_of_the_history_fails_the_assessment_while_a_checks_own_failure_is_a_signal()
    {
        using var provider = Build(b => b.AddFraudCheck<BrokenCheck>());
        var assessor = provider.GetRequiredService<FraudAssessor>();
        var facts = new FraudCase
        {
            Program = Customers, OrderId = "o-1", Customer = new ParticipantId("bo"), Referrer = new ParticipantId("ana"),
            Amount = new Money(30m, "EUR"), EventTime = Instant.FromUtc(2026, 11, 23, 8, 0),
            Chain = [new ParticipantId("ana")], ReferrerParticipant = null, CustomerContacts = [], ConversionFingerprints = [],
        };

        // The store answers: the broken check is a signal, the conversion goes on.
        var assessed = await assessor.AssessAsync(facts, new Referrals.Pipeline.ContractFraudHistory(new InMemoryStore()), Ct);
        Assert.Contains(assessed!.Signals, s => s.Name == FraudSignalNames.CheckFailed);

        // The store fails (a lost connection): the built-in checks' reads throw, and so does the assessment — the
        // conversion fails and is sent again, instead of being decided on a session that cannot commit.
        var lost = FailingStore.Failure;
        var thrown = await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await assessor.AssessAsync(facts, new Referrals.Pipeline.ContractFraudHistory(System.Reflection.DispatchProxy.Create<IReferralStore, FailingStore>()), Ct));
        Assert.Same(lost, thrown);
    }

    /// <summary>A store whose every call fails, as one whose connection is gone.</summary>
    public class FailingStore : System.Reflection.DispatchProxy
    {
        public static readonly InvalidOperationException Failure = new("connection lost");

        protected override object? Invoke(System.Reflection.MethodInfo? targetMethod, object?[]? args) => throw Failure;
    }

    [Fact]
    public void Bad_fraud_settings_are_each_named()
    {
        var bad = new ReferralsOptions();
        bad.Fraud.DisposableDomains.Add("not a domain");
        bad.Fraud.CodeGuessing.MaxFailures = 0;
        bad.Fraud.CodeGuessing.Window = TimeSpan.Zero;
        bad.Fraud.CodeGuessing.MaxSources = 3;
        bad.Programs["customers"] = new Referrals.Programs.ProgramOptions
        {
            Fraud = new FraudPolicyOptions
            {
                ReviewAt = 50,
                BlockAt = 40,
                Scores = new Dictionary<string, int> { ["velocity.referrals-per-hour"] = -1 },
                MaxConversionsPerHour = -2,
                MaxRefundRate = 1.5m,
                MinOrdersForRefundRate = 0,
                ReviewDeadline = TimeSpan.FromSeconds(5),
            },
        };

        var ex = Assert.Throws<OptionsValidationException>(() => ReferralsOptionsValidator.ThrowIfInvalid(bad));

        string[] expected =
        [
            "Referrals:Fraud:DisposableDomains:0 must be a domain name of at least two labels; got 'not a domain'.",
            "Referrals:Fraud:CodeGuessing:MaxFailures must be 1 to 10,000; got 0.",
            "Referrals:Fraud:CodeGuessing:Window must be 1 second to 1 day; got 00:00:00.",
            "Referrals:Fraud:CodeGuessing:MaxSources must be 16 to 16,777,216; got 3.",
            "Referrals:Programs:customers:Fraud:BlockAt must be 1 to 1,000 and at least ReviewAt (50); got 40.",
            "Referrals:Programs:customers:Fraud:Scores:velocity.referrals-per-hour must be 0 to 1,000; got -1.",
            "Referrals:Programs:customers:Fraud:MaxConversionsPerHour must be 0 to 1,000,000; got -2.",
            "Referrals:Programs:customers:Fraud:MaxRefundRate must be 0 to 1; got 1.5.",
            "Referrals:Programs:customers:Fraud:MinOrdersForRefundRate must be 1 or more; got 0.",
            "Referrals:Programs:customers:Fraud:ReviewDeadline must be 1 minute to 366 days; got 00:00:05.",
        ];
        Assert.Equal(expected, ex.Failures);
    }

    [Fact]
    public async Task The_fraud_history_counts_in_half_open_ranges_and_sightings_come_latest_first()
    {
        var w = new Referrals.Tests.Support.AttributionWorld();
        var t0 = Referrals.Tests.Support.AttributionWorld.Monday;
        Assert.True(w.Fingerprints.TryHashDevice("d-1", out var device));
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Receipt);
        for (int i = 0; i < 3; i++)
        {
            var friend = await w.ParticipantAsync($"f{i}");
            var order = w.Order($"o-{i}", friend, t0 + Duration.FromMinutes(i)) with { PresentedCode = code.Display, Fingerprints = [device] };
            var result = await w.Attribution.RecordConversionAsync(order, Ct);
            Assert.True(result.IsAttributed, result.Explain());
        }
        var history = new Referrals.Pipeline.ContractFraudHistory(w.Contract);

        Assert.Equal(2, await history.CountReferralsAsync(Customers, ana, t0, t0 + Duration.FromMinutes(2), 100, Ct));
        Assert.Equal(1, await history.CountReferredConversionsAsync(Customers, ana, t0 + Duration.FromMinutes(1), t0 + Duration.FromMinutes(2), 100, Ct));
        Assert.Equal(new ReferredOrderStats(3, 0), await history.GetReferredOrderStatsAsync(Customers, ana, Ct));
        var seen = await history.FindSightingsAsync(Customers, device, t0 + Duration.FromMinutes(2), 10, Ct);
        Assert.Equal(["o-1", "o-0"], seen.Select(s => s.OrderId));

        // A re-evaluation that takes the credit away (the code was revoked since) moves the order out of ana's history.
        await w.Codes.RevokeAsync(code.Code, Ct);
        Assert.False((await w.Attribution.ReevaluateAsync(Customers, "o-1", Ct))!.IsAttributed);
        Assert.Equal(new ReferredOrderStats(2, 0), await history.GetReferredOrderStatsAsync(Customers, ana, Ct));
        Assert.Equal(0, await history.CountReferredConversionsAsync(Customers, ana, t0 + Duration.FromMinutes(1), t0 + Duration.FromMinutes(2), 100, Ct));
    }

    private sealed class WatchListCheck : IFraudCheck
    {
        public string Name => "watch-list";

        public ValueTask CheckAsync(FraudContext context, FraudSignalSink signals, CancellationToken cancellationToken)
        {
            if (context.Customer.Value.StartsWith("watched-", StringComparison.Ordinal))
            {
                signals.Add("watch-list.customer", 35, $"{context.Customer} is on the shop's watch list");
            }
            return ValueTask.CompletedTask;
        }
    }

    private sealed class BrokenCheck : IFraudCheck
    {
        public string Name => "broken";

        public ValueTask CheckAsync(FraudContext context, FraudSignalSink signals, CancellationToken cancellationToken) =>
            throw new InvalidOperationException("the watch-list service is down");
    }
}
