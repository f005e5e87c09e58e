using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NodaTime;
using Referrals.Attribution;
using Referrals.Internal;
using Referrals.Notifications;
using Referrals.Pipeline;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Services;

/// <summary>What one pass of <see cref="RewardService.ProcessDueAsync"/> did.</summary>
public readonly struct RewardProcessingResult
{
    internal RewardProcessingResult(int approved, int fulfilled, int failed, int redelivered = 0, int undelivered = 0, int deadLettered = 0)
    {
        Approved = approved;
        Fulfilled = fulfilled;
        Failed = failed;
        Redelivered = redelivered;
        Undelivered = undelivered;
        DeadLettered = deadLettered;
    }

    /// <summary>Rewards approved because their hold ended.</summary>
    public int Approved { get; }

    /// <summary>Rewards the fulfiller delivered.</summary>
    public int Fulfilled { get; }

    /// <summary>Fulfilments that threw; they stay approved and are retried on the next pass.</summary>
    public int Failed { get; }

    /// <summary>
    /// Pending notifications delivered to every notifier not told before: after a notifier failed, or because the process
    /// that committed their change stopped before telling the notifiers (see <see cref="Notifications.PendingNotification"/>).
    /// </summary>
    public int Redelivered { get; }

    /// <summary>Pending notifications tried again that a notifier failed to take again; they wait for a later pass.</summary>
    public int Undelivered { get; }

    /// <summary>Pending notifications whose last allowed attempt failed in this pass: now dead letters.</summary>
    public int DeadLettered { get; }

    /// <summary>True when the pass changed nothing and delivered nothing (what the hosted pass does not log).</summary>
    internal bool IsIdle => Approved == 0 && Fulfilled == 0 && Failed == 0 && Redelivered == 0 && Undelivered == 0 && DeadLettered == 0;
}

/// <summary>
/// Turns attributed conversions into rewards by the program's rules, and runs their lifecycle: pending for the hold
/// period, approved, fulfilled by the host's <see cref="IRewardFulfiller"/>; rejected; cancelled or clawed back on refunds.
/// Every change is a new entry of the append-only ledger. Thread-safe; register once per process.
/// </summary>
/// <remarks>
/// <para>
/// Referral numbers (for tiers and milestones) rank the referrer's counted referrals by event time, then order id,
/// whatever order they arrive in. Caps count the referrer's rewards (not rejected or revoked) whose conversions fall in
/// the same calendar period of the program's time zone, used in event-time order. A late event re-decides the later
/// rewards it changes with new ledger entries. Both hold under concurrency through the store's optimistic versions: a
/// commit that lost a race is evaluated again.
/// </para>
/// <para>Repeat purchases of an already-referred friend earn no rewards.</para>
/// </remarks>
public sealed class RewardService
{
    private readonly ContractRewards _contract;
    private readonly IClock _clock;
    private readonly IRewardFulfiller? _fulfiller;
    private readonly NotificationDispatcher _outbox;
    private readonly ILogger _logger;
    private readonly Dictionary<ProgramId, RewardRuleSet> _rules = new();
    private readonly Dictionary<ProgramId, Fraud.FraudPolicy> _fraud = new();

    /// <summary>
    /// Creates the service on the store (<see cref="IReferralStore"/>); options are validated here as in dependency
    /// injection, which uses this constructor with the registered store.
    /// </summary>
    /// <param name="options">The settings; <see cref="ReferralsOptions.Programs"/> and <see cref="ReferralsOptions.Notifications"/> are read.</param>
    /// <param name="clock">The library's clock.</param>
    /// <param name="store">The store: ledger, reward rows and their due index, summaries, orders and the outbox.</param>
    /// <param name="fulfillers">At most one fulfiller.</param>
    /// <param name="notifiers">The notifiers, told of every change through the outbox.</param>
    /// <param name="logger">The logger, or <see langword="null"/> for none.</param>
    /// <exception cref="OptionsValidationException">A setting is bad; the message names every one.</exception>
    /// <exception cref="ArgumentException">More than one fulfiller is registered.</exception>
    public RewardService(
        IOptions<ReferralsOptions> options,
        IClock clock,
        IReferralStore store,
        IEnumerable<IRewardFulfiller> fulfillers,
        IEnumerable<IReferralNotifier> notifiers,
        ILogger<RewardService>? logger = null)
    {
        var o = Preconditions.CheckNotNull(options).Value;
        ReferralsOptionsValidator.ThrowIfInvalid(o);
        _clock = Preconditions.CheckNotNull(clock);
        Preconditions.CheckNotNull(store);
        var f = Preconditions.CheckNotNull(fulfillers).ToArray();
        Preconditions.CheckArgument(f.Length <= 1, nameof(fulfillers), $"Register at most one IRewardFulfiller; found {f.Length}.");
        _fulfiller = f.FirstOrDefault();
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _outbox = new NotificationDispatcher(new OutboxPort(store), new NotifierSet(notifiers, _logger), o.Notifications, _clock, _logger);
        foreach (var (id, program) in o.Programs)
        {
            var zone = DateTimeZoneProviders.Tzdb[program.TimeZone];
            if (RewardRuleSet.Compile(program.Rewards, zone) is { } rules)
            {
                _rules[new ProgramId(id)] = rules;
            }
            _fraud[new ProgramId(id)] = program.Fraud is null ? Fraud.FraudPolicy.Default : new Fraud.FraudPolicy(program.Fraud);
        }
        _contract = new ContractRewards(store, _rules, _fraud, _fulfiller, _outbox, _clock, _logger);
    }

