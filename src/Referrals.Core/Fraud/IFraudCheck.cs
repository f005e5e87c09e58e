using NodaTime;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Privacy;

namespace Referrals.Fraud;

/// <summary>
/// A fraud check: looks at one referred conversion in its context and reports signals. The program's policy adds the
/// signals' scores up into a verdict. Register with <c>AddReferrals(...).AddFraudCheck&lt;T&gt;()</c>; the built-ins
/// (<see cref="FraudCheckNames"/>) run unless removed with <c>RemoveFraudCheck(name)</c>.
/// </summary>
/// <remarks>
/// A check reports what it saw and lets its exceptions propagate: the library catches them, logs and counts them, and
/// records a <see cref="FraudSignalNames.CheckFailed"/> signal, so a failing check never fails the conversion. Checks are
/// singletons called concurrently. Evidence must not contain raw personal data.
/// </remarks>
public interface IFraudCheck
{
    /// <summary>A short stable name (<c>self-referral</c>), used in logs and to remove the check.</summary>
    string Name { get; }

    /// <summary>Adds a signal to <paramref name="signals"/> for everything suspicious about the conversion.</summary>
    ValueTask CheckAsync(FraudContext context, FraudSignalSink signals, CancellationToken cancellationToken);
}

/// <summary>The names of the built-in checks, for <c>RemoveFraudCheck</c>.</summary>
public static class FraudCheckNames
{
    /// <summary>Self-referral by participant, e-mail, phone, payment method, device, shipping address, IP and user agent.</summary>
    public const string SelfReferral = "self-referral";

    /// <summary>The friend's e-mail address is at a disposable-mail domain.</summary>
    public const string DisposableEmail = "disposable-email";

    /// <summary>Referrals and conversions per referrer per hour and day; friends per device or IP address per day.</summary>
    public const string Velocity = "velocity";

    /// <summary>Referral cycles and accounts of one referral network sharing a device or payment method.</summary>
    public const string Ring = "ring";

    /// <summary>A referrer whose referred orders are refunded above a rate.</summary>
    public const string RefundAbuse = "refund-abuse";
}

/// <summary>Collects the signals of the checks for one assessment, weighted by the program's policy.</summary>
public sealed class FraudSignalSink
{
    private readonly FraudPolicy _policy;
    private List<FraudSignal>? _signals;

    internal FraudSignalSink(FraudPolicy policy) => _policy = policy;

    internal IReadOnlyList<FraudSignal> Signals => _signals ?? (IReadOnlyList<FraudSignal>)[];

    /// <summary>
    /// Reports a signal. Its score is the program's <see cref="FraudPolicyOptions.Scores"/> entry for
    /// <paramref name="name"/> if there is one (0 drops the signal), else <paramref name="defaultScore"/>.
    /// </summary>
    /// <param name="name">A stable dotted name (<c>my-check.something</c>).</param>
    /// <param name="defaultScore">The weight unless the program sets one; 0 to 1,000.</param>
    /// <param name="evidence">What was seen, for a support agent; no raw personal data.</param>
    public void Add(string name, int defaultScore, string evidence)
    {
        Internal.Preconditions.CheckArgument(!string.IsNullOrWhiteSpace(name), nameof(name), "A signal needs a name.");
        Internal.Preconditions.CheckArgument(defaultScore is >= 0 and <= 1000, nameof(defaultScore), $"A score is 0 to 1,000; got {defaultScore}.");
        Internal.Preconditions.CheckNotNull(evidence);
        int score = _policy.ScoreOf(name, defaultScore);
        if (score > 0 || name == FraudSignalNames.CheckFailed)
        {
            (_signals ??= []).Add(new FraudSignal(name, score, evidence));
        }
    }

    /// <summary>Reports a built-in signal with its default score.</summary>
    internal void Add(string name, string evidence) => Add(name, FraudSignalNames.DefaultScores[name], evidence);
}

