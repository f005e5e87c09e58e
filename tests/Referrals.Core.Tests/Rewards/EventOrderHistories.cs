using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Links;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;

namespace Referrals.Tests.Rewards;

// Histories of one program for issue 18 ("same events, same money"), and how they are replayed: in event-time order, and
// with the same events arriving late, out of order and twice, each replay into a fresh world built the way a host builds
// it (services.AddReferrals with the default in-memory store, a FakeClock as the IClock, the public services only).
//
// Time and causality — what a replay keeps and what it shuffles:
// - Every event has an event time (when it happened). Data events — touches, conversions, refunds — reach the library
//   at an arrival time at or after their event time (a POS upload a day late, a web order synced after its refund), in
//   whatever order that gives, and some arrive twice. Nothing arrives before it happened.
// - Actions of the host — lifecycle passes, pausing or resuming a code — happen when the host does them: their arrival
//   is their event time. So a data event delayed past a pass arrives after the pass, never the other way round.
// - A review decision is made by a person looking at the review queue, so it comes after its conversion arrived: at
//   its own time, or one minute after the order's first arrival when the order arrived later than that. An order is
//   reviewed once: the first decision closes its review (a second one finds nothing under review), so two conflicting
//   decisions about one order are not events whose arrival order a shuffle may swap.
// - Where the shape says refunds do not arrive before their order, a refund arriving earlier is moved to one minute
//   after the order's first arrival.
// - The clock is set to each arrival's time; arrivals are sorted by time, so it only moves forward. The replay in
//   event-time order is the reference: every delay zero, nothing twice.
// - A touch is followed by AttributionService.ReevaluateCustomerAsync for its customer, as the library documents for a
//   touch arriving after the conversion (a no-op when it arrives before). Nothing else is re-decided on the host's side:
//   the amounts after the last arrival are compared with those of the replay in event-time order; then, again, after
//   AttributionService.ReevaluateProgramAsync (the same events decided again must not change an amount).
// Statuses (pending, approved, fulfilled, clawed back) may differ between replays; amounts may not.

/// <summary>Which kinds of event a generated history holds.</summary>
internal sealed record HistoryShape(bool Refunds, bool RefundsBeforeOrder, bool Reviews, bool Passes, bool Chains, bool CodePausing)
{
    /// <summary>Everything issue 18 names: refunds (also before their order), reviews, passes, chains, pausing codes.</summary>
    public static readonly HistoryShape Full = new(Refunds: true, RefundsBeforeOrder: true, Reviews: true, Passes: true, Chains: true, CodePausing: true);

    /// <summary>
    /// The reward engine's events without the two other parts of issue 18: refunds arrive after their order, no code is
    /// paused; touches, conversions, repeats, refunds, reviews, passes and chains.
    /// </summary>
    public static readonly HistoryShape WithoutEarlyRefundsOrPausing = new(Refunds: true, RefundsBeforeOrder: false, Reviews: true, Passes: true, Chains: true, CodePausing: false);

    /// <summary>The reward engine alone: touches, conversions and repeat purchases, under ladders, a milestone, a boost and caps.</summary>
    public static readonly HistoryShape EngineOnly = new(Refunds: false, RefundsBeforeOrder: false, Reviews: false, Passes: false, Chains: false, CodePausing: false);
}

/// <summary>One event of a history, at <see cref="Hour"/> hours after <see cref="EventOrderWorld.Start"/>.</summary>
internal abstract record HistoryEvent(int Hour)
{
    public Instant At => EventOrderWorld.Start + Duration.FromHours(Hour);

    /// <summary>Data can arrive late and twice; an action of the host happens at its own time, once.</summary>
    public abstract bool IsData { get; }

    public abstract string Describe();

    protected string When => EventOrderHistories.Format(At);
}

/// <summary>A code typed online by the customer (<see cref="Click"/> false), or a click on the referrer's share link from the customer's browser.</summary>
internal sealed record TouchEvent(int Hour, string Customer, string Referrer, bool Click) : HistoryEvent(Hour)
{
    public override bool IsData => true;

    public override string Describe() => $"touch   {Customer} {(Click ? "clicks" : "types")} {Referrer}'s {(Click ? "link" : "code")} at {When}";
}

