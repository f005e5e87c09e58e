using System.Collections.Concurrent;
using System.Runtime.CompilerServices;
using Referrals.Codes;
using Referrals.Internal;

namespace Referrals.Storage;

/// <summary>
/// A thread-safe store held in process memory, with the same semantics as the database stores
/// (unique codes, optimistic concurrency). For tests, demos and single-process hosts that can lose their data on restart.
/// </summary>
public sealed partial class InMemoryReferralStore : IReferralCodeStore
{
    private readonly ConcurrentDictionary<string, ReferralCodeRecord> _codes = new(StringComparer.Ordinal);

    /// <summary>How many codes the store holds.</summary>
    public int CodeCount => _codes.Count;

    /// <inheritdoc />
    public ValueTask<bool> TryAddAsync(ReferralCodeRecord record, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(record);
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_codes.TryAdd(record.Code.Value, record));
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyCollection<ReferralCode>> AddManyAsync(IReadOnlyList<ReferralCodeRecord> records, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(records);
        cancellationToken.ThrowIfCancellationRequested();
        List<ReferralCode>? rejected = null;
        foreach (var record in records)
        {
            if (!_codes.TryAdd(record.Code.Value, record))
            {
                (rejected ??= []).Add(record.Code);
            }
        }
        return ValueTask.FromResult<IReadOnlyCollection<ReferralCode>>(rejected ?? (IReadOnlyCollection<ReferralCode>)[]);
    }

    /// <inheritdoc />
    public ValueTask<ReferralCodeRecord?> FindAsync(ReferralCode code, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        return ValueTask.FromResult(_codes.TryGetValue(code.Value, out var r) ? r : null);
    }

    /// <inheritdoc />
    public ValueTask<bool> TryUpdateAsync(ReferralCodeRecord record, long expectedVersion, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(record);
        Preconditions.CheckArgument(record.Version == expectedVersion + 1, nameof(record), $"The new record must carry version {expectedVersion + 1}; it carries {record.Version}.");
        cancellationToken.ThrowIfCancellationRequested();
        while (_codes.TryGetValue(record.Code.Value, out var current))
        {
            if (current.Version != expectedVersion)
            {
                return ValueTask.FromResult(false);
            }
            if (_codes.TryUpdate(record.Code.Value, record, current))
            {
                return ValueTask.FromResult(true);
            }
        }
        return ValueTask.FromResult(false);
    }

    /// <inheritdoc />
    public async IAsyncEnumerable<ReferralCodeRecord> ListAllAsync([EnumeratorCancellation] CancellationToken cancellationToken = default)
    {
        foreach (var pair in _codes)
        {
            cancellationToken.ThrowIfCancellationRequested();
            yield return pair.Value;
        }
        await Task.CompletedTask.ConfigureAwait(false);
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<ReferralCodeRecord>> ListByOwnerAsync(ProgramId program, ParticipantId owner, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        IReadOnlyList<ReferralCodeRecord> list = _codes.Values
            .Where(r => r.Program == program && r.Owner == owner)
            .OrderBy(r => r.Code.Value, StringComparer.Ordinal)
            .ToList();
        return ValueTask.FromResult(list);
    }
}
