namespace Referrals.Attribution;

/// <summary>Why a line of a POS batch file was rejected.</summary>
public enum PosBatchErrorReason
{
    /// <summary>The file is empty, or its first non-blank line names none of the expected columns (a header is required). Reading stops.</summary>
    MissingHeader = 1,

    /// <summary>The header lacks a required column (the import error's column names the first one, the message all). Reading stops.</summary>
    MissingColumn,

    /// <summary>A required value is empty: <c>capture_id</c>, <c>store_id</c>, <c>event_time</c>, one of <c>code</c>/<c>referrer_email</c>/<c>referrer_phone</c>, or <c>amount</c> and <c>currency</c> with an order.</summary>
    MissingValue,

    /// <summary>
    /// A value has the wrong shape: a time without offset or outside the supported range (0001-01-01T00:00:00Z to
    /// 9997-12-31T23:59:59Z), a negative amount, a currency that is not three letters, an implausible e-mail, an id that is too long.
    /// </summary>
    InvalidValue,

    /// <summary>
    /// The line is not valid CSV: a quote inside an unquoted field, text after a closing quote, a quoted field that never
    /// closes, or more fields than the header has columns. Reading resumes at the next line.
    /// </summary>
    MalformedCsv,

    /// <summary>A record is longer than 64 KiB (65,536 characters) or one of its fields longer than 4 KiB (4,096 characters). Reading resumes at the next line.</summary>
    TooLong,

    /// <summary>The same <c>capture_id</c> was already read from an earlier line of the same file; the earlier row stands.</summary>
    DuplicateCaptureId,
}

/// <summary>
/// A line of a POS batch file that could not be read as a <see cref="PosBatchRow"/>. Only that line is lost: the reader
/// goes on with the next one. Immutable.
/// </summary>
internal sealed class PosBatchError
{
    internal PosBatchError(int lineNumber, PosBatchErrorReason reason, string? column, string message)
    {
        LineNumber = lineNumber;
        Reason = reason;
        Column = column;
        Message = message;
    }

    /// <summary>The 1-based physical line where the rejected record starts (the header is line 1).</summary>
    public int LineNumber { get; }

    /// <summary>Why the line was rejected.</summary>
    public PosBatchErrorReason Reason { get; }

    /// <summary>
    /// The column at fault, spelled as in the format (lower case, for example <c>event_time</c>), or <see langword="null"/>
    /// when the fault concerns the whole line or several columns, or a column the reader does not use.
    /// </summary>
    public string? Column { get; }

    /// <summary>
    /// An English sentence for the person who fixes the file: it names the line, the column and the bad value (shortened to
    /// 40 characters). It never repeats an e-mail address or phone number, so it may be logged and shown to the store.
    /// </summary>
    public string Message { get; }

    /// <summary>Returns <see cref="Message"/>.</summary>
    public override string ToString() => Message;
}