/// <summary>
/// An order; <see cref="Code"/> names the referrer whose code is presented at checkout, <see cref="Device"/> the referrer
/// whose registered device the order is placed from (always the code's owner: a self-referral signal that sends the
/// referral to review).
/// </summary>
internal sealed record BuyEvent(int Hour, string OrderId, string Customer, string? Code, int Cents, string? Device) : HistoryEvent(Hour)
{
    public override bool IsData => true;

    public override string Describe() =>
        $"buy     {OrderId} by {Customer}, {Cents / 100m:0.00} EUR{(Code is null ? ", no code" : $" with {Code}'s code")}{(Device is null ? "" : $", on {Device}'s device")} at {When}";
}

/// <summary>A refund of <see cref="Percent"/> % of an order (100: in full), or a charge-back when <see cref="Percent"/> is 0.</summary>
internal sealed record RefundEvent(int Hour, string RefundId, string OrderId, int Percent) : HistoryEvent(Hour)
{
    public override bool IsData => true;

    public override string Describe() => $"refund  {RefundId} of {OrderId}: {(Percent == 0 ? "charge-back" : Percent + " %")} at {When}";
}

/// <summary>A lifecycle pass (<see cref="RewardService.ProcessDueAsync"/>).</summary>
internal sealed record PassEvent(int Hour) : HistoryEvent(Hour)
{
    public override bool IsData => false;

    public override string Describe() => $"pass    at {When}";
}

/// <summary>A reviewer approves or rejects an order in the review queue.</summary>
internal sealed record ReviewEvent(int Hour, string OrderId, bool Approve) : HistoryEvent(Hour)
{
    public override bool IsData => false;

    public override string Describe() => $"review  {(Approve ? "approve" : "reject")} {OrderId} at {When} (or after the order arrived)";
}

/// <summary>The referrer's code is paused, or resumed.</summary>
internal sealed record CodeStateEvent(int Hour, string Referrer, bool Pause) : HistoryEvent(Hour)
{
    public override bool IsData => false;

    public override string Describe() => $"code    {Referrer}'s code {(Pause ? "paused" : "resumed")} at {When}";
}

/// <summary>An event and, per shuffled replay, the delays (minutes) of its arrivals: one for an event that arrives once, two for one that arrives twice.</summary>
internal sealed record ScheduledEvent(HistoryEvent Event, int[][] Delays);

/// <summary>A generated history: its events in generation order, each with its arrivals in every shuffled replay.</summary>
internal sealed record History(HistoryShape Shape, ScheduledEvent[] Events)
{
    public int Replays => Events.Length == 0 ? 0 : Events[0].Delays.Length;

    public override string ToString()
    {
        var sb = new StringBuilder();
        sb.Append(CultureInfo.InvariantCulture, $"{Events.Length} events, {Replays} shuffled replay(s); arrivals per replay as delays after the event time:");
        for (int i = 0; i < Events.Length; i++)
        {
            var s = Events[i];
            sb.AppendLine().Append(CultureInfo.InvariantCulture, $"  #{i,-2} {s.Event.Describe()}");
            if (s.Event.IsData)
            {
                sb.Append("  arrives ").Append(string.Join(" | ", s.Delays.Select(d => string.Join(" & ", d.Select(EventOrderHistories.FormatDelay)))));
            }
        }
        return sb.ToString();
    }
}

/// <summary>The generator and shrinker of histories, and the replay schedule.</summary>
internal static class EventOrderHistories
{
    public const int ShuffledReplays = 2;

    public static readonly string[] Referrers = ["r0", "r1", "r2"];

    public static readonly string[] Friends = ["f0", "f1", "f2", "f3", "f4", "f5", "f6", "f7"];

    private const int Days = 28;

    public static string Format(Instant at) => at.ToString("MM-dd HH:mm", CultureInfo.InvariantCulture);

    public static string FormatDelay(int minutes) =>
        minutes == 0 ? "+0" : "+" + (minutes >= 1440 ? $"{minutes / 1440}d" : "") + (minutes % 1440 >= 60 ? $"{minutes % 1440 / 60}h" : "") + (minutes % 60 > 0 ? $"{minutes % 60}m" : "");

    /// <summary>Who may buy: the friends, and with chains the referrers r1 and r2 (referred by a referrer before them, so there is no ring).</summary>
    private static string[] Customers(HistoryShape shape) => shape.Chains ? [.. Friends, "r1", "r2"] : Friends;

