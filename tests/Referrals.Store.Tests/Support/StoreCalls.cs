using System.Runtime.CompilerServices;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Sqlite;
using Referrals.Storage;

namespace Referrals.Store.Tests.Support;

/// <summary>
/// The store writes and reads the SQLite infrastructure tests (checkpoints, a full disk, a lost file, the code feed) are
/// written with, each one unit of work of its own session on the store contract — what the code service does.
/// </summary>
internal static class StoreCalls
{
    private const int Page = 1024;

    /// <summary>Inserts a code (its first version, or the next one) in a session of its own; false when the store refused it.</summary>
    public static async ValueTask<bool> TryAddAsync(this SqliteReferralStore store, ReferralCodeRecord record, CancellationToken ct) =>
        await WriteAsync(store, new UnitOfWork(codes: [new CodeRow(record, record.CreatedAt)]), ct) == WriteStatus.Written;

    /// <summary>Inserts many codes in one session: all of them, or none when one is refused.</summary>
    public static async ValueTask<bool> AddManyAsync(this SqliteReferralStore store, IReadOnlyList<ReferralCodeRecord> records, CancellationToken ct) =>
        await WriteAsync(store, new UnitOfWork(codes: [.. records.Select(r => new CodeRow(r, r.CreatedAt))]), ct) == WriteStatus.Written;

    /// <summary>Writes the next version of a code in a session of its own; false when <paramref name="record"/> is not the next one.</summary>
    public static ValueTask<bool> TryUpdateAsync(this SqliteReferralStore store, ReferralCodeRecord record, CancellationToken ct) =>
        TryAddAsync(store, record, ct);

    public static ValueTask<ReferralCodeRecord?> FindAsync(this SqliteReferralStore store, ReferralCode code, CancellationToken ct) =>
        ((IReferralStore)store).FindCodeAsync(code, ct);

    /// <summary>The position of the latest change of the code feed (0 when no code was written), read page by page.</summary>
    public static async ValueTask<long> GetChangePositionAsync(this SqliteReferralStore store, CancellationToken ct)
    {
        long position = 0;
        await foreach (var change in ListChangesAsync(store, ct))
        {
            position = change.Position;
        }
        return position;
    }

    /// <summary>Every code at its latest version, a page of the feed (one read of the store) at a time.</summary>
    public static async IAsyncEnumerable<ReferralCodeChange> ListChangesAsync(this SqliteReferralStore store, [EnumeratorCancellation] CancellationToken ct)
    {
        long after = 0;
        while (true)
        {
            var page = await ((IReferralStore)store).ListCodeChangesAsync(after, Page, ct);
            foreach (var change in page)
            {
                yield return change;
                after = change.Position;
            }
            if (page.Count < Page)
            {
                yield break;
            }
        }
    }

    /// <summary>Every code at its latest version, in change order, a page of the feed (one read of the store) at a time.</summary>
    public static async IAsyncEnumerable<ReferralCodeRecord> ListAllAsync(this SqliteReferralStore store, [EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var change in ListChangesAsync(store, ct))
        {
            yield return change.Record;
        }
    }

    /// <summary>How many codes one page of <see cref="ListAllAsync"/> reads.</summary>
    public const int ListAllPageSize = Page;

    /// <summary>The conversion of an order as stored, or <see langword="null"/>.</summary>
    public static async ValueTask<Conversion?> FindConversionAsync(this SqliteReferralStore store, ProgramId program, string orderId, CancellationToken ct) =>
        (await ((IReferralStore)store).FindOrderAsync(program, orderId, ct))?.Conversion;

    /// <summary>Records a touch in a session of its own; false when one of its id is stored in its program.</summary>
    public static async ValueTask<bool> TryAddTouchAsync(this SqliteReferralStore store, Touch touch, CancellationToken ct) =>
        await WriteAsync(store, new UnitOfWork(touches: [touch]), ct) == WriteStatus.Written;

    /// <summary>Writes one unit in a session of its own and commits it if it was written.</summary>
    public static async ValueTask<WriteOutcome> WriteUnitAsync(this IReferralStore store, UnitOfWork unit, CancellationToken ct)
    {
        await using var session = await store.BeginAsync(ct);
        var outcome = await session.WriteAsync(unit, ct);
        if (outcome.Status == WriteStatus.Written)
        {
            await session.CommitAsync(ct);
        }
        return outcome;
    }

    private static async ValueTask<WriteStatus> WriteAsync(IReferralStore store, UnitOfWork unit, CancellationToken ct) =>
        (await WriteUnitAsync(store, unit, ct)).Status;
}
