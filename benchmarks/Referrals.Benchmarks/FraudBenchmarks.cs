using BenchmarkDotNet.Attributes;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Testing;
using Referrals.Pipeline;
using Referrals.Attribution;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Services;
using Referrals.Storage;

namespace Referrals.Benchmarks;

/// <summary>
/// All built-in fraud checks (self-referral, disposable e-mail, velocity, ring, refund abuse) for one conversion of a
/// referrer with a history of 1,000 referrals (touches, credited conversions, 100 of them refunded) on the in-memory
/// store (<see cref="InMemoryStore"/>, the history recorded through the services). The friend brings six fingerprints
/// (device, card, address, IP, IP + browser, e-mail domain), the referrer was referred by someone else (the ring check
/// climbs). Baseline: one store query of the fraud history (a referral count).
/// </summary>
[MemoryDiagnoser]
public class FraudBenchmarks
{
    private const int History = 1_000;
    private static readonly ProgramId Program = new("customers");
    private static readonly Instant Start = Instant.FromUtc(2026, 8, 1, 9, 0);

    private FraudAssessor _fraud = null!;
    private IReferralStore _store = null!;
    private Conversion _conversion = null!;
    private AttributionResult _credit = null!;
    private Participant _friend = null!;
    private ParticipantId _ana;

    [GlobalSetup]
    public void Setup() => SetupAsync().GetAwaiter().GetResult();

    [Benchmark(Baseline = true)]
    public int Baseline_OneStoreQuery()
    {
        var task = _store.CountTouchesAsync(Program, _ana, _conversion.EventTime - Duration.FromHours(1), _conversion.EventTime, int.MaxValue);
        return task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();
    }

    [Benchmark]
    public FraudAssessment? AllChecks_History1000()
    {
        // As the pipeline does: the referrer's registration is read, then the flat facts are assessed.
        var find = _store.FindParticipantAsync(_ana);
        var referrer = find.IsCompletedSuccessfully ? find.Result : find.AsTask().GetAwaiter().GetResult();
        var facts = new FraudCase
        {
            Program = Program, OrderId = _conversion.OrderId, Customer = _conversion.Customer, Referrer = _ana, Amount = _conversion.Amount,
            EventTime = _conversion.EventTime, Chain = _credit.Chain, Code = _credit.Code, CustomerParticipant = _friend, ReferrerParticipant = referrer,
            CustomerContacts = _conversion.Contacts, ConversionFingerprints = _conversion.Fingerprints,
        };
        var task = _fraud.AssessAsync(facts, CancellationToken.None);
        return task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();
    }