    /// <summary>The referrers whose codes a customer may meet: anyone but themselves; a referrer only one listed before them.</summary>
    public static string[] ReferrersOf(string customer) =>
        customer.StartsWith('r') ? Referrers.TakeWhile(r => r != customer).ToArray() : Referrers;

    private sealed record RawOp(int Kind, int A, int B, int C, int D, int[][] Delays);

    private static Gen<int[]> ArrivalDelays =>
        // Half the arrivals are on time; the rest up to 20 days late; one in four arrives a second time, later still.
        from first in Gen.Frequency((1, Gen.Constant(0)), (1, Gen.Choose(1, 20 * 1440)))
        from twice in Gen.Elements(false, false, false, true)
        from extra in Gen.Choose(0, 10 * 1440)
        select twice ? new[] { first, first + extra } : new[] { first };

    private static Gen<RawOp> Op(HistoryShape shape)
    {
        var kinds = new List<(int, Gen<int>)> { (3, Gen.Constant(0)), (6, Gen.Constant(1)) };
        if (shape.Refunds)
        {
            kinds.Add((2, Gen.Constant(2)));
        }
        if (shape.Passes)
        {
            kinds.Add((2, Gen.Constant(3)));
        }
        if (shape.Reviews)
        {
            kinds.Add((2, Gen.Constant(4)));
        }
        if (shape.CodePausing)
        {
            kinds.Add((1, Gen.Constant(5)));
        }
        return from kind in Gen.Frequency(kinds.ToArray())
               from a in Gen.Choose(0, 1000)
               from b in Gen.Choose(0, 1000)
               from c in Gen.Choose(0, 1000)
               from d in Gen.Choose(0, Days * 24)
               from delays in ArrivalDelays.ArrayOf(ShuffledReplays)
               select new RawOp(kind, a, b, c, d, delays);
    }

    public static Arbitrary<History> Histories(HistoryShape shape) =>
        Arb.From(
            from ops in Op(shape).ListOf().Select(l => l.Take(36).ToArray())
            select Interpret(shape, ops),
            Shrink);

    /// <summary>Turns raw numbers into events that make sense: refunds and reviews of orders already generated, at or after them.</summary>
    private static History Interpret(HistoryShape shape, RawOp[] ops)
    {
        var customers = Customers(shape);
        var buys = new List<BuyEvent>();
        var events = new List<ScheduledEvent>();
        int refunds = 0;
        var reviewed = new HashSet<string>(StringComparer.Ordinal);
        int[][] once = [.. Enumerable.Range(0, ShuffledReplays).Select(_ => new[] { 0 })];
        foreach (var op in ops)
        {
            HistoryEvent? e = null;
            switch (op.Kind)
            {
                case 0:
                {
                    var customer = customers[op.A % customers.Length];
                    var referrers = ReferrersOf(customer);
                    e = new TouchEvent(op.D, customer, referrers[op.B % referrers.Length], Click: op.C % 2 == 0);
                    break;
                }
                case 1:
                {
                    var customer = customers[op.A % customers.Length];
                    var referrers = ReferrersOf(customer);
                    string? code = op.B % 3 == 0 ? null : referrers[op.B % referrers.Length];
                    // Only a friend's order with a code is sent to review: its referrer is the code's owner in every
                    // replay (a code at checkout beats any touch), so a reviewer decides about the same referral whenever
                    // the events arrive; and only friends' orders carry a device, so no referrer's own order is a
                    // "sighting" of it (sightings are history, read as recorded so far).
                    string? device = shape.Reviews && code is not null && customer.StartsWith('f') && op.C % 3 == 0 ? code : null;
                    var buy = new BuyEvent(op.D, $"o{buys.Count}", customer, code, 2000 + (op.C * 13 % 13000), device);
                    buys.Add(buy);
                    e = buy;
                    break;
                }
                case 2 when buys.Count > 0:
                {
                    var of = buys[op.A % buys.Count];
                    e = new RefundEvent(of.Hour + (op.B % 240), $"rf{refunds++}", of.OrderId, new[] { 30, 50, 100, 0 }[op.C % 4]);
                    break;
                }
                case 3:
                    e = new PassEvent(op.D);
                    break;
                case 4 when buys.Any(b => b.Device is not null && !reviewed.Contains(b.OrderId)):
                {
                    var flagged = buys.Where(b => b.Device is not null && !reviewed.Contains(b.OrderId)).ToList();
                    var of = flagged[op.A % flagged.Count];
                    reviewed.Add(of.OrderId);
                    e = new ReviewEvent(of.Hour + 1 + (op.B % 200), of.OrderId, Approve: op.C % 2 == 0);
                    break;
                }
                case 5:
                    e = new CodeStateEvent(op.D, Referrers[op.A % Referrers.Length], Pause: op.B % 2 == 0);
                    break;
            }
            if (e is not null)
            {
                events.Add(new ScheduledEvent(e, e.IsData ? op.Delays : once));
            }
        }
        return new History(shape, [.. events]);
    }

