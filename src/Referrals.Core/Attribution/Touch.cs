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
    /// <summary>
    /// A touch with every field: Core records one this way, and a store reads one back this way (no field can be left
    /// out). Only Core changes a touch (an erasure clears its personal data).
    /// </summary>
    /// <param name="id">The natural id (<see cref="Id"/>).</param>
    /// <param name="program">The program.</param>
    /// <param name="kind">How the touch was captured.</param>
    /// <param name="referrer">The referrer the touch points to.</param>
    /// <param name="code">The code the touch carried, or <see langword="null"/> for a contact look-up.</param>
    /// <param name="medium">How the referral was shared.</param>
    /// <param name="visitorId">The prospect's anonymous visitor or device id, or <see langword="null"/>.</param>
    /// <param name="customer">The prospect's customer id, or <see langword="null"/>.</param>
    /// <param name="contact">The keyed hash of the prospect's e-mail or phone, or <see langword="null"/>.</param>
    /// <param name="storeId">The store, for offline touches, or <see langword="null"/>.</param>
    /// <param name="registerId">The register, for POS touches, or <see langword="null"/>.</param>
    /// <param name="orderId">The order on which the code was presented, or <see langword="null"/>.</param>
    /// <param name="eventTime">When it happened.</param>
    /// <param name="recordedAt">When the library learnt of it.</param>
    public Touch(string id, ProgramId program, TouchKind kind, ParticipantId referrer, ReferralCode? code, ShareMedium medium,
        string? visitorId, ParticipantId? customer, ContactHash? contact, string? storeId, string? registerId, string? orderId,
        Instant eventTime, Instant recordedAt)
    {
        Id = id;
        Program = program;
        Kind = kind;
        Referrer = referrer;
        Code = code;
        Medium = medium;
        VisitorId = visitorId;
        Customer = customer;
        Contact = contact;
        StoreId = storeId;
        RegisterId = registerId;
        OrderId = orderId;
        EventTime = eventTime;
        RecordedAt = recordedAt;
    }

    /// <summary>The natural id: the POS's capture id where there is one, otherwise a hash of the touch's content.</summary>
    public string Id { get; internal init; }

    /// <summary>The program.</summary>
    public ProgramId Program { get; internal init; }

    /// <summary>How the touch was captured.</summary>
    public TouchKind Kind { get; internal init; }

    /// <summary>The referrer the touch points to.</summary>
    public ParticipantId Referrer { get; internal init; }

    /// <summary>The code the touch carried, or <see langword="null"/> for a contact look-up.</summary>
    public ReferralCode? Code { get; internal init; }

    /// <summary>How the referral was shared (from the link's medium, or the code's).</summary>
    public ShareMedium Medium { get; internal init; }

    /// <summary>The prospect's anonymous visitor or device id, when known.</summary>
    public string? VisitorId { get; internal init; }

    /// <summary>The prospect's customer id, when known.</summary>
    public ParticipantId? Customer { get; internal init; }

    /// <summary>The keyed hash of the prospect's e-mail or phone, when known.</summary>
    public ContactHash? Contact { get; internal init; }

    /// <summary>The store, for offline touches.</summary>
    public string? StoreId { get; internal init; }

    /// <summary>The register, for POS touches.</summary>
    public string? RegisterId { get; internal init; }

    /// <summary>The order on which the code was presented, when the touch happened at the conversion itself.</summary>
    public string? OrderId { get; internal init; }

    /// <summary>When it happened (at the till or in the browser).</summary>
    public Instant EventTime { get; internal init; }

    /// <summary>When the library learnt of it (later for batch uploads).</summary>
    public Instant RecordedAt { get; internal init; }

    /// <summary>Whether the touch was captured online or offline.</summary>
    public Channel CaptureChannel => Kind is TouchKind.LinkClick or TouchKind.CodeEnteredOnline ? Channel.Online : Channel.Offline;
}
