using Referrals.Storage;

namespace Referrals.Tests.Storage;

/// <summary><see cref="SegmentedList{T}"/>: items kept across its fixed-length arrays, and truncation across their boundaries.</summary>
public sealed class SegmentedListTests
{
    // 16 bytes an item: 8,192 items an array, the first starting at 16.
    private record struct Item(long Number, string Text);

    [Theory]
    [InlineData(0)]
    [InlineData(1)]
    [InlineData(16)]
    [InlineData(17)]
    [InlineData(8191)]
    [InlineData(8192)]
    [InlineData(8193)]
    [InlineData(39000)]
    public void Truncating_keeps_the_items_before_and_appends_after_them_again(int keep)
    {
        var list = new SegmentedList<Item>();
        for (int i = 0; i < 40_000; i++)
        {
            list.Add() = new Item(i, "first");
        }
        list.Truncate(keep);
        Assert.Equal(keep, list.Count);
        Assert.Throws<ArgumentOutOfRangeException>(() => list[keep]);
        for (int i = keep; i < 40_000; i++)
        {
            // An appended item starts from the default: nothing of the dropped one shows through.
            ref var item = ref list.Add();
            Assert.Equal(default, item);
            item = new Item(i, "second");
        }
        for (int i = 0; i < 40_000; i++)
        {
            Assert.Equal(new Item(i, i < keep ? "first" : "second"), list[i]);
        }
    }

    [Fact]
    public void Truncating_past_the_end_throws()
    {
        var list = new SegmentedList<Item>();
        list.Add() = new Item(1, "one");
        Assert.Throws<ArgumentOutOfRangeException>(() => list.Truncate(2));
        Assert.Throws<ArgumentOutOfRangeException>(() => list.Truncate(-1));
    }
}
