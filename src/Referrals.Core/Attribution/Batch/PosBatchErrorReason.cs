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
