using System.Numerics;
using System.Runtime.CompilerServices;

namespace Referrals.Storage;

/// <summary>
/// A list of structs kept in arrays of a fixed length (64 to 128 KB each but the first), read and written by reference.
/// Growing adds an array and copies nothing, so a list that grows to millions of items leaves no garbage behind; and its
/// full arrays are large objects on purpose: they live as long as the list, and the collector never copies a large object,
/// where each small one would be copied twice on its way to the oldest generation. The first array starts small and
/// doubles up to the full length, so a list of a few items costs a few items. Not thread-safe.
/// </summary>
internal sealed class SegmentedList<T>
    where T : struct
{
    private const int SegmentBytes = 128 * 1024;
    private const int FirstLength = 16;

    // A power of two, so an index splits into a segment and an offset with a shift and a mask; at least half of
    // SegmentBytes, so mostly above the large object threshold (85,000 bytes): 96 KB of the code table's 48-byte entries,
    // 128 KB of its 16-byte feed items.
    private static readonly int Shift = BitOperations.Log2((uint)Math.Max(FirstLength, SegmentBytes / Unsafe.SizeOf<T>()));
    private static readonly int Mask = (1 << Shift) - 1;

    private readonly List<T[]> _segments = [];
    private int _count;

    public int Count => _count;

    public ref T this[int index]
    {
        get
        {
            if ((uint)index >= (uint)_count)
            {
                throw new ArgumentOutOfRangeException(nameof(index), index, $"The list holds {_count} items.");
            }
            return ref _segments[index >> Shift][index & Mask];
        }
    }

    /// <summary>Appends a default item and returns it by reference, to be filled in.</summary>
    [MethodImpl(MethodImplOptions.AggressiveInlining)]
    public ref T Add()
    {
        int index = _count;
        int segment = index >> Shift;
        int offset = index & Mask;
        if (segment == _segments.Count)
        {
            _segments.Add(new T[segment == 0 ? Math.Min(FirstLength, Mask + 1) : Mask + 1]);
        }
        else if (offset == _segments[segment].Length)
        {
            // Only the first array is ever shorter than the full length.
            var grown = new T[Math.Min(offset * 2, Mask + 1)];
            Array.Copy(_segments[segment], grown, offset);
            _segments[segment] = grown;
        }
        _count = index + 1;
        return ref _segments[segment][offset];
    }

    /// <summary>
    /// Drops the items from <paramref name="count"/> on: cleared, so they hold nothing alive; the arrays wholly past the end
    /// but one are released (the one kept is filled again by the next appends without an allocation).
    /// </summary>
    public void Truncate(int count)
    {
        ArgumentOutOfRangeException.ThrowIfNegative(count);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(count, _count);
        if (RuntimeHelpers.IsReferenceOrContainsReferences<T>())
        {
            for (int i = count; i < _count;)
            {
                int length = Math.Min((i | Mask) + 1, _count) - i;
                Array.Clear(_segments[i >> Shift], i & Mask, length);
                i += length;
            }
        }
        _count = count;
        int keep = ((count + Mask) >> Shift) + 1;
        if (_segments.Count > keep)
        {
            _segments.RemoveRange(keep, _segments.Count - keep);
        }
    }
}
