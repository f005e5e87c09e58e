using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Attribution;
using Referrals.Fraud;
using Referrals.Privacy;
using Referrals.Storage;

namespace Referrals.Tests.Fraud;

/// <summary>
/// The velocity check's rule for each kind of count (referrals captured, referred conversions): the hour's count over the
/// hourly limit reports the hour; otherwise the day's count over the daily limit reports the day; never both. The check
/// reads the day first and the hour only when it may matter; these tests hold it to the rule on any counts and limits.
/// </summary>
public sealed class VelocityCheckTests
{
    private static readonly ProgramId Program = new("customers");
    private static readonly ParticipantId Ana = new("ana");
    private static readonly Instant At = Instant.FromUtc(2026, 11, 23, 12, 0);

    [Property(MaxTest = 500)]
    public Property Reports_the_hour_else_the_day_exactly_as_the_rule_says() =>
        Prop.ForAll(
            Gen.Choose(0, 12).Four().Zip(Gen.Choose(0, 8).Four()).ToArbitrary(),
            t =>
            {
                var ((referralsHour, referralsMore, conversionsHour, conversionsMore), (maxRefHour, maxRefDay, maxConvHour, maxConvDay)) = t;
                var history = new Counts(referralsHour, referralsHour + referralsMore, conversionsHour, conversionsHour + conversionsMore);
                var policy = new FraudPolicyOptions
                {
                    MaxReferralsPerHour = maxRefHour,
                    MaxReferralsPerDay = maxRefDay,
                    MaxConversionsPerHour = maxConvHour,
                    MaxConversionsPerDay = maxConvDay,
                };
                var signals = Run(history, policy);

                var expected = new List<string>();
                if (history.ReferralsHour > maxRefHour)
                {
                    expected.Add(FraudSignalNames.ReferralsPerHour);
                }
                else if (history.ReferralsDay > maxRefDay)
                {
                    expected.Add(FraudSignalNames.ReferralsPerDay);
                }
                // This conversion counts too.
                if (history.ConversionsHour + 1 > maxConvHour)
                {
                    expected.Add(FraudSignalNames.ConversionsPerHour);
                }
                else if (history.ConversionsDay + 1 > maxConvDay)
                {
                    expected.Add(FraudSignalNames.ConversionsPerDay);
                }
                return signals.Select(s => s.Name).SequenceEqual(expected)
                    .Label($"expected [{string.Join(", ", expected)}], got [{string.Join(", ", signals.Select(s => s.Name))}]");
            });

