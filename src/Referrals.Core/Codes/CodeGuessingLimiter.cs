using System.Buffers.Binary;
using System.IO.Hashing;
using System.Numerics;
using System.Runtime.InteropServices;
using System.Security.Cryptography;
using NodaTime;
using Referrals.Internal;

namespace Referrals.Codes;

/// <summary>
/// Rate-limits failed referral-code look-ups per source (an IP address, a device id, a POS register), so someone typing
/// random codes at a till, a kiosk or a web form cannot guess a valid one. Memory is fixed when the limiter is created
/// (<see cref="Capacity"/> slots of 32 bytes); sources that stop failing are forgotten without a timer.
/// </summary>
/// <remarks>
/// <para>
/// Counting is a two-bucket sliding window. Time is cut into fixed windows of length <c>W</c> aligned to the Unix epoch;
/// each source keeps the number of failures in its current fixed window (<c>current</c>) and in the one before
/// (<c>previous</c>). At time <c>t</c>, <c>e</c> after the start of the current fixed window, the estimate of failures in
/// the last <c>W</c> is <c>previous × (W − e) / W + current</c>: the previous window's count weighted by the share of it
/// still inside the sliding window. A source is limited while that estimate is at least <c>maxFailures</c> (compared
/// exactly, in integers). The estimate is never more than the failures in the last <c>2W</c> and never less than those in
/// the current fixed window, so a source is never limited with fewer than <c>maxFailures</c> failures in the last
/// <c>2W</c>, and is always limited once it has <c>maxFailures</c> failures in one fixed window.
/// </para>
/// <para>
/// Only failures count; a successful look-up resets nothing, or an attacker could interleave a code they know. Sources
/// are compared ordinally (UTF-16) and never stored: a slot holds a 64-bit seeded hash of the source, so two sources can
/// share a count only on a 64-bit collision, which the per-instance random seed keeps an attacker from arranging.
/// </para>
/// <para>
/// Slots form sets of up to 8; a source's set is chosen by its hash. A source that has no slot takes an empty one in its
/// set or, if none, the slot whose last failure is oldest: an idle one (no failure in the last <c>2W</c>, whose counts are
/// zero anyway) when there is one, otherwise the least recently failing source is evicted and its count forgotten. Size
/// <c>maxSources</c> for the number of sources expected to fail within <c>2W</c> at peak.
/// </para>
/// <para>
/// Time is used at tick (100 ns) resolution. A time earlier than the source's last recorded failure (a clock stepping
/// back, calls arriving out of order) is read as that last failure's time, so counts are never undone or corrupted.
/// Thread-safe (one lock per stripe of sets); <see cref="IsLimited"/>, <see cref="RecordFailure"/> and
/// <see cref="MayBeLimited"/> allocate nothing. The limiter lives in one process: see <see cref="CodeLookupGuard"/>.
/// </para>
/// </remarks>
internal sealed class CodeGuessingLimiter
{
    /// <summary>The largest <c>maxSources</c>: 2^24 slots of 32 bytes is 512 MiB, far beyond any till estate.</summary>
    public const int MaxSourcesLimit = 1 << 24;

    /// <summary>
    /// The longest window. Longer would keep a source for more than two years after its last failure; the bound also keeps
    /// every tick sum and difference far inside <see cref="long"/>.
    /// </summary>
    public static readonly Duration MaxWindow = Duration.FromDays(366);

    /// <summary>The shortest window: one tick, the resolution the limiter counts in.</summary>
    public static readonly Duration MinWindow = Duration.FromTicks(1);

    private const int MaxWays = 8;
    private const int MaxStripes = 256;

    private readonly Slot[] slots;
    private readonly Lock[] stripes;
    private readonly int ways;
    private readonly int setMask;
    private readonly int stripeMask;
    private readonly int maxFailures;
    private readonly long windowTicks;
    private readonly long idleTicks;
    private readonly long seed;

    // The latest failure time (Unix ticks) that left a source limited; far in the past until one does. Far enough that
    // subtracting it from any instant's ticks cannot overflow.
    private long lastLimited = long.MinValue / 2;