    /// <summary>The reward lifecycle on the store contract.</summary>
    internal ContractRewards Contract => _contract;

    /// <summary>The compiled reward rules per program.</summary>
    internal IReadOnlyDictionary<ProgramId, RewardRuleSet> Rules => _rules;

    /// <summary>
    /// Decides the rewards of an attribution and records them as pending. Idempotent: the same attribution again
    /// changes nothing. When a re-evaluation moved the credit to another referrer (or took it away), the earlier rewards
    /// are cancelled (or clawed back, if fulfilled) and the new referrer's are decided.
    /// </summary>
    /// <returns>The order's reward decision, or <see langword="null"/> when the program has no reward rules or the order was never referred.</returns>
    /// <exception cref="ArgumentException">The order amount is below 0 or above 1,000,000,000,000 (10^12, as for a conversion).</exception>
    /// <exception cref="ReferralException"><see cref="ReferralErrorCode.ConcurrencyConflict"/>: other writers kept winning.</exception>
    // Internal: a host never calls it, because recording a conversion decides its rewards in the same unit of work.
    internal ValueTask<RewardDecision?> ProcessAttributionAsync(AttributionResult attribution, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(attribution);
        Preconditions.CheckArgument(
            attribution.Amount.Amount is >= 0 and <= AmountLimits.MaxAmount,
            nameof(attribution),
            $"An order amount is 0 to {AmountLimits.MaxAmountText}; got {attribution.Amount}.");
        return ContractDecisionAsync(attribution, cancellationToken);
    }

