using Microsoft.Extensions.Logging;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Internal;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Services;

namespace Referrals.Pipeline;

/// <summary>
/// The one conversion pipeline: decide (<see cref="AttributionDecider"/>) → assess (<see cref="FraudAssessor"/>) → plan
/// rewards and commit (<see cref="RewardService"/>'s planner and ledger commit) → notify (<see cref="NotificationDispatcher"/>,
/// after the commit only). Captures of touches follow the same shape. Thread-safe.
/// </summary>
/// <remarks>
/// Every write runs in a unit of work (<see cref="RunUnitAsync"/>): one transaction of <see cref="ReferralStores.Transaction"/>
/// when the stores are one transactional store, otherwise each write committing on its own. What to tell is collected
/// in the unit's <see cref="Deliveries"/> and delivered once the unit has committed. Who saves the attribution is the
/// store set's property (<see cref="ReferralStores.AttributionWithRewards"/>), never a caller's flag.
/// </remarks>
internal sealed partial class ConversionPipeline(
    ReferralStores stores,
    AttributionDecider decider,
    TouchBuilder touches,
    FraudAssessor? assessor,
    RewardService? rewards,
    NotifierSet notifiers,
    ILogger logger)
{
    private readonly StoreAttributionFacts _facts = new(stores, touches.Codes);
    private readonly CaptureHandler _captures = new(stores, rewards?.Dispatcher, notifiers);

    /// <summary>The stores, and whether they form one transaction.</summary>
    public ReferralStores Stores => stores;

    /// <summary>The decider's read port over the stores.</summary>
    public IAttributionFacts Facts => _facts;

    /// <summary>The touch builder (code resolution, natural ids).</summary>
    public TouchBuilder Touches => touches;

    /// <summary>
    /// Runs one unit of work — as one transaction of the store when the stores form one, otherwise directly — then
    /// delivers what it collected to the notifiers. The only place a transaction is begun.
    /// </summary>
    public async ValueTask<TResult> RunUnitAsync<TState, TResult>(
        TState state,
        Func<ConversionPipeline, TState, Deliveries, CancellationToken, ValueTask<TResult>> work,
        CancellationToken cancellationToken)
    {
        var deliveries = new Deliveries();
        TResult result;
        if (stores.Transaction is null)
        {
            result = await work(this, state, deliveries, cancellationToken).ConfigureAwait(false);
        }
        else
        {
            result = await stores.Transaction.RunInTransactionAsync(
                (Self: this, State: state, Work: work, Deliveries: deliveries),
                static (s, ct) => s.Work(s.Self, s.State, s.Deliveries, ct),
                cancellationToken).ConfigureAwait(false);
        }
        await DeliverAsync(deliveries, cancellationToken).ConfigureAwait(false);
        return result;
    }

    /// <summary>Records a built touch in the caller's unit of work (<see cref="CaptureHandler"/>), and delivers after the write when it committed on its own.</summary>
    public async ValueTask<CaptureResult> StoreTouchAsync(Touch touch, CodeResolutionOutcome? outcome, Deliveries deliveries, CancellationToken ct)
    {
        var result = await _captures.StoreAsync(touch, outcome, deliveries, ct).ConfigureAwait(false);
        await CommittedAsync(deliveries, ct).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// Records a conversion and runs the pipeline on it, inside the caller's unit of work. Idempotent by program and order
    /// id: an order recorded and decided before returns its decision (completing its rewards if their commit was lost).
    /// </summary>
    public async ValueTask<AttributionResult> RecordAsync(Conversion conversion, Deliveries deliveries, CancellationToken cancellationToken)
    {
        // The presented input may be an e-mail address, a phone number or a name typed into the code box: the store gets
        // only what it resolved to (PresentedForm), and the touch is built from the same resolution.
        string? presented = conversion.PresentedCode;
        CodeResolution? presentedResolution = null;
        if (presented is { } raw)
        {
            var resolution = touches.Codes.Resolve(raw);
            presentedResolution = resolution;
            string? kept = touches.Codes.PresentedForm(resolution);
            if (!string.Equals(kept, raw, StringComparison.Ordinal))
            {
                conversion = conversion with { PresentedCode = kept };
            }
        }
        if (!await stores.Conversions.TryAddConversionAsync(conversion, cancellationToken).ConfigureAwait(false))
        {
            var existing = await stores.Conversions.FindAttributionAsync(conversion.Program, conversion.OrderId, cancellationToken).ConfigureAwait(false);
            if (existing is not null)
            {
                if (rewards is not null)
                {
                    // Idempotent: completes the rewards of a conversion whose writer stopped between the two steps.
                    await rewards.CommitDecisionAsync(existing, saveWith: null, report: null, deliveries, cancellationToken).ConfigureAwait(false);
                    await CommittedAsync(deliveries, cancellationToken).ConfigureAwait(false);
                }
                return existing;
            }
            // Recorded by a writer that has not decided yet (or crashed in between): decide now, from the stored conversion.
            conversion = (await stores.Conversions.FindConversionAsync(conversion.Program, conversion.OrderId, cancellationToken).ConfigureAwait(false))!;
            presented = conversion.PresentedCode;
            presentedResolution = null;
        }
        if (presented is not null)
        {
            var request = new CaptureRequest
            {
                Program = conversion.Program,
                Kind = conversion.Channel == Channel.Online ? TouchKind.CodeEnteredOnline : TouchKind.PosCodeScan,
                EventTime = conversion.EventTime,
                Input = presented,
                Customer = conversion.Customer,
                VisitorId = conversion.VisitorId,
                StoreId = conversion.StoreId,
                RegisterId = conversion.RegisterId,
                CaptureId = "order:" + conversion.OrderId,
            };
            var built = await touches.BuildAsync(_facts, request, conversion.OrderId, cancellationToken, resolved: presentedResolution).ConfigureAwait(false);
            if (built.Touch is not null)
            {
                await StoreTouchAsync(built.Touch, built.CodeOutcome, deliveries, cancellationToken).ConfigureAwait(false);
            }
            else
            {
                LogPresentedCodeRejected(logger, conversion.Program.Value, built.Rejection);
            }
        }
        return await DecideAndCommitAsync(conversion, tell: true, deliveries, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Runs decide → assess → plan rewards → commit on a recorded conversion inside the caller's unit of work; the
    /// decision is told to the notifiers after the unit commits unless <paramref name="tell"/> is false (repair passes).
    /// </summary>
    public async ValueTask<AttributionResult> DecideAndCommitAsync(Conversion conversion, bool tell, Deliveries deliveries, CancellationToken ct)
    {
        // 1 decide
        var decision = await decider.DecideAsync(conversion, _facts, ct).ConfigureAwait(false);
        // 2 assess (credited conversions only)
        var result = decision.Result;
        if (decision.IsCredited && assessor is not null && assessor.Assesses(conversion.Program))
        {
            var referrer = await _facts.FindParticipantAsync(decision.Result.Referrer!.Value, ct).ConfigureAwait(false);
            var assessment = await assessor.AssessAsync(decision.ToFraudCase(conversion, referrer), ct).ConfigureAwait(false);
            result = decision.Complete(assessment);
        }
        ReferralsTelemetry.ConversionsDecided.Add(1, result.IsAttributed ? ReferralsTelemetry.Attributed : ReferralsTelemetry.NotAttributed);
        // 3 plan rewards and 4 commit: one commit when the store keeps attributions with rewards, else the attribution first.
        if (rewards is null)
        {
            await stores.Conversions.SaveAttributionAsync(result, ct).ConfigureAwait(false);
            if (tell && !notifiers.IsEmpty)
            {
                deliveries.Tell(NotificationKind.ConversionDecided, result);
                await CommittedAsync(deliveries, ct).ConfigureAwait(false);
            }
            return result;
        }
        if (!stores.AttributionWithRewards)
        {
            await stores.Conversions.SaveAttributionAsync(result, ct).ConfigureAwait(false);
        }
        await rewards.CommitDecisionAsync(
            result,
            saveWith: stores.AttributionWithRewards ? result : null,
            report: tell ? result : null,
            deliveries,
            ct).ConfigureAwait(false);
        await CommittedAsync(deliveries, ct).ConfigureAwait(false);
        return result;
    }

    /// <summary>
    /// After a write: without a transaction the write has committed on its own, so what it collected is delivered now
    /// (a later step that fails cannot take back what was committed); inside a transaction it waits for the commit.
    /// </summary>
    private async ValueTask CommittedAsync(Deliveries deliveries, CancellationToken ct)
    {
        if (stores.Transaction is null && !deliveries.IsEmpty)
        {
            await DeliverAsync(deliveries, ct).ConfigureAwait(false);
            deliveries.Clear();
        }
    }

    /// <summary>Decides a recorded conversion again and commits the decision, as one unit of work.</summary>
    public ValueTask<AttributionResult> DecideAndCommitUnitAsync(Conversion conversion, bool tell, CancellationToken cancellationToken) =>
        RunUnitAsync(
            (Conversion: conversion, Tell: tell),
            static (self, s, deliveries, ct) => self.DecideAndCommitAsync(s.Conversion, s.Tell, deliveries, ct),
            cancellationToken);

    /// <summary>5 notify: tells the notifiers what a committed unit collected (direct tells with this pipeline's notifiers).</summary>
    private ValueTask DeliverAsync(Deliveries deliveries, CancellationToken ct)
    {
        if (deliveries.IsEmpty)
        {
            return ValueTask.CompletedTask;
        }
        return rewards is not null
            ? rewards.Dispatcher.DeliverAsync(deliveries, notifiers, ct)
            : NotificationDispatcher.TellDirectlyAsync(deliveries, notifiers, ct);
    }

    [LoggerMessage(EventId = 5001, Level = LogLevel.Information, Message = "A code presented at a conversion in program {Program} was not recorded: {Rejection}")]
    private static partial void LogPresentedCodeRejected(ILogger logger, string program, CaptureRejection rejection);
}