    /// <summary>Creates a limiter and allocates all its memory.</summary>
    /// <param name="maxFailures">Failures within <paramref name="window"/> at which a source becomes limited; at least 1.</param>
    /// <param name="window">The sliding window; from one tick (100 ns) to 366 days.</param>
    /// <param name="maxSources">
    /// Sources tracked at once, 1 to 16,777,216; rounded up to a power of two to give <see cref="Capacity"/>.
    /// </param>
    /// <exception cref="ArgumentOutOfRangeException">An argument is outside its range; the message names it and its value.</exception>
    public CodeGuessingLimiter(int maxFailures, Duration window, int maxSources)
    {
        Preconditions.CheckArgumentRange(nameof(maxFailures), maxFailures, 1, int.MaxValue);
        if (window < MinWindow || window > MaxWindow)
        {
            throw new ArgumentOutOfRangeException(nameof(window), window, $"Value should be in range [{MinWindow}-{MaxWindow}].");
        }
        Preconditions.CheckArgumentRange(nameof(maxSources), maxSources, 1, MaxSourcesLimit);

        this.maxFailures = maxFailures;
        windowTicks = window.BclCompatibleTicks;
        idleTicks = 2 * windowTicks;

        int capacity = (int)BitOperations.RoundUpToPowerOf2((uint)maxSources);
        ways = Math.Min(MaxWays, capacity);
        int sets = capacity / ways;
        setMask = sets - 1;
        slots = new Slot[capacity];
        stripes = new Lock[Math.Min(sets, MaxStripes)];
        for (int i = 0; i < stripes.Length; i++)
        {
            stripes[i] = new Lock();
        }
        stripeMask = stripes.Length - 1;

        Span<byte> seedBytes = stackalloc byte[sizeof(long)];
        RandomNumberGenerator.Fill(seedBytes);
        seed = BinaryPrimitives.ReadInt64LittleEndian(seedBytes);
    }

    /// <summary>The number of slots, fixed at construction: <c>maxSources</c> rounded up to a power of two.</summary>
    public int Capacity => slots.Length;

    /// <summary>
    /// Whether <paramref name="source"/> is limited at <paramref name="now"/>: its estimated failures in the last window
    /// (see the remarks on <see cref="CodeGuessingLimiter"/>) reach <c>maxFailures</c>. Changes nothing.
    /// </summary>
    /// <param name="source">The source as the caller identifies it, compared ordinally; any text, empty included.</param>
    /// <param name="now">The current time; earlier than the source's last failure is read as that failure's time.</param>
    /// <returns><see langword="false"/> for a source the limiter does not hold (never failed, forgotten or evicted).</returns>
    public bool IsLimited(ReadOnlySpan<char> source, Instant now)
    {
        ulong key = KeyOf(source);
        long t = now.ToUnixTimeTicks();
        int first = SetOf(key) * ways;
        lock (StripeOf(first))
        {
            var set = slots.AsSpan(first, ways);
            for (int i = 0; i < set.Length; i++)
            {
                if (set[i].Key == key)
                {
                    return IsOver(in set[i], Math.Max(t, set[i].LastFailure));
                }
                if (set[i].Key == 0)
                {
                    break; // slots fill from the front of a set and are never emptied, so the rest are empty too
                }
            }
            return false;
        }
    }

    /// <summary>
    /// Whether any source may be limited at <paramref name="now"/>: <see langword="false"/> means none is, so a caller may
    /// skip <see cref="IsLimited"/> (and building the source's key). One volatile read; allocates nothing.
    /// </summary>
    /// <remarks>
    /// A source's estimate only grows when a failure is recorded and shrinks (or stays) between failures, so a source is
    /// limited at <c>t</c> only if a failure recorded at or before <c>t</c>, within two windows of it, left it limited.
    /// The latest such failure time is kept; while <paramref name="now"/> is two windows past it, nobody is limited.
    /// </remarks>
    public bool MayBeLimited(Instant now) => now.ToUnixTimeTicks() - Volatile.Read(ref lastLimited) < idleTicks;

