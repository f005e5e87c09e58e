using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NodaTime;
using Referrals.Attribution;
using Referrals.Internal;
using Referrals.Notifications;
using Referrals.Pipeline;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Services;

/// <summary>What one pass of <see cref="RewardService.ProcessDueAsync"/> did.</summary>
/// <param name="Approved">Rewards approved because their hold ended.</param>
/// <param name="Fulfilled">Rewards the fulfiller delivered.</param>
/// <param name="Failed">Fulfilments that threw; they stay approved and are retried on the next pass.</param>
/// <param name="Redelivered">
/// Pending notifications delivered to every notifier not told before: after a notifier failed, or because the process
/// that committed their change stopped before telling the notifiers (see <see cref="Notifications.PendingNotification"/>).
/// </param>
/// <param name="Undelivered">Pending notifications tried again that a notifier failed to take again; they wait for a later pass.</param>
/// <param name="DeadLettered">Pending notifications whose last allowed attempt failed in this pass: now dead letters.</param>
public readonly record struct RewardProcessingResult(int Approved, int Fulfilled, int Failed, int Redelivered = 0, int Undelivered = 0, int DeadLettered = 0);

/// <summary>
/// Turns attributed conversions into rewards by the program's rules, and runs their lifecycle: pending for the hold
/// period, approved, fulfilled by the host's <see cref="IRewardFulfiller"/>; rejected; cancelled or clawed back on refunds.
/// Every change is a new entry of the append-only ledger. Thread-safe; register once per process.
/// </summary>
/// <remarks>
/// <para>
/// Referral numbers (for tiers and milestones) count the referrer's successful referrals in the order their rewards were
/// decided. Caps count the referrer's rewards (not rejected or revoked) whose conversions fall in the same calendar period
/// of the program's time zone. Both hold under concurrency through the store's optimistic versions: a commit that lost a
/// race is evaluated again.
/// </para>
/// <para>Repeat purchases of an already-referred friend earn no rewards.</para>
/// </remarks>
public sealed partial class RewardService
{
    private const int MaxAttempts = 16;

    private readonly IRewardStore _store = null!;
    private readonly IConversionStore _conversions = null!;
    private readonly ContractRewards? _contract;
    private readonly IClock _clock;
    private readonly IRewardFulfiller? _fulfiller;
    private readonly NotificationDispatcher _outbox;
    private readonly ILogger _logger;
    private readonly Dictionary<ProgramId, RewardRuleSet> _rules = new();
    private readonly Dictionary<ProgramId, Fraud.FraudPolicy> _fraud = new();

    /// <summary>Creates the service; options are validated here as in dependency injection.</summary>
    /// <param name="options">The settings; <see cref="ReferralsOptions.Programs"/> and <see cref="ReferralsOptions.Notifications"/> are read.</param>
    /// <param name="clock">The library's clock.</param>
    /// <param name="store">The reward ledger and the notification outbox.</param>
    /// <param name="conversions">The attributions, read to deliver "conversion decided" notifications again.</param>
    /// <param name="fulfillers">At most one fulfiller.</param>
    /// <param name="notifiers">The notifiers, told of every change through the outbox.</param>
    /// <param name="logger">Optional.</param>
    /// <param name="touches">
    /// The touches, read to deliver "referral captured" notifications again; dependency injection passes the registered
    /// store. Without it, an <see cref="AttributionService"/> using this service tells notifiers of captures once,
    /// directly, without the outbox (a notifier that throws then misses the capture).
    /// </param>
    /// <exception cref="OptionsValidationException">A setting is bad; the message names every one.</exception>
    /// <exception cref="ArgumentException">More than one fulfiller is registered.</exception>
    public RewardService(
        IOptions<ReferralsOptions> options,
        IClock clock,
        IRewardStore store,
        IConversionStore conversions,
        IEnumerable<IRewardFulfiller> fulfillers,
        IEnumerable<IReferralNotifier> notifiers,
        ILogger<RewardService>? logger = null,
        ITouchStore? touches = null)
    {
        var o = Preconditions.CheckNotNull(options).Value;
        ReferralsOptionsValidator.ThrowIfInvalid(o);
        _clock = Preconditions.CheckNotNull(clock);
        _store = Preconditions.CheckNotNull(store);
        _conversions = Preconditions.CheckNotNull(conversions);
        var f = Preconditions.CheckNotNull(fulfillers).ToArray();
        Preconditions.CheckArgument(f.Length <= 1, nameof(fulfillers), $"Register at most one IRewardFulfiller; found {f.Length}.");
        _fulfiller = f.FirstOrDefault();
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _outbox = new NotificationDispatcher(new StoreOutboxPort(_store, _conversions, touches), new NotifierSet(notifiers, _logger), o.Notifications, _clock, _logger);
        foreach (var (id, program) in o.Programs)
        {
            var zone = DateTimeZoneProviders.Tzdb[program.TimeZone];
            if (RewardRuleSet.Compile(program.Rewards, zone) is { } rules)
            {
                _rules[new ProgramId(id)] = rules;
            }
            _fraud[new ProgramId(id)] = program.Fraud is null ? Fraud.FraudPolicy.Default : new Fraud.FraudPolicy(program.Fraud);
        }
    }