    /// <summary>Smaller histories first (an event left out), then orders not sent to review, fewer second arrivals, delays set to zero.</summary>
    private static IEnumerable<History> Shrink(History h)
    {
        for (int i = 0; i < h.Events.Length; i++)
        {
            // An order goes with its refunds and reviews: every refund and review of a history names an order of it.
            string? order = (h.Events[i].Event as BuyEvent)?.OrderId;
            yield return h with
            {
                Events = [.. h.Events.Where((s, k) => k != i && (order is null || OrderOf(s.Event) != order))],
            };
        }
        for (int i = 0; i < h.Events.Length; i++)
        {
            // An order not sent to review, when the review is not what makes the difference (its reviews then do nothing).
            if (h.Events[i].Event is BuyEvent { Device: not null } b)
            {
                var events = h.Events.ToArray();
                events[i] = events[i] with { Event = b with { Device = null } };
                yield return h with { Events = events };
            }
        }
        for (int i = 0; i < h.Events.Length; i++)
        {
            for (int r = 0; r < h.Events[i].Delays.Length; r++)
            {
                if (h.Events[i].Delays[r].Length > 1)
                {
                    yield return With(h, i, r, [h.Events[i].Delays[r][0]]);
                }
            }
        }
        for (int i = 0; i < h.Events.Length; i++)
        {
            for (int r = 0; r < h.Events[i].Delays.Length; r++)
            {
                var d = h.Events[i].Delays[r];
                if (d.Any(x => x != 0))
                {
                    yield return With(h, i, r, [.. d.Select(_ => 0)]);
                }
            }
        }
    }

    private static string? OrderOf(HistoryEvent e) => e switch
    {
        RefundEvent f => f.OrderId,
        ReviewEvent r => r.OrderId,
        _ => null,
    };

    private static History With(History h, int index, int replay, int[] delays)
    {
        var s = h.Events[index];
        var all = s.Delays.ToArray();
        all[replay] = delays;
        var events = h.Events.ToArray();
        events[index] = s with { Delays = all };
        return h with { Events = events };
    }

    /// <summary>
    /// The arrivals of a replay in order, with their times: <paramref name="replay"/> -1 is event-time order (every delay
    /// zero, nothing twice). Ties keep generation order, which puts a refund or review after the order it names.
    /// </summary>
    public static List<(Instant At, HistoryEvent Event)> Arrivals(History h, int replay)
    {
        var arrivals = new List<(Instant At, int Index, HistoryEvent Event)>();
        var firstArrival = new Dictionary<string, Instant>(StringComparer.Ordinal);
        for (int i = 0; i < h.Events.Length; i++)
        {
            var s = h.Events[i];
            int[] delays = replay < 0 || !s.Event.IsData ? [0] : s.Delays[replay];
            foreach (int d in delays)
            {
                arrivals.Add((s.Event.At + Duration.FromMinutes(d), i, s.Event));
            }
            if (s.Event is BuyEvent b)
            {
                firstArrival[b.OrderId] = s.Event.At + Duration.FromMinutes(delays.Min());
            }
        }
        // Causal constraints: a review after its order arrived; a refund after its order unless the shape allows otherwise.
        for (int k = 0; k < arrivals.Count; k++)
        {
            var (at, i, e) = arrivals[k];
            string? order = e switch
            {
                ReviewEvent r => r.OrderId,
                RefundEvent f when !h.Shape.RefundsBeforeOrder => f.OrderId,
                _ => null,
            };
            if (order is not null && firstArrival.TryGetValue(order, out var orderAt) && at <= orderAt)
            {
                arrivals[k] = (orderAt + Duration.FromMinutes(1), i, e);
            }
        }
        return [.. arrivals.OrderBy(a => a.At).ThenBy(a => a.Index).Select(a => (a.At, a.Event))];
    }
}

