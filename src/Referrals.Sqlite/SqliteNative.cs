using System.Runtime.CompilerServices;
using System.Runtime.InteropServices;
using Microsoft.Data.Sqlite;

namespace Referrals.Sqlite;

/// <summary>
/// The SQLite functions the store calls directly in the native library SQLitePCLRaw
/// loaded (the same module, found by the name its provider reports, through the same probing):
/// <c>sqlite3_file_control(SQLITE_FCNTL_HAS_MOVED)</c>, whether a connection's database file is still the file at its
/// path; <c>sqlite3_wal_hook</c>, the number of pages in the write-ahead log after each commit (neither exposed by
/// SQLitePCLRaw); and a statement's row readers without SQLitePCLRaw's per-call costs, for reading millions of rows.
/// </summary>
/// <remarks>
/// Where the library or a function cannot be found, <see cref="HasMoved"/> answers "not moved" and
/// <see cref="TrackLogPages"/> does nothing: the store then relies on its background checks alone.
/// </remarks>
internal static unsafe class SqliteNative
{
    private const int SqliteOk = 0;
    private const int SqliteFcntlHasMoved = 20;

    private static readonly IntPtr Library = LoadLibrary();
    private static readonly delegate* unmanaged[Cdecl]<IntPtr, byte*, int, int*, int> FileControl =
        (delegate* unmanaged[Cdecl]<IntPtr, byte*, int, int*, int>)Export("sqlite3_file_control");
    private static readonly delegate* unmanaged[Cdecl]<IntPtr, delegate* unmanaged[Cdecl]<IntPtr, IntPtr, byte*, int, int>, IntPtr, IntPtr> WalHook =
        (delegate* unmanaged[Cdecl]<IntPtr, delegate* unmanaged[Cdecl]<IntPtr, IntPtr, byte*, int, int>, IntPtr, IntPtr>)Export("sqlite3_wal_hook");

    // The row readers of a statement, called without the SafeHandle reference counting and GC transition SQLitePCLRaw pays
    // on every call (a tenth of a microsecond a column): for the code index's start, millions of rows of eleven columns.
    private static readonly delegate* unmanaged[Cdecl]<IntPtr, int> Step =
        (delegate* unmanaged[Cdecl]<IntPtr, int>)Export("sqlite3_step");
    private static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, byte*> ColumnBlob =
        (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, byte*>)Export("sqlite3_column_blob");
    private static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, int> ColumnBytes =
        (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, int>)Export("sqlite3_column_bytes");
    private static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, long> ColumnInt64 =
        (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, long>)Export("sqlite3_column_int64");
    private static readonly delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, int> ColumnType =
        (delegate* unmanaged[Cdecl, SuppressGCTransition]<IntPtr, int, int>)Export("sqlite3_column_type");

    /// <summary>Whether the row readers below are available (else use SQLitePCLRaw's).</summary>
    public static bool HasRowReaders => Step != null && ColumnBlob != null && ColumnBytes != null && ColumnInt64 != null && ColumnType != null;

    /// <summary><c>sqlite3_step</c> of a statement the caller holds (its handle kept alive for the call).</summary>
    public static int StepRow(IntPtr statement) => Step(statement);

    /// <summary>A column's bytes (text as UTF-8), valid until the next step.</summary>
    public static ReadOnlySpan<byte> Bytes(IntPtr statement, int column)
    {
        byte* bytes = ColumnBlob(statement, column);
        return bytes == null ? default : new ReadOnlySpan<byte>(bytes, ColumnBytes(statement, column));
    }

    /// <summary>A column as an integer.</summary>
    public static long Int64(IntPtr statement, int column) => ColumnInt64(statement, column);

    /// <summary>Whether a column is NULL.</summary>
    public static bool IsNull(IntPtr statement, int column) => ColumnType(statement, column) == 5; // SQLITE_NULL

    /// <summary>
    /// Whether the main database file <paramref name="connection"/> has open is no longer the file at its path: deleted,
    /// renamed, or another file moved in its place. On Unix SQLite compares the inode of the open file with a <c>stat</c>
    /// of the path (one system call, no allocation); elsewhere (Windows, where an open database file cannot be deleted) it
    /// cannot tell and the answer is <see langword="false"/>. The connection must be open and used by the caller alone.
    /// </summary>
    public static bool HasMoved(SqliteConnection connection)
    {
        if (FileControl == null || connection.Handle is not { } handle)
        {
            return false;
        }
        int moved = 0;
        int rc;
        // "main\0" as UTF-8, a literal in the image: no allocation.
        fixed (byte* main = "main\0"u8)
        {
            rc = FileControl(handle.DangerousGetHandle(), main, SqliteFcntlHasMoved, &moved);
        }
        // SQLITE_NOTFOUND: the VFS cannot tell, so it has not seen a move.
        return rc == SqliteOk && moved != 0;
    }

    /// <summary>
    /// From now on, after each commit on <paramref name="connection"/>, stores the number of pages in the write-ahead log
    /// into <paramref name="pages"/>, which must stay pinned until <see cref="StopTrackingLogPages"/> is called for the
    /// connection (before it is closed or returned to the pool).
    /// </summary>
    public static void TrackLogPages(SqliteConnection connection, long* pages)
    {
        if (WalHook != null && connection.Handle is { } handle)
        {
            WalHook(handle.DangerousGetHandle(), &OnCommit, (IntPtr)pages);
        }
    }

    /// <summary>Removes the hook <see cref="TrackLogPages"/> set.</summary>
    public static void StopTrackingLogPages(SqliteConnection connection)
    {
        if (WalHook != null && connection.Handle is { } handle && !handle.IsInvalid && !handle.IsClosed)
        {
            WalHook(handle.DangerousGetHandle(), null, IntPtr.Zero);
        }
    }

    // Called by SQLite on the committing thread, after the commit, with the pages now in the log.
    [UnmanagedCallersOnly(CallConvs = [typeof(CallConvCdecl)])]
    private static int OnCommit(IntPtr pages, IntPtr db, byte* name, int logPages)
    {
        Volatile.Write(ref *(long*)pages, logPages);
        return SqliteOk;
    }

    private static IntPtr LoadLibrary()
    {
        try
        {
            // "e_sqlite3" for Microsoft.Data.Sqlite's bundle. Resolved for SQLitePCLRaw's assembly, it is the module
            // already loaded, not a second copy.
            string name = SQLitePCL.raw.GetNativeLibraryName();
            return NativeLibrary.TryLoad(name, typeof(SQLitePCL.raw).Assembly, null, out var library) ? library : IntPtr.Zero;
        }
#pragma warning disable CA1031 // Whatever the provider throws (none set, no native library name), the functions are unavailable.
        catch (Exception)
#pragma warning restore CA1031
        {
            return IntPtr.Zero;
        }
    }

    private static IntPtr Export(string name) =>
        Library != IntPtr.Zero && NativeLibrary.TryGetExport(Library, name, out var export) ? export : IntPtr.Zero;
}