    /// <summary>
    /// Creates the service on the narrow store contract (<see cref="IReferralStore"/>); options are validated here as in
    /// dependency injection, which uses this constructor when an <see cref="IReferralStore"/> is registered.
    /// </summary>
    /// <param name="options">The settings; <see cref="ReferralsOptions.Programs"/> and <see cref="ReferralsOptions.Notifications"/> are read.</param>
    /// <param name="clock">The library's clock.</param>
    /// <param name="store">The store: ledger, reward rows and their due index, summaries, orders and the outbox.</param>
    /// <param name="fulfillers">At most one fulfiller.</param>
    /// <param name="notifiers">The notifiers, told of every change through the outbox.</param>
    /// <param name="logger">The logger, or <see langword="null"/> for none.</param>
    /// <exception cref="OptionsValidationException">A setting is bad; the message names every one.</exception>
    /// <exception cref="ArgumentException">More than one fulfiller is registered.</exception>
    internal RewardService(
        IOptions<ReferralsOptions> options,
        IClock clock,
        IReferralStore store,
        IEnumerable<IRewardFulfiller> fulfillers,
        IEnumerable<IReferralNotifier> notifiers,
        ILogger<RewardService>? logger)
    {
        var o = Preconditions.CheckNotNull(options).Value;
        ReferralsOptionsValidator.ThrowIfInvalid(o);
        _clock = Preconditions.CheckNotNull(clock);
        Preconditions.CheckNotNull(store);
        var f = Preconditions.CheckNotNull(fulfillers).ToArray();
        Preconditions.CheckArgument(f.Length <= 1, nameof(fulfillers), $"Register at most one IRewardFulfiller; found {f.Length}.");
        _fulfiller = f.FirstOrDefault();
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _outbox = new NotificationDispatcher(new ContractOutboxPort(store), new NotifierSet(notifiers, _logger), o.Notifications, _clock, _logger);
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

    /// <summary>The reward lifecycle on the narrow contract, or <see langword="null"/> on today's stores.</summary>
    internal ContractRewards? Contract => _contract;

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
    public ValueTask<RewardDecision?> ProcessAttributionAsync(AttributionResult attribution, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(attribution);
        Preconditions.CheckArgument(
            attribution.Amount.Amount is >= 0 and <= AmountLimits.MaxAmount,
            nameof(attribution),
            $"An order amount is 0 to {AmountLimits.MaxAmountText}; got {attribution.Amount}.");
        if (_contract is not null)
        {
            return ContractDecisionAsync(attribution, cancellationToken);
        }
        return CommitDecisionAsync(attribution, saveWith: null, report: null, deliveries: null, cancellationToken);
    }

    // On the narrow contract the conversion pipeline decides an order's rewards in the unit that records it: an
    // attribution given here is one recorded before, and its stored decision is returned (idempotent).
    private async ValueTask<RewardDecision?> ContractDecisionAsync(AttributionResult attribution, CancellationToken cancellationToken)
    {
        var stored = await _contract!.FindAttributionAsync(attribution.Program, attribution.OrderId, cancellationToken).ConfigureAwait(false);
        if (stored is null || stored.Referrer != attribution.Referrer || stored.IsAttributed != attribution.IsAttributed)
        {
            throw new InvalidOperationException(
                $"Order {attribution.OrderId} was not recorded with this attribution: on the store contract, rewards are decided when AttributionService records or re-evaluates the conversion.");
        }
        return await _contract.FindDecisionAsync(attribution.Program, attribution.OrderId, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>The store of the rewards, for composing the conversion pipeline's stores (<see cref="ReferralStores.Compose"/>).</summary>
    internal IRewardStore Store => _store;

    /// <summary>The notification dispatcher (outbox), which the conversion pipeline writes captures to and delivers through.</summary>
    internal NotificationDispatcher Dispatcher => _outbox;

    /// <summary>
    /// Stages 3 and 4 of the conversion pipeline for a decided conversion: plans its rewards and commits them, in one
    /// ledger commit with <paramref name="saveWith"/> (the attribution, when the store keeps attributions with rewards)
    /// and the pending notifications of the rewards and of <paramref name="report"/> (the decision, unless a repair pass
    /// keeps quiet). What to tell is added to <paramref name="deliveries"/> (told after the caller's unit commits), or,
    /// without it, told now.
    /// </summary>
    internal async ValueTask<RewardDecision?> CommitDecisionAsync(
        AttributionResult attribution,
        AttributionResult? saveWith,
        AttributionResult? report,
        Deliveries? deliveries,
        CancellationToken cancellationToken)
    {
        bool together = saveWith is not null;
        var decided = report;
        _rules.TryGetValue(attribution.Program, out var rules);
        ParticipantId? referrer = attribution is { IsAttributed: true, IsRepeat: false } ? attribution.Referrer : null;
        for (int attempt = 1; ; attempt++)
        {
            var previous = rules is null ? null : await _store.FindDecisionAsync(attribution.Program, attribution.OrderId, cancellationToken).ConfigureAwait(false);
            bool unchanged = rules is null
                || (previous is null && referrer is null)
                || (previous is not null && previous.Referrer == referrer && (referrer is null || previous.Chain.SequenceEqual(attribution.Chain)));
            var work = new Work(this, attribution.Program, _clock.GetCurrentInstant(), cancellationToken);
            RewardDecision? decision = null;
            if (unchanged)
            {
                // Decided before on the same credit (or nothing to reward): no reward is written.
                if (!together)
                {
                    // The attribution was saved on its own: the decision's notification is written on its own too.
                    var alone = _outbox.Plan(attribution.Program, [], decided, work.Now);
                    if (alone.Count > 0)
                    {
                        await _outbox.WriteAsync(alone[0], cancellationToken).ConfigureAwait(false);
                    }
                    await DeliverAsync([], decided, alone, deliveries, cancellationToken).ConfigureAwait(false);
                    return previous;
                }
            }
            else
            {
                if (previous is not null)
                {
                    await work.ReverseOrderAsync(attribution.OrderId, RewardEntryType.Cancelled, "re-attributed", ":reattributed" + previous.Revision).ConfigureAwait(false);
                    if (previous.Referrer is { } old)
                    {
                        await work.LoadAsync(old).ConfigureAwait(false);
                    }
                }
                decision = referrer is { } r
                    ? await DecideAsync(work, rules!, attribution, r, (previous?.Revision ?? 0) + 1).ConfigureAwait(false)
                    : new RewardDecision { Program = attribution.Program, OrderId = attribution.OrderId, Revision = previous!.Revision + 1, DecidedAt = work.Now };
            }
            var planned = _outbox.Plan(attribution.Program, work.Entries, decided, work.Now);
            var outcome = await work.CommitAsync(decision, previous?.Revision ?? 0, refund: null, saveWith, planned).ConfigureAwait(false);
            if (outcome == RewardCommitOutcome.Committed)
            {
                ReferralsTelemetry.RewardsEarned.Add(work.Entries.Count(e => e.Type == RewardEntryType.Earned));
                await DeliverAsync(work.Entries, decided, planned, deliveries, cancellationToken).ConfigureAwait(false);
                return decision ?? previous;
            }
            CheckAttempts(attempt, $"rewards of order {attribution.OrderId}");
        }
    }

    /// <summary>Tells the notifiers of a committed change now, or after the unit of work it is part of commits.</summary>
    private ValueTask DeliverAsync(
        IReadOnlyList<RewardEntry> entries,
        AttributionResult? decided,
        IReadOnlyList<PendingNotification> planned,
        Deliveries? deliveries,
        CancellationToken cancellationToken)
    {
        if (deliveries is null)
        {
            return _outbox.DeliverAsync(entries, decided, planned, cancellationToken);
        }
        for (int i = 0; i < planned.Count; i++)
        {
            deliveries.Add(planned[i], i < entries.Count ? entries[i] : decided!);
        }
        return ValueTask.CompletedTask;
    }

    /// <summary>
    /// Records a refund or charge-back of an order and reverses its rewards: a full refund (or charge-back) cancels the
    /// unfulfilled ones and claws back the fulfilled ones, and the referral stops counting; a partial refund reduces
    /// percentage-based rewards in proportion (fixed rewards stand). Idempotent by refund id.
    /// </summary>
    /// <exception cref="ReferralException"><see cref="ReferralErrorCode.ConcurrencyConflict"/>: other writers kept winning.</exception>
    public async ValueTask<RefundResult> RecordRefundAsync(Refund refund, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(refund);
        Preconditions.CheckArgument(!string.IsNullOrWhiteSpace(refund.RefundId) && refund.RefundId.Length <= 128, nameof(refund), $"A refund id is 1 to 128 characters; got '{refund.RefundId}'.");
        Preconditions.CheckArgument(refund.IsChargeback || refund.Amount.Amount > 0, nameof(refund), $"A refund amount must be more than zero; got {refund.Amount}.");
        if (_contract is not null)
        {
            return await _contract.RecordRefundAsync(refund, cancellationToken).ConfigureAwait(false);
        }
        var conversion = await _conversions.FindConversionAsync(refund.Program, refund.OrderId, cancellationToken).ConfigureAwait(false);
        if (conversion is null)
        {
            return new RefundResult(RefundOutcome.UnknownOrder, [], null);
        }
        if (!refund.IsChargeback && refund.Amount.Currency != conversion.Amount.Currency)
        {
            return new RefundResult(RefundOutcome.CurrencyMismatch, [], null);
        }
        for (int attempt = 1; ; attempt++)
        {
            var earlier = await _store.ListRefundsAsync(refund.Program, refund.OrderId, cancellationToken).ConfigureAwait(false);
            if (earlier.Any(x => x.RefundId == refund.RefundId))
            {
                return new RefundResult(RefundOutcome.Duplicate, [], Refunded(conversion.Amount, earlier));
            }
            var total = Refunded(conversion.Amount, [.. earlier, refund]);
            var work = new Work(this, refund.Program, _clock.GetCurrentInstant(), cancellationToken);
            var decision = await _store.FindDecisionAsync(refund.Program, refund.OrderId, cancellationToken).ConfigureAwait(false);
            await work.ApplyRefundsAsync(refund.OrderId, conversion.Amount, total, ":refund:" + refund.RefundId, "refund " + refund.RefundId).ConfigureAwait(false);
            RewardDecision? next = null;
            if (decision is { Counted: true } && total.Amount >= conversion.Amount.Amount)
            {
                next = decision with { Revision = decision.Revision + 1, Counted = false, DecidedAt = work.Now };
                await work.LoadAsync(decision.Referrer!.Value).ConfigureAwait(false);
            }
            var planned = _outbox.Plan(refund.Program, work.Entries, null, work.Now);
            var outcome = await work.CommitAsync(next, decision?.Revision ?? 0, refund, null, planned).ConfigureAwait(false);
            if (outcome == RewardCommitOutcome.Committed)
            {
                await _outbox.DeliverAsync(work.Entries, null, planned, cancellationToken).ConfigureAwait(false);
                return new RefundResult(RefundOutcome.Recorded, work.Entries, total);
            }
            // A duplicate is the same refund id written by another caller since we read: the loop's first check reports it.
            CheckAttempts(attempt, $"refund {refund.RefundId}");
        }
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
        int approved = 0, fulfilled = 0, failed = 0;
        var now = _clock.GetCurrentInstant();
        var (redelivered, undelivered, deadLettered) = await _outbox.RedeliverAsync(now, cancellationToken).ConfigureAwait(false);
        if (_contract is not null)
        {
            (approved, fulfilled, failed) = await _contract.ProcessDueAsync(now, cancellationToken).ConfigureAwait(false);
            return new RewardProcessingResult(approved, fulfilled, failed, redelivered, undelivered, deadLettered);
        }
        foreach (var program in _rules.Keys)
        {
            var open = Reward.FoldAll(await _store.ListOpenEntriesAsync(program, cancellationToken).ConfigureAwait(false));
            var policy = _fraud.GetValueOrDefault(program) ?? Fraud.FraudPolicy.Default;
            foreach (var reward in open)
            {
                var current = reward;
                if (current.UnderReview)
                {
                    // Nothing held for review pays out silently: only the program's deadline rule may act without a person.
                    if (policy.ReviewDeadline is not { } deadline || current.CreatedAt + deadline > now || policy.AfterReviewDeadline == Fraud.ReviewDeadlineAction.KeepHolding)
                    {
                        continue;
                    }
                    var type = policy.AfterReviewDeadline == Fraud.ReviewDeadlineAction.Release ? RewardEntryType.Released : RewardEntryType.Rejected;
                    var decided = await AppendStatusAsync(current, type, "review deadline", $"not reviewed within {deadline}", null, cancellationToken).ConfigureAwait(false);
                    if (decided is not { Status: RewardStatus.Pending, UnderReview: false })
                    {
                        continue;
                    }
                    current = decided;
                }
                if (current.Status == RewardStatus.Pending && current.Terms.HoldUntil <= now)
                {
                    var done = await AppendStatusAsync(current, RewardEntryType.Approved, null, "hold ended", null, cancellationToken).ConfigureAwait(false);
                    if (done is not { Status: RewardStatus.Approved })
                    {
                        continue;
                    }
                    approved++;
                    current = done;
                }
                if (current.Status != RewardStatus.Approved || _fulfiller is null)
                {
                    continue;
                }
                string? reference;
                try
                {
                    reference = await _fulfiller.FulfilAsync(current, cancellationToken).ConfigureAwait(false);
                }
#pragma warning disable CA1031 // a failing fulfiller leaves the reward approved for the next pass
                catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
                {
                    failed++;
                    ReferralsTelemetry.FulfilmentFailures.Add(1);
                    LogFulfilmentFailed(_logger, ex, current.Id);
                    continue;
                }
                if (await AppendStatusAsync(current, RewardEntryType.Fulfilled, null, null, reference, cancellationToken, force: true).ConfigureAwait(false) is not null)
                {
                    fulfilled++;
                    ReferralsTelemetry.RewardsFulfilled.Add(1);
                }
            }
        }
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
    public async ValueTask<Reward?> ApproveAsync(ProgramId program, string rewardId, string actor, string reason, CancellationToken cancellationToken = default)
    {
        CheckActor(actor, reason);
        if (_contract is not null)
        {
            return await _contract.AppendStatusAsync(program, Preconditions.CheckNotNull(rewardId), RewardEntryType.Approved, actor, reason, null, cancellationToken).ConfigureAwait(false);
        }
        var reward = await FindRewardAsync(program, rewardId, cancellationToken).ConfigureAwait(false);
        return reward is { Status: RewardStatus.Pending }
            ? await AppendStatusAsync(reward, RewardEntryType.Approved, actor, reason, null, cancellationToken).ConfigureAwait(false)
            : null;
    }

    /// <summary>Rejects a reward that is not fulfilled yet (fraud, or a person decided): its value is reversed.</summary>
    /// <returns>The reward after the change, or <see langword="null"/> when there is no such reward or it is fulfilled, rejected or revoked.</returns>
    public async ValueTask<Reward?> RejectAsync(ProgramId program, string rewardId, string actor, string reason, CancellationToken cancellationToken = default)
    {
        CheckActor(actor, reason);
        if (_contract is not null)
        {
            return await _contract.AppendStatusAsync(program, Preconditions.CheckNotNull(rewardId), RewardEntryType.Rejected, actor, reason, null, cancellationToken).ConfigureAwait(false);
        }
        var reward = await FindRewardAsync(program, rewardId, cancellationToken).ConfigureAwait(false);
        return reward is { Status: RewardStatus.Pending or RewardStatus.Approved }
            ? await AppendStatusAsync(reward, RewardEntryType.Rejected, actor, reason, null, cancellationToken).ConfigureAwait(false)
            : null;
    }

    /// <summary>The rewards of a program held for fraud review, oldest first.</summary>
    internal async ValueTask<List<Reward>> ListUnderReviewAsync(ProgramId program, CancellationToken cancellationToken)
    {
        if (_contract is not null)
        {
            return await _contract.ListUnderReviewAsync(program, cancellationToken).ConfigureAwait(false);
        }
        var open = Reward.FoldAll(await _store.ListOpenEntriesAsync(program, cancellationToken).ConfigureAwait(false));
        return open.Where(r => r.UnderReview).ToList();
    }

    /// <summary>Releases (or rejects) every reward of an order held for review; returns the rewards changed.</summary>
    internal async ValueTask<IReadOnlyList<Reward>> DecideReviewAsync(ProgramId program, string orderId, bool release, string actor, string reason, CancellationToken cancellationToken)
    {
        CheckActor(actor, reason);
        if (_contract is not null)
        {
            return await _contract.DecideReviewAsync(program, orderId, release, actor, reason, cancellationToken).ConfigureAwait(false);
        }
        var changed = new List<Reward>();
        foreach (var reward in await ListOrderRewardsAsync(program, orderId, cancellationToken).ConfigureAwait(false))
        {
            if (!reward.UnderReview)
            {
                continue;
            }
            var after = await AppendStatusAsync(reward, release ? RewardEntryType.Released : RewardEntryType.Rejected, actor, reason, null, cancellationToken).ConfigureAwait(false);
            if (after is not null)
            {
                changed.Add(after);
            }
        }
        return changed;
    }

    /// <summary>A reward by id, or <see langword="null"/>.</summary>
    public async ValueTask<Reward?> FindRewardAsync(ProgramId program, string rewardId, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(rewardId);
        if (_contract is not null)
        {
            return await _contract.FindRewardAsync(program, rewardId, cancellationToken).ConfigureAwait(false);
        }
        var entries = await _store.ListRewardEntriesAsync(program, rewardId, cancellationToken).ConfigureAwait(false);
        return entries.Count > 0 && entries[0].Type == RewardEntryType.Earned ? Reward.Fold(entries) : null;
    }

    /// <summary>The rewards earned on an order (every revision), oldest first.</summary>
    public async ValueTask<IReadOnlyList<Reward>> ListOrderRewardsAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(orderId);
        if (_contract is not null)
        {
            return await _contract.ListOrderRewardsAsync(program, orderId, cancellationToken).ConfigureAwait(false);
        }
        return Reward.FoldAll(await _store.ListOrderEntriesAsync(program, orderId, cancellationToken).ConfigureAwait(false));
    }

    /// <summary>The reward decision of an order, or <see langword="null"/>.</summary>
    public ValueTask<RewardDecision?> FindDecisionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default) =>
        _contract is not null
            ? _contract.FindDecisionAsync(program, Preconditions.CheckNotNull(orderId), cancellationToken)
            : _store.FindDecisionAsync(program, Preconditions.CheckNotNull(orderId), cancellationToken);

    /// <summary>A referrer's standing: successful referrals, ladder tier and progress, rewards by status, balance per currency.</summary>
    public async ValueTask<ReferrerSummary> GetReferrerSummaryAsync(ProgramId program, ParticipantId referrer, CancellationToken cancellationToken = default)
    {
        if (_contract is not null)
        {
            return await _contract.GetReferrerSummaryAsync(program, referrer, cancellationToken).ConfigureAwait(false);
        }
        var account = await _store.LoadAccountAsync(program, referrer, cancellationToken).ConfigureAwait(false);
        var rewards = Reward.FoldAll(account.Entries);
        int successful = account.Referrals.Count(d => d.Counted);
        return new ReferrerSummary
        {
            Program = program,
            Referrer = referrer,
            SuccessfulReferrals = successful,
            Tier = _rules.TryGetValue(program, out var rules) ? rules.Progress(successful) : null,
            Pending = Totals(rewards, RewardStatus.Pending, net: true),
            Approved = Totals(rewards, RewardStatus.Approved, net: true),
            Fulfilled = Totals(rewards, RewardStatus.Fulfilled, net: true),
            Rejected = Totals(rewards, RewardStatus.Rejected, net: false),
            Revoked = Totals(rewards, RewardStatus.Revoked, net: false),
            Balance = Sum(account.Entries.Select(e => e.Amount)),
            Rewards = rewards,
        };
    }

    /// <summary>Plans the rewards of a credited conversion (pure, <see cref="RewardPlanner"/>) and stages them in the attempt.</summary>
    private async ValueTask<RewardDecision> DecideAsync(Work work, RewardRuleSet rules, AttributionResult a, ParticipantId referrer, int revision)
    {
        var input = await work.ReadPlanInputAsync(rules, a, referrer).ConfigureAwait(false);
        var refunds = await _store.ListRefundsAsync(a.Program, a.OrderId, work.CancellationToken).ConfigureAwait(false);
        var plan = RewardPlanner.Plan(rules, a, referrer, input, revision, refunds, work.Now);
        foreach (var entry in plan.Entries)
        {
            // Every beneficiary's account version guards the commit.
            await work.LoadAsync(entry.Beneficiary).ConfigureAwait(false);
            work.Add(entry);
        }
        return plan.Decision;
    }

    // Appends a status entry to a reward, re-reading it on conflicts. force: write a fulfilment even if the reward changed
    // meanwhile (what the fulfiller delivered must be recorded; a reversal written since stands as a claw-back).
    private async ValueTask<Reward?> AppendStatusAsync(Reward reward, RewardEntryType type, string? actor, string? reason, string? reference, CancellationToken ct, bool force = false)
    {
        for (int attempt = 1; ; attempt++)
        {
            var account = await _store.LoadAccountAsync(reward.Program, reward.Beneficiary, ct).ConfigureAwait(false);
            var entries = account.Entries.Where(e => e.RewardId == reward.Id).ToList();
            var current = Reward.Fold(entries);
            bool allowed = type switch
            {
                RewardEntryType.Approved => current.Status == RewardStatus.Pending,
                RewardEntryType.Released => current.UnderReview,
                RewardEntryType.Rejected => current.Status is RewardStatus.Pending or RewardStatus.Approved,
                _ => force || current.Status == RewardStatus.Approved,
            };
            if (!allowed)
            {
                return null;
            }
            var entry = new RewardEntry
            {
                EntryId = reward.Id + ":" + type.ToString().ToLowerInvariant(),
                RewardId = reward.Id,
                Program = reward.Program,
                Beneficiary = reward.Beneficiary,
                OrderId = reward.OrderId,
                Type = type,
                Amount = type == RewardEntryType.Rejected ? -current.Net : Money.Zero(current.Net.Currency),
                RecordedAt = _clock.GetCurrentInstant(),
                Actor = actor,
                Reason = reason,
                Reference = reference,
            };
            RewardEntry[] written = [entry];
            var planned = _outbox.Plan(reward.Program, written, null, entry.RecordedAt);
            var outcome = await _store.TryCommitAsync(
                new RewardCommit { Program = reward.Program, Accounts = [new AccountVersion(reward.Beneficiary, account.Version)], Entries = written, Notifications = planned },
                ct).ConfigureAwait(false);
            if (outcome == RewardCommitOutcome.Committed)
            {
                await _outbox.DeliverAsync(written, null, planned, ct).ConfigureAwait(false);
                return Reward.Fold([.. entries, entry]);
            }
            if (outcome == RewardCommitOutcome.Duplicate)
            {
                return null; // written by another pass
            }
            CheckAttempts(attempt, $"reward {reward.Id}");
        }
    }

    private static Money Refunded(Money order, IReadOnlyList<Refund> refunds) => Refund.Total(order, refunds);


    private static RewardTotals Totals(List<Reward> rewards, RewardStatus status, bool net)
    {
        var matching = rewards.Where(r => r.Status == status).ToList();
        return new RewardTotals(matching.Count, Sum(matching.Select(r => net ? r.Net : r.Earned)));
    }

    private static List<Money> Sum(IEnumerable<Money> amounts) =>
        amounts.GroupBy(m => m.Currency, StringComparer.Ordinal)
            .OrderBy(g => g.Key, StringComparer.Ordinal)
            .Select(g => new Money(g.Sum(m => m.Amount), g.Key))
            .ToList();

    private static void CheckActor(string actor, string reason)
    {
        Preconditions.CheckArgument(!string.IsNullOrWhiteSpace(actor), nameof(actor), "Say who decided.");
        Preconditions.CheckArgument(!string.IsNullOrWhiteSpace(reason), nameof(reason), "Say why.");
    }

    private static void CheckAttempts(int attempt, string what)
    {
        if (attempt >= MaxAttempts)
        {
            throw new ReferralException(ReferralErrorCode.ConcurrencyConflict, $"Gave up writing {what} after {attempt} conflicting attempts.");
        }
    }

    [LoggerMessage(EventId = 3001, Level = LogLevel.Warning, Message = "Fulfilling reward {RewardId} failed; it stays approved and is retried on the next pass")]
    private static partial void LogFulfilmentFailed(ILogger logger, Exception exception, string rewardId);

    /// <summary>One attempt of a reward operation: the accounts it read (for the commit's versions) and the entries it writes.</summary>
    private sealed class Work(RewardService service, ProgramId program, Instant now, CancellationToken ct) : IRewardFacts
    {
        private readonly Dictionary<ParticipantId, RewardAccount> _accounts = new();
        private readonly List<RewardEntry> _entries = [];

        public Instant Now { get; } = now;

        public CancellationToken CancellationToken { get; } = ct;

        public IReadOnlyList<RewardEntry> Entries => _entries;

        public void Add(RewardEntry entry) => _entries.Add(entry);

        public async ValueTask<RewardAccount> LoadAsync(ParticipantId beneficiary)
        {
            if (!_accounts.TryGetValue(beneficiary, out var account))
            {
                account = await service._store.LoadAccountAsync(program, beneficiary, CancellationToken).ConfigureAwait(false);
                _accounts[beneficiary] = account;
            }
            return account;
        }

        /// <summary>The planner's inputs, from the accounts of the referrer and of every level paid (read once per attempt).</summary>
        public async ValueTask<RewardPlanInput> ReadPlanInputAsync(RewardRuleSet rules, AttributionResult attribution, ParticipantId referrer)
        {
            var referrerAccount = await LoadAsync(referrer).ConfigureAwait(false);
            int levels = RewardPlanner.Levels(rules, attribution);
            var accounts = new RewardAccount[rules.Caps.Length == 0 ? 0 : levels];
            for (int level = 1; level <= accounts.Length; level++)
            {
                accounts[level - 1] = level == 1 ? referrerAccount : await LoadAsync(attribution.Chain[level - 1]).ConfigureAwait(false);
            }
            return AccountPlanInput.From(rules, attribution, referrerAccount, accounts);
        }

        /// <summary>Reverses everything left of an order's rewards (a re-attribution).</summary>
        public async ValueTask ReverseOrderAsync(string orderId, RewardEntryType beforeFulfilment, string reason, string suffix)
        {
            foreach (var reward in Reward.FoldAll(await service._store.ListOrderEntriesAsync(program, orderId, CancellationToken).ConfigureAwait(false)))
            {
                if (reward.Net.Amount > 0)
                {
                    await LoadAsync(reward.Beneficiary).ConfigureAwait(false);
                    _entries.Add(Reversal(reward, -reward.Net, beforeFulfilment, reason, suffix));
                }
            }
        }

        /// <summary>Brings an order's stored rewards in line with its refunded total.</summary>
        public async ValueTask ApplyRefundsAsync(string orderId, Money order, Money refunded, string suffix, string reason)
        {
            var rewards = Reward.FoldAll(await service._store.ListOrderEntriesAsync(program, orderId, CancellationToken).ConfigureAwait(false));
            foreach (var r in rewards)
            {
                if (r.Net.Amount > 0)
                {
                    await LoadAsync(r.Beneficiary).ConfigureAwait(false);
                }
            }
            ApplyRefunds(rewards, order, refunded, suffix, reason);
        }

        /// <summary>Brings rewards in line with the order's refunded total (<see cref="RewardPlanner.RefundReversals"/>).</summary>
        public void ApplyRefunds(List<Reward> rewards, Money order, Money refunded, string suffix, string reason) =>
            _entries.AddRange(RewardPlanner.RefundReversals(rewards, order, refunded, suffix, reason, Now));

        public ValueTask<RewardCommitOutcome> CommitAsync(
            RewardDecision? decision,
            int expectedRevision,
            Refund? refund,
            AttributionResult? attribution,
            IReadOnlyList<PendingNotification> notifications) =>
            service._store.TryCommitAsync(
                new RewardCommit
                {
                    Program = program,
                    Accounts = _accounts.Values.Select(a => new AccountVersion(a.Beneficiary, a.Version)).ToList(),
                    Entries = _entries,
                    Decision = decision,
                    ExpectedDecisionRevision = expectedRevision,
                    Refund = refund,
                    Attribution = attribution,
                    Notifications = notifications,
                },
                CancellationToken);

        private RewardEntry Reversal(Reward reward, Money amount, RewardEntryType beforeFulfilment, string reason, string suffix) =>
            RewardPlanner.Reversal(reward, amount, beforeFulfilment, reason, suffix, Now);
    }
}