/// <summary>A fresh shop built as a host builds it, on which a history is replayed.</summary>
internal sealed class EventOrderWorld : IDisposable
{
    /// <summary>Monday 23 November 2026, 09:00 UTC: the histories run four weeks from here, across the end of November.</summary>
    public static readonly Instant Start = Instant.FromUtc(2026, 11, 23, 9, 0);

    public static readonly ProgramId Program = new("customers");

    private readonly ServiceProvider _provider;
    private readonly Dictionary<string, ReferralCodeRecord> _codes = new(StringComparer.Ordinal);
    private readonly FingerprintHasher _fingerprints;
    private readonly ShareLinkService _links;

    private EventOrderWorld(Action<ProgramOptions> program)
    {
        Clock = new FakeClock(Start - Duration.FromDays(1));
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(Clock); // registered before AddReferrals: the host's own clock wins
        services.AddSingleton<IRewardFulfiller>(new ReferenceFulfiller());
        services.AddReferrals(o =>
            {
                o.Links.Template = "https://shop.example/r/{code}";
                o.Links.SigningKeys.Add(new LinkSigningKey { Id = "k1", Secret = Convert.ToBase64String([.. Enumerable.Range(1, 32).Select(i => (byte)i)]) });
                o.Links.ActiveSigningKeyId = "k1";
                o.Privacy.ContactHashKey = Convert.ToBase64String([.. Enumerable.Range(100, 32).Select(i => (byte)i)]);
                var p = new ProgramOptions { TimeZone = "Europe/Berlin" };
                program(p);
                o.Programs[Program.Value] = p;
            })
            // Only checks whose verdict is a function of the conversion and the registrations: velocity, rings and
            // refund abuse read the history recorded so far (arrival order), which is another question than this one.
            .RemoveFraudCheck(FraudCheckNames.Velocity)
            .RemoveFraudCheck(FraudCheckNames.Ring)
            .RemoveFraudCheck(FraudCheckNames.RefundAbuse);
        _provider = services.BuildServiceProvider();
        Attribution = _provider.GetRequiredService<AttributionService>();
        Participants = _provider.GetRequiredService<ParticipantService>();
        Rewards = _provider.GetRequiredService<RewardService>();
        Reviews = _provider.GetRequiredService<ReviewQueue>();
        Codes = _provider.GetRequiredService<ReferralCodeService>();
        _fingerprints = _provider.GetRequiredService<FingerprintHasher>();
        _links = _provider.GetRequiredService<ShareLinkService>();
    }

    public FakeClock Clock { get; }

    public AttributionService Attribution { get; }

    public ParticipantService Participants { get; }

    public RewardService Rewards { get; }

    public ReviewQueue Reviews { get; }

    public ReferralCodeService Codes { get; }