    // On the store contract the conversion pipeline decides an order's rewards in the unit that records it: an
    // attribution given here is one recorded before, and its stored decision is returned (idempotent).
    private async ValueTask<RewardDecision?> ContractDecisionAsync(AttributionResult attribution, CancellationToken cancellationToken)
    {
        var stored = await _contract.FindAttributionAsync(attribution.Program, attribution.OrderId, cancellationToken).ConfigureAwait(false);
        if (stored is null || stored.Referrer != attribution.Referrer || stored.IsAttributed != attribution.IsAttributed)
        {
            throw new InvalidOperationException(
                $"Order {attribution.OrderId} was not recorded with this attribution: on the store contract, rewards are decided when AttributionService records or re-evaluates the conversion.");
        }
        return await _contract.FindDecisionAsync(attribution.Program, attribution.OrderId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The notification dispatcher (outbox), which the conversion pipeline writes captures to and delivers through.</summary>
    internal NotificationDispatcher Dispatcher => _outbox;

    /// <summary>
    /// Records a refund or charge-back of an order and reverses its rewards: a full refund (or charge-back) cancels the
    /// unfulfilled ones and claws back the fulfilled ones, and the referral stops counting; a partial refund reduces
    /// percentage-based rewards in proportion (fixed rewards stand). Idempotent by refund id. A refund of an order not
    /// recorded yet is kept and applies when the order arrives (<see cref="RefundOutcome.RecordedBeforeOrder"/>, which
    /// says how its currency is checked then).
    /// </summary>
    /// <exception cref="ArgumentException">
    /// The program is a default id; the refund id or order id is blank, longer than 128 characters or holds an unpaired
    /// surrogate or a control character; or a refund (not a charge-back) is of zero or less.
    /// </exception>
    /// <exception cref="ReferralException"><see cref="ReferralErrorCode.ConcurrencyConflict"/>: other writers kept winning.</exception>
    public ValueTask<RefundResult> RecordRefundAsync(Refund refund, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(refund);
        IdentifierRules.CheckSet(refund.Program, nameof(refund));
        IdentifierRules.CheckText(refund.RefundId, IdentifierRules.MaxOrderIdLength, nameof(refund), "A refund id");
        // Kept even before its order arrives: an order id no conversion can have would wait forever.
        IdentifierRules.CheckText(refund.OrderId, IdentifierRules.MaxOrderIdLength, nameof(refund), "An order id");
        Preconditions.CheckArgument(refund.IsChargeback || refund.Amount.Amount > 0, nameof(refund), $"A refund amount must be more than zero; got {refund.Amount}.");
        return _contract.RecordRefundAsync(refund, cancellationToken);
    }

    /// <summary>
    /// One pass of the lifecycle, by the library's clock: delivers the pending notifications that are due (a notifier
    /// failed earlier, or their writer stopped) to the notifiers not yet told, approves every pending reward whose hold
    /// has ended, then hands every approved reward to the fulfiller (when one is registered). Call it from the host's
    /// scheduler (every minute is plenty; <c>AddRewardProcessing</c> does); passes may overlap across processes: the
    /// ledger's unique entry ids keep each step once, and each pass claims the notifications it delivers.
    /// </summary>
    public async ValueTask<RewardProcessingResult> ProcessDueAsync(CancellationToken cancellationToken = default)
    {
        var now = _clock.GetCurrentInstant();
        var (redelivered, undelivered, deadLettered) = await _outbox.RedeliverAsync(now, cancellationToken).ConfigureAwait(false);
        var (approved, fulfilled, failed) = await _contract.ProcessDueAsync(now, cancellationToken).ConfigureAwait(false);
        return new RewardProcessingResult(approved, fulfilled, failed, redelivered, undelivered, deadLettered);
    }

    /// <summary>
    /// The dead-lettered notifications, oldest dead letter first: each with its kind, program, order, entry or touch id,
    /// attempts, first and last attempt, the notifiers told, and the notifiers the last attempt failed for with their
    /// exceptions' types (<see cref="PendingNotification.Failures"/>). They are kept, and not tried again until re-queued
    /// with <see cref="RequeueDeadLetteredNotificationsAsync"/>. Counted as they arise by the
    /// <c>referrals.notifications.dead_lettered</c> metric.
    /// </summary>
    /// <param name="limit">At most this many, 1 to 10,000.</param>
    /// <param name="cancellationToken">Cancels the read.</param>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is out of range.</exception>
    public ValueTask<IReadOnlyList<PendingNotification>> ListDeadLetteredNotificationsAsync(int limit = 100, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckArgumentRange(nameof(limit), limit, 1, 10_000);
        return _outbox.ListDeadLetteredAsync(limit, cancellationToken);
    }

    /// <summary>
    /// Puts dead letters (as listed by <see cref="ListDeadLetteredNotificationsAsync"/>) back in line: due now, with their
    /// attempts counted from zero again, so the next <see cref="ProcessDueAsync"/> tries them — only the notifiers not told
    /// yet — up to <see cref="NotificationOptions.MaxAttempts"/> more times. Fix the failing notifier first.
    /// </summary>
    /// <param name="deadLetters">The dead letters to re-queue; ones that are not dead letters, or changed since they were listed (re-queued or delivered meanwhile), are skipped.</param>
    /// <param name="cancellationToken">Cancels the write.</param>
    /// <returns>How many were re-queued.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="deadLetters"/> or one of them is <see langword="null"/>.</exception>
    public ValueTask<int> RequeueDeadLetteredNotificationsAsync(IReadOnlyList<PendingNotification> deadLetters, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(deadLetters);
        foreach (var n in deadLetters)
        {
            Preconditions.CheckNotNull(n, nameof(deadLetters));
        }
        return _outbox.RequeueAsync(deadLetters, _clock.GetCurrentInstant(), cancellationToken);
    }

    /// <summary>Approves a pending reward before its hold ends (a person decided).</summary>
    /// <returns>The reward after the change, or <see langword="null"/> when there is no such reward or it is not pending.</returns>
    /// <exception cref="ArgumentException"><paramref name="program"/> is a default id.</exception>
    public ValueTask<Reward?> ApproveAsync(ProgramId program, string rewardId, string actor, string reason, CancellationToken cancellationToken = default)
    {
        IdentifierRules.CheckSet(program, nameof(program));
        CheckActor(actor, reason);
        return _contract.AppendStatusAsync(program, Preconditions.CheckNotNull(rewardId), RewardEntryType.Approved, actor, reason, null, cancellationToken);
    }

    /// <summary>Rejects a reward that is not fulfilled yet (fraud, or a person decided): its value is reversed.</summary>
    /// <returns>The reward after the change, or <see langword="null"/> when there is no such reward or it is fulfilled, rejected or revoked.</returns>
    /// <exception cref="ArgumentException"><paramref name="program"/> is a default id.</exception>
    public ValueTask<Reward?> RejectAsync(ProgramId program, string rewardId, string actor, string reason, CancellationToken cancellationToken = default)
    {
        IdentifierRules.CheckSet(program, nameof(program));
        CheckActor(actor, reason);
        return _contract.AppendStatusAsync(program, Preconditions.CheckNotNull(rewardId), RewardEntryType.Rejected, actor, reason, null, cancellationToken);
    }

    /// <summary>The rewards of a program held for fraud review, oldest first.</summary>
    internal ValueTask<List<Reward>> ListUnderReviewAsync(ProgramId program, CancellationToken cancellationToken)
    {
        IdentifierRules.CheckSet(program, nameof(program));
        return _contract.ListUnderReviewAsync(program, cancellationToken);
    }

    /// <summary>Releases (or rejects) every reward of an order held for review; returns the rewards changed.</summary>
    internal ValueTask<IReadOnlyList<Reward>> DecideReviewAsync(ProgramId program, string orderId, bool release, string actor, string reason, CancellationToken cancellationToken)
    {
        IdentifierRules.CheckOrder(program, orderId);
        CheckActor(actor, reason);
        return _contract.DecideReviewAsync(program, orderId, release, actor, reason, cancellationToken);
    }

    /// <summary>A reward by id, or <see langword="null"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="program"/> is a default id.</exception>
    public ValueTask<Reward?> FindRewardAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(rewardId);
        IdentifierRules.CheckSet(program, nameof(program));
        return _contract.FindRewardAsync(program, rewardId, cancellationToken);
    }

    /// <summary>The rewards earned on an order (every revision), oldest first.</summary>
    /// <exception cref="ArgumentException"><paramref name="program"/> is a default id, or <paramref name="orderId"/> no order id (see <see cref="Attribution.Conversion.OrderId"/>).</exception>
    public ValueTask<IReadOnlyList<Reward>> ListOrderRewardsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        IdentifierRules.CheckOrder(program, orderId);
        return _contract.ListOrderRewardsAsync(program, orderId, cancellationToken);
    }

