using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Storage;
using Referrals.Services;

namespace Referrals.Tests.Fraud;

/// <summary>What a host's fraud check sees: flat facts of the credited order and the history port, nothing of the stores.</summary>
public sealed class FraudContextTests
{
    private static readonly ProgramId Customers = new("customers");
    private static readonly Instant At = Instant.FromUtc(2026, 11, 23, 8, 0);

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_check_sees_the_order_the_credit_and_both_registrations_and_reads_history_through_the_hosts_port()
    {
        var history = new ScriptedHistory();
        var check = new RecordingCheck();
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(new FakeClock(At + Duration.FromHours(1)));
        services.AddSingleton<IFraudHistory>(history); // registered before AddReferrals: the host's own wins
        services.AddReferrals(o => o.Programs["customers"] = new ProgramOptions { TimeZone = "Europe/Berlin", MaxChainDepth = 2 });
        services.AddSingleton<IFraudCheck>(check); // runs after the built-ins
        using var provider = services.BuildServiceProvider();
        var attribution = provider.GetRequiredService<AttributionService>();
        var codes = provider.GetRequiredService<ReferralCodeService>();
        await provider.GetRequiredService<ParticipantService>().RegisterAsync(new Participant { Id = new ParticipantId("ana"), Kind = ParticipantKind.Influencer }, Ct);
        await provider.GetRequiredService<ParticipantService>().RegisterAsync(new Participant { Id = new ParticipantId("bea") }, Ct);
        var code = await codes.IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("ana"), Medium = ShareMedium.Email }, Ct);

        var result = await attribution.RecordConversionAsync(
            new Conversion { Program = Customers, OrderId = "o-1", Customer = new ParticipantId("bea"), Amount = new Money(30m, "EUR"), EventTime = At, PresentedCode = code.Display },
            Ct);

        Assert.True(result.IsAttributed, result.Explain());
        var seen = Assert.Single(check.Seen);
        Assert.Equal(
            ("o-1", "bea", "ana", new Money(30m, "EUR"), At, code.Code, "bea", ParticipantKind.Influencer),
            (seen.OrderId, seen.Customer.Value, seen.Referrer.Value, seen.Amount, seen.EventTime, seen.Code, seen.CustomerParticipant?.Id.Value, seen.ReferrerParticipant?.Kind));
        Assert.Equal([new ParticipantId("ana")], seen.Chain);
        Assert.Same(history, seen.History);
        Assert.Equal(new ParticipantId("zoe"), check.AnasReferrer);
        Assert.Contains((nameof(IFraudHistory.FindFirstReferrerAsync), "ana"), history.Calls);
    }

    /// <summary>Keeps the context of every conversion it is asked about and asks the history who referred the referrer.</summary>
    private sealed class RecordingCheck : IFraudCheck
    {
        public List<FraudContext> Seen { get; } = [];

        public ParticipantId? AnasReferrer { get; private set; }

        public string Name => "recording";

        public async ValueTask CheckAsync(FraudContext context, FraudSignalSink signals, CancellationToken cancellationToken)
        {
            Seen.Add(context);
            AnasReferrer = await context.History.FindFirstReferrerAsync(context.Program, context.Referrer, cancellationToken);
        }
    }

    /// <summary>A host's history: nothing counted, nobody seen, and zoe referred ana.</summary>
    private sealed class ScriptedHistory : IFraudHistory
    {
        public List<(string Method, string Participant)> Calls { get; } = [];

        public ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(0);

        public ValueTask<int> CountReferredConversionsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(0);

        public ValueTask<ReferredOrderStats> GetReferredOrderStatsAsync(ProgramId program, ParticipantId referrer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(default(ReferredOrderStats));

        public ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<IReadOnlyList<FingerprintSighting>>([]);

        public ValueTask<ParticipantId?> FindFirstReferrerAsync(ProgramId program, ParticipantId participant, CancellationToken cancellationToken = default)
        {
            lock (Calls)
            {
                Calls.Add((nameof(FindFirstReferrerAsync), participant.Value));
            }
            return ValueTask.FromResult<ParticipantId?>(participant.Value == "ana" ? new ParticipantId("zoe") : null);
        }
    }
}
