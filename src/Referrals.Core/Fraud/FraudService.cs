using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NodaTime;
using Referrals.Attribution;
using Referrals.Internal;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Storage;

namespace Referrals.Fraud;

/// <summary>
/// Runs the fraud checks on every referred conversion and turns their signals into a verdict by the program's policy
/// (<see cref="FraudPolicyOptions"/>). <see cref="AttributionService"/> calls it when it is registered (dependency
/// injection does); the assessment is stored on the attribution (<see cref="AttributionResult.Fraud"/>). Thread-safe.
/// </summary>
public sealed partial class FraudService
{
    private readonly Dictionary<ProgramId, FraudPolicy> _policies = new();
    private readonly Dictionary<ProgramId, int> _depths = new();
    private readonly IFraudCheck[] _checks;
    private readonly IFraudStore _store;
    private readonly IConversionStore _conversions;
    private readonly IParticipantStore _participants;
    private readonly IClock _clock;
    private readonly ILogger _logger;

    /// <summary>Creates the service; options are validated here as in dependency injection.</summary>
    /// <exception cref="OptionsValidationException">A setting is bad; the message names every one.</exception>
    /// <exception cref="ArgumentException">Two checks have the same name.</exception>
    public FraudService(
        IOptions<ReferralsOptions> options,
        IClock clock,
        IFraudStore store,
        IConversionStore conversions,
        IParticipantStore participants,
        IEnumerable<IFraudCheck> checks,
        ILogger<FraudService>? logger = null)
    {
        var o = Preconditions.CheckNotNull(options).Value;
        ReferralsOptionsValidator.ThrowIfInvalid(o);
        _clock = Preconditions.CheckNotNull(clock);
        _store = Preconditions.CheckNotNull(store);
        _conversions = Preconditions.CheckNotNull(conversions);
        _participants = Preconditions.CheckNotNull(participants);
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

    /// <summary>The names of the checks that run, in order.</summary>
    public IReadOnlyList<string> CheckNames => _checks.Select(c => c.Name).ToArray();

    /// <summary>
    /// Assesses a credited conversion, or returns <see langword="null"/> when the program's policy is off or no check is
    /// registered. A check that throws is logged, counted and recorded as a <see cref="FraudSignalNames.CheckFailed"/> signal.
    /// </summary>
    /// <param name="conversion">The conversion.</param>
    /// <param name="credit">The credit attribution decided.</param>
    /// <param name="customer">The friend's registration, if any.</param>
    /// <param name="customerContacts">The friend's contact hashes (conversion's and registration's), as attribution read them.</param>
    /// <param name="referrersFirst">The referrer's first credited attribution, when the caller read it already.</param>
    /// <param name="ct">Cancels the assessment.</param>
    internal async ValueTask<FraudAssessment?> AssessAsync(
        Conversion conversion,
        AttributionResult credit,
        Participant? customer,
        IReadOnlyList<ContactHash> customerContacts,
        System.Runtime.CompilerServices.StrongBox<AttributionResult?>? referrersFirst,
        CancellationToken ct)
    {
        if (_checks.Length == 0 || !_policies.TryGetValue(conversion.Program, out var policy) || !policy.Enabled || credit.Referrer is not { } referrer)
        {
            return null;
        }
        var referrerParticipant = await _participants.FindParticipantAsync(referrer, ct).ConfigureAwait(false);
        var context = new FraudContext(
            conversion,
            credit,
            customer,
            referrerParticipant,
            customerContacts,
            Union(conversion.Fingerprints, customer?.Fingerprints),
            policy,
            _store,
            _conversions,
            _depths[conversion.Program])
        {
            ReferrersFirstAttribution = referrersFirst,
        };
        var sink = new FraudSignalSink(policy);
        foreach (var check in _checks)
        {
            try
            {
                await check.CheckAsync(context, sink, ct).ConfigureAwait(false);
            }
#pragma warning disable CA1031 // a failing check is logged, counted and shown; it never fails the conversion
            catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
            {
                ReferralsTelemetry.FraudCheckFailures.Add(1);
                LogCheckFailed(_logger, ex, check.Name, conversion.Program.Value);
                sink.Add(FraudSignalNames.CheckFailed, 0, $"check '{check.Name}' failed with {ex.GetType().Name}; see the log");
            }
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

    internal FraudPolicy PolicyOf(ProgramId program) => _policies.GetValueOrDefault(program) ?? FraudPolicy.Default;

    private static string VerdictTag(FraudVerdict v) => v switch
    {
        FraudVerdict.Allow => "allow",
        FraudVerdict.Review => "review",
        _ => "block",
    };

    private static IReadOnlyList<T> Union<T>(IReadOnlyList<T> first, IReadOnlyList<T>? second)
    {
        if (second is null || second.Count == 0)
        {
            return first;
        }
        if (first.Count == 0)
        {
            return second;
        }
        var all = new List<T>(first.Count + second.Count);
        all.AddRange(first);
        foreach (var x in second)
        {
            if (!all.Contains(x))
            {
                all.Add(x);
            }
        }
        return all;
    }

    [LoggerMessage(EventId = 4001, Level = LogLevel.Error, Message = "Fraud check {Check} threw for a conversion of program {Program}; recorded as check-failed")]
    private static partial void LogCheckFailed(ILogger logger, Exception exception, string check, string program);
}
