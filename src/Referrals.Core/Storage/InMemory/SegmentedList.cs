using System.Numerics;
using System.Runtime.CompilerServices;

namespace Referrals.Storage;

/// <summary>
/// A list of structs kept in arrays of a fixed length (about 64 KB each), read and written by reference. Growing adds an
/// array and copies nothing, so a list that grows to millions of items leaves no garbage behind, and none of its arrays
/// is a large object. Not thread-safe.
/// </summary>
internal sealed class SegmentedList<T>
    where T : struct
{
    private const int SegmentBytes = 64 * 1024;

    // A power of two, so an index splits into a segment and an offset with a shift and a mask.
    private static readonly int Shift = BitOperations.Log2((uint)Math.Max(1, SegmentBytes / Unsafe.SizeOf<T>()));
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
    public ref T Add()
    {
        int index = _count;
        int segment = index >> Shift;
        if (segment == _segments.Count)
        {
            _segments.Add(new T[1 << Shift]);
        }
        _count = index + 1;
        return ref _segments[segment][index & Mask];
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
