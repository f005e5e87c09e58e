using System.Numerics;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Codes;
using Referrals.Tests.Support;

namespace Referrals.Tests.Codes;

public sealed class CodeGuessingLimiterTests
{
    private const string Register1 = "store-12/register-1";
    private const string Register2 = "store-12/register-2";
    private static readonly Duration TenMinutes = Duration.FromMinutes(10);

    // 10:00 UTC is a multiple of ten minutes since the Unix epoch, so it starts a fixed window.
    private static readonly Instant Ten = Instant.FromUtc(2026, 3, 14, 10, 0);

    private static Instant At(int minutes, int seconds = 0) => Ten + Duration.FromMinutes(minutes) + Duration.FromSeconds(seconds);

    [Fact]
    public void A_register_typing_ten_wrong_codes_in_three_minutes_is_limited_and_forgotten_after_twenty_quiet_minutes()
    {
        var limiter = new CodeGuessingLimiter(maxFailures: 10, TenMinutes, maxSources: 1024);

        // One wrong code every 20 seconds, 10:00:00 to 10:03:00.
        for (int i = 0; i < 9; i++)
        {
            Assert.False(limiter.RecordFailure(Register1, At(0, 20 * i)), $"limited after {i + 1} failures");
        }
        Assert.True(limiter.RecordFailure(Register1, At(3)));
        Assert.True(limiter.IsLimited(Register1, At(3)));

        // The next register in the same store mistypes twice; it is not limited, and register 1 stays limited.
        Assert.False(limiter.RecordFailure(Register2, At(2)));
        Assert.False(limiter.RecordFailure(Register2, At(2, 30)));
        Assert.False(limiter.IsLimited(Register2, At(3)));
        Assert.False(limiter.IsLimited("store-13/register-1", At(3)));
        Assert.True(limiter.IsLimited(Register1, At(9, 59)));
        Assert.Equal(2, limiter.CountActive(At(9, 59)));

        // 10:10:30: the sliding window (10:00:30, 10:10:30] holds 8 of the failures; the estimate is 10 × 0.95 = 9.5.
        Assert.False(limiter.IsLimited(Register1, At(10, 30)));

        // Register 2 is forgotten 20 minutes after its last failure, register 1 at 10:23:00, 20 minutes after its last.
        Assert.Equal(1, limiter.CountActive(At(23) - Duration.Epsilon));
        Assert.Equal(0, limiter.CountActive(At(23)));
        Assert.False(limiter.IsLimited(Register1, At(23)));

        // Coming back later starts from nothing.
        Assert.False(limiter.RecordFailure(Register1, At(30)));
        Assert.Equal(1, limiter.CountActive(At(30)));
    }

    [Fact]
    public void Only_the_share_of_the_previous_window_still_inside_the_sliding_window_counts()
    {
        var limiter = new CodeGuessingLimiter(maxFailures: 10, TenMinutes, maxSources: 64);
        for (int i = 0; i < 8; i++)
        {
            limiter.RecordFailure(Register1, At(5));
        }

        // 10:12:30 is a quarter into the window that started at 10:10, so 8 × 0.75 = 6 of the earlier failures count.
        Assert.False(limiter.RecordFailure(Register1, At(12, 30))); // 6 + 1
        Assert.False(limiter.RecordFailure(Register1, At(12, 30))); // 6 + 2
        Assert.False(limiter.RecordFailure(Register1, At(12, 30))); // 6 + 3
        Assert.True(limiter.RecordFailure(Register1, At(12, 30))); // 6 + 4 = 10

        // The weight falls as time passes: compared exactly, so one tick later 5.99999... + 4 is under the limit.
        Assert.True(limiter.IsLimited(Register1, At(12, 30)));
        Assert.False(limiter.IsLimited(Register1, At(12, 30) + Duration.FromTicks(1)));
        Assert.False(limiter.IsLimited(Register1, At(15))); // 8 × 0.5 + 4

        // At 10:20 the window that held the 8 is two windows back and counts no more; the 4 count fully.
        for (int i = 0; i < 5; i++)
        {
            Assert.False(limiter.RecordFailure(Register1, At(20)), $"limited after {i + 1} failures at 10:20");
        }
        Assert.True(limiter.RecordFailure(Register1, At(20))); // 4 × 1 + 6
    }

