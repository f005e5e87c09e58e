using System.Runtime.CompilerServices;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Notifications;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>The conversion flow on today's store interfaces (<see cref="ConversionPipeline"/>).</summary>
internal sealed class StoreConversionFlow(ConversionPipeline pipeline) : IConversionFlow
{
    public ValueTask<TResult> RunUnitAsync<TState, TResult>(TState state, Func<IConversionUnitScope, TState, CancellationToken, ValueTask<TResult>> work, CancellationToken ct) =>
        pipeline.RunUnitAsync(
            (State: state, Work: work),
            static (p, s, deliveries, ct) => s.Work(new Scope(p, deliveries), s.State, ct),
            ct);

    public async ValueTask<(AttributionResult? Before, AttributionResult After)?> RedecideAsync(ProgramId program, string orderId, bool tell, CancellationToken ct)
    {
        var conversions = pipeline.Stores.Conversions;
        var conversion = await conversions.FindConversionAsync(program, orderId, ct).ConfigureAwait(false);
        if (conversion is null)
        {
            return null;
        }
        var before = await conversions.FindAttributionAsync(program, orderId, ct).ConfigureAwait(false);
        var after = await pipeline.DecideAndCommitUnitAsync(conversion, tell, ct).ConfigureAwait(false);
        return (before, after);
    }

    public async IAsyncEnumerable<string> CustomerOrdersAsync(ProgramId program, ParticipantId customer, [EnumeratorCancellation] CancellationToken ct)
    {
        foreach (var c in await pipeline.Stores.Conversions.ListConversionsAsync(program, customer, ct).ConfigureAwait(false))
        {
            yield return c.OrderId;
        }
    }

    public async IAsyncEnumerable<string> ProgramOrdersAsync(ProgramId program, [EnumeratorCancellation] CancellationToken ct)
    {
        foreach (var c in await pipeline.Stores.Conversions.ListAllConversionsAsync(program, ct).ConfigureAwait(false))
        {
            yield return c.OrderId;
        }
    }

    private sealed class Scope(ConversionPipeline pipeline, Deliveries deliveries) : IConversionUnitScope
    {
        public IAttributionFacts Facts => pipeline.Facts;

        public TouchBuilder Touches => pipeline.Touches;

        public ValueTask<IReadOnlyList<Participant>> FindParticipantsByContactAsync(ContactHash contact, CancellationToken ct) =>
            pipeline.Stores.Participants.FindParticipantsByContactAsync(contact, ct);

        public ValueTask<CaptureResult> StoreTouchAsync(Touch touch, CodeResolutionOutcome? outcome, CancellationToken ct) =>
            pipeline.StoreTouchAsync(touch, outcome, deliveries, ct);

        public async ValueTask<bool> RecordNewAsync(Conversion conversion, CancellationToken ct)
        {
            if (!await pipeline.Stores.Conversions.TryAddConversionAsync(conversion, ct).ConfigureAwait(false))
            {
                return false;
            }
            await pipeline.DecideAndCommitAsync(conversion, tell: true, deliveries, ct).ConfigureAwait(false);
            return true;
        }
    }
}

/// <summary>
/// The conversion flow on the narrow store contract (<see cref="SessionConversionPipeline"/>): a unit of work is one
/// session, committed at the end (or rolled back whole when the work throws), and its notifications are told after.
/// </summary>
internal sealed class ContractConversionFlow(IReferralStore store, SessionConversionPipeline pipeline) : IConversionFlow
{
    private const int Page = 500;

    public async ValueTask<TResult> RunUnitAsync<TState, TResult>(TState state, Func<IConversionUnitScope, TState, CancellationToken, ValueTask<TResult>> work, CancellationToken ct)
    {
        var told = new List<(PendingNotification, object)>();
        TResult result;
        await using (var session = await store.BeginAsync(ct).ConfigureAwait(false))
        {
            result = await work(new Scope(session, pipeline, told), state, ct).ConfigureAwait(false);
            await session.CommitAsync(ct).ConfigureAwait(false);
        }
        await pipeline.DeliverAsync(told, ct).ConfigureAwait(false);
        return result;
    }

    public async ValueTask<(AttributionResult? Before, AttributionResult After)?> RedecideAsync(ProgramId program, string orderId, bool tell, CancellationToken ct)
    {
        SessionConversionPipeline.Outcome? outcome;
        AttributionResult? before;
        await using (var session = await store.BeginAsync(ct).ConfigureAwait(false))
        {
            var order = await session.FindOrderAsync(program, orderId, ct).ConfigureAwait(false);
            if (order is null)
            {
                return null;
            }
            before = OrderDocument.FromRow(order).Attribution;
            outcome = await pipeline.RedecideAsync(session, program, orderId, tell, ct).ConfigureAwait(false);
            await session.CommitAsync(ct).ConfigureAwait(false);
        }
        await pipeline.DeliverAsync(outcome!.Notifications, ct).ConfigureAwait(false);
        return (before, outcome.Result);
    }

    public async IAsyncEnumerable<string> CustomerOrdersAsync(ProgramId program, ParticipantId customer, [EnumeratorCancellation] CancellationToken ct)
    {
        ListPosition? after = null;
        while (true)
        {
            var page = await store.ListCustomerOrdersAsync(program, customer, after, Page, ct).ConfigureAwait(false);
            foreach (var o in page)
            {
                yield return o.Conversion.OrderId;
            }
            if (page.Count < Page)
            {
                yield break;
            }
            after = new ListPosition(page[^1].Conversion.EventTime, page[^1].Conversion.OrderId);
        }
    }

    public async IAsyncEnumerable<string> ProgramOrdersAsync(ProgramId program, [EnumeratorCancellation] CancellationToken ct)
    {
        ListPosition? after = null;
        while (true)
        {
            var page = await store.ListProgramOrdersAsync(program, after, Page, ct).ConfigureAwait(false);
            foreach (var o in page)
            {
                yield return o.Conversion.OrderId;
            }
            if (page.Count < Page)
            {
                yield break;
            }
            after = new ListPosition(page[^1].Conversion.EventTime, page[^1].Conversion.OrderId);
        }
    }

    private sealed class Scope(IReferralStoreSession session, SessionConversionPipeline pipeline, List<(PendingNotification, object)> told) : IConversionUnitScope
    {
        public IAttributionFacts Facts { get; } = new SessionFacts(session, pipeline.Touches.Codes);

        public TouchBuilder Touches => pipeline.Touches;

        public ValueTask<IReadOnlyList<Participant>> FindParticipantsByContactAsync(ContactHash contact, CancellationToken ct) =>
            session.FindParticipantsByContactAsync(contact, ct);

        public ValueTask<CaptureResult> StoreTouchAsync(Touch touch, CodeResolutionOutcome? outcome, CancellationToken ct) =>
            pipeline.StoreTouchAsync(session, touch, outcome, told, ct);

        public ValueTask<bool> RecordNewAsync(Conversion conversion, CancellationToken ct) =>
            pipeline.RecordNewAsync(session, conversion, told, ct);
    }
}
