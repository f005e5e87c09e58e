namespace Referrals.Attribution;

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
