using System.Runtime.CompilerServices;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Notifications;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>
/// What the POS import and re-evaluation need of the conversion pipeline (<see cref="SessionConversionPipeline"/>), in one
/// unit of work at a time: the facts and touch builder, recording a touch, recording (and deciding) a new conversion,
/// and deciding recorded ones again. A unit of work is one session of the store, committed at the end (or rolled back
/// whole when the work throws), and its notifications are told after.
/// </summary>
internal sealed class ConversionFlow(IReferralStore store, SessionConversionPipeline pipeline)
{
    private const int Page = 500;

    /// <summary>Runs <paramref name="work"/> as one unit of work, then tells the notifiers what it collected.</summary>
    public async ValueTask<TResult> RunUnitAsync<TState, TResult>(TState state, Func<Unit, TState, CancellationToken, ValueTask<TResult>> work, CancellationToken ct)
    {
        var told = new List<(PendingNotification, object)>();
        TResult result;
        await using (var session = await store.BeginAsync(ct).ConfigureAwait(false))
        {
            result = await work(new Unit(session, pipeline, told), state, ct).ConfigureAwait(false);
            await session.CommitAsync(ct).ConfigureAwait(false);
        }
        await pipeline.DeliverAsync(told, ct).ConfigureAwait(false);
        return result;
    }

    /// <summary>Decides one recorded order again (its own unit); <see langword="null"/> when there is none.</summary>
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

    /// <summary>The ids of a customer's recorded orders, in event order.</summary>
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

    /// <summary>The ids of a program's recorded orders, in event order.</summary>
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

    /// <summary>One unit of work: one session of the store, and the notifications to tell once it commits.</summary>
    public sealed class Unit(IReferralStoreSession session, SessionConversionPipeline pipeline, List<(PendingNotification, object)> told)
    {
        public IAttributionFacts Facts { get; } = new SessionFacts(session, pipeline.Touches.Codes);

        public TouchBuilder Touches => pipeline.Touches;

        public ValueTask<IReadOnlyList<Participant>> FindParticipantsByContactAsync(ContactHash contact, CancellationToken ct) =>
            session.FindParticipantsByContactAsync(contact, ct);

        /// <summary>Records a built touch once by its natural id, with its "referral captured" notification.</summary>
        public ValueTask<CaptureResult> StoreTouchAsync(Touch touch, CodeResolutionOutcome? outcome, CancellationToken ct) =>
            pipeline.StoreTouchAsync(session, touch, outcome, told, ct);

        /// <summary>Records a conversion not recorded before and decides it; false (nothing written) when it was recorded before.</summary>
        public ValueTask<bool> RecordNewAsync(Conversion conversion, CancellationToken ct) =>
            pipeline.RecordNewAsync(session, conversion, told, ct);
    }
}