    [Fact]
    public void The_evidence_names_the_count_of_the_window_reported()
    {
        var policy = new FraudPolicyOptions { MaxReferralsPerHour = 2, MaxReferralsPerDay = 5, MaxConversionsPerHour = 3, MaxConversionsPerDay = 4 };

        var hour = Run(new Counts(3, 9, 0, 0), policy);
        Assert.Contains("captured 3 referrals in the hour", Assert.Single(hour).Evidence, StringComparison.Ordinal);

        var day = Run(new Counts(1, 6, 2, 7), policy);
        Assert.Equal([FraudSignalNames.ReferralsPerDay, FraudSignalNames.ConversionsPerDay], day.Select(s => s.Name));
        Assert.Contains("captured 6 referrals in the day", day[0].Evidence, StringComparison.Ordinal);
        Assert.Contains("referred conversion number 8 within a day", day[1].Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void Each_count_stops_one_past_the_limit_it_is_compared_with_and_only_a_broken_window_is_counted_further()
    {
        var policy = new FraudPolicyOptions { MaxReferralsPerHour = 2, MaxReferralsPerDay = 5, MaxConversionsPerHour = 3, MaxConversionsPerDay = 4 };
        var history = new RecordedCounts(new Counts(1, 9, 0, 2));

        var signals = Run(history, policy);

        // Referrals: the day up to 6 (one past the larger limit) gives 6 > 2, so the hour up to 3 gives 1; the day broke
        // its limit, so it is counted again for the evidence. Conversions: the day up to 5 gives 2, this one makes 3.
        Assert.Equal(
            [("referrals", "day", 6), ("referrals", "hour", 3), ("referrals", "day", VelocityCheck.EvidenceLimit), ("conversions", "day", 5)],
            history.Calls);
        var signal = Assert.Single(signals);
        Assert.Equal(FraudSignalNames.ReferralsPerDay, signal.Name);
        Assert.Contains("captured 9 referrals in the day", signal.Evidence, StringComparison.Ordinal);
    }

    [Fact]
    public void A_flood_beyond_the_evidence_limit_is_reported_as_that_many_or_more()
    {
        var policy = new FraudPolicyOptions { MaxReferralsPerHour = 20, MaxReferralsPerDay = 100, MaxConversionsPerHour = 10, MaxConversionsPerDay = 50 };

        var signals = Run(new RecordedCounts(new Counts(0, 0, 250_000, 250_000)), policy);

        var signal = Assert.Single(signals);
        Assert.Equal(FraudSignalNames.ConversionsPerHour, signal.Name);
        Assert.Contains("referred conversion number 100001 or more within an hour", signal.Evidence, StringComparison.Ordinal);
    }

    private static IReadOnlyList<FraudSignal> Run(Counts history, FraudPolicyOptions options) =>
        Run(new RecordedCounts(history), options);

    private static IReadOnlyList<FraudSignal> Run(IFraudHistory history, FraudPolicyOptions options)
    {
        var conversion = new Conversion
        {
            Program = Program,
            OrderId = "o-1",
            Customer = new ParticipantId("bea"),
            Amount = new Money(40m, "EUR"),
            EventTime = At,
        };
        var facts = new FraudCase
        {
            Program = Program,
            OrderId = "o-1",
            Customer = conversion.Customer,
            Referrer = Ana,
            Amount = conversion.Amount,
            EventTime = At,
            Chain = [Ana],
            CustomerContacts = [],
            ConversionFingerprints = [],
        };
        var policy = new FraudPolicy(options);
        var context = new FraudContext(facts, policy, history, 1);
        var sink = new FraudSignalSink(policy);
        var task = new VelocityCheck().CheckAsync(context, sink, CancellationToken.None);
        Assert.True(task.IsCompletedSuccessfully);
        return sink.Signals;
    }

    /// <summary>A history of <see cref="Counts"/> that honours the limit and records each count asked: (kind, window, limit).</summary>
    private sealed class RecordedCounts(Counts counts) : IFraudHistory
    {
        public List<(string Kind, string Window, int Limit)> Calls { get; } = [];

        public async ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default)
        {
            Calls.Add(("referrals", until - from == Duration.FromHours(1) ? "hour" : "day", limit));
            return Math.Min(limit, await counts.CountReferralsAsync(program, referrer, from, until, cancellationToken));
        }

        public async ValueTask<int> CountReferredConversionsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default)
        {
            Calls.Add(("conversions", until - from == Duration.FromHours(1) ? "hour" : "day", limit));
            return Math.Min(limit, await counts.CountReferredConversionsAsync(program, referrer, from, until, cancellationToken));
        }

        public ValueTask<ReferredOrderStats> GetReferredOrderStatsAsync(ProgramId program, ParticipantId referrer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(default(ReferredOrderStats));

        public ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<IReadOnlyList<FingerprintSighting>>([]);

        public ValueTask<ParticipantId?> FindFirstReferrerAsync(ProgramId program, ParticipantId participant, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<ParticipantId?>(null);
    }

    /// <summary>Counts for the hour and the day before <see cref="At"/>, whatever the store holds.</summary>
    private sealed record Counts(int ReferralsHour, int ReferralsDay, int ConversionsHour, int ConversionsDay)
    {
        public ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Window(from, until) ? ReferralsHour : ReferralsDay);

        public ValueTask<int> CountReferredConversionsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(Window(from, until) ? ConversionsHour : ConversionsDay);

        public ValueTask<ReferredOrderStats> GetReferredOrderStatsAsync(ProgramId program, ParticipantId referrer, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult(default(ReferredOrderStats));

        public ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult((IReadOnlyList<FingerprintSighting>)[]);

        public ValueTask<ParticipantId?> FindFirstReferrerAsync(ProgramId program, ParticipantId participant, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<ParticipantId?>(null);

        // True for the hour, false for the day; anything else is a query the rule does not make.
        private static bool Window(Instant from, Instant until)
        {
            Assert.Equal(At, until);
            var length = until - from;
            Assert.True(length == Duration.FromHours(1) || length == Duration.FromDays(1), $"unexpected window {length}");
            return length == Duration.FromHours(1);
        }
    }
}
