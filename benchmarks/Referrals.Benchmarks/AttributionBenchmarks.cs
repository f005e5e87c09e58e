using BenchmarkDotNet.Attributes;
using BenchmarkDotNet.Engines;
using Microsoft.Extensions.Options;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Notifications;
using Referrals.Participants;
using Referrals.Programs;
using Referrals.Storage;
using Referrals.Services;

namespace Referrals.Benchmarks;

/// <summary>
/// One conversion with 3 prior touches (a link click by the friend's phone, a code typed online, a kiosk sign-up)
/// decided against an in-memory store of 1,000,000 participants. Baseline: one raw code resolve (the hot path).
/// </summary>
[MemoryDiagnoser]
[SimpleJob(RunStrategy.Throughput, launchCount: 1, warmupCount: 3, iterationCount: 15, invocationCount: FriendsPerIteration)]
public class AttributionBenchmarks
{
    private const int Participants = 1_000_000;
    internal const int FriendsPerIteration = 16_384;
    private static readonly ProgramId Program = new("customers");
    private static readonly Instant Start = Instant.FromUtc(2026, 11, 23, 9, 0);

    private AttributionService _attribution = null!;
    private ParticipantService _participants = null!;
    private ReferralCodeService _codes = null!;
    private ReferralCodeRecord[] _referrerCodes = null!;
    private string _rawCode = null!;
    private Conversion[] _conversions = null!;
    private int _next;
    private int _iteration;

    [GlobalSetup]
    public void Setup()
    {
        var options = BenchmarkData.Options();
        options.Programs["customers"] = new ProgramOptions { TimeZone = "Europe/Berlin" };
        var clock = new FakeClock(Start);
        var wrapped = Microsoft.Extensions.Options.Options.Create(options);
        // The store AddReferrals composes by default: participants written in units of 10,000.
        var contract = new InMemoryStore();
        _codes = new ReferralCodeService(contract, wrapped, clock, CryptoRandomSource.Instance, new Links.ShareLinkService(options.Links), null);
        _attribution = new AttributionService(wrapped, clock, _codes, contract, Array.Empty<IReferralNotifier>(), null);
        _participants = new ParticipantService(contract, clock, wrapped);
        IReferralStore writer = contract;
        for (int from = 0; from < Participants; from += 10_000)
        {
            var session = writer.BeginAsync().AsTask().GetAwaiter().GetResult();
            var unit = new UnitOfWork(participants: [.. Enumerable.Range(from, 10_000).Select(i => new Participant { Id = new ParticipantId($"c-{i}") })]);
            session.WriteAsync(unit).AsTask().GetAwaiter().GetResult();
            session.CommitAsync().AsTask().GetAwaiter().GetResult();
            session.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
        _referrerCodes = Enumerable.Range(0, 3)
            .Select(i => _codes.IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId($"c-{i}"), Medium = ShareMedium.Email }).GetAwaiter().GetResult())
            .ToArray();
        _rawCode = " " + _referrerCodes[0].Display.ToLowerInvariant() + " ";
    }

    [IterationSetup(Target = nameof(RecordConversion_ThreeTouches))]
    public void PrepareFriends()
    {
        // Fresh friends every iteration: each invocation records a conversion that was never seen before.
        _iteration++;
        _next = 0;
        _conversions = new Conversion[FriendsPerIteration];
        var at = Start + Duration.FromDays(_iteration);
        for (int i = 0; i < FriendsPerIteration; i++)
        {
            var friend = new ParticipantId($"c-{100_000 + (((_iteration - 1) * FriendsPerIteration) + i) % (Participants - 100_000)}");
            string visitor = $"v-{_iteration}-{i}";
            _participants.LinkVisitorAsync(visitor, friend).GetAwaiter().GetResult();
            Capture(TouchKind.LinkClick, _referrerCodes[0].Code.Value, visitor, null, at - Duration.FromDays(3));
            Capture(TouchKind.CodeEnteredOnline, _referrerCodes[1].Code.Value, null, friend, at - Duration.FromDays(2));
            Capture(TouchKind.KioskSignup, _referrerCodes[2].Code.Value, null, friend, at - Duration.FromDays(1));
            _conversions[i] = new Conversion
            {
                Program = Program,
                OrderId = $"o-{_iteration}-{i}",
                Customer = friend,
                Amount = new Money(49.90m, "EUR"),
                EventTime = at + Duration.FromSeconds(i), // orders arrive one after another, as in a shop
                VisitorId = visitor,
            };
        }
    }

    [Benchmark(Baseline = true)]
    public CodeResolution Baseline_ResolveRawCode() => _codes.Resolve(_rawCode);

    [Benchmark]
    public AttributionResult RecordConversion_ThreeTouches()
    {
        var task = _attribution.RecordConversionAsync(_conversions[_next++]);
        return task.IsCompletedSuccessfully ? task.Result : task.AsTask().GetAwaiter().GetResult();
    }

    private void Capture(TouchKind kind, string code, string? visitor, ParticipantId? customer, Instant at)
    {
        var result = _attribution.CaptureAsync(new CaptureRequest { Program = Program, Kind = kind, Input = code, VisitorId = visitor, Customer = customer, EventTime = at }).GetAwaiter().GetResult();
        if (result.Outcome != CaptureOutcome.Captured)
        {
            throw new InvalidOperationException($"Benchmark setup is wrong: capture {result}.");
        }
    }
}
