using NodaTime;
using Referrals.Codes;
using Referrals.Privacy;

namespace Referrals.Attribution;

/// <summary>How a prospective referee met a referral.</summary>
/// <remarks>The numeric values are stored; never renumber them.</remarks>
public enum TouchKind
{
    /// <summary>Opened a share link online (web or app), identified by a visitor or device id.</summary>
    LinkClick = 1,

    /// <summary>Typed a code online (checkout form, app).</summary>
    CodeEnteredOnline = 2,

    /// <summary>Had a code or QR scanned or typed at a store's point of sale.</summary>
    PosCodeScan = 3,

    /// <summary>Gave the referrer's e-mail or phone at a till, where the referrer was looked up by its keyed hash.</summary>
    PosContactLookup = 4,

    /// <summary>Signed up at an in-store kiosk or from an in-store sign.</summary>
    KioskSignup = 5,

    /// <summary>A capture made offline at a POS and uploaded later in a batch.</summary>
    PosBatchCapture = 6,
}

/// <summary>
/// Evidence that a prospective referee met a referral before converting. Immutable; unique by <see cref="Id"/>, so
/// recording the same touch twice keeps one.
/// </summary>
public sealed record Touch
{
    /// <summary>The natural id: the POS's capture id where there is one, otherwise a hash of the touch's content.</summary>
    public required string Id { get; init; }

    /// <summary>The program.</summary>
    public required ProgramId Program { get; init; }

    /// <summary>How the touch was captured.</summary>
    public required TouchKind Kind { get; init; }

    /// <summary>The referrer the touch points to.</summary>
    public required ParticipantId Referrer { get; init; }

    /// <summary>The code the touch carried, or <see langword="null"/> for a contact look-up.</summary>
    public ReferralCode? Code { get; init; }

    /// <summary>How the referral was shared (from the link's medium, or the code's).</summary>
    public ShareMedium Medium { get; init; }

    /// <summary>The prospect's anonymous visitor or device id, when known.</summary>
    public string? VisitorId { get; init; }

    /// <summary>The prospect's customer id, when known.</summary>
    public ParticipantId? Customer { get; init; }

    /// <summary>The keyed hash of the prospect's e-mail or phone, when known.</summary>
    public ContactHash? Contact { get; init; }

    /// <summary>The store, for offline touches.</summary>
    public string? StoreId { get; init; }

    /// <summary>The register, for POS touches.</summary>
    public string? RegisterId { get; init; }

    /// <summary>The order on which the code was presented, when the touch happened at the conversion itself.</summary>
    public string? OrderId { get; init; }

    /// <summary>When it happened (at the till or in the browser).</summary>
    public required Instant EventTime { get; init; }

    /// <summary>When the library learnt of it (later for batch uploads).</summary>
    public required Instant RecordedAt { get; init; }

    /// <summary>Whether the touch was captured online or offline.</summary>
    public Channel CaptureChannel => Kind is TouchKind.LinkClick or TouchKind.CodeEnteredOnline ? Channel.Online : Channel.Offline;
}
