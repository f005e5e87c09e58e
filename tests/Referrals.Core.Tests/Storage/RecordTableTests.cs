using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Referrals.Storage;

namespace Referrals.Tests.Storage;

/// <summary>The open-addressing table behind the in-memory store's participant and order indexes.</summary>
public sealed class RecordTableTests
{
    private sealed record Item(string Key, int Value) : IKeyedRecord<string>
    {
        public bool HasKey(string key) => string.Equals(Key, key, StringComparison.Ordinal);
    }

    /// <summary>Every hash the same: every record probes from one slot, past all the others.</summary>
    private sealed class OneHash : IEqualityComparer<string>
    {
        public bool Equals(string? x, string? y) => string.Equals(x, y, StringComparison.Ordinal);

        public int GetHashCode(string obj) => 42;
    }

    [Property(MaxTest = 200)]
    public Property Adds_and_lookups_agree_with_a_dictionary_through_growth(bool collide) =>
        Prop.ForAll(
            Gen.Choose(0, 300).Zip(Gen.Choose(0, 9)).ArrayOf().ToArbitrary(),
            steps =>
            {
                var table = new RecordTable<string, Item>(collide ? new OneHash() : null);
                var model = new Dictionary<string, Item>(StringComparer.Ordinal);
                foreach (var (key, value) in steps)
                {
                    var item = new Item($"k{key}", value);
                    if (table.TryAdd(item.Key, item) != model.TryAdd(item.Key, item))
                    {
                        return false; // the first record of a key is kept, later ones are refused
                    }
                }
                for (int key = -1; key <= 301; key++)
                {
                    bool found = table.TryGetValue($"k{key}", out var item);
                    if (found != model.TryGetValue($"k{key}", out var expected) || !ReferenceEquals(item, expected))
                    {
                        return false;
                    }
                }
                return table.Count == model.Count
                    && table.Values.OrderBy(i => i.Key, StringComparer.Ordinal).SequenceEqual(model.Values.OrderBy(i => i.Key, StringComparer.Ordinal));
            });

    [Fact]
    public async Task Readers_without_a_lock_find_every_record_added_before_they_looked_while_the_table_grows()
    {
        var table = new RecordTable<string, Item>();
        const int Records = 200_000;
        int published = 0; // records [0, published) are in the table
        var ct = TestContext.Current.CancellationToken;
        var writer = Task.Run(() =>
        {
            for (int i = 0; i < Records; i++)
            {
                Assert.True(table.TryAdd($"k{i}", new Item($"k{i}", i)));
                Volatile.Write(ref published, i + 1);
            }
        }, ct);
        var readers = Enumerable.Range(0, 2).Select(r => Task.Run(() =>
        {
            int misses = 0;
            uint n = (uint)r;
            while (Volatile.Read(ref published) < Records)
            {
                int upTo = Volatile.Read(ref published);
                if (upTo == 0)
                {
                    continue;
                }
                n = unchecked((n * 1_664_525u) + 1_013_904_223u); // keys spread over all published ones
                int key = (int)(n % (uint)upTo);
                if (!table.TryGetValue($"k{key}", out var item) || item.Value != key)
                {
                    misses++;
                }
            }
            return misses;
        }, ct)).ToArray();
        await writer;
        int[] misses = await Task.WhenAll(readers);
        Assert.Equal([0, 0], misses);
        Assert.Equal(Records, table.Count);
    }
}
