using NodaTime;

namespace Referrals.Attribution;

/// <summary>
/// One referral capture that a store's POS recorded offline and uploaded later in a CSV batch, as read by
/// <see cref="PosBatchReader"/>. Immutable.
/// </summary>
/// <remarks>
/// <para>
/// Every string is the value from the file with surrounding white space removed, well-formed UTF-16 (the reader refuses
/// unpaired surrogates); an empty value is <see langword="null"/>.
/// Nothing else is normalised: <see cref="Code"/> is the text as typed or scanned (fold it with the code service),
/// and the e-mail addresses and phone numbers are raw personal data that the caller must hash before storing and
/// must not log.
/// </para>
/// <para>
/// The reader checked the shape of every value (lengths, the time's offset, the amount, the currency letters) but not
/// whether the store, code, referrer or order exists, nor whether <see cref="EventTime"/> is plausible (in the future,
/// or older than the program): that is for the attribution step, which has a clock and the program rules.
/// </para>
/// </remarks>
internal sealed class PosBatchRow
{
    internal PosBatchRow(int lineNumber, string captureId, string storeId, Instant eventTime)
    {
        LineNumber = lineNumber;
        CaptureId = captureId;
        StoreId = storeId;
        EventTime = eventTime;
    }

    /// <summary>The 1-based physical line of the file where this record starts (the header is line 1, blank lines count).</summary>
    public int LineNumber { get; }

    /// <summary>
    /// The POS's own id for the capture (<c>capture_id</c>, 1 to 128 characters): the idempotency key. Unique within one
    /// file (a repeat is reported as <see cref="PosBatchErrorReason.DuplicateCaptureId"/>), but an upload may be re-sent,
    /// so deduplicate against earlier batches too, together with <see cref="StoreId"/>.
    /// </summary>
    public string CaptureId { get; }

    /// <summary>The store that recorded the capture (<c>store_id</c>, 1 to 64 characters).</summary>
    public string StoreId { get; }

    /// <summary>The till or register (<c>register_id</c>, at most 64 characters), or <see langword="null"/> when not given.</summary>
    public string? RegisterId { get; internal init; }

    /// <summary>
    /// When the capture happened at the till (<c>event_time</c>), not when the file arrived. The file must give an
    /// offset or <c>Z</c>, so this is exact; the store's local offset is not kept.
    /// </summary>
    public Instant EventTime { get; }

    /// <summary>The referral code as typed or scanned (<c>code</c>), not normalised; <see langword="null"/> when the referrer was looked up by contact instead.</summary>
    public string? Code { get; internal init; }

    /// <summary>The referrer's e-mail address as given (<c>referrer_email</c>). Personal data: hash it, never log it.</summary>
    public string? ReferrerEmail { get; internal init; }

    /// <summary>The referrer's phone number as given (<c>referrer_phone</c>), not normalised. Personal data: hash it, never log it.</summary>
    public string? ReferrerPhone { get; internal init; }

    /// <summary>The friend's customer id in the host's system (<c>customer_id</c>, at most 128 characters), when known.</summary>
    public string? CustomerId { get; internal init; }

    /// <summary>The friend's e-mail address (<c>customer_email</c>), when known. Personal data: hash it, never log it.</summary>
    public string? CustomerEmail { get; internal init; }

    /// <summary>The friend's phone number (<c>customer_phone</c>), when known. Personal data: hash it, never log it.</summary>
    public string? CustomerPhone { get; internal init; }

    /// <summary>The order the capture came with (<c>order_id</c>, at most 128 characters), or <see langword="null"/> for a capture without a sale.</summary>
    public string? OrderId { get; internal init; }

    /// <summary>
    /// The order amount in major units of <see cref="Currency"/> (<c>amount</c>, zero or more, scale as written). Always
    /// present with <see cref="OrderId"/>; may also be present without one. Never present without <see cref="Currency"/>.
    /// </summary>
    public decimal? Amount { get; internal init; }

    /// <summary>The amount's currency (<c>currency</c>): three upper-case ASCII letters, not checked against ISO 4217. Present exactly when <see cref="Amount"/> is.</summary>
    public string? Currency { get; internal init; }

    /// <summary>Whether the POS flagged the friend as a new customer (<c>new_customer</c>); <see langword="null"/> when the file does not say.</summary>
    public bool? NewCustomer { get; internal init; }
}
