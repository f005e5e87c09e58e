using NodaTime;

namespace Referrals.Fraud;

/// <summary>A participant seen with a fingerprint: registered with it, or converting with it.</summary>
/// <param name="Participant">Who.</param>
/// <param name="At">The conversion's event time; <see langword="null"/> for the participant's registration.</param>
/// <param name="OrderId">The conversion's order id; <see langword="null"/> for the registration.</param>
public readonly record struct FingerprintSighting(ParticipantId Participant, Instant? At, string? OrderId);