    [Fact]
    public void Failures_just_before_a_window_edge_still_count_just_after_it()
    {
        // A fixed-window counter would start again from 0 at 10:10 and let 9 more through.
        var limiter = new CodeGuessingLimiter(maxFailures: 10, TenMinutes, maxSources: 64);
        for (int i = 0; i < 9; i++)
        {
            limiter.RecordFailure(Register1, At(9, 59));
        }
        Assert.False(limiter.IsLimited(Register1, At(10)));
        Assert.True(limiter.RecordFailure(Register1, At(10))); // 9 × 1 + 1
    }

    [Fact]
    public void Looking_a_source_up_counts_nothing()
    {
        var limiter = new CodeGuessingLimiter(maxFailures: 2, TenMinutes, maxSources: 8);
        for (int i = 0; i < 100; i++)
        {
            Assert.False(limiter.IsLimited(Register1, At(1)));
        }
        Assert.Equal(0, limiter.CountActive(At(1)));
        Assert.False(limiter.RecordFailure(Register1, At(1)));
        for (int i = 0; i < 100; i++)
        {
            Assert.False(limiter.IsLimited(Register1, At(1)));
        }
        Assert.True(limiter.RecordFailure(Register1, At(1)));
    }

    [Fact]
    public void Sources_are_compared_exactly()
    {
        var limiter = new CodeGuessingLimiter(maxFailures: 1, TenMinutes, maxSources: 64);
        Assert.True(limiter.RecordFailure("203.0.113.7", At(1)));
        Assert.False(limiter.IsLimited("203.0.113.7 ", At(1)));
        Assert.False(limiter.IsLimited("203.0.113.70", At(1)));
        Assert.False(limiter.IsLimited("", At(1)));
        Assert.True(limiter.IsLimited("203.0.113.7".AsSpan(), At(1)));
    }

    [Fact]
    public void A_full_set_evicts_the_least_recently_failing_source()
    {
        // 8 slots make one set of 8.
        var limiter = new CodeGuessingLimiter(maxFailures: 3, TenMinutes, maxSources: 8);
        Assert.Equal(8, limiter.Capacity);
        for (int i = 0; i < 3; i++)
        {
            limiter.RecordFailure("kiosk-a", At(0));
            limiter.RecordFailure("kiosk-b", At(0, 30));
        }
        for (int s = 0; s < 6; s++)
        {
            limiter.RecordFailure($"web-{s}", At(1, s));
        }
        limiter.RecordFailure("kiosk-a", At(2)); // kiosk-a failed recently again; kiosk-b is now the least recent
        Assert.Equal(8, limiter.CountActive(At(2)));

        limiter.RecordFailure("web-new", At(3));
        Assert.Equal(8, limiter.CountActive(At(3)));
        Assert.True(limiter.IsLimited("kiosk-a", At(3)));
        Assert.False(limiter.IsLimited("kiosk-b", At(3))); // evicted: its 3 failures are forgotten
        Assert.False(limiter.RecordFailure("kiosk-b", At(3)));

        // kiosk-b came back by evicting the oldest then, web-0.
        limiter.RecordFailure("web-0", At(3, 1));
        limiter.RecordFailure("web-0", At(3, 2));
        Assert.False(limiter.IsLimited("web-0", At(3, 2)));
        Assert.True(limiter.RecordFailure("web-0", At(3, 3)));
    }

