using Referrals.Storage;
using Referrals.Notifications;
using System.Collections.Immutable;

namespace Referrals.Benchmarks.CopyOnWrite;

/// <summary>Helpers for the in-memory store's immutable indexes: a key mapping to a sorted set of entries.</summary>
internal static class IndexExtensions
{
    public static ImmutableDictionary<TKey, ImmutableSortedSet<T>> With<TKey, T>(this ImmutableDictionary<TKey, ImmutableSortedSet<T>> index, TKey key, T item, IComparer<T>? comparer = null)
        where TKey : notnull
    {
        var set = index.TryGetValue(key, out var s) ? s : ImmutableSortedSet.Create(comparer ?? Comparer<T>.Default);
        return index.SetItem(key, set.Add(item));
    }

    public static ImmutableDictionary<TKey, ImmutableSortedSet<T>> Without<TKey, T>(this ImmutableDictionary<TKey, ImmutableSortedSet<T>> index, TKey key, T item)
        where TKey : notnull
    {
        if (!index.TryGetValue(key, out var set))
        {
            return index;
        }
        set = set.Remove(item);
        return set.IsEmpty ? index.Remove(key) : index.SetItem(key, set);
    }

    public static ImmutableSortedSet<T> Get<TKey, T>(this ImmutableDictionary<TKey, ImmutableSortedSet<T>> index, TKey key)
        where TKey : notnull =>
        index.TryGetValue(key, out var set) ? set : ImmutableSortedSet<T>.Empty;

    /// <summary>The index of the first entry not less than <paramref name="item"/>.</summary>
    public static int LowerBound<T>(this ImmutableSortedSet<T> set, T item)
    {
        int i = set.IndexOf(item);
        return i >= 0 ? i : ~i;
    }

    /// <summary>The index of the first entry greater than <paramref name="item"/>.</summary>
    public static int UpperBound<T>(this ImmutableSortedSet<T> set, T item)
    {
        int i = set.IndexOf(item);
        return i >= 0 ? i + 1 : ~i;
    }
}
