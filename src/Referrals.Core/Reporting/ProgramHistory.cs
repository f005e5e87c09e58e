using System.Runtime.CompilerServices;
using NodaTime;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Reporting;

/// <summary>
/// One recorded order with what Core decided about it and its reward rows as they stand (<see cref="Rewards"/> is a view
/// of a buffer the history reuses: valid until the next order is read).
/// </summary>
internal readonly record struct HistoryOrder(OrderRow Row, OrderDocument Document, ArraySegment<RewardFold.State> Rewards);

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
    /// <remarks>
    /// The rows are merged by <see cref="Merger"/>, a synchronous step per order; this iterator only fetches the next page
    /// when the merger asks for one (a long loop in an async method runs on-stack-replaced code, slower than a method
    /// called per order).
    /// </remarks>
    public static async IAsyncEnumerable<HistoryOrder> OrdersAsync(
        IReferralStoreReader reader, ProgramId program, Instant from, Instant until, [EnumeratorCancellation] CancellationToken ct)
    {
        // Strictly after (from, ""): every row at from or later (ids are never empty).
        ListPosition? start = from == Instant.MinValue ? null : new ListPosition(from, string.Empty);
        var merger = new Merger(until);
        while (true)
        {
            switch (merger.Next(out var order))
            {
                case Merger.Step.Order:
                    yield return order;
                    break;
                case Merger.Step.NeedOrders:
                    ct.ThrowIfCancellationRequested();
                    var orders = await reader.ListProgramOrdersAsync(program, merger.OrdersAfter ?? start, Page, ct).ConfigureAwait(false);
                    merger.SetOrders(orders, last: orders.Count < Page);
                    break;
                case Merger.Step.NeedRewards:
                    var rewards = await reader.ListProgramRewardsAsync(program, merger.RewardsAfter ?? start, Page, ct).ConfigureAwait(false);
                    merger.SetRewards(rewards, last: rewards.Count < Page);
                    break;
                default:
                    yield break;
            }
        }
    }

    /// <summary>
    /// Merges a page of orders by (event time, order id) with a page of reward rows by (conversion time, reward id): every
    /// order of one instant, then every reward row of that instant (the reward ids of one instant are not in the order of
    /// their orders' ids), then those orders in order, each with its rows. The rows of an instant go into one buffer that
    /// the next instant reuses: an order's rewards are a segment of it.
    /// </summary>
    private sealed class Merger(Instant until)
    {
        public enum Step
        {
            Order,
            NeedOrders,
            NeedRewards,
            Done,
        }

        private IReadOnlyList<OrderRow> _orders = [];
        private int _o;
        private bool _ordersLoaded;
        private bool _ordersLast;
        private IReadOnlyList<RewardRow> _rewards = [];
        private int _r;
        private bool _rewardsLoaded;
        private bool _rewardsLast;

        private readonly List<OrderRow> _instant = [];
        private bool _instantComplete;
        private readonly List<(string OrderId, int Index)> _owners = [];
        private readonly List<RewardFold.State> _read = [];
        private RewardFold.State[] _states = new RewardFold.State[16];
        private int _count;
        private int _emit = -1; // the next order of the instant to hand out; -1 while collecting
        private bool _rowsReset;
        private int _next;

        public ListPosition? OrdersAfter { get; private set; }

        public ListPosition? RewardsAfter { get; private set; }

        public void SetOrders(IReadOnlyList<OrderRow> page, bool last)
        {
            _orders = page;
            _o = 0;
            _ordersLoaded = true;
            _ordersLast = last;
            if (page.Count > 0)
            {
                OrdersAfter = new ListPosition(page[^1].Conversion.EventTime, page[^1].Conversion.OrderId);
            }
        }

        public void SetRewards(IReadOnlyList<RewardRow> page, bool last)
        {
            _rewards = page;
            _r = 0;
            _rewardsLoaded = true;
            _rewardsLast = last;
            if (page.Count > 0)
            {
                RewardsAfter = new ListPosition(page[^1].ConversionTime, page[^1].RewardId);
            }
        }

        public Step Next(out HistoryOrder order)
        {
            order = default;
            if (_emit >= 0)
            {
                if (_emit < _instant.Count)
                {
                    order = Emit(_instant[_emit++]);
                    return Step.Order;
                }
                _emit = -1;
                _instant.Clear();
                _instantComplete = false;
                _rowsReset = false;
            }

            // Collect the orders of the next instant.
            while (!_instantComplete)
            {
                if (_o == _orders.Count)
                {
                    if (!_ordersLoaded || !_ordersLast)
                    {
                        _ordersLoaded = false;
                        return Step.NeedOrders;
                    }
                    if (_instant.Count == 0)
                    {
                        return Step.Done;
                    }
                    _instantComplete = true;
                    break;
                }
                var row = _orders[_o];
                if (_instant.Count == 0)
                {
                    if (row.Conversion.EventTime >= until)
                    {
                        return Step.Done;
                    }
                }
                else if (row.Conversion.EventTime != _instant[0].Conversion.EventTime)
                {
                    _instantComplete = true;
                    break;
                }
                _instant.Add(row);
                _o++;
            }

            // Then every reward row up to and at that instant.
            var at = _instant[0].Conversion.EventTime;
            if (!_rowsReset)
            {
                // The previous instant's orders were all handed out and read: its rows go.
                _count = 0;
                _owners.Clear();
                _read.Clear();
                _rowsReset = true;
            }
            while (true)
            {
                if (_r == _rewards.Count)
                {
                    if (!_rewardsLoaded || !_rewardsLast)
                    {
                        _rewardsLoaded = false;
                        return Step.NeedRewards;
                    }
                    break;
                }
                var row = _rewards[_r];
                if (row.ConversionTime > at)
                {
                    break;
                }
                if (row.ConversionTime == at)
                {
                    if (_instant.Count == 1)
                    {
                        // The usual case: one order at the instant, and every row of the instant is its.
                        if (_count == _states.Length)
                        {
                            Array.Resize(ref _states, _states.Length * 2);
                        }
                        _states[_count++] = RewardDocuments.FromRow(row);
                    }
                    else
                    {
                        _owners.Add((row.OrderId, _read.Count));
                        _read.Add(RewardDocuments.FromRow(row));
                    }
                }
                _r++;
            }
            if (_instant.Count > 1)
            {
                _owners.Sort(static (a, b) => string.CompareOrdinal(a.OrderId, b.OrderId) is var c && c != 0 ? c : a.Index.CompareTo(b.Index));
                if (_states.Length < _owners.Count)
                {
                    _states = new RewardFold.State[Math.Max(_owners.Count, _states.Length * 2)];
                }
                for (int i = 0; i < _owners.Count; i++)
                {
                    _states[i] = _read[_owners[i].Index];
                }
            }
            _emit = 0;
            _next = 0;
            order = Emit(_instant[_emit++]);
            return Step.Order;
        }

        private HistoryOrder Emit(OrderRow row)
        {
            int start, end;
            if (_instant.Count == 1)
            {
                (start, end) = (0, _count);
            }
            else
            {
                string id = row.Conversion.OrderId;
                while (_next < _owners.Count && string.CompareOrdinal(_owners[_next].OrderId, id) < 0)
                {
                    _next++; // a row of no order listed here (none: a row's conversion time is its order's)
                }
                start = _next;
                while (_next < _owners.Count && string.Equals(_owners[_next].OrderId, id, StringComparison.Ordinal))
                {
                    _next++;
                }
                end = _next;
            }
            return new HistoryOrder(row, OrderDocument.FromRow(row), new ArraySegment<RewardFold.State>(_states, start, end - start));
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
