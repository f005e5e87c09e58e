namespace Referrals.Sqlite;

/// <summary>
/// The bounds a <see cref="SqliteReferralStore"/> keeps its write-ahead log within (see the class remarks), in bytes of
/// log pages. Tests use small ones; the defaults are the documented ones.
/// </summary>
/// <param name="RestartLogBytes">
/// The log starts over at the latest once it holds this much: the checkpointer then copies the last of it while this
/// instance's writers wait (a writer does it itself past twice this). Default 256 MB (65,536 pages of 4 KB): under a
/// steady stream of conversions that wait comes every few thousand of them (see RESULTS.md).
/// </param>
/// <param name="LogFileLimitBytes">
/// The log's file is kept to this size: when a write starts the log over, SQLite cuts the file back to it
/// (<c>PRAGMA journal_size_limit</c>), and a log that grew past it (a long read, a large batch, a full disk) has its file
/// truncated to zero by the checkpointer (a TRUNCATE checkpoint) once all of it is copied, without waiting for the next
/// write. Default 512 MB: above what a steady stream leaves, so the file is not cut and grown again at every restart.
/// </param>
/// <param name="MaxLogBytes">
/// A log this large that a reader keeps from being copied refuses writes until the reader ends. Default 1 GB.
/// </param>
internal readonly record struct SqliteLogBounds(long RestartLogBytes, long LogFileLimitBytes, long MaxLogBytes)
{
    public static SqliteLogBounds Default { get; } = new(
        RestartLogBytes: 256L << 20,
        LogFileLimitBytes: 512L << 20,
        MaxLogBytes: 1L << 30);
}
