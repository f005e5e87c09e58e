using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Tests.Support;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Attribution;

/// <summary>The decision depends on the events, not on the order they arrive in or how often.</summary>
public sealed class AttributionPropertyTests
{
    private static readonly string[] Referrers = ["anna", "ben", "cleo"];
    private static readonly string[] Friends = ["dan", "eve", "fay", "gus"];

    /// <summary>One thing that happens in the shop.</summary>
    public abstract record Event;

    public sealed record Entered(int Referrer, int Friend, int Hour) : Event;

    public sealed record Clicked(int Referrer, int Visitor, int Hour) : Event;

    public sealed record Linked(int Visitor, int Friend) : Event;

    public sealed record Bought(int Friend, int Order, int Hour, int? PresentedReferrer) : Event;

    private static Gen<Event> EventGen() =>
        Gen.OneOf(
            Three(Gen.Choose(0, 2), Gen.Choose(0, 3), Gen.Choose(0, 24 * 40)).Select(t => (Event)new Entered(t.A, t.B, t.C)),
            Three(Gen.Choose(0, 2), Gen.Choose(0, 4), Gen.Choose(0, 24 * 40)).Select(t => (Event)new Clicked(t.A, t.B, t.C)),
            Gen.Choose(0, 4).Zip(Gen.Choose(0, 3)).Select(t => (Event)new Linked(t.Item1, t.Item2)),
            Three(Gen.Choose(0, 3), Gen.Choose(0, 24 * 40), Gen.Choose(-3, 2)).Select(t => (Event)new Bought(t.A, 0, t.B, t.C < 0 ? null : t.C)));

    private static Gen<(int A, int B, int C)> Three(Gen<int> a, Gen<int> b, Gen<int> c) =>
        a.SelectMany(x => b.SelectMany(y => c.Select(z => (x, y, z))));

    /// <summary>A history (orders numbered uniquely) and a second arrival: shuffled, with some events sent twice.</summary>
    private static Arbitrary<(Event[] History, Event[] Arrival)> Histories() =>
        EventGen().ListOf().Select(list => list.Select((e, i) => e is Bought b ? b with { Order = i } : e).ToArray())
            .SelectMany(history => Gen.Shuffle(history.Concat(history.Where((_, i) => i % 3 == 0)).ToArray()).Select(arrival => (history, arrival)))
            .ToArbitrary();

    [Property(MaxTest = 60)]
    public Property Same_events_in_any_order_and_repeated_give_the_same_attributions() =>
        Prop.ForAll(Histories(), pair =>
        {
            var expected = RunAsync(pair.History).GetAwaiter().GetResult();
            var actual = RunAsync(pair.Arrival).GetAwaiter().GetResult();
            return expected.SequenceEqual(actual);
        });

    [Property(MaxTest = 40)]
    public Property Recording_everything_twice_changes_nothing() =>
        Prop.ForAll(Histories(), pair =>
        {
            var once = RunAsync(pair.History).GetAwaiter().GetResult();
            var twice = RunAsync([.. pair.History, .. pair.History]).GetAwaiter().GetResult();
            return once.SequenceEqual(twice);
        });

    private static async Task<List<string>> RunAsync(IEnumerable<Event> events)
    {
        var w = new AttributionWorld();
        var codes = new List<ReferralCodeRecord>();
        foreach (var r in Referrers)
        {
            var id = await w.ParticipantAsync(r);
            codes.Add((await w.Codes.IssueVanityAsync(r.ToUpperInvariant() + "2026", new CodeRequest { Program = Customers, Owner = id, Medium = ShareMedium.Email }, Ct)).Record!);
        }
        foreach (var f in Friends)
        {
            await w.ParticipantAsync(f);
        }
        var orders = new HashSet<string>();
        foreach (var e in events)
        {
            switch (e)
            {
                case Entered x:
                    await w.EnteredAsync(codes[x.Referrer].Code.Value, new ParticipantId(Friends[x.Friend]), Monday + Duration.FromHours(x.Hour));
                    break;
                case Clicked x:
                    await w.ClickAsync(w.Links.Build(codes[x.Referrer].Code, ShareMedium.Social).Url, $"v{x.Visitor}", Monday + Duration.FromHours(x.Hour));
                    break;
                case Linked x:
                    await w.Participants.LinkVisitorAsync($"v{x.Visitor}", new ParticipantId(Friends[x.Friend]), Ct);
                    break;
                case Bought x:
                    orders.Add($"o{x.Order}");
                    await w.Attribution.RecordConversionAsync(
                        w.Order($"o{x.Order}", new ParticipantId(Friends[x.Friend]), Monday + Duration.FromHours(x.Hour))
                            with { PresentedCode = x.PresentedReferrer is { } p ? codes[p].Code.Value : null },
                        Ct);
                    break;
            }
        }
        await w.Attribution.ReevaluateProgramAsync(Customers, Ct);
        var result = new List<string>();
        foreach (var o in orders.Order(StringComparer.Ordinal))
        {
            var a = (await w.Attribution.FindAttributionAsync(Customers, o, Ct))!;
            result.Add($"{o}:{a.Reason}:{a.Referrer}:{a.Code}:{a.TouchId}:{a.IsRepeat}:{a.Combination}:{string.Join('>', a.Chain)}:"
                + string.Join(',', a.Touches.Select(t => $"{t.TouchId}={t.Verdict}")));
        }
        return result;
    }
}
