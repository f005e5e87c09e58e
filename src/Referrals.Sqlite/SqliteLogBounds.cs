namespace Referrals.Sqlite;

/// <summary>
/// The bounds a <see cref="SqliteReferralStore"/> keeps its write-ahead log within (see the class remarks), in bytes of
/// log pages. Tests use small ones; the defaults are the documented ones.
/// </summary>
/// <param name="LogFileLimitBytes">
/// The log starts over at the latest once it holds this much (the checkpointer then copies the last of it while this
/// instance's writers wait), and when a write starts it over its file is cut back to this size
/// (<c>PRAGMA journal_size_limit</c>). Default 256 MB.
/// </param>
/// <param name="TruncateLogPastBytes">
/// A log larger than this, once all of it is copied, has its file truncated to zero bytes by the checkpointer (a TRUNCATE
/// checkpoint) without waiting for the next write. Default 512 MB.
/// </param>
/// <param name="MaxLogBytes">
/// A log this large that a reader keeps from being copied refuses writes until the reader ends. Default 1 GB.
/// </param>
internal readonly record struct SqliteLogBounds(long LogFileLimitBytes, long TruncateLogPastBytes, long MaxLogBytes)
{
    public static SqliteLogBounds Default { get; } = new(
        LogFileLimitBytes: 256L << 20,
        TruncateLogPastBytes: 512L << 20,
        MaxLogBytes: 1L << 30);
}
