using NodaTime;

namespace Referrals.Storage;

/// <summary>
/// The erasure of a participant's personal data (GDPR art. 17), as written in a <see cref="UnitOfWork"/> and kept as its
/// audit record. It holds no personal data of the participant: only the pseudonymous id and who erased, when and why.
/// </summary>
public sealed class ParticipantErasure
{
    /// <summary>An erasure.</summary>
    /// <param name="participant">Whose data is erased.</param>
    /// <param name="erasureId">The idempotency key: the same id again is <see cref="WriteStatus.Duplicate"/>.</param>
    /// <param name="at">When (the library's clock).</param>
    /// <param name="actor">Who asked for it (an operator or system name, not the participant's contact data).</param>
    /// <param name="reason">Why (a ticket reference or words).</param>
    /// <exception cref="ArgumentNullException"><paramref name="erasureId"/>, <paramref name="actor"/> or <paramref name="reason"/> is <see langword="null"/>.</exception>
    public ParticipantErasure(ParticipantId participant, string erasureId, Instant at, string actor, string reason)
    {
        ArgumentNullException.ThrowIfNull(erasureId);
        ArgumentNullException.ThrowIfNull(actor);
        ArgumentNullException.ThrowIfNull(reason);
        Participant = participant;
        ErasureId = erasureId;
        At = at;
        Actor = actor;
        Reason = reason;
    }

    /// <summary>Whose data is erased.</summary>
    public ParticipantId Participant { get; }

    /// <summary>The erasure's id, unique in the store.</summary>
    public string ErasureId { get; }

    /// <summary>When.</summary>
    public Instant At { get; }

    /// <summary>Who asked for it.</summary>
    public string Actor { get; }

    /// <summary>Why.</summary>
    public string Reason { get; }
}
