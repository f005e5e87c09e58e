using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Referrals.Storage;

namespace Referrals.Tests.Storage;

/// <summary>
/// <see cref="SortedChunkList{T}"/>: counts by rank agree with a plain count through any mix of in-order appends, late
/// inserts, removals and presence changes (the trees kept up to date across splits), and values arriving in order —
/// every referral of a busy referrer — never make a count read every chunk again (issue 17: constant cost per conversion).
/// </summary>
public sealed class SortedChunkListTests
{
    [Fact]
    public void In_order_appends_keep_the_trees_counting_from_the_first_build()
    {
        var list = new SortedChunkList<int>(Comparer<int>.Default);
        for (int v = 0; v < 100_000; v++)
        {
            list.Find(v, out var at);
            list.InsertAt(at, v, Presence.Committed);
            if (v % 7 == 0)
            {
                // A count after every few appends, as each conversion counts the referrer's day.
                Assert.Equal(Math.Min(v + 1, 500), list.Count(v - 499, v + 1, own: false));
            }
        }
        Assert.True(list.ChunkCount > 1_000, $"the list split into {list.ChunkCount} chunks");
        Assert.Equal(1, list.TreeBuilds);
        Assert.Equal(100_000, list.Count(int.MinValue, int.MaxValue, own: true));
    }

    [Property(MaxTest = 200)]
    public Property Counts_match_a_plain_count_through_appends_inserts_removals_and_state_changes() =>
        Prop.ForAll(
            // Long enough for many splits (a chunk splits past 128 values).
            Gen.Choose(0, 3_000).SelectMany(n => Gen.ArrayOf(Gen.Choose(0, 99).Zip(Gen.Choose(0, 2_000), (kind, value) => (Kind: kind, Value: value)), n))
                .ToArbitrary(),
            ops =>
            {
                var list = new SortedChunkList<int>(Comparer<int>.Default);
                var model = new SortedDictionary<int, Presence>();
                int next = 0;
                foreach (var (kind, value) in ops)
                {
                    if (kind < 60)
                    {
                        // Mostly appends after the largest value, as conversions arriving in order.
                        next += 1 + (value % 3);
                        Insert(list, model, next, value % 5 == 0 ? Presence.Added : Presence.Committed);
                    }
                    else if (kind < 75)
                    {
                        Insert(list, model, value, (Presence)(value % 3));
                    }
                    else if (kind < 85 && list.Find(value, out var at))
                    {
                        list.RemoveAt(at);
                        model.Remove(value);
                    }
                    else if (list.Find(value, out var found))
                    {
                        var state = (Presence)((value + kind) % 3);
                        list.SetState(found, state);
                        model[value] = state;
                    }
                    else
                    {
                        int from = Math.Min(value, next), until = Math.Max(value, next) + 1;
                        foreach (bool own in new[] { true, false })
                        {
                            int expected = model.Count(e => e.Key >= from && e.Key < until && Visible(e.Value, own));
                            if (list.Count(from, until, own) != expected)
                            {
                                return false;
                            }
                        }
                    }
                }
                int top = Math.Max(next, 2_000) + 1;
                foreach (bool own in new[] { true, false })
                {
                    for (int from = -1; from <= top; from += 37)
                    {
                        if (list.Count(from, top, own) != model.Count(e => e.Key >= from && Visible(e.Value, own)))
                        {
                            return false;
                        }
                    }
                }
                return true;
            });

    private static void Insert(SortedChunkList<int> list, SortedDictionary<int, Presence> model, int value, Presence state)
    {
        if (!list.Find(value, out var at))
        {
            list.InsertAt(at, value, state);
            model[value] = state;
        }
    }

    private static bool Visible(Presence state, bool own) => state == Presence.Committed || state == (own ? Presence.Added : Presence.Removed);
}