    private async Task SetupAsync()
    {
        var options = BenchmarkData.Options();
        options.Privacy.ContactHashKey = Convert.ToBase64String(Enumerable.Range(7, 32).Select(i => (byte)i).ToArray());
        options.Programs["customers"] = new ProgramOptions { TimeZone = "Europe/Berlin" };
        var wrapped = Options.Create(options);
        var clock = new FakeClock(Start + Duration.FromDays(120));
        _store = new InMemoryStore();
        var hasher = new FingerprintHasher(options.Privacy, options.Fraud.DisposableDomains);
        _fraud = new FraudAssessor(wrapped, clock, new Referrals.Pipeline.ContractFraudHistory(_store), [new SelfReferralCheck(), new DisposableEmailCheck(Options.Create(options.Privacy), Options.Create(options.Fraud)), new VelocityCheck(), new RingCheck(), new RefundAbuseCheck()]);
        // The history is recorded as a host records it, without fraud checks (every referral credited): Core computes the
        // orders' index values and the referrer's summary the checks read.
        var history = new FakeClock(Start - Duration.FromDays(30));
        var codes = new Referrals.Services.ReferralCodeService(_store, wrapped, history, Referrals.Codes.CryptoRandomSource.Instance, new Referrals.Links.ShareLinkService(options.Links));
        var attribution = new Referrals.Services.AttributionService(wrapped, history, codes, _store, []);
        var rewards = new Referrals.Services.RewardService(wrapped, history, _store, [], []);
        var participants = new Referrals.Services.ParticipantService(_store, history, wrapped);

        _ana = new ParticipantId("ana");
        var zoe = new ParticipantId("zoe");
        await participants.RegisterAsync(new Participant { Id = _ana, Fingerprints = hasher.Fingerprints(deviceId: "ana-phone", paymentFingerprint: "ana-card", shippingAddress: "Hauptstraße 1, Berlin") });
        var zoes = await codes.IssueAsync(new Referrals.Codes.CodeRequest { Program = Program, Owner = zoe, Medium = ShareMedium.Email });
        var anas = await codes.IssueAsync(new Referrals.Codes.CodeRequest { Program = Program, Owner = _ana, Medium = ShareMedium.Email });
        await CreditAsync(attribution, zoes, _ana, "o-ana", Start - Duration.FromDays(10), hasher.Fingerprints(deviceId: "ana-phone"));

        // 1,000 referrals over 100 days: a touch and a credited conversion an hour later each, every tenth refunded in full.
        for (int i = 0; i < History; i++)
        {
            var friend = new ParticipantId($"f{i}");
            var at = Start + Duration.FromMinutes(144 * i);
            history.Reset(at);
            await attribution.CaptureAsync(new CaptureRequest { Program = Program, Kind = TouchKind.CodeEnteredOnline, Input = anas.Display, Customer = friend, EventTime = at });
            await CreditAsync(attribution, null, friend, $"o-{i}", at + Duration.FromHours(1), hasher.Fingerprints(deviceId: $"device-{i}", paymentFingerprint: $"card-{i}", ipAddress: $"198.51.{i / 250}.{i % 250}", userAgent: "Mozilla/5.0", email: $"f{i}@example.com"));
            if (i % 10 == 0)
            {
                history.Reset(at + Duration.FromDays(2));
                var refunded = await rewards.RecordRefundAsync(new Rewards.Refund { Program = Program, OrderId = $"o-{i}", RefundId = $"r-{i}", Amount = new Money(40m, "EUR"), EventTime = at + Duration.FromDays(2) });
                if (refunded.Outcome != Rewards.RefundOutcome.Recorded)
                {
                    throw new InvalidOperationException($"Benchmark setup is wrong: refund r-{i} was {refunded.Outcome}.");
                }
            }
        }
        var stats = await new Referrals.Pipeline.ContractFraudHistory(_store).GetReferredOrderStatsAsync(Program, _ana);
        if (stats.Orders != History || stats.Refunded != History / 10)
        {
            throw new InvalidOperationException($"Benchmark setup is wrong: ana's history is {stats}.");
        }

        var bea = new ParticipantId("bea");
        _friend = new Participant { Id = bea, Fingerprints = hasher.Fingerprints(deviceId: "bea-phone") };
        await participants.RegisterAsync(_friend);
        _conversion = new Conversion
        {
            Program = Program,
            OrderId = "o-bea",
            Customer = bea,
            Amount = new Money(40m, "EUR"),
            EventTime = Start + Duration.FromDays(101),
            Fingerprints = hasher.Fingerprints(deviceId: "bea-phone", paymentFingerprint: "bea-card", shippingAddress: "Gartenweg 2, Potsdam", ipAddress: "203.0.113.9", userAgent: "Mozilla/5.0 (iPhone)", email: "bea@example.org"),
        };
        _credit = new AttributionResult
        {
            Program = Program,
            OrderId = "o-bea",
            Customer = bea,
            Amount = _conversion.Amount,
            ConversionTime = _conversion.EventTime,
            Referrer = _ana,
            Chain = [_ana, new ParticipantId("zoe")],
        };
        var check = AllChecks_History1000();
        if (check is null || check.Verdict != FraudVerdict.Allow || check.Signals.Count != 0)
        {
            throw new InvalidOperationException("Benchmark setup is wrong: " + check?.Explain());
        }
    }

    /// <summary>Records a conversion (with <paramref name="code"/> presented, or decided from the touches recorded before) and checks it was credited.</summary>
    private static async Task CreditAsync(Referrals.Services.AttributionService attribution, Referrals.Codes.ReferralCodeRecord? code, ParticipantId friend, string order, Instant at, IReadOnlyList<Fingerprint> fingerprints)
    {
        var conversion = new Conversion { Program = Program, OrderId = order, Customer = friend, Amount = new Money(40m, "EUR"), EventTime = at, Fingerprints = fingerprints, PresentedCode = code?.Display };
        var result = await attribution.RecordConversionAsync(conversion);
        if (!result.IsAttributed)
        {
            throw new InvalidOperationException("Benchmark setup is wrong: " + result.Explain());
        }
    }
}
