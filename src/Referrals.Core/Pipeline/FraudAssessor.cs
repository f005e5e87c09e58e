using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NodaTime;
using Referrals.Codes;
using Referrals.Internal;
using Referrals.Participants;
using Referrals.Fraud;
using Referrals.Privacy;
using Referrals.Programs;

namespace Referrals.Pipeline;

/// <summary>
/// Runs the fraud checks on every credited conversion and turns their signals into a verdict by the program's policy
/// (<see cref="FraudPolicyOptions"/>): stage 2 (assess) of the conversion pipeline. Thread-safe.
/// </summary>
internal sealed partial class FraudAssessor
{
    private readonly Dictionary<ProgramId, FraudPolicy> _policies = new();
    private readonly Dictionary<ProgramId, int> _depths = new();
    private readonly IFraudCheck[] _checks;
    private readonly IFraudHistory _history;
    private readonly IClock _clock;
    private readonly ILogger _logger;

    /// <summary>Creates the assessor; options are validated here as in dependency injection.</summary>
    /// <exception cref="OptionsValidationException">A setting is bad; the message names every one.</exception>
    /// <exception cref="ArgumentException">Two checks have the same name.</exception>
    public FraudAssessor(
        IOptions<ReferralsOptions> options,
        IClock clock,
        IFraudHistory history,
        IEnumerable<IFraudCheck> checks,
        ILogger<FraudAssessor>? logger = null)
    {
        var o = Preconditions.CheckNotNull(options).Value;
        ReferralsOptionsValidator.ThrowIfInvalid(o);
        _clock = Preconditions.CheckNotNull(clock);
        _history = Preconditions.CheckNotNull(history);
        _checks = Preconditions.CheckNotNull(checks).ToArray();
        var duplicate = _checks.GroupBy(c => c.Name, StringComparer.Ordinal).FirstOrDefault(g => g.Count() > 1);
        Preconditions.CheckArgument(duplicate is null, nameof(checks), $"Two fraud checks are named '{duplicate?.Key}'.");
        _logger = logger ?? (ILogger)NullLogger.Instance;
        foreach (var (id, program) in o.Programs)
        {
            _policies[new ProgramId(id)] = program.Fraud is null ? FraudPolicy.Default : new FraudPolicy(program.Fraud);
            _depths[new ProgramId(id)] = program.MaxChainDepth;
        }
    }

    /// <summary>The history the checks read unless the caller passes the one of its unit of work.</summary>
    internal IFraudHistory History => _history;

    /// <summary>The names of the checks that run, in order.</summary>
    public IReadOnlyList<string> CheckNames => _checks.Select(c => c.Name).ToArray();

    /// <summary>True when a credited conversion of <paramref name="program"/> is assessed at all (checks registered, policy on).</summary>
    public bool Assesses(ProgramId program) => _checks.Length > 0 && _policies.TryGetValue(program, out var policy) && policy.Enabled;

    /// <summary>
    /// Assesses a credited conversion, or returns <see langword="null"/> when the program's policy is off or no check is
    /// registered. A check that throws is logged, counted and recorded as a <see cref="FraudSignalNames.CheckFailed"/> signal.
    /// </summary>
    public ValueTask<FraudAssessment?> AssessAsync(in FraudCase facts, CancellationToken ct) => AssessAsync(facts, _history, ct);

