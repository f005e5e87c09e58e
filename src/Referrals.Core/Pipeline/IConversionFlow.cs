using Referrals.Attribution;
using Referrals.Participants;
using Referrals.Privacy;

namespace Referrals.Pipeline;

/// <summary>
/// What the POS import and re-evaluation need of the conversion pipeline, in one unit of work at a time: the facts and
/// touch builder, recording a touch, recording (and deciding) a new conversion, and deciding recorded ones again. Two
/// implementations while both store contracts exist: today's stores (<see cref="StoreConversionFlow"/>) and the narrow
/// contract (<see cref="ContractConversionFlow"/>), where a unit is one session.
/// </summary>
internal interface IConversionFlow
{
    /// <summary>Runs <paramref name="work"/> as one unit of work, then tells the notifiers what it collected.</summary>
    ValueTask<TResult> RunUnitAsync<TState, TResult>(TState state, Func<IConversionUnitScope, TState, CancellationToken, ValueTask<TResult>> work, CancellationToken ct);

    /// <summary>Decides one recorded order again (its own unit); <see langword="null"/> when there is none.</summary>
    ValueTask<(AttributionResult? Before, AttributionResult After)?> RedecideAsync(ProgramId program, string orderId, bool tell, CancellationToken ct);

    /// <summary>The ids of a customer's recorded orders, in event order.</summary>
    IAsyncEnumerable<string> CustomerOrdersAsync(ProgramId program, ParticipantId customer, CancellationToken ct);

    /// <summary>The ids of a program's recorded orders, in event order.</summary>
    IAsyncEnumerable<string> ProgramOrdersAsync(ProgramId program, CancellationToken ct);
}

/// <summary>One unit of work of an <see cref="IConversionFlow"/>.</summary>
internal interface IConversionUnitScope
{
    IAttributionFacts Facts { get; }

    TouchBuilder Touches { get; }

    ValueTask<IReadOnlyList<Participant>> FindParticipantsByContactAsync(ContactHash contact, CancellationToken ct);

    /// <summary>Records a built touch once by its natural id, with its "referral captured" notification.</summary>
    ValueTask<CaptureResult> StoreTouchAsync(Touch touch, Codes.CodeResolutionOutcome? outcome, CancellationToken ct);

    /// <summary>Records a conversion not recorded before and decides it; false (nothing written) when it was recorded before.</summary>
    ValueTask<bool> RecordNewAsync(Conversion conversion, CancellationToken ct);
}