    /// <summary>Reports and the what-if replay on the world's store.</summary>
    public Referrals.Reporting.ProgramReports Reports => _provider.GetRequiredService<Referrals.Reporting.ProgramReports>();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>
    /// The program of the property: a ladder (10 EUR, 15 EUR from the 2nd referral, 10 % from the 4th), a gift card on the
    /// 3rd, 2.50 EUR to the referrer's referrer, 10 % for the friend, double rewards 5-8 December (Berlin), at most 35 EUR
    /// per month and 2 rewarded referrals per week per referrer; 7-day hold; an order from the referrer's own registered
    /// device goes to review (score 50: review from 40, block from 100).
    /// </summary>
    public static void PropertyProgram(ProgramOptions p)
    {
        p.AttributionWindow = TimeSpan.FromDays(14);
        p.MaxChainDepth = 2;
        p.Rewards = new RewardOptions
        {
            HoldPeriod = TimeSpan.FromDays(7),
            Rules =
            [
                new RewardRuleOptions
                {
                    Name = "ladder",
                    Tiers =
                    [
                        new RewardTierOptions { From = 1, Amount = 10m, Currency = "EUR" },
                        new RewardTierOptions { From = 2, Amount = 15m, Currency = "EUR" },
                        new RewardTierOptions { From = 4, Percent = 10m },
                    ],
                },
                new RewardRuleOptions { Name = "third", Kind = RewardKind.GiftCard, Milestone = 3, Amount = 5m, Currency = "EUR" },
                new RewardRuleOptions { Name = "upline", Level = 2, Amount = 2.5m, Currency = "EUR" },
                new RewardRuleOptions { Name = "friend", For = RewardRole.Referee, Kind = RewardKind.Coupon, Percent = 10m },
            ],
            Boosts = [new RewardBoostOptions { Name = "st-nicholas", From = "2026-12-05", Until = "2026-12-08", Multiply = 2m }],
            Caps =
            [
                new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 35m, Currency = "EUR" },
                new RewardCapOptions { Period = CapPeriod.Week, MaxCount = 2 },
            ],
        };
        p.Fraud = new FraudPolicyOptions { Scores = { [FraudSignalNames.SelfReferralDevice] = 50 } };
    }

    /// <summary>A world with the referrers (each with a registered device and one code) and the friends (each with a browser linked to them).</summary>
    public static async Task<EventOrderWorld> CreateAsync(Action<ProgramOptions> program, IEnumerable<string> referrers, IEnumerable<string> friends)
    {
        var w = new EventOrderWorld(program);
        foreach (var r in referrers)
        {
            await w.Participants.RegisterAsync(new Participant { Id = new ParticipantId(r), Fingerprints = [w.Device(r)] }, Ct);
            w._codes[r] = await w.Codes.IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId(r), Medium = ShareMedium.Email }, Ct);
            await w.Participants.LinkVisitorAsync("browser-" + r, new ParticipantId(r), Ct);
        }
        foreach (var f in friends)
        {
            await w.Participants.RegisterAsync(new Participant { Id = new ParticipantId(f) }, Ct);
            await w.Participants.LinkVisitorAsync("browser-" + f, new ParticipantId(f), Ct);
        }
        return w;
    }

    public Fingerprint Device(string owner) => _fingerprints.TryHashDevice("device-" + owner, out var f) ? f : throw new ArgumentException(owner);

    public string CodeOf(string referrer) => _codes[referrer].Display;

    /// <summary>Sets the clock to an arrival (never back) and hands the event to the library as a host would.</summary>
    public async Task ArriveAsync(Instant at, HistoryEvent e)
    {
        if (at > Clock.GetCurrentInstant())
        {
            Clock.Reset(at);
        }
        switch (e)
        {
            case TouchEvent t:
                var request = t.Click
                    ? new CaptureRequest { Program = Program, Kind = TouchKind.LinkClick, Input = _links.Build(_codes[t.Referrer].Code, ShareMedium.Email).Url, VisitorId = "browser-" + t.Customer, EventTime = t.At }
                    : new CaptureRequest { Program = Program, Kind = TouchKind.CodeEnteredOnline, Input = CodeOf(t.Referrer), Customer = new ParticipantId(t.Customer), EventTime = t.At };
                var captured = await Attribution.CaptureAsync(request, Ct);
                if (captured.Outcome == CaptureOutcome.Rejected)
                {
                    // The library may refuse a touch (a code's state, say), but never for what would be a fault of this harness.
                    Assert.DoesNotContain(Assert.NotNull(captured.Rejection), HarnessFaults);
                }
                await Attribution.ReevaluateCustomerAsync(Program, new ParticipantId(t.Customer), Ct);
                break;
            case BuyEvent b:
                await Attribution.RecordConversionAsync(Order(b.OrderId, b.Customer, b.At, b.Cents / 100m, b.Code, b.Device), Ct);
                break;
            case RefundEvent f:
                // Refunds of orders not arrived yet are handed over all the same: what becomes of them is the library's part.
                await Rewards.RecordRefundAsync(
                    new Refund { Program = Program, OrderId = f.OrderId, RefundId = f.RefundId, Amount = new Money(f.Percent == 0 ? 1m : RefundAmount(f), "EUR"), EventTime = f.At, IsChargeback = f.Percent == 0 },
                    Ct);
                break;
            case PassEvent:
                await Rewards.ProcessDueAsync(Ct);
                break;
            case ReviewEvent r when r.Approve:
                await Reviews.ApproveAsync(Program, r.OrderId, "mia (support)", "checked by phone", Ct);
                break;
            case ReviewEvent r:
                await Reviews.RejectAsync(Program, r.OrderId, "mia (support)", "the referrer's own device", Ct);
                break;
            case CodeStateEvent { Pause: true } c:
                await Codes.PauseAsync(_codes[c.Referrer].Code, Ct);
                break;
            case CodeStateEvent c:
                await Codes.ResumeAsync(_codes[c.Referrer].Code, Ct);
                break;
        }
    }

    private static readonly CaptureRejection[] HarnessFaults =
    [
        CaptureRejection.CodeMalformed, CaptureRejection.CodeNotFound, CaptureRejection.CodeCheckFailed, CaptureRejection.WrongProgram,
        CaptureRejection.LinkSignatureInvalid, CaptureRejection.LinkSignatureMissing, CaptureRejection.NoProspect, CaptureRejection.TooManyFailedLookups,
    ];

    /// <summary>The refund's amount, from the order's amount as the history knows it (a refund carries its own amount).</summary>
    private decimal RefundAmount(RefundEvent f) => Math.Round(OrderAmounts[f.OrderId] * f.Percent / 100m, 2);

    /// <summary>The amounts of the history's orders, for refunds (set by the replay).</summary>
    public Dictionary<string, decimal> OrderAmounts { get; } = new(StringComparer.Ordinal);

    public Conversion Order(string orderId, string customer, Instant at, decimal amount, string? codeOf = null, string? deviceOf = null) => new()
    {
        Program = Program,
        OrderId = orderId,
        Customer = new ParticipantId(customer),
        Amount = new Money(amount, "EUR"),
        EventTime = at,
        PresentedCode = codeOf is null ? null : CodeOf(codeOf),
        Fingerprints = deviceOf is null ? [] : [Device(deviceOf)],
    };

    /// <summary>What the ledger says, in amounts: the balance of every participant and the net per (order, beneficiary, rule).</summary>
    public async Task<Outcome> OutcomeAsync(IEnumerable<string> participants, IEnumerable<string> orders)
    {
        var balances = new SortedDictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var p in participants)
        {
            var summary = await Rewards.GetReferrerSummaryAsync(Program, new ParticipantId(p), Ct);
            foreach (var m in summary.Balance.Where(m => m.Amount != 0))
            {
                balances[$"{p} {m.Currency}"] = m.Amount;
            }
        }
        var nets = new SortedDictionary<string, decimal>(StringComparer.Ordinal);
        foreach (var o in orders)
        {
            foreach (var g in (await Rewards.ListOrderRewardsAsync(Program, o, Ct)).GroupBy(r => (r.Beneficiary.Value, r.Terms.Rule, r.Net.Currency)))
            {
                decimal net = g.Sum(r => r.Net.Amount);
                if (net != 0)
                {
                    nets[$"{o} {g.Key.Value} {g.Key.Rule} {g.Key.Currency}"] = net;
                }
            }
        }
        return new Outcome(balances, nets);
    }

    public void Dispose() => _provider.Dispose();

    /// <summary>Delivers every reward, idempotent by reward id, as a host's fulfiller must be.</summary>
    private sealed class ReferenceFulfiller : IRewardFulfiller
    {
        public ValueTask<string?> FulfilAsync(Reward reward, CancellationToken cancellationToken) => ValueTask.FromResult<string?>("credit-" + reward.Id);
    }
}

