using NodaTime;

namespace Referrals.Attribution;

/// <summary>
/// The event times the library works with: from 0001-01-01 up to, not including, 9998-01-01 (UTC). NodaTime's own range
/// ends with 9999; the year kept free lets every window, hold and cap period computed from an event time (each at most
/// 366 days, in a zone at most 18 hours off UTC) stay within it, so no decision can fail on arithmetic overflow.
/// </summary>
internal static class EventTimes
{
    /// <summary>The earliest supported event time.</summary>
    public static readonly Instant Earliest = Instant.FromUtc(1, 1, 1, 0, 0);

    /// <summary>The first instant after the supported range.</summary>
    public static readonly Instant End = Instant.FromUtc(9998, 1, 1, 0, 0);

    /// <summary>The range in words, for messages.</summary>
    public const string RangeText = "0001-01-01T00:00:00Z to 9997-12-31T23:59:59Z";

    /// <summary>Whether <paramref name="time"/> is in the supported range.</summary>
    public static bool IsSupported(Instant time) => time >= Earliest && time < End;
}
