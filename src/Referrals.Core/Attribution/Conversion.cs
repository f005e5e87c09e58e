using NodaTime;
using Referrals.Privacy;

namespace Referrals.Attribution;

/// <summary>
/// A qualifying action of a referee (a purchase, a sign-up). Idempotent by <see cref="Program"/> and <see cref="OrderId"/>:
/// the first record of an order wins, later ones with the same id change nothing.
/// </summary>
public sealed record Conversion
{
    /// <summary>The program.</summary>
    public required ProgramId Program { get; init; }

    /// <summary>
    /// The host's order id: the idempotency key, compared exactly as given. 1 to 128 characters, not blank, with no
    /// control character and no unpaired surrogate half (stored as UTF-8 it would become U+FFFD, and two orders one).
    /// </summary>
    public required string OrderId { get; init; }

    /// <summary>The referee: the customer who converted.</summary>
    public required ParticipantId Customer { get; init; }

    /// <summary>The order value: 0 to 1,000,000,000,000 (10^12) in major units, a bound that keeps every reward computation exact.</summary>
    public required Money Amount { get; init; }

    /// <summary>When the order was placed.</summary>
    public required Instant EventTime { get; init; }

    /// <summary>Where the order was placed: online (web, app) or offline (a store). Default online.</summary>
    public Channel Channel { get; init; } = Channel.Online;

    /// <summary>The store, for offline conversions: at most 64 characters, no control character or unpaired surrogate.</summary>
    public string? StoreId { get; init; }

    /// <summary>The visitor or device id of the web or app session, when known: at most 256 characters, no control character or unpaired surrogate.</summary>
    public string? VisitorId { get; init; }

    /// <summary>Keyed hashes of the customer's e-mail and phone, when known.</summary>
    public IReadOnlyList<ContactHash> Contacts { get; init; } = [];

    /// <summary>
    /// Whether the host knows this customer to be new (<see langword="true"/>) or not; <see langword="null"/> lets the library
    /// decide from its own records (no earlier conversion in the program).
    /// </summary>
    public bool? IsNewCustomer { get; init; }

    /// <summary>A code (or QR text, or link) presented at the conversion itself: typed at checkout or scanned at the till.</summary>
    /// <remarks>
    /// People type e-mail addresses, phone numbers and names into code boxes, so the input itself is never stored or
    /// logged. <c>AttributionService.RecordConversionAsync</c> stores, and the store gives back, only what it
    /// resolved to: the normalised code (<c>7Q2M9KXRB</c>), or for a share link the link rebuilt from its code, medium and
    /// signature alone (no tracking or other parameters); <see langword="null"/> when it did not resolve to a code (or was a
    /// link whose signature does not verify). Why it was refused is logged, without the input.
    /// </remarks>
    public string? PresentedCode { get; init; }

    /// <summary>The register, for conversions at a till: at most 64 characters, no control character or unpaired surrogate.</summary>
    public string? RegisterId { get; init; }

    /// <summary>
    /// Keyed hashes of the device, payment method, shipping address, IP address and e-mail domain of this order, made with
    /// <see cref="FingerprintHasher"/>, for the fraud checks. Give what is known; none is required.
    /// </summary>
    public IReadOnlyList<Fingerprint> Fingerprints { get; init; } = [];
}
