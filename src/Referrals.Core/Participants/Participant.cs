using Referrals.Privacy;

namespace Referrals.Participants;

/// <summary>What kind of person a participant is.</summary>
/// <remarks>The numeric values are stored; never renumber them.</remarks>
public enum ParticipantKind
{
    /// <summary>A customer of the shop.</summary>
    Customer = 1,

    /// <summary>A member of staff.</summary>
    Employee = 2,

    /// <summary>An influencer.</summary>
    Influencer = 3,

    /// <summary>A business partner.</summary>
    Partner = 4,
}

/// <summary>
/// A referrer or referee as the library knows them: the host's id, a kind, and contact details only as keyed hashes
/// (see <see cref="ContactHasher"/>) plus masked forms for display. No clear-text e-mail or phone is ever stored.
/// </summary>
public sealed record Participant
{
    /// <summary>The host's id for the person.</summary>
    public required ParticipantId Id { get; init; }

    /// <summary>What kind of person this is. Default <see cref="ParticipantKind.Customer"/>.</summary>
    public ParticipantKind Kind { get; init; } = ParticipantKind.Customer;

    /// <summary>Keyed hashes of the person's e-mail addresses and phone numbers, for look-ups and self-referral checks.</summary>
    public IReadOnlyList<ContactHash> Contacts { get; init; } = [];

    /// <summary>
    /// Keyed hashes of the person's known devices, payment methods and addresses (<see cref="FingerprintHasher"/>), for the
    /// self-referral and ring checks.
    /// </summary>
    public IReadOnlyList<Fingerprint> Fingerprints { get; init; } = [];

    /// <summary>The e-mail address masked for a cashier (<c>j***@example.com</c>), or <see langword="null"/>.</summary>
    public string? MaskedEmail { get; init; }

    /// <summary>The phone number masked for a cashier, or <see langword="null"/>.</summary>
    public string? MaskedPhone { get; init; }
}
