using NodaTime;
using Referrals.Codes;
using Referrals.Privacy;

namespace Referrals.Attribution;

/// <summary>
/// A touch to record: what was captured (a link, a code, a referrer looked up by contact), where and when, and whatever
/// identifies the prospect (at least one of visitor id, customer id or contact hash).
/// </summary>
public sealed record CaptureRequest
{
    /// <summary>The program.</summary>
    public required ProgramId Program { get; init; }

    /// <summary>How the touch was captured.</summary>
    public required TouchKind Kind { get; init; }

    /// <summary>When it happened: at the till or in the browser, not when it reached you.</summary>
    public required Instant EventTime { get; init; }

    /// <summary>The code, QR text or link as captured. Required for every kind but <see cref="TouchKind.PosContactLookup"/>.</summary>
    public string? Input { get; init; }

    /// <summary>For <see cref="TouchKind.PosContactLookup"/>: the referrer the cashier confirmed from <c>ParticipantService.LookupReferrersAsync</c>.</summary>
    public ParticipantId? Referrer { get; init; }

    /// <summary>The prospect's visitor or device id: at most 256 characters, no control character or unpaired surrogate.</summary>
    public string? VisitorId { get; init; }

    /// <summary>The prospect's customer id.</summary>
    public ParticipantId? Customer { get; init; }

    /// <summary>The keyed hash of the prospect's e-mail or phone.</summary>
    public ContactHash? Contact { get; init; }

    /// <summary>The store, for offline captures: at most 64 characters, no control character or unpaired surrogate.</summary>
    public string? StoreId { get; init; }

    /// <summary>The register, for POS captures: at most 64 characters, no control character or unpaired surrogate.</summary>
    public string? RegisterId { get; init; }

    /// <summary>
    /// The capturing system's own id for the capture (a POS capture id): makes re-sending idempotent. At most 128
    /// characters, no control character or unpaired surrogate.
    /// </summary>
    public string? CaptureId { get; init; }

    /// <summary>
    /// Where the look-up came from, for the code-guessing limit (<see cref="Codes.CodeGuessingOptions"/>): the client's IP
    /// address for a web form, a kiosk's device id. Never stored; only a hash of it is held, in memory, while it is active.
    /// When <see langword="null"/>, the store and register are the source for POS captures, else the visitor id, else the
    /// customer id, else the contact. Failures count against the program as a whole as well.
    /// </summary>
    public string? Source { get; init; }
}

/// <summary>What became of a capture.</summary>
public enum CaptureOutcome
{
    /// <summary>A new touch was recorded.</summary>
    Captured = 1,

    /// <summary>The same touch was recorded before; nothing changed.</summary>
    Duplicate = 2,

    /// <summary>Nothing was recorded; see <see cref="CaptureResult.Rejection"/>.</summary>
    Rejected = 3,
}

/// <summary>Why a capture was refused (<see cref="CaptureResult.Rejection"/>).</summary>
public enum CaptureRejection
{
    /// <summary>The input cannot be a code or link.</summary>
    CodeMalformed = 1,

    /// <summary>No such code.</summary>
    CodeNotFound = 2,

    /// <summary>The check symbol does not match: a typo.</summary>
    CodeCheckFailed = 3,

    /// <summary>The code belongs to another program.</summary>
    WrongProgram = 4,

    /// <summary>The code is not handed to any referrer yet.</summary>
    CodeUnassigned = 5,

    /// <summary>The link's signature does not hold: it was altered.</summary>
    LinkSignatureInvalid = 6,

    /// <summary>Nothing identifies the prospect (no visitor id, customer id or contact).</summary>
    NoProspect = 7,

    /// <summary>A contact look-up capture names no referrer, or one the library does not know.</summary>
    UnknownReferrer = 8,

    /// <summary>
    /// The source of the look-up (<see cref="CaptureRequest.Source"/>), or the program as a whole, had too many failed
    /// look-ups in the window of <see cref="Codes.CodeGuessingOptions"/>: the input was not even looked at. Try again later.
    /// </summary>
    TooManyFailedLookups = 9,

    /// <summary>
    /// The input is a link without a signature, and signed links are required (<see cref="Links.LinkOptions.RequireSignature"/>,
    /// on by default when signing keys are configured): its signature was stripped, or it was never signed. A code typed
    /// or scanned on its own is not refused for this.
    /// </summary>
    LinkSignatureMissing = 10,
}

/// <summary>The outcome of recording a touch.</summary>
public sealed class CaptureResult
{
    internal CaptureResult(CaptureOutcome outcome, CaptureRejection? rejection, Touch? touch, CodeResolutionOutcome? codeOutcome)
    {
        Outcome = outcome;
        Rejection = rejection;
        Touch = touch;
        CodeOutcome = codeOutcome;
    }

    /// <summary>What became of the capture.</summary>
    public CaptureOutcome Outcome { get; }

    /// <summary>Why it was refused; <see langword="null"/> when it was captured or found already captured.</summary>
    public CaptureRejection? Rejection { get; }

    /// <summary>The touch recorded (or found already recorded); <see langword="null"/> when refused.</summary>
    public Touch? Touch { get; }

    /// <summary>How the input resolved as a code, when there was one.</summary>
    public CodeResolutionOutcome? CodeOutcome { get; }

    /// <inheritdoc />
    public override string ToString() => Outcome == CaptureOutcome.Rejected ? $"Rejected ({Rejection})" : Outcome.ToString();
}

/// <summary>A referrer found by a contact look-up at a till, shown masked so the cashier can confirm with the friend.</summary>
public sealed class ReferrerMatch
{
    internal ReferrerMatch(ParticipantId referrer, Participants.ParticipantKind kind, string maskedContact)
    {
        Referrer = referrer;
        Kind = kind;
        MaskedContact = maskedContact;
    }

    /// <summary>The referrer's id.</summary>
    public ParticipantId Referrer { get; }

    /// <summary>What kind of participant they are.</summary>
    public Participants.ParticipantKind Kind { get; }

    /// <summary>The contact the friend gave, masked (<c>j***@example.com</c>).</summary>
    public string MaskedContact { get; }
}
