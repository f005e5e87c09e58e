using NodaTime;
using NodaTime.Text;

namespace Referrals.Programs;

/// <summary>A program's options compiled once: time zone resolved, local bounds turned into instants.</summary>
internal sealed class ProgramRules
{
    private static readonly LocalDateTimePattern DateTimePattern = LocalDateTimePattern.CreateWithInvariantCulture("uuuu'-'MM'-'dd'T'HH':'mm");
    private static readonly LocalDateTimePattern DateTimeSecondsPattern = LocalDateTimePattern.GeneralIso;
    private static readonly LocalDatePattern DatePattern = LocalDatePattern.Iso;

    private readonly Dictionary<string, decimal> _minimumOrder;

    private ProgramRules(ProgramId id, ProgramOptions o, DateTimeZone zone, Instant? from, Instant? until)
    {
        Id = id;
        Zone = zone;
        ActiveFrom = from;
        ActiveUntil = until;
        Window = Duration.FromTimeSpan(o.AttributionWindow);
        Precedence = o.Precedence;
        CodeAtConversionWins = o.CodeAtConversionWins;
        Sticky = o.Sticky;
        NewCustomersOnly = o.NewCustomersOnly;
        MaxChainDepth = o.MaxChainDepth;
        _minimumOrder = new Dictionary<string, decimal>(o.MinimumOrder, StringComparer.OrdinalIgnoreCase);
    }

    public ProgramId Id { get; }

    public DateTimeZone Zone { get; }

    public Instant? ActiveFrom { get; }

    public Instant? ActiveUntil { get; }

    public Duration Window { get; }

    public TouchPrecedence Precedence { get; }

    public bool CodeAtConversionWins { get; }

    public StickyReferee Sticky { get; }

    public bool NewCustomersOnly { get; }

    public int MaxChainDepth { get; }

    public bool IsActiveAt(Instant instant) =>
        (ActiveFrom is not { } f || instant >= f) && (ActiveUntil is not { } u || instant < u);

    public bool MeetsMinimum(Money amount) =>
        !_minimumOrder.TryGetValue(amount.Currency, out var min) || amount.Amount >= min;

    public static Dictionary<ProgramId, ProgramRules> Compile(ReferralsOptions options)
    {
        var result = new Dictionary<ProgramId, ProgramRules>();
        foreach (var (key, o) in options.Programs)
        {
            var zone = DateTimeZoneProviders.Tzdb.GetZoneOrNull(o.TimeZone)!;
            Instant? from = o.ActiveFrom is null ? null : TryParseLocal(o.ActiveFrom, out var f) ? zone.AtLeniently(f).ToInstant() : null;
            Instant? until = o.ActiveUntil is null ? null : TryParseLocal(o.ActiveUntil, out var u) ? zone.AtLeniently(u).ToInstant() : null;
            var id = new ProgramId(key);
            result[id] = new ProgramRules(id, o, zone, from, until);
        }
        return result;
    }

    /// <summary>The years a configured local date or date-time may lie in, as text for messages.</summary>
    public const string SupportedYears = "1 to 9998";

    /// <summary>
    /// Whether a configured local date-time lies in the years 1 to 9998: far enough inside NodaTime's range of instants
    /// (years -9998 to 9999) that it is an instant in every time zone, and that the calendar periods of caps around it are too.
    /// </summary>
    public static bool IsSupported(LocalDateTime value) => value.Year is >= 1 and <= 9998;

    /// <summary>Reads <c>2026-11-27</c>, <c>2026-11-27T09:00</c> or <c>2026-11-27T09:00:00</c>.</summary>
    public static bool TryParseLocal(string text, out LocalDateTime value)
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
