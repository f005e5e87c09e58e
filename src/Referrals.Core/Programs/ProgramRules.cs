using NodaTime;
using Referrals.Internal;

namespace Referrals.Programs;

/// <summary>A program's options compiled once: time zone resolved, local bounds turned into instants.</summary>
internal sealed class ProgramRules
{
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
            Instant? from = o.ActiveFrom is null ? null : LocalDates.TryParse(o.ActiveFrom, out var f) ? zone.AtLeniently(f).ToInstant() : null;
            Instant? until = o.ActiveUntil is null ? null : LocalDates.TryParse(o.ActiveUntil, out var u) ? zone.AtLeniently(u).ToInstant() : null;
            var id = new ProgramId(key);
            result[id] = new ProgramRules(id, o, zone, from, until);
        }
        return result;
    }
}
