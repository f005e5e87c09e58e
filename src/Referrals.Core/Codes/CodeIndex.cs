using System.Collections.Concurrent;

namespace Referrals.Codes;

/// <summary>
/// The in-memory lookup of codes by normalised key, read on every checkout and scan. Lock-free reads; a span lookup
/// through the dictionary's alternate comparer, so neither a hit nor a miss allocates.
/// </summary>
internal sealed class CodeIndex
{
    private readonly ConcurrentDictionary<string, ReferralCodeRecord> _map;
    private readonly ConcurrentDictionary<string, ReferralCodeRecord>.AlternateLookup<ReadOnlySpan<char>> _spanLookup;

    public CodeIndex(int capacity = 0)
    {
        _map = new ConcurrentDictionary<string, ReferralCodeRecord>(Environment.ProcessorCount, Math.Max(capacity, 31), StringComparer.Ordinal);
        _spanLookup = _map.GetAlternateLookup<ReadOnlySpan<char>>();
    }

    public int Count => _map.Count;

    public bool TryGet(ReadOnlySpan<char> key, out ReferralCodeRecord record) => _spanLookup.TryGetValue(key, out record!);

    /// <summary>Adds or replaces a record; a replacement with a lower version than the one held is ignored.</summary>
    public void Set(ReferralCodeRecord record)
    {
        _map.AddOrUpdate(
            record.Code.Value,
            static (_, r) => r,
            static (_, existing, r) => r.Version >= existing.Version ? r : existing,
            record);
    }
}