/// <summary>
/// What a check sees of one referred conversion: flat facts of the order and the credit attribution decided, the
/// registrations of both sides, and the program's history (<see cref="History"/>).
/// </summary>
public sealed class FraudContext
{
    internal const int SightingLimit = 64;
    private Dictionary<Fingerprint, IReadOnlyList<FingerprintSighting>>? _sightings;

    internal FraudContext(in FraudCase facts, FraudPolicy policy, IFraudHistory history, int maxChainDepth)
    {
        Program = facts.Program;
        OrderId = facts.OrderId;
        Customer = facts.Customer;
        Referrer = facts.Referrer;
        Amount = facts.Amount;
        EventTime = facts.EventTime;
        Chain = facts.Chain;
        Code = facts.Code;
        CustomerParticipant = facts.CustomerParticipant;
        ReferrerParticipant = facts.ReferrerParticipant;
        CustomerContacts = facts.CustomerContacts;
        CustomerFingerprints = facts.CustomerFingerprints;
        ReferrersFirstReferrer = facts.ReferrersFirstReferrer;
        Policy = policy;
        History = history;
        MaxChainDepth = maxChainDepth;
    }

    /// <summary>The program.</summary>
    public ProgramId Program { get; }

    /// <summary>The order being assessed (the host's order id).</summary>
    public string OrderId { get; }

    /// <summary>The friend who converted (the host's customer id).</summary>
    public ParticipantId Customer { get; }

    /// <summary>The referrer credited.</summary>
    public ParticipantId Referrer { get; }

    /// <summary>The order amount.</summary>
    public Money Amount { get; }

    /// <summary>When the order happened (its event time, not when it was recorded).</summary>
    public Instant EventTime { get; }

    /// <summary>The referrers credited, level 1 (<see cref="Referrer"/>) first, then whoever referred them, and so on up.</summary>
    public IReadOnlyList<ParticipantId> Chain { get; }

    /// <summary>The code of the winning touch, or <see langword="null"/> for a contact look-up.</summary>
    public ReferralCode? Code { get; }

    /// <summary>The friend's registration, or <see langword="null"/> when the host never registered them.</summary>
    public Participant? CustomerParticipant { get; }

    /// <summary>The referrer's registration, or <see langword="null"/>.</summary>
    public Participant? ReferrerParticipant { get; }

    /// <summary>The friend's contact hashes: the conversion's and the registration's, each once.</summary>
    public IReadOnlyList<ContactHash> CustomerContacts { get; }

    /// <summary>The friend's fingerprints: the conversion's and the registration's, each once.</summary>
    public IReadOnlyList<Fingerprint> CustomerFingerprints { get; }

    /// <summary>The history of the program: counts per referrer, refunds, fingerprint sightings, who referred whom.</summary>
    public IFraudHistory History { get; }

    internal FraudPolicy Policy { get; }

    /// <summary>
    /// Who referred the referrer first, when attribution read it already (building the chain), so the ring check does not
    /// read it again; <see langword="null"/> when not read.
    /// </summary>
    internal System.Runtime.CompilerServices.StrongBox<ParticipantId?>? ReferrersFirstReferrer { get; }

    internal int MaxChainDepth { get; }

    /// <summary>
    /// Who was seen with a fingerprint (<see cref="IFraudHistory.FindSightingsAsync"/>) before this conversion: registrations,
    /// then up to 64 conversions, latest first. Read once per assessment and shared by the checks.
    /// </summary>
    public async ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(Fingerprint fingerprint, CancellationToken cancellationToken = default)
    {
        _sightings ??= [];
        if (_sightings.TryGetValue(fingerprint, out var found))
        {
            return found;
        }
        found = await History.FindSightingsAsync(Program, fingerprint, EventTime, SightingLimit, cancellationToken).ConfigureAwait(false);
        _sightings[fingerprint] = found;
        return found;
    }
}
