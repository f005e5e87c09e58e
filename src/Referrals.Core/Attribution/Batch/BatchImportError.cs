namespace Referrals.Attribution;

/// <summary>Why a row of a POS batch upload was not imported.</summary>
public enum BatchImportErrorReason
{
    /// <summary>
    /// The line could not be read as a row (bad CSV, a missing or malformed value, a repeated capture id, or a header
    /// problem that ends the file): <see cref="BatchImportError.ReadReason"/> has the reader's reason.
    /// </summary>
    Unreadable = 1,

    /// <summary>The row has an e-mail or phone value, but <c>Referrals:Privacy:ContactHashKey</c> is not configured to hash it.</summary>
    ContactHashKeyMissing = 2,

    /// <summary>An e-mail address or phone number that cannot be normalised (<see cref="BatchImportError.Column"/> names which).</summary>
    InvalidContact = 3,

    /// <summary>The row names no customer: none of <c>customer_id</c>, <c>customer_email</c> and <c>customer_phone</c>.</summary>
    NoCustomer = 4,

    /// <summary>The row has an <c>order_id</c> but no <c>customer_id</c>: a conversion needs the customer's id.</summary>
    OrderWithoutCustomerId = 5,

    /// <summary>No referrer has the e-mail address or phone number given for the referrer.</summary>
    ReferrerNotFound = 6,

    /// <summary>Several referrers share the e-mail address or phone number given for the referrer.</summary>
    ReferrerAmbiguous = 7,

    /// <summary>
    /// The capture was refused (a code that is malformed, unknown, of another program, not handed out, ...):
    /// <see cref="BatchImportError.Rejection"/> says why.
    /// </summary>
    CaptureRefused = 8,

    /// <summary>The row's <c>amount</c> is above the largest order amount the library accepts (10^12 in major units).</summary>
    AmountTooLarge = 9,
}

/// <summary>One row of a POS batch upload that was not imported, and why. Immutable.</summary>
public sealed class BatchImportError
{
    internal BatchImportError(
        int lineNumber,
        BatchImportErrorReason reason,
        string? column,
        string message,
        PosBatchErrorReason? readReason = null,
        CaptureRejection? rejection = null)
    {
        LineNumber = lineNumber;
        Reason = reason;
        Column = column;
        Message = message;
        ReadReason = readReason;
        Rejection = rejection;
    }

    /// <summary>The 1-based line in the file where the row starts (the header is line 1).</summary>
    public int LineNumber { get; }

    /// <summary>Why the row was not imported.</summary>
    public BatchImportErrorReason Reason { get; }

    /// <summary>
    /// The column at fault, spelled as in the format (<c>event_time</c>, <c>code</c>, <c>customer_email</c>, ...), or
    /// <see langword="null"/> when the fault concerns the whole row or several columns.
    /// </summary>
    public string? Column { get; }

    /// <summary>For <see cref="BatchImportErrorReason.Unreadable"/>: the reason the POS batch reader gave; otherwise <see langword="null"/>.</summary>
    public PosBatchErrorReason? ReadReason { get; }

    /// <summary>For <see cref="BatchImportErrorReason.CaptureRefused"/>: why the capture was refused; otherwise <see langword="null"/>.</summary>
    public CaptureRejection? Rejection { get; }

    /// <summary>
    /// An English sentence for the person who fixes the file, starting with <c>Line n:</c>; it names the column and the
    /// problem but never repeats an e-mail address or phone number, so it may be logged and shown to the store.
    /// </summary>
    public string Message { get; }

    /// <summary>Returns <see cref="Message"/>.</summary>
    public override string ToString() => Message;
}