    /// <summary>
    /// How many failures <paramref name="source"/> may still have at <paramref name="now"/> before it is limited: the
    /// fewest that, recorded now, would make <see cref="IsLimited"/> true; 0 when it is limited already. Changes nothing.
    /// </summary>
    /// <param name="source">The source as the caller identifies it, compared ordinally; any text, empty included.</param>
    /// <param name="now">The current time; earlier than the source's last failure is read as that failure's time.</param>
    public int Budget(ReadOnlySpan<char> source, Instant now)
    {
        ulong key = KeyOf(source);
        long t = now.ToUnixTimeTicks();
        int first = SetOf(key) * ways;
        lock (StripeOf(first))
        {
            var set = slots.AsSpan(first, ways);
            for (int i = 0; i < set.Length; i++)
            {
                if (set[i].Key == key)
                {
                    return BudgetOf(in set[i], Math.Max(t, set[i].LastFailure));
                }
                if (set[i].Key == 0)
                {
                    break;
                }
            }
            return maxFailures;
        }
    }

    /// <summary>Counts one failed code look-up by <paramref name="source"/> at <paramref name="now"/>.</summary>
    /// <param name="source">The source as the caller identifies it, compared ordinally; any text, empty included.</param>
    /// <param name="now">
    /// The time of the failure; earlier than the source's last failure is counted at that failure's time.
    /// </param>
    /// <returns>Whether the source is limited after this failure, as <see cref="IsLimited"/> would say at that time.</returns>
    public bool RecordFailure(ReadOnlySpan<char> source, Instant now) => RecordFailures(source, now, 1);

    /// <summary>
    /// Counts <paramref name="count"/> failed look-ups by <paramref name="source"/> at <paramref name="now"/> at once: a
    /// request that reveals several codes (a "did you mean" list) is charged for each.
    /// </summary>
    /// <param name="source">The source as the caller identifies it, compared ordinally; any text, empty included.</param>
    /// <param name="now">The time of the failures; earlier than the source's last failure is counted at that failure's time.</param>
    /// <param name="count">How many failures; at least 1. Counts saturate at <see cref="int.MaxValue"/>.</param>
    /// <returns>Whether the source is limited after these failures.</returns>
    public bool RecordFailures(ReadOnlySpan<char> source, Instant now, int count)
    {
        Preconditions.CheckArgumentRange(nameof(count), count, 1, int.MaxValue);
        ulong key = KeyOf(source);
        long t = now.ToUnixTimeTicks();
        int first = SetOf(key) * ways;
        lock (StripeOf(first))
        {
            var set = slots.AsSpan(first, ways);
            int victim = 0;
            for (int i = 0; i < set.Length; i++)
            {
                ref var slot = ref set[i];
                if (slot.Key == key)
                {
                    t = Math.Max(t, slot.LastFailure);
                    Advance(ref slot, t);
                    slot.Current = (int)Math.Min((long)slot.Current + count, int.MaxValue);
                    slot.LastFailure = t;
                    return NoteIfOver(in slot, t);
                }
                if (slot.Key == 0)
                {
                    victim = i; // slots fill from the front of a set and are never emptied, so the rest are empty too
                    break;
                }
                // The oldest last failure is idle if any slot in the set is, and otherwise the least recently failing.
                if (slot.LastFailure < set[victim].LastFailure)
                {
                    victim = i;
                }
            }

            set[victim] = new Slot { Key = key, WindowStart = WindowStartOf(t), LastFailure = t, Current = count, Previous = 0 };
            return NoteIfOver(in set[victim], t);
        }
    }

    /// <summary>
    /// <see cref="IsOver"/> for a slot that just failed at <paramref name="t"/>, keeping <paramref name="t"/> as the latest
    /// time a source was left limited. Under the slot's stripe lock, so no reader sees the slot limited before
    /// <see cref="MayBeLimited"/> does.
    /// </summary>
    private bool NoteIfOver(in Slot slot, long t)
    {
        if (!IsOver(in slot, t))
        {
            return false;
        }
        long seen = Volatile.Read(ref lastLimited);
        while (t > seen)
        {
            long prior = Interlocked.CompareExchange(ref lastLimited, t, seen);
            if (prior == seen)
            {
                break;
            }
            seen = prior;
        }
        return true;
    }

    /// <summary>
    /// The number of slots holding a source with a failure less than two windows before <paramref name="now"/> (or after
    /// it). O(<see cref="Capacity"/>) and locks every stripe in turn: for tests and diagnostics, not for a hot path.
    /// </summary>
    public int CountActive(Instant now)
    {
        long t = now.ToUnixTimeTicks();
        int count = 0;
        for (int first = 0; first < slots.Length; first += ways)
        {
            lock (StripeOf(first))
            {
                foreach (ref readonly var slot in slots.AsSpan(first, ways))
                {
                    if (slot.Key != 0 && Math.Max(t, slot.LastFailure) - slot.LastFailure < idleTicks)
                    {
                        count++;
                    }
                }
            }
        }
        return count;
    }

