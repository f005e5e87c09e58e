using System.Runtime.InteropServices;
using NodaTime;
using Referrals.Attribution;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Rewards;

namespace Referrals.Storage;

public sealed partial class InMemoryReferralStore : IFraudStore
{
    // Guarded by _gate. Kept current by the writes of the other interfaces, so the fraud checks read counts and short lists.
    // Event times of the touches naming each referrer, sorted.
    private readonly Dictionary<(ProgramId, ParticipantId), List<Instant>> _referralTimes = new();
    // Orders credited to each referrer (attributed, not repeats) by (conversion time, order id), and how many are refunded.
    private readonly Dictionary<(ProgramId, ParticipantId), ReferrerOrders> _referredOrders = new();
    // Orders refunded in full or charged back.
    private readonly HashSet<(ProgramId, string)> _refundedOrders = new();
    // Conversions that carried a fingerprint, by event time; participants registered with one.
    private readonly Dictionary<(ProgramId, Fingerprint), List<(Instant At, ParticipantId Customer, string OrderId)>> _sightings = new();
    private readonly Dictionary<Fingerprint, ParticipantId[]> _byFingerprint = new();

    /// <inheritdoc />
    public ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_referralTimes.TryGetValue((program, referrer), out var times) || from >= until)
            {
                return ValueTask.FromResult(0);
            }
            return ValueTask.FromResult(LowerBound(times, until) - LowerBound(times, from));
        }
    }

    /// <inheritdoc />
    public ValueTask<int> CountReferredConversionsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            if (!_referredOrders.TryGetValue((program, referrer), out var log) || from >= until)
            {
                return ValueTask.FromResult(0);
            }
            // (t, "") sorts before every order at t: the lower bound of the instant.
            int a = log.Orders.BinarySearch((from, string.Empty), UseOrder.Instance);
            int b = log.Orders.BinarySearch((until, string.Empty), UseOrder.Instance);
            return ValueTask.FromResult((b < 0 ? ~b : b) - (a < 0 ? ~a : a));
        }
    }

    /// <inheritdoc />
    public ValueTask<ReferredOrderStats> GetReferredOrderStatsAsync(ProgramId program, ParticipantId referrer, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            return ValueTask.FromResult(_referredOrders.TryGetValue((program, referrer), out var log)
                ? new ReferredOrderStats(log.Orders.Count, log.Refunded)
                : default);
        }
    }

    /// <inheritdoc />
    public ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default)
    {
        cancellationToken.ThrowIfCancellationRequested();
        lock (_gate)
        {
            List<FingerprintSighting>? found = null;
            if (_byFingerprint.TryGetValue(fingerprint, out var holders))
            {
                found = new List<FingerprintSighting>(holders.Length);
                foreach (var p in holders)
                {
                    found.Add(new FingerprintSighting(p, null, null));
                }
            }
            if (_sightings.TryGetValue((program, fingerprint), out var seen))
            {
                int end = seen.BinarySearch((until, default, string.Empty), SightingOrder.Instance);
                end = end < 0 ? ~end : end;
                for (int i = end - 1, n = 0; i >= 0 && n < limit; i--, n++)
                {
                    (found ??= []).Add(new FingerprintSighting(seen[i].Customer, seen[i].At, seen[i].OrderId));
                }
            }
            return ValueTask.FromResult<IReadOnlyList<FingerprintSighting>>(found ?? (IReadOnlyList<FingerprintSighting>)[]);
        }
    }

    // The hooks below run under _gate, inside the writes of the other interfaces.

    private void IndexReferral(Touch touch)
    {
        ref var times = ref CollectionsMarshal.GetValueRefOrAddDefault(_referralTimes, (touch.Program, touch.Referrer), out _);
        times ??= [];
        if (times.Count == 0 || times[^1] <= touch.EventTime)
        {
            times.Add(touch.EventTime);
        }
        else
        {
            times.Insert(LowerBound(times, touch.EventTime), touch.EventTime);
        }
    }

    private void IndexSightings(Conversion conversion)
    {
        foreach (var f in conversion.Fingerprints)
        {
            ref var list = ref CollectionsMarshal.GetValueRefOrAddDefault(_sightings, (conversion.Program, f), out _);
            list ??= [];
            var entry = (conversion.EventTime, conversion.Customer, conversion.OrderId);
            if (list.Count == 0 || SightingOrder.Instance.Compare(list[^1], entry) < 0)
            {
                list.Add(entry);
            }
            else
            {
                int at = list.BinarySearch(entry, SightingOrder.Instance);
                list.Insert(at < 0 ? ~at : at, entry);
            }
        }
    }

    private void IndexFingerprints(Participant? old, Participant participant)
    {
        if (old is not null)
        {
            foreach (var f in old.Fingerprints)
            {
                if (_byFingerprint.TryGetValue(f, out var ids))
                {
                    _byFingerprint[f] = ids.Where(p => p != participant.Id).ToArray();
                }
            }
        }
        foreach (var f in participant.Fingerprints.Distinct())
        {
            var ids = _byFingerprint.GetValueOrDefault(f) ?? [];
            if (Array.IndexOf(ids, participant.Id) < 0)
            {
                var next = Append(ids, participant.Id);
                Array.Sort(next, (a, b) => string.CompareOrdinal(a.Value, b.Value));
                _byFingerprint[f] = next;
            }
        }
    }

    /// <summary>Moves an order's credit from the old decision's referrer to the new one's (either may be none).</summary>
    private void IndexCredit(AttributionResult? old, AttributionResult now)
    {
        var before = Credited(old);
        var after = Credited(now);
        if (before == after && (before is null || old!.ConversionTime == now.ConversionTime))
        {
            return;
        }
        var key = (now.Program, now.OrderId);
        bool refunded = _refundedOrders.Contains(key);
        if (before is { } b && _referredOrders.TryGetValue((now.Program, b), out var oldLog))
        {
            int at = oldLog.Orders.BinarySearch((old!.ConversionTime, now.OrderId), UseOrder.Instance);
            if (at >= 0)
            {
                oldLog.Orders.RemoveAt(at);
                oldLog.Refunded -= refunded ? 1 : 0;
            }
        }
        if (after is { } a)
        {
            ref var log = ref CollectionsMarshal.GetValueRefOrAddDefault(_referredOrders, (now.Program, a), out _);
            log ??= new ReferrerOrders();
            var use = (now.ConversionTime, now.OrderId);
            if (log.Orders.Count == 0 || UseOrder.Instance.Compare(log.Orders[^1], use) < 0)
            {
                log.Orders.Add(use);
            }
            else
            {
                int at = log.Orders.BinarySearch(use, UseOrder.Instance);
                if (at >= 0)
                {
                    return;
                }
                log.Orders.Insert(~at, use);
            }
            log.Refunded += refunded ? 1 : 0;
        }
    }

    /// <summary>After a refund is stored: marks the order refunded once its refunds cover the order or one is a charge-back.</summary>
    private void IndexRefund(Refund refund)
    {
        var key = (refund.Program, refund.OrderId);
        if (_refundedOrders.Contains(key) || !_orders.TryGetValue(key, out var order))
        {
            return;
        }
        var amount = order.Conversion.Amount;
        if (Refund.Total(amount, _refunds.GetValueOrDefault(key) ?? []).Amount < amount.Amount)
        {
            return;
        }
        _refundedOrders.Add(key);
        if (Credited(order.Attribution) is { } referrer && _referredOrders.TryGetValue((refund.Program, referrer), out var log))
        {
            log.Refunded++;
        }
    }

    private static ParticipantId? Credited(AttributionResult? a) => a is { IsAttributed: true, IsRepeat: false } ? a.Referrer : null;

    private static int LowerBound(List<Instant> times, Instant t)
    {
        int lo = 0, hi = times.Count;
        while (lo < hi)
        {
            int mid = (lo + hi) >>> 1;
            if (times[mid] < t)
            {
                lo = mid + 1;
            }
            else
            {
                hi = mid;
            }
        }
        return lo;
    }

    private sealed class ReferrerOrders
    {
        public List<(Instant Time, string OrderId)> Orders { get; } = [];

        public int Refunded { get; set; }
    }

    private sealed class SightingOrder : IComparer<(Instant At, ParticipantId Customer, string OrderId)>
    {
        public static readonly SightingOrder Instance = new();

        public int Compare((Instant At, ParticipantId Customer, string OrderId) x, (Instant At, ParticipantId Customer, string OrderId) y)
        {
            int c = x.At.CompareTo(y.At);
            return c != 0 ? c : string.CompareOrdinal(x.OrderId, y.OrderId);
        }
    }
}
