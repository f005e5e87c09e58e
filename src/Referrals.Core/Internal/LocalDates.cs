using NodaTime;
using NodaTime.Text;

namespace Referrals.Internal;

/// <summary>Local dates and date-times as configured (a program's active window, a boost's period), read one way everywhere.</summary>
internal static class LocalDates
{
    private static readonly LocalDateTimePattern DateTimePattern = LocalDateTimePattern.CreateWithInvariantCulture("uuuu'-'MM'-'dd'T'HH':'mm");
    private static readonly LocalDateTimePattern DateTimeSecondsPattern = LocalDateTimePattern.GeneralIso;
    private static readonly LocalDatePattern DatePattern = LocalDatePattern.Iso;

    /// <summary>The years a configured local date or date-time may lie in, as text for messages.</summary>
    public const string SupportedYears = "1 to 9998";

    /// <summary>
    /// Whether a configured local date-time lies in the years 1 to 9998: far enough inside NodaTime's range of instants
    /// (years -9998 to 9999) that it is an instant in every time zone, and that the calendar periods of caps around it are too.
    /// </summary>
    public static bool IsSupported(LocalDateTime value) => value.Year is >= 1 and <= 9998;

    /// <summary>Reads <c>2026-11-27</c>, <c>2026-11-27T09:00</c> or <c>2026-11-27T09:00:00</c>.</summary>
    public static bool TryParse(string text, out LocalDateTime value)
    {
        var dt = DateTimePattern.Parse(text);
        if (dt.Success)
        {
            value = dt.Value;
            return true;
        }
        dt = DateTimeSecondsPattern.Parse(text);
        if (dt.Success)
        {
            value = dt.Value;
            return true;
        }
        var d = DatePattern.Parse(text);
        value = d.Success ? d.Value.AtMidnight() : default;
        return d.Success;
    }
}