    /// <summary>Moves the slot's buckets forward so <paramref name="t"/> (not before its last failure) is in the current one.</summary>
    private void Advance(ref Slot slot, long t)
    {
        long elapsed = t - slot.WindowStart;
        if (elapsed < windowTicks)
        {
            return;
        }
        if (elapsed < idleTicks)
        {
            slot.Previous = slot.Current;
            slot.WindowStart += windowTicks;
        }
        else
        {
            slot.Previous = 0;
            slot.WindowStart = WindowStartOf(t);
        }
        slot.Current = 0;
    }

    /// <summary>Whether the slot's estimate at <paramref name="t"/> (not before its last failure) reaches the limit.</summary>
    private bool IsOver(in Slot slot, long t)
    {
        if (!TryCountsAt(slot, t, out long previous, out long current, out long elapsed))
        {
            return false;
        }
        // previous × (W − e) / W + current ≥ max, multiplied out by W so it is exact; up to 2^31 × 2^48 needs 128 bits.
        return (Int128)previous * (windowTicks - elapsed) + (Int128)current * windowTicks >= (Int128)maxFailures * windowTicks;
    }

    /// <summary>
    /// The slot's previous and current buckets and the time into the current window as seen at <paramref name="t"/>
    /// (the window rolled forward once if it has ended); <see langword="false"/> once the slot has been idle for two windows.
    /// </summary>
    private bool TryCountsAt(in Slot slot, long t, out long previous, out long current, out long elapsed)
    {
        elapsed = t - slot.WindowStart;
        if (elapsed < windowTicks)
        {
            previous = slot.Previous;
            current = slot.Current;
            return true;
        }
        previous = slot.Current;
        current = 0;
        elapsed -= windowTicks;
        return elapsed + windowTicks < idleTicks;
    }

    /// <summary>
    /// The fewest failures <c>k</c> that, added to the current bucket at <paramref name="t"/>, bring the estimate to the
    /// limit: <c>previous × (W − e) + (current + k) × W ≥ max × W</c>, so <c>k = ⌈(max × W − previous × (W − e)) / W⌉ − current</c>.
    /// </summary>
    private int BudgetOf(in Slot slot, long t)
    {
        if (!TryCountsAt(slot, t, out long previous, out long current, out long elapsed))
        {
            return maxFailures;
        }
        Int128 missing = (Int128)maxFailures * windowTicks - (Int128)previous * (windowTicks - elapsed);
        if (missing <= 0)
        {
            return 0;
        }
        Int128 needed = (missing + windowTicks - 1) / windowTicks - current;
        return needed <= 0 ? 0 : (int)needed;
    }

    private long WindowStartOf(long t)
    {
        long offset = t % windowTicks;
        return t - (offset < 0 ? offset + windowTicks : offset);
    }

    private ulong KeyOf(ReadOnlySpan<char> source)
    {
        ulong hash = XxHash3.HashToUInt64(MemoryMarshal.AsBytes(source), seed);
        return hash == 0 ? 1 : hash; // 0 marks an empty slot
    }

    private int SetOf(ulong key) => (int)((key >> 32) & (ulong)setMask);

    private Lock StripeOf(int firstSlot) => stripes[(firstSlot / ways) & stripeMask];

    /// <summary>One tracked source: 32 bytes. <see cref="Key"/> 0 is an empty slot.</summary>
    private struct Slot
    {
        /// <summary>Seeded XxHash3 of the source; never the source itself.</summary>
        public ulong Key;

        /// <summary>Unix ticks at which the current fixed window starts; a multiple of the window.</summary>
        public long WindowStart;

        /// <summary>Unix ticks of the last failure; never decreases while the source holds the slot.</summary>
        public long LastFailure;

        /// <summary>Failures in the current fixed window, saturating at <see cref="int.MaxValue"/>.</summary>
        public int Current;

        /// <summary>Failures in the fixed window before the current one.</summary>
        public int Previous;
    }
}
