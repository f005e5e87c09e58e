using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Privacy;

namespace Referrals.Storage;

/// <summary>Participants, their contact hashes and the identity links the host reports (visitor id → customer id).</summary>
/// <remarks>Thread-safe; writes are idempotent; exceptions of the underlying database propagate.</remarks>
public interface IParticipantStore
{
    /// <summary>Inserts or replaces a participant.</summary>
    ValueTask UpsertParticipantAsync(Participant participant, CancellationToken cancellationToken = default);

    /// <summary>Reads a participant, or <see langword="null"/>.</summary>
    ValueTask<Participant?> FindParticipantAsync(ParticipantId id, CancellationToken cancellationToken = default);

    /// <summary>The participants holding a contact hash, ordered by id.</summary>
    ValueTask<IReadOnlyList<Participant>> FindParticipantsByContactAsync(ContactHash contact, CancellationToken cancellationToken = default);

    /// <summary>Records that an anonymous visitor or device id belongs to a customer. Linking twice changes nothing.</summary>
    ValueTask LinkVisitorAsync(string visitorId, ParticipantId customer, CancellationToken cancellationToken = default);

    /// <summary>The visitor ids linked to a customer, ordered.</summary>
    ValueTask<IReadOnlyList<string>> FindVisitorsAsync(ParticipantId customer, CancellationToken cancellationToken = default);
}

/// <summary>Touches of referrals, unique by <see cref="Touch.Id"/>.</summary>
/// <remarks>Thread-safe; exceptions of the underlying database propagate.</remarks>
public interface ITouchStore
{
    /// <summary>Inserts a touch unless one with its id exists.</summary>
    /// <returns><see langword="false"/> when the touch was recorded before (nothing is written).</returns>
    ValueTask<bool> TryAddTouchAsync(Touch touch, CancellationToken cancellationToken = default);

    /// <summary>A touch by its id, or <see langword="null"/> when the program has none with that id.</summary>
    ValueTask<Touch?> FindTouchAsync(ProgramId program, string touchId, CancellationToken cancellationToken = default);

    /// <summary>
    /// The touches of a program that name the customer, any of the visitor ids or any of the contact hashes, each once,
    /// ordered by event time and id.
    /// </summary>
    ValueTask<IReadOnlyList<Touch>> FindTouchesAsync(
        ProgramId program,
        ParticipantId customer,
        IReadOnlyList<string> visitorIds,
        IReadOnlyList<ContactHash> contacts,
        CancellationToken cancellationToken = default);
}

/// <summary>Conversions, unique by program and order id, and the attribution decided for each.</summary>
/// <remarks>Thread-safe; exceptions of the underlying database propagate.</remarks>
public interface IConversionStore
{
    /// <summary>Inserts a conversion unless its order id exists in the program.</summary>
    /// <returns><see langword="false"/> when the order was recorded before (nothing is written).</returns>
    ValueTask<bool> TryAddConversionAsync(Conversion conversion, CancellationToken cancellationToken = default);

    /// <summary>Reads a conversion, or <see langword="null"/>.</summary>
    ValueTask<Conversion?> FindConversionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default);

    /// <summary>A customer's conversions in a program, ordered by event time and order id.</summary>
    ValueTask<IReadOnlyList<Conversion>> ListConversionsAsync(ProgramId program, ParticipantId customer, CancellationToken cancellationToken = default);

    /// <summary>Every conversion of a program, ordered by event time and order id.</summary>
    ValueTask<IReadOnlyList<Conversion>> ListAllConversionsAsync(ProgramId program, CancellationToken cancellationToken = default);

    /// <summary>Inserts or replaces the attribution of an order (a re-evaluation replaces it).</summary>
    ValueTask SaveAttributionAsync(AttributionResult attribution, CancellationToken cancellationToken = default);

    /// <summary>Reads the attribution of an order, or <see langword="null"/>.</summary>
    ValueTask<AttributionResult?> FindAttributionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default);

    /// <summary>
    /// A customer's earliest attributed conversion that is not a repeat (by conversion time, then order id), or
    /// <see langword="null"/>: who referred this customer.
    /// </summary>
    ValueTask<AttributionResult?> FindFirstAttributionAsync(ProgramId program, ParticipantId customer, CancellationToken cancellationToken = default);

    /// <summary>
    /// How many attributed, non-repeat conversions used a code before the given one (by conversion time, then order id).
    /// </summary>
    ValueTask<int> CountCodeUsesBeforeAsync(ReferralCode code, Instant conversionTime, string orderId, CancellationToken cancellationToken = default);
}
