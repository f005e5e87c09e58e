namespace Referrals;

/// <summary>What went wrong, for the failures that are neither programmer misuse nor an expected business outcome.</summary>
public enum ReferralErrorCode
{
    /// <summary>No unused code could be drawn within the configured number of attempts: the code space is too crowded for the configured length.</summary>
    CodeSpaceExhausted = 1,

    /// <summary>Every draw within the configured number of attempts contained a blocked word: the blocklist is too broad for the configured length.</summary>
    BlocklistExhausted = 2,

    /// <summary>The code named does not exist in the store.</summary>
    CodeNotFound = 3,

    /// <summary>The record changed under the caller more often than the retry budget allows.</summary>
    ConcurrencyConflict = 4,

    /// <summary>The requested lifecycle change is not allowed from the code's current status (for example resuming a revoked code).</summary>
    InvalidCodeTransition = 5,

    /// <summary>
    /// The store's database file was deleted, renamed or replaced by another file while the store had it open: writes would
    /// go to a file nobody opens again, so the store refuses every operation until it is opened anew on a file in place.
    /// </summary>
    StoreFileLost = 6,

    /// <summary>
    /// The store's write-ahead log reached its bound and cannot be copied into the database file, because a read
    /// transaction still open on the file (of this or another process) reads an older state: writes are refused until
    /// that read ends, instead of growing the log without bound.
    /// </summary>
    StoreLogFull = 7,
}

/// <summary>
/// The one exception type of Referrals.Core for failures that are not argument misuse
/// (those throw the <see cref="ArgumentException"/> family) and not expected outcomes
/// (those come back as result values). <see cref="ErrorCode"/> says which failure it is.
/// </summary>
public sealed class ReferralException : Exception
{
    /// <summary>Creates the exception with its error code and a message that names the offending value or setting.</summary>
    public ReferralException(ReferralErrorCode errorCode, string message)
        : base(message)
    {
        ErrorCode = errorCode;
    }

    /// <summary>Creates the exception with its error code, message and the exception that caused it.</summary>
    public ReferralException(ReferralErrorCode errorCode, string message, Exception? innerException)
        : base(message, innerException)
    {
        ErrorCode = errorCode;
    }

    /// <summary>Which failure this is; stable across versions, suitable for switching on.</summary>
    public ReferralErrorCode ErrorCode { get; }
}
