using Referrals.Codes;
using Referrals.Storage;

namespace Referrals.PostgreSql.Tests.Support;

/// <summary>The store writes of the tests, each one unit of work in a session of its own (what Core's services do).</summary>
internal static class StoreWrites
{
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

    /// <summary>Writes a unit that must be written.</summary>
    public static async Task WrittenAsync(this IReferralStore store, UnitOfWork unit, CancellationToken ct) =>
        Assert.Equal(WriteOutcome.Written, await WriteUnitAsync(store, unit, ct));

    /// <summary>Writes a code's version (its first, or the next) in a session of its own; false when the store refused it.</summary>
    public static async ValueTask<bool> TryWriteCodeAsync(this IReferralStore store, ReferralCodeRecord record, CancellationToken ct) =>
        (await WriteUnitAsync(store, new UnitOfWork(codes: [new CodeRow(record, record.CreatedAt)]), ct)).Status == WriteStatus.Written;
}
