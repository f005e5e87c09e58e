using System.Collections;
using System.Runtime.CompilerServices;
using NodaTime;
using Referrals.Codes;

namespace Referrals.Storage;

/// <summary>
/// A chunk of bulk generation's new codes as the rows of one unit of work, made on demand from the drawn keys: a row and its
/// record are built each time one is read, and are the reader's to keep or drop. A store that writes a row and keeps
/// nothing of it (SQLite, PostgreSQL) leaves no object of a chunk alive from one row to the next, where a list of records
/// kept 65,536 records and their strings alive through the collections of the chunk: copied from generation to generation,
/// they cost more than the rest of the work a code (<c>alloc-quick</c>: 70 ns a code made and dropped at once, 600 ns
/// held for a chunk of 65,536). Rows read twice are equal, not the same objects. Not thread-safe.
/// </summary>
internal sealed class BulkCodeRows : IReadOnlyList<CodeRow>
{
    private readonly char[] _keys;
    private readonly int _keyLength;
    private readonly int[] _drawn;
    private int _count;

    /// <param name="keys">The drawn keys, <paramref name="keyLength"/> characters each; not changed while the rows are read.</param>
    /// <param name="keyLength">The length of a key.</param>
    /// <param name="count">How many keys, from the first.</param>
    /// <param name="shape">What the records have in common: every field but the code and its display.</param>
    /// <param name="changedAt">The rows' instant.</param>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public BulkCodeRows(char[] keys, int keyLength, int count, BulkCodeShape shape, Instant changedAt)
    {
        _keys = keys;
        _keyLength = keyLength;
        _count = count;
        _drawn = new int[count];
        for (int i = 0; i < count; i++)
        {
            _drawn[i] = i;
        }
        Shape = shape;
        ChangedAt = changedAt;
    }

    /// <summary>What the rows' records have in common: every field but the code and its display.</summary>
    public BulkCodeShape Shape { get; }

    /// <summary>The rows' instant.</summary>
    public Instant ChangedAt { get; }

    public int Count => _count;

    public CodeRow this[int index] => new(RecordAt(index), ChangedAt);

    /// <summary>The record of row <paramref name="index"/>, made now.</summary>
    public ReferralCodeRecord RecordAt(int index) => Shape.Record(Key(index));

    /// <summary>The key of row <paramref name="index"/>.</summary>
    public ReadOnlySpan<char> Key(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_count, nameof(index));
        return _keys.AsSpan(_drawn[index] * _keyLength, _keyLength);
    }

    /// <summary>The position in the drawn keys of row <paramref name="index"/> (rows removed move the later ones up).</summary>
    public int DrawnAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_count, nameof(index));
        return _drawn[index];
    }

    /// <summary>Takes row <paramref name="index"/> out; the rows after it move up one.</summary>
    public void RemoveAt(int index)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThanOrEqual((uint)index, (uint)_count, nameof(index));
        Array.Copy(_drawn, index + 1, _drawn, index, _count - index - 1);
        _count--;
    }

    /// <summary>The last row whose key is <paramref name="key"/>, or -1.</summary>
    public int LastIndexOf(string? key)
    {
        for (int i = _count - 1; i >= 0; i--)
        {
            if (Key(i).SequenceEqual(key))
            {
                return i;
            }
        }
        return -1;
    }

    /// <summary>
    /// The rows' indexes in ordinal order of their keys, rows of the same key in row order, without a string: a key of at
    /// most 12 symbols of the code alphabet (in ordinal order, 0-9 then A-Z) packed first symbol highest, sorted as a number.
    /// Null when a key does not pack so (the caller orders the rows by their records).
    /// </summary>
    public int[]? KeyOrder()
    {
        if (_keyLength > 12)
        {
            return null;
        }
        var sortKeys = new ulong[_count];
        var order = new int[_count];
        for (int i = 0; i < _count; i++)
        {
            ulong packed = 0;
            foreach (char c in Key(i))
            {
                int v = CodeAlphabet.ValueOf(c);
                if (v < 0)
                {
                    return null;
                }
                packed = (packed << 5) | (uint)v;
            }
            sortKeys[i] = packed;
            order[i] = i;
        }
        Array.Sort(sortKeys, order);
        // The sort is not stable: the rows of a key drawn twice are put back in row order.
        for (int i = 1; i < sortKeys.Length; i++)
        {
            if (sortKeys[i] == sortKeys[i - 1])
            {
                int start = i - 1;
                while (i + 1 < sortKeys.Length && sortKeys[i + 1] == sortKeys[start])
                {
                    i++;
                }
                Array.Sort(order, start, i - start + 1);
            }
        }
        return order;
    }

    public IEnumerator<CodeRow> GetEnumerator()
    {
        for (int i = 0; i < _count; i++)
        {
            yield return this[i];
        }
    }

    IEnumerator IEnumerable.GetEnumerator() => GetEnumerator();
}

/// <summary>
/// What the records of one bulk unit have in common — every field but the code and its display, which the generator prints
/// from the code — so a store may hold each code as its key and this, and make the record when it is read.
/// </summary>
internal sealed class BulkCodeShape(ReferralCodeRecord prototype, CodeGenerator generator, string? prefix)
{
    /// <summary>The shared fields (its code and display are one code's, not to be read).</summary>
    public ReferralCodeRecord Prototype => prototype;

    /// <summary>The display of the code <paramref name="key"/> printed into <paramref name="buffer"/>, or empty when it does not fit.</summary>
    public ReadOnlySpan<char> Display(ReadOnlySpan<char> key, Span<char> buffer) => generator.Display(prefix, key, buffer);

    /// <summary>The record of the code <paramref name="key"/>, made now.</summary>
    [MethodImpl(MethodImplOptions.AggressiveOptimization)]
    public ReferralCodeRecord Record(ReadOnlySpan<char> key) =>
        prototype with { Code = ReferralCode.FromNormalized(new string(key)), Display = generator.Display(prefix, key) };
}