    /// <summary>As <see cref="AssessAsync(in FraudCase, CancellationToken)"/>, reading the history through <paramref name="history"/>.</summary>
    public async ValueTask<FraudAssessment?> AssessAsync(FraudCase facts, IFraudHistory history, CancellationToken ct)
    {
        if (!Assesses(facts.Program))
        {
            return null;
        }
        var policy = _policies[facts.Program];
        // The library's own history (the store's reads) is read through a guard that remembers a failed read: a check's own
        // failure is recorded as a signal, but a failed read of the store (a lost connection, a dead session) fails the
        // conversion, as every other store error does, so it is sent again instead of being decided on a session that can
        // no longer commit. A host's own history is the host's: passed as it is, its failures are the checks' failures.
        var guarded = history is SessionFacts or ContractFraudHistory ? new GuardedHistory(history) : null;
        var context = new FraudContext(facts, policy, (IFraudHistory?)guarded ?? history, _depths[facts.Program]);
        var sink = new FraudSignalSink(policy);
        foreach (var check in _checks)
        {
            try
            {
                await check.CheckAsync(context, sink, ct).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // a failing check is logged, counted and shown; it never fails the conversion
            catch (Exception ex) when (ex is not OperationCanceledException && guarded?.Failure is null)
#pragma warning restore CA1031
            {
                ReferralsTelemetry.FraudCheckFailures.Add(1);
                LogCheckFailed(_logger, ex, check.Name, facts.Program.Value);
                sink.Add(FraudSignalNames.CheckFailed, 0, $"check '{check.Name}' failed with {ex.GetType().Name}; see the log");
            }
        }
        if (guarded?.Failure is { } failure)
        {
            // A check caught the store's exception itself: it still fails the conversion.
            System.Runtime.ExceptionServices.ExceptionDispatchInfo.Throw(failure);
        }
        int score = 0;
        foreach (var s in sink.Signals)
        {
            score += s.Score;
        }
        var verdict = policy.VerdictOf(score);
        ReferralsTelemetry.FraudVerdicts.Add(1, new KeyValuePair<string, object?>(ReferralsTelemetry.Tags.Outcome, VerdictTag(verdict)));
        return new FraudAssessment
        {
            Verdict = verdict,
            Score = score,
            ReviewAt = policy.ReviewAt,
            BlockAt = policy.BlockAt,
            Signals = sink.Signals,
            AssessedAt = _clock.GetCurrentInstant(),
        };
    }

    /// <summary>
    /// The reads the checks will make of the store for a conversion at <paramref name="eventTime"/> credited to
    /// <paramref name="referrer"/> — the velocity check's two day counts, and who was seen with each of the customer's
    /// fingerprints (<see cref="FraudContext.FindSightingsAsync"/>) — for a store that answers reads in batches to answer
    /// with the referrer's other reads; none when the program is not assessed or the history is the host's own.
    /// </summary>
    internal IReadOnlyList<Storage.StoreRead> ReferrerReads(ProgramId program, ParticipantId referrer, Instant eventTime, IReadOnlyList<Fingerprint> customerFingerprints)
    {
        if (!Assesses(program) || _history is not ContractFraudHistory)
        {
            return [];
        }
        var reads = new List<Storage.StoreRead>(2 + customerFingerprints.Count);
        if (Array.Exists(_checks, c => c is VelocityCheck))
        {
            var (from, referrals, conversions) = VelocityCheck.DayCounts(_policies[program], eventTime);
            reads.Add(new Storage.CountRead(Storage.CountKind.Touches, program, referrer, from, eventTime, referrals));
            reads.Add(new Storage.CountRead(Storage.CountKind.CreditedOrders, program, referrer, from, eventTime, conversions));
        }
        foreach (var f in customerFingerprints)
        {
            reads.Add(new Storage.SightingsRead(program, f, eventTime, FraudContext.SightingLimit));
        }
        return reads;
    }

    internal FraudPolicy PolicyOf(ProgramId program) => _policies.GetValueOrDefault(program) ?? FraudPolicy.Default;

    private static string VerdictTag(FraudVerdict v) => v switch
    {
        FraudVerdict.Allow => "allow",
        FraudVerdict.Review => "review",
        _ => "block",
    };

    [LoggerMessage(EventId = 4001, Level = LogLevel.Error, Message = "Fraud check {Check} threw for a conversion of program {Program}; recorded as check-failed")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception, string check, string program);

    /// <summary>The history as the checks read it, remembering the first read that threw (the store's exception).</summary>
    private sealed class GuardedHistory(IFraudHistory inner) : IFraudHistory
    {
        public Exception? Failure { get; private set; }

        // The read is started inside the try: a history may throw before it returns its task.
        private async ValueTask<T> Read<TArgs, T>(TArgs args, Func<IFraudHistory, TArgs, ValueTask<T>> read)
        {
            try
            {
                return await read(inner, args).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is not OperationCanceledException)
            {
                Failure ??= ex;
                throw;
            }
        }

        public ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default) =>
            Read((program, referrer, from, until, limit, cancellationToken), static (h, a) => h.CountReferralsAsync(a.program, a.referrer, a.from, a.until, a.limit, a.cancellationToken));

        public ValueTask<int> CountReferredConversionsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, int limit, CancellationToken cancellationToken = default) =>
            Read((program, referrer, from, until, limit, cancellationToken), static (h, a) => h.CountReferredConversionsAsync(a.program, a.referrer, a.from, a.until, a.limit, a.cancellationToken));

        public ValueTask<ReferredOrderStats> GetReferredOrderStatsAsync(ProgramId program, ParticipantId referrer, CancellationToken cancellationToken = default) =>
            Read((program, referrer, cancellationToken), static (h, a) => h.GetReferredOrderStatsAsync(a.program, a.referrer, a.cancellationToken));

        public ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default) =>
            Read((program, fingerprint, until, limit, cancellationToken), static (h, a) => h.FindSightingsAsync(a.program, a.fingerprint, a.until, a.limit, a.cancellationToken));

        public ValueTask<ParticipantId?> FindFirstReferrerAsync(ProgramId program, ParticipantId participant, CancellationToken cancellationToken = default) =>
            Read((program, participant, cancellationToken), static (h, a) => h.FindFirstReferrerAsync(a.program, a.participant, a.cancellationToken));
    }
}
