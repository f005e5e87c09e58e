using System.Runtime.CompilerServices;
using NodaTime;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Reporting;

/// <summary>One recorded order with what Core decided about it and its reward rows as they stand.</summary>
internal readonly record struct HistoryOrder(OrderRow Row, OrderDocument Document, IReadOnlyList<RewardFold.State> Rewards);

/// <summary>
/// A program's stored history in event-time order, read in pages through the store contract: its orders by (event time,
/// order id), each with its reward rows (read from the program's rewards by (conversion time, reward id) beside them), and
/// its touches by (event time, touch id). What is held at once is one page and the orders of one instant, whatever the
/// length of the history.
/// </summary>
internal static class ProgramHistory
{
    internal const int Page = 1_000;

    /// <summary>The orders with event time in [<paramref name="from"/>, <paramref name="until"/>), each with its reward rows.</summary>
    public static async IAsyncEnumerable<HistoryOrder> OrdersAsync(
        IReferralStoreReader reader, ProgramId program, Instant from, Instant until, [EnumeratorCancellation] CancellationToken ct)
    {
        await using var orders = Paged((after, limit) => reader.ListProgramOrdersAsync(program, after, limit, ct), o => new ListPosition(o.Conversion.EventTime, o.Conversion.OrderId), from, ct)
            .GetAsyncEnumerator(ct);
        await using var rewards = Paged((after, limit) => reader.ListProgramRewardsAsync(program, after, limit, ct), r => new ListPosition(r.ConversionTime, r.RewardId), from, ct)
            .GetAsyncEnumerator(ct);
        bool moreOrders = await orders.MoveNextAsync().ConfigureAwait(false);
        bool moreRewards = await rewards.MoveNextAsync().ConfigureAwait(false);
        var instant = new List<OrderRow>();
        var byOrder = new Dictionary<string, List<RewardFold.State>>(StringComparer.Ordinal);
        while (moreOrders && orders.Current.Conversion.EventTime < until)
        {
            // Every order of one instant, then every reward row of that instant (reward ids of one instant are not in the
            // order of their orders' ids), then the orders in order with their rows.
            var at = orders.Current.Conversion.EventTime;
            instant.Clear();
            byOrder.Clear();
            while (moreOrders && orders.Current.Conversion.EventTime == at)
            {
                instant.Add(orders.Current);
                moreOrders = await orders.MoveNextAsync().ConfigureAwait(false);
            }
            while (moreRewards && rewards.Current.ConversionTime <= at)
            {
                var row = rewards.Current;
                if (row.ConversionTime == at)
                {
                    if (!byOrder.TryGetValue(row.OrderId, out var list))
                    {
                        byOrder[row.OrderId] = list = [];
                    }
                    list.Add(RewardDocuments.FromRow(row));
                }
                moreRewards = await rewards.MoveNextAsync().ConfigureAwait(false);
            }
            foreach (var order in instant)
            {
                yield return new HistoryOrder(
                    order,
                    OrderDocument.FromRow(order),
                    byOrder.TryGetValue(order.Conversion.OrderId, out var states) ? states : []);
            }
        }
    }

    /// <summary>The touches with event time in [<paramref name="from"/>, <paramref name="until"/>).</summary>
    public static async IAsyncEnumerable<Attribution.Touch> TouchesAsync(
        IReferralStoreReader reader, ProgramId program, Instant from, Instant until, [EnumeratorCancellation] CancellationToken ct)
    {
        await foreach (var touch in Paged((after, limit) => reader.ListProgramTouchesAsync(program, after, limit, ct), t => new ListPosition(t.EventTime, t.Id), from, ct).ConfigureAwait(false))
        {
            if (touch.EventTime >= until)
            {
                yield break;
            }
            yield return touch;
        }
    }

    private static async IAsyncEnumerable<T> Paged<T>(
        Func<ListPosition?, int, ValueTask<IReadOnlyList<T>>> list, Func<T, ListPosition> position, Instant from, [EnumeratorCancellation] CancellationToken ct)
    {
        // Strictly after (from, ""): every row at from or later (ids are never empty).
        ListPosition? after = from == Instant.MinValue ? null : new ListPosition(from, string.Empty);
        while (true)
        {
            ct.ThrowIfCancellationRequested();
            var page = await list(after, Page).ConfigureAwait(false);
            foreach (var item in page)
            {
                yield return item;
            }
            if (page.Count < Page)
            {
                yield break;
            }
            after = position(page[^1]);
        }
    }
}