/// <summary>Amounts after a replay: balance per beneficiary and currency, net per (order, beneficiary, rule, currency); zeros left out.</summary>
internal sealed record Outcome(SortedDictionary<string, decimal> Balances, SortedDictionary<string, decimal> Nets)
{
    /// <summary>The first difference from <paramref name="reference"/>, balances first, or <see langword="null"/> when the amounts are the same.</summary>
    public string? FirstDifferenceFrom(Outcome reference)
    {
        return Diff("balance of", reference.Balances, Balances) ?? Diff("net of (order beneficiary rule currency)", reference.Nets, Nets);

        static string? Diff(string what, SortedDictionary<string, decimal> expected, SortedDictionary<string, decimal> actual)
        {
            foreach (var key in expected.Keys.Union(actual.Keys).Order(StringComparer.Ordinal))
            {
                decimal e = expected.GetValueOrDefault(key), a = actual.GetValueOrDefault(key);
                if (e != a)
                {
                    return $"{what} {key}: {a} here, {e} in event-time order";
                }
            }
            return null;
        }
    }

    public override string ToString() =>
        "balances " + string.Join(", ", Balances.Select(kv => $"{kv.Key} {kv.Value}")) + "; nets " + string.Join(", ", Nets.Select(kv => $"{kv.Key} {kv.Value}"));
}