    /// <summary>The reward decision of an order, or <see langword="null"/>.</summary>
    /// <exception cref="ArgumentException"><paramref name="program"/> is a default id, or <paramref name="orderId"/> no order id (see <see cref="Attribution.Conversion.OrderId"/>).</exception>
    public ValueTask<RewardDecision?> FindDecisionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        IdentifierRules.CheckOrder(program, orderId);
        return _contract.FindDecisionAsync(program, orderId, cancellationToken);
    }

    /// <summary>
    /// A participant's rewards in the program (as referrer, upline or referee), oldest conversion first, one page at a
    /// time: pass the last reward of a page as <paramref name="after"/> for the next (<see langword="null"/> for the first).
    /// A page shorter than <paramref name="limit"/> is the last.
    /// </summary>
    /// <exception cref="ArgumentOutOfRangeException"><paramref name="limit"/> is not 1 to 1,000.</exception>
    /// <exception cref="ArgumentException"><paramref name="program"/> or <paramref name="participant"/> is a default id.</exception>
    public ValueTask<IReadOnlyList<Reward>> ListRewardsAsync(ProgramId program, ParticipantId participant, Reward? after = null, int limit = 100, CancellationToken cancellationToken = default)
    {
        IdentifierRules.CheckSet(program, nameof(program));
        IdentifierRules.CheckSet(participant, nameof(participant));
        ArgumentOutOfRangeException.ThrowIfLessThan(limit, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(limit, 1_000);
        return _contract.ListParticipantRewardsAsync(program, participant, after, limit, cancellationToken);
    }

    /// <summary>
    /// A referrer's standing: successful referrals, ladder tier and progress, rewards by status, balance per currency —
    /// read from the participant's account summary, so it costs the same whatever the history; the rewards themselves are
    /// listed by <see cref="ListRewardsAsync"/>.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="program"/> or <paramref name="referrer"/> is a default id.</exception>
    public ValueTask<ReferrerSummary> GetReferrerSummaryAsync(ProgramId program, ParticipantId referrer, CancellationToken cancellationToken = default)
    {
        IdentifierRules.CheckSet(program, nameof(program));
        IdentifierRules.CheckSet(referrer, nameof(referrer));
        return _contract.GetReferrerSummaryAsync(program, referrer, cancellationToken);
    }

    private static void CheckActor(string actor, string reason)
    {
        Preconditions.CheckArgument(!string.IsNullOrWhiteSpace(actor), nameof(actor), "Say who decided.");
        Preconditions.CheckArgument(!string.IsNullOrWhiteSpace(reason), nameof(reason), "Say why.");
    }
}