    [Fact]
    public void An_idle_slot_is_reused_before_an_active_source_is_evicted()
    {
        var limiter = new CodeGuessingLimiter(maxFailures: 2, TenMinutes, maxSources: 2);
        limiter.RecordFailure("old", At(0));
        limiter.RecordFailure("busy", At(25));
        limiter.RecordFailure("busy", At(25));
        limiter.RecordFailure("new", At(26)); // "old" has been idle since 10:20
        Assert.True(limiter.IsLimited("busy", At(26)));
        Assert.Equal(2, limiter.CountActive(At(26)));
    }

    [Theory]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(8, 8)]
    [InlineData(9, 16)]
    [InlineData(1000, 1024)]
    [InlineData(65_536, 65_536)]
    public void Capacity_is_max_sources_rounded_up_to_a_power_of_two(int maxSources, int capacity)
    {
        var limiter = new CodeGuessingLimiter(5, TenMinutes, maxSources);
        Assert.Equal(capacity, limiter.Capacity);
        Assert.Equal(0, limiter.CountActive(Ten));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(int.MinValue)]
    public void Max_failures_below_one_is_rejected(int maxFailures)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new CodeGuessingLimiter(maxFailures, TenMinutes, 16));
        Assert.Equal("maxFailures", ex.ParamName);
        Assert.Equal((long)maxFailures, ex.ActualValue);
        Assert.Contains(maxFailures.ToString(System.Globalization.CultureInfo.InvariantCulture), ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(16_777_217)]
    [InlineData(int.MaxValue)]
    public void Max_sources_outside_1_to_16777216_is_rejected(int maxSources)
    {
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new CodeGuessingLimiter(10, TenMinutes, maxSources));
        Assert.Equal("maxSources", ex.ParamName);
        Assert.Equal((long)maxSources, ex.ActualValue);
    }

    public static TheoryData<long> BadWindowsInNanoseconds => new()
    {
        0L,
        -1L,
        -TenMinutes.ToInt64Nanoseconds(),
        99L, // shorter than a tick, the resolution counted in
        Duration.FromDays(366).ToInt64Nanoseconds() + 1,
        Duration.FromDays(100_000).ToInt64Nanoseconds(),
    };

    [Theory]
    [MemberData(nameof(BadWindowsInNanoseconds))]
    public void A_window_that_is_not_positive_or_is_too_long_is_rejected(long nanoseconds)
    {
        var window = Duration.FromNanoseconds(nanoseconds);
        var ex = Assert.Throws<ArgumentOutOfRangeException>(() => new CodeGuessingLimiter(10, window, 16));
        Assert.Equal("window", ex.ParamName);
        Assert.Equal(window, ex.ActualValue);
    }

    [Fact]
    public void The_shortest_and_longest_windows_work_at_the_ends_of_time()
    {
        foreach (var window in new[] { Duration.FromTicks(1), Duration.FromDays(366) })
        {
            var limiter = new CodeGuessingLimiter(2, window, 8);
            foreach (var t in new[] { Instant.MinValue, Instant.FromUnixTimeTicks(-1), Instant.FromUnixTimeTicks(0), Instant.MaxValue })
            {
                string source = $"s{t.ToUnixTimeTicks()}";
                Assert.False(limiter.RecordFailure(source, t));
                Assert.True(limiter.RecordFailure(source, t));
                Assert.True(limiter.IsLimited(source, t));
            }
            Assert.Equal(1, limiter.CountActive(Instant.MaxValue)); // the source at MaxValue; the others are far in the past
            Assert.Equal(4, limiter.CountActive(Instant.MinValue)); // read at each source's last failure
            Assert.False(limiter.IsLimited($"s{Instant.MinValue.ToUnixTimeTicks()}", Instant.MaxValue));
        }
    }

    [Fact]
    public void A_clock_going_backwards_counts_at_the_last_failure_time_and_does_not_extend_the_memory()
    {
        var limiter = new CodeGuessingLimiter(maxFailures: 4, TenMinutes, maxSources: 16);
        Assert.False(limiter.RecordFailure(Register1, At(5)));
        Assert.False(limiter.RecordFailure(Register1, At(-60))); // an hour back: counted at 10:05
        Assert.False(limiter.RecordFailure(Register1, Instant.MinValue));
        Assert.True(limiter.RecordFailure(Register1, At(4, 59)));
        Assert.True(limiter.IsLimited(Register1, At(-600))); // read at 10:05
        Assert.True(limiter.IsLimited(Register1, At(9, 59)));

        // Still forgotten 20 minutes after 10:05: the late calls did not move the last failure.
        Assert.Equal(1, limiter.CountActive(At(25) - Duration.Epsilon));
        Assert.Equal(0, limiter.CountActive(At(25)));

        // A step back across a window edge keeps both buckets as they were.
        var other = new CodeGuessingLimiter(maxFailures: 4, TenMinutes, maxSources: 16);
        other.RecordFailure(Register2, At(9));
        other.RecordFailure(Register2, At(9));
        other.RecordFailure(Register2, At(11)); // 2 × 0.9 + 1 = 2.8
        Assert.False(other.RecordFailure(Register2, At(9))); // at 10:11: 2 × 0.9 + 2 = 3.8
        Assert.True(other.RecordFailure(Register2, At(8))); // at 10:11: 2 × 0.9 + 3 = 4.8
    }

    [Fact]
    public void Checking_and_recording_allocate_nothing()
    {
        var limiter = new CodeGuessingLimiter(maxFailures: 5, TenMinutes, maxSources: 64);
        string[] sources = Enumerable.Range(0, 300).Select(i => $"198.51.100.{i}").ToArray();
        Instant[] times = Enumerable.Range(0, 300).Select(i => At(i % 37, i % 11)).ToArray();
        for (int i = 0; i < sources.Length; i++)
        {
            limiter.RecordFailure(sources[i], times[i]); // warm up: every path, evictions included
            limiter.IsLimited(sources[i], times[i]);
        }

        int limited = 0;
        long allocated = Allocations.Fewest(() =>
        {
            for (int round = 0; round < 20; round++)
            {
                for (int i = 0; i < sources.Length; i++)
                {
                    limited += limiter.RecordFailure(sources[(i * 7) % sources.Length], times[i]) ? 1 : 0;
                    limited += limiter.IsLimited(sources[i], times[(i * 3) % times.Length]) ? 1 : 0;
                }
            }
        });
        Assert.True(allocated == 0, $"12,000 calls allocated {allocated} bytes in each of five runs.");
        Assert.True(limited > 0);
    }

    [Fact]
    public async Task Concurrent_failures_from_one_source_are_all_counted()
    {
        const int Tasks = 8, Each = 20_000;
        // Room for all 65 sources: none may be evicted, or its count would be lost for a reason other than a race.
        var limiter = new CodeGuessingLimiter(maxFailures: Tasks * Each, TenMinutes, maxSources: 65_536);
        using var start = new ManualResetEventSlim();
        var work = Enumerable.Range(0, Tasks).Select(n => Task.Run(() =>
        {
            start.Wait();
            for (int i = 0; i < Each - (n == 0 ? 1 : 0); i++)
            {
                limiter.RecordFailure(Register1, At(1));
                limiter.RecordFailure($"noise-{n}-{i % 8}", At(1)); // other sources in other sets and stripes
            }
        })).ToArray();
        start.Set();
        await Task.WhenAll(work);

        Assert.False(limiter.IsLimited(Register1, At(1)));
        Assert.True(limiter.RecordFailure(Register1, At(1)));
    }

    // ----- Properties -----

    public enum StepKind
    {
        Fail,
        Check,
        Count,
    }

    /// <summary>One call: <paramref name="Delta"/> ticks after the previous call's time (zero and negative included).</summary>
    public sealed record Step(StepKind Kind, string Source, long Delta);

    /// <summary>A limiter's settings and the calls made to it, starting at <paramref name="Start"/> (Unix ticks).</summary>
    public sealed record Scenario(int MaxFailures, long WindowTicks, int MaxSources, long Start, Step[] Steps, string[] Sources)
    {
        public override string ToString() =>
            $"maxFailures {MaxFailures}, window {WindowTicks} ticks, maxSources {MaxSources}, start {Start}, steps: " +
            string.Join(", ", Steps.Select(s => $"{s.Kind}({s.Source}, {s.Delta:+#;-#;0})"));
    }

    private static Gen<long> Windows { get; } =
        Gen.Frequency(
            (1, Gen.Choose(1, 1000).Select(t => (long)t)),
            (4, Gen.Choose(1, 3600).Zip(Gen.Choose(0, 9_999_999)).Select(t => (t.Item1 * TimeSpan.TicksPerSecond) + t.Item2)));

    private static Gen<long> Starts { get; } =
        Gen.Choose(-700_000, 700_000).Zip(Gen.Choose(0, int.MaxValue)).Select(t => (t.Item1 * TimeSpan.TicksPerDay) + t.Item2);

    /// <summary>Steps between calls, scaled to the window: none, small, backwards, and jumps of up to three windows.</summary>
    private static Gen<long> Deltas(long window)
    {
        Gen<long> Fraction(int from, int to) => Gen.Choose(from, to).Select(permille => window * permille / 1000);
        return Gen.Frequency(
            (3, Gen.Constant(0L)),
            (6, Fraction(1, 150)),
            (1, Gen.Choose(1, 1000).Select(t => (long)t)),
            (2, Fraction(-1500, -1)),
            (2, Fraction(150, 3000)));
    }

    /// <summary>Sources from a large space: a few registers that repeat, IPv4 addresses, and any text at all.</summary>
    private static Gen<string> ManySources { get; } =
        Gen.Frequency(
            (4, Gen.Choose(0, 15).Select(i => $"store-{i % 4}/register-{i / 4}")),
            (4, Gen.Choose(int.MinValue, int.MaxValue).Select(i => new System.Net.IPAddress(BitConverter.GetBytes(i)).ToString())),
            (1, ArbMap.Default.GeneratorFor<string>().Select(s => s ?? string.Empty)));

    private static Gen<Step> Steps(Gen<string> sources, long window) =>
        Gen.Frequency(
                (6, Gen.Constant(StepKind.Fail)),
                (3, Gen.Constant(StepKind.Check)),
                (1, Gen.Constant(StepKind.Count)))
            .Zip(sources)
            .Zip(Deltas(window))
            .Select(t => new Step(t.Item1.Item1, t.Item1.Item2, t.Item2));

    /// <summary>Any calls, with small tables (1 to 64 slots) so that sets overflow and evict.</summary>
    private static Arbitrary<Scenario> AnyScenario() =>
        (from maxFailures in Gen.Choose(1, 6)
         from window in Windows
         from maxSources in Gen.Choose(1, 64)
         from start in Starts
         from n in Gen.Choose(0, 400)
         from steps in Gen.ArrayOf(Steps(ManySources, window), n)
         select new Scenario(maxFailures, window, maxSources, start, steps, steps.Select(s => s.Source).Distinct().ToArray()))
        .ToArbitrary();

    /// <summary>Calls from at most 8 named sources into a table of one set with at least as many ways as sources.</summary>
    private static Arbitrary<Scenario> FewSources() =>
        (from count in Gen.Choose(1, 8)
         from maxSources in Gen.Choose(count, 8)
         from maxFailures in Gen.Choose(1, 8)
         from window in Windows
         from start in Starts
         from n in Gen.Choose(0, 300)
         let names = Enumerable.Range(0, count).Select(i => $"10.0.0.{i}").ToArray()
         from steps in Gen.ArrayOf(Steps(Gen.Elements(names), window).Where(s => s.Kind != StepKind.Count), n)
         select new Scenario(maxFailures, window, maxSources, start, steps, names))
        .ToArbitrary();

    [Property(MaxTest = 300)]
    public Property Memory_stays_within_its_bound_under_any_calls() =>
        Prop.ForAll(AnyScenario(), s =>
        {
            var limiter = new CodeGuessingLimiter(s.MaxFailures, Duration.FromTicks(s.WindowTicks), s.MaxSources);
            int capacity = limiter.Capacity;
            Assert.Equal((int)BitOperations.RoundUpToPowerOf2((uint)s.MaxSources), capacity);
            Assert.Equal(0, limiter.CountActive(Instant.FromUnixTimeTicks(s.Start)));

            var times = Times(s);
            var counts = new int[s.Steps.Length];
            Warm();
            // Every measured run replays the same calls on a limiter of its own, made before the measurement; the fewest
            // bytes of the runs is what the calls allocate (the runtime may allocate once while it re-compiles the loop).
            var limiters = new CodeGuessingLimiter[5];
            limiters[0] = limiter;
            for (int k = 1; k < limiters.Length; k++)
            {
                limiters[k] = new CodeGuessingLimiter(s.MaxFailures, Duration.FromTicks(s.WindowTicks), s.MaxSources);
            }
            int run = 0;
            long allocated = Allocations.Fewest(() => Replay(limiters[run++], s.Steps, times, counts), limiters.Length);
            Assert.True(allocated == 0, $"{s.Steps.Length} calls allocated {allocated} bytes.");
            Assert.Equal(capacity, limiter.Capacity);

            // A slot never outlives its source's last failure by more than 2W, and no source holds two slots: a count above
            // the sources that failed within 2W (by their latest time; out-of-order calls only make a slot's time earlier)
            // would mean a stale, duplicated or corrupted slot.
            var last = new Dictionary<string, long>(StringComparer.Ordinal);
            for (int i = 0; i < s.Steps.Length; i++)
            {
                var step = s.Steps[i];
                long t = times[i].ToUnixTimeTicks();
                if (step.Kind == StepKind.Fail)
                {
                    last[step.Source] = last.TryGetValue(step.Source, out long l) ? Math.Max(l, t) : t;
                }
                else if (step.Kind == StepKind.Count)
                {
                    int active = last.Values.Count(l => Math.Max(t, l) - l < 2 * s.WindowTicks);
                    Assert.InRange(counts[i], 0, Math.Min(capacity, active));
                }
            }
            return true;
        });

    [Property(MaxTest = 500)]
    public Property With_no_more_sources_than_ways_the_two_bucket_estimate_is_exact() =>
        Prop.ForAll(FewSources(), s =>
        {
            var limiter = new CodeGuessingLimiter(s.MaxFailures, Duration.FromTicks(s.WindowTicks), s.MaxSources);
            var model = s.Sources.ToDictionary(n => n, _ => new List<long>(), StringComparer.Ordinal);
            var times = Times(s);
            for (int i = 0; i < s.Steps.Length; i++)
            {
                var step = s.Steps[i];
                var failures = model[step.Source];
                long t = times[i].ToUnixTimeTicks();
                long effective = failures.Count == 0 ? t : Math.Max(t, failures[^1]); // failures[^1] is the latest
                bool actual;
                if (step.Kind == StepKind.Fail)
                {
                    failures.Add(effective);
                    actual = limiter.RecordFailure(step.Source, times[i]);
                }
                else
                {
                    actual = limiter.IsLimited(step.Source, times[i]);
                }

                Assert.True(ModelLimited(failures, effective, s.WindowTicks, s.MaxFailures) == actual, $"step {i}: {step}");

                // The two bounds the estimate guarantees.
                long w = s.WindowTicks;
                long windowStart = FloorToWindow(effective, w);
                if (failures.Count(x => x >= windowStart) >= s.MaxFailures)
                {
                    Assert.True(actual, $"step {i}: not limited with {s.MaxFailures} failures in the current fixed window");
                }
                if (failures.Count(x => x > effective - (2 * w)) < s.MaxFailures)
                {
                    Assert.False(actual, $"step {i}: limited with fewer than {s.MaxFailures} failures in the last two windows");
                }
            }
            return true;
        });

    [Property(MaxTest = 300)]
    public Property Two_quiet_windows_forget_every_source() =>
        Prop.ForAll(AnyScenario(), Gen.Choose(0, 1_000_000).ToArbitrary(), (s, extra) =>
        {
            var limiter = new CodeGuessingLimiter(s.MaxFailures, Duration.FromTicks(s.WindowTicks), s.MaxSources);
            var times = Times(s);
            for (int i = 0; i < s.Steps.Length; i++)
            {
                var step = s.Steps[i];
                if (step.Kind == StepKind.Fail)
                {
                    limiter.RecordFailure(step.Source, times[i]);
                }
            }
            long latest = times.Length == 0 ? s.Start : times.Max(t => t.ToUnixTimeTicks());
            var quiet = Instant.FromUnixTimeTicks(latest + (2 * s.WindowTicks) + (s.WindowTicks * extra / 1_000_000));
            Assert.Equal(0, limiter.CountActive(quiet));
            Assert.All(s.Sources, source => Assert.False(limiter.IsLimited(source, quiet), source));
            return true;
        });

    [Property(MaxTest = 300)]
    public Property When_it_says_nobody_may_be_limited_nobody_is() =>
        Prop.ForAll(AnyScenario(), s =>
        {
            var limiter = new CodeGuessingLimiter(s.MaxFailures, Duration.FromTicks(s.WindowTicks), s.MaxSources);
            var times = Times(s);
            var failed = new HashSet<string>(StringComparer.Ordinal);
            for (int i = 0; i < s.Steps.Length; i++)
            {
                if (s.Steps[i].Kind == StepKind.Fail)
                {
                    limiter.RecordFailure(s.Steps[i].Source, times[i]);
                    failed.Add(s.Steps[i].Source);
                }
                // At this step's time and a little later, no source that ever failed may be limited if none may be (every
                // few steps: each look costs one IsLimited per source).
                if (i % 5 != 0 && i != s.Steps.Length - 1)
                {
                    continue;
                }
                foreach (var t in new[] { times[i], times[i] + Duration.FromTicks(s.WindowTicks / 3), times[i] + Duration.FromTicks(2 * s.WindowTicks) })
                {
                    if (!limiter.MayBeLimited(t))
                    {
                        foreach (var source in failed)
                        {
                            Assert.False(limiter.IsLimited(source, t), $"{source} is limited at {t} though nobody may be.");
                        }
                    }
                }
            }
            // Two quiet windows after the last call nobody may be limited, and the check says so without looking.
            var quiet = (times.Length == 0 ? Instant.FromUnixTimeTicks(s.Start) : times.Max()) + Duration.FromTicks(2 * s.WindowTicks);
            Assert.False(limiter.MayBeLimited(quiet));
            return true;
        });

    [Property(MaxTest = 500)]
    public Property The_budget_is_the_fewest_failures_that_limit_and_counting_several_at_once_is_counting_each() =>
        Prop.ForAll(FewSources(), Gen.Choose(1, 12).ToArbitrary(), (s, k) =>
        {
            // With no more sources than ways nothing is evicted, so replaying the same failures gives the same counts.
            CodeGuessingLimiter New() => new(s.MaxFailures, Duration.FromTicks(s.WindowTicks), s.MaxSources);
            var one = New();
            var many = New();
            var counted = new List<(string Source, Instant Time, int Count)>();
            var times = Times(s);
            for (int i = 0; i < s.Steps.Length; i++)
            {
                var step = s.Steps[i];
                if (step.Kind != StepKind.Fail)
                {
                    continue;
                }
                // The budget, spent on a replayed copy, limits exactly when it is used up.
                int budget = one.Budget(step.Source, times[i]);
                Assert.Equal(budget == 0, one.IsLimited(step.Source, times[i]));
                Assert.InRange(budget, 0, s.MaxFailures);
                if (budget > 0)
                {
                    var probe = New();
                    foreach (var (source, time, count) in counted)
                    {
                        probe.RecordFailures(source, time, count);
                    }
                    Assert.Equal(budget, probe.Budget(step.Source, times[i]));
                    if (budget > 1)
                    {
                        Assert.False(probe.RecordFailures(step.Source, times[i], budget - 1));
                        Assert.Equal(1, probe.Budget(step.Source, times[i]));
                    }
                    Assert.True(probe.RecordFailure(step.Source, times[i]));
                    Assert.Equal(0, probe.Budget(step.Source, times[i]));
                }

                // k failures at once leave the same state as k one by one.
                bool limitedOne = false;
                for (int j = 0; j < k; j++)
                {
                    limitedOne = one.RecordFailure(step.Source, times[i]);
                }
                Assert.Equal(limitedOne, many.RecordFailures(step.Source, times[i], k));
                counted.Add((step.Source, times[i], k));
                foreach (var source in s.Sources)
                {
                    Assert.Equal(one.IsLimited(source, times[i]), many.IsLimited(source, times[i]));
                    Assert.Equal(one.Budget(source, times[i]), many.Budget(source, times[i]));
                }
            }
            return true;
        });

    private static Instant[] Times(Scenario s)
    {
        var times = new Instant[s.Steps.Length];
        long t = s.Start;
        for (int i = 0; i < times.Length; i++)
        {
            t += s.Steps[i].Delta;
            times[i] = Instant.FromUnixTimeTicks(t);
        }
        return times;
    }

    /// <summary>Makes the calls of <paramref name="steps"/> in order, writing what each count call returned.</summary>
    private static void Replay(CodeGuessingLimiter limiter, Step[] steps, Instant[] times, int[] counts)
    {
        for (int i = 0; i < steps.Length; i++)
        {
            var step = steps[i];
            switch (step.Kind)
            {
                case StepKind.Fail:
                    limiter.RecordFailure(step.Source, times[i]);
                    break;
                case StepKind.Check:
                    limiter.IsLimited(step.Source, times[i]);
                    break;
                default:
                    counts[i] = limiter.CountActive(times[i]);
                    break;
            }
        }
    }

    /// <summary>Compiles every path of the limiter before anything is measured.</summary>
    private static void Warm()
    {
        var limiter = new CodeGuessingLimiter(1, Duration.FromTicks(10), 1);
        for (int i = 0; i < 50; i++)
        {
            limiter.RecordFailure(i % 3 == 0 ? "a" : "b", Instant.FromUnixTimeTicks(i * 7 % 40));
            limiter.IsLimited(i % 2 == 0 ? "a" : "b", Instant.FromUnixTimeTicks(i * 5 % 40));
            limiter.CountActive(Instant.FromUnixTimeTicks(i));
        }
    }

    private static long FloorToWindow(long t, long window) => t - (((t % window) + window) % window);

    /// <summary>
    /// The two-bucket estimate from the plain list of failure times: failures in the fixed window holding
    /// <paramref name="t"/>, plus those of the window before weighted by the share of it within <paramref name="window"/>
    /// of <paramref name="t"/>.
    /// </summary>
    private static bool ModelLimited(List<long> failures, long t, long window, int maxFailures)
    {
        long start = FloorToWindow(t, window);
        long current = failures.Count(x => x >= start && x <= t);
        long previous = failures.Count(x => x >= start - window && x < start);
        return (Int128)previous * (window - (t - start)) + (Int128)current * window >= (Int128)maxFailures * window;
    }
}
