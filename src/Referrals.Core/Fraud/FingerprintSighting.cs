using NodaTime;

namespace Referrals.Fraud;

/// <summary>A participant seen with a fingerprint: registered with it, or converting with it.</summary>
/// <remarks>A store builds it when it reads sightings back (the store contract's <c>FindSightingsAsync</c>).</remarks>
public readonly struct FingerprintSighting
{
    /// <summary>A sighting.</summary>
    /// <param name="participant">Who.</param>
    /// <param name="at">The conversion's event time; <see langword="null"/> for the participant's registration.</param>
    /// <param name="orderId">The conversion's order id; <see langword="null"/> for the registration.</param>
    public FingerprintSighting(ParticipantId participant, Instant? at, string? orderId)
    {
        Participant = participant;
        At = at;
        OrderId = orderId;
    }

    /// <summary>Who.</summary>
    public ParticipantId Participant { get; }

    /// <summary>The conversion's event time; <see langword="null"/> for the participant's registration.</summary>
    public Instant? At { get; }

    /// <summary>The conversion's order id; <see langword="null"/> for the registration.</summary>
    public string? OrderId { get; }
}
