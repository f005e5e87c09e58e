using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Links;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Services;

namespace Referrals.Docs;

/// <summary>The code of docs/attribution.md: every region is shown on the page, and the tests check what the page says of it.</summary>
public sealed class AttributionSnippets
{
    // An example key, as on the page (made with `openssl rand -base64 32`); a real host keeps its own in a secret store.
    internal const string ContactKey = "HNmpU5UG33Lbo8bEm5W8JpZelATIoO9pm3a3ElW7Sf8=";

    private static readonly ProgramId Customers = new("customers");

    private static void Settings(ReferralsOptions o)
    {
        o.Codes.Prefix = "SHOP";
        o.Links.Template = "https://shop.example/r/{code}";
        o.Links.SigningKeys.Add(new LinkSigningKey { Id = "2026-11", Secret = CodesSnippets.LinkKey2026 });
        o.Links.ActiveSigningKeyId = "2026-11";
        o.Privacy.ContactHashKey = ContactKey;
        o.Privacy.DefaultCountryCallingCode = "49";
        o.Programs["customers"] = new ProgramOptions { TimeZone = "Europe/Berlin" };
    }

    private static async Task<ReferralCodeRecord> IssueAsync(DocsServices app, string owner, ShareMedium medium) =>
        await app.Get<ReferralCodeService>().IssueAsync(
            new CodeRequest { Program = Customers, Owner = new ParticipantId(owner), Medium = medium }, TestContext.Current.CancellationToken);

    [Fact]
    public async Task EachChannelCombinationIsRecordedOnTheAttribution()
    {
        await using var app = await DocsServices.StartAsync(Settings);
        IServiceProvider provider = app.Services;
        var ct = TestContext.Current.CancellationToken;
        var links = app.Get<ShareLinkService>();
        var texted = await IssueAsync(app, "cust-anna", ShareMedium.Sms);
        string requestUrl = links.Build(texted.Code, ShareMedium.Sms).Url;
        const string visitorId = "v-8f2c41";
        const string clientIp = "203.0.113.7";

        #region Attribution.LinkClick
        var attribution = provider.GetRequiredService<AttributionService>();
        var clock = provider.GetRequiredService<IClock>();
        // The friend opens the shared link: the web shop records the click with its visitor id (a first-party cookie).
        await attribution.CaptureAsync(new CaptureRequest
        {
            Program = new ProgramId("customers"), Kind = TouchKind.LinkClick, Input = requestUrl, VisitorId = visitorId,
            Source = clientIp, EventTime = clock.GetCurrentInstant(),
        });
        // Later the same visitor orders: the order names the visitor id of its session.
        var online = await attribution.RecordConversionAsync(new Conversion
        {
            Program = new ProgramId("customers"), OrderId = "web-1001", Customer = new ParticipantId("cust-ben"),
            Amount = new Money(49.90m, "EUR"), EventTime = clock.GetCurrentInstant(), VisitorId = visitorId,
        });
        #endregion

        Assert.Equal(new ParticipantId("cust-anna"), online.Referrer);
        Assert.Equal(TouchKind.LinkClick, online.CaptureMethod);
        Assert.Equal(ShareMedium.Sms, online.Medium);
        Assert.Equal(ChannelCombination.OnlineToOnline, online.Combination);

        var receipt = await IssueAsync(app, "cust-carl", ShareMedium.Receipt);
        string codeBox = " " + receipt.Display.ToLowerInvariant().Replace('-', ' ') + " ";

        #region Attribution.CodeAtCheckout
        // A code printed on a receipt, typed into the web checkout's code box (as typed: the library folds and checks it).
        var typed = await attribution.RecordConversionAsync(new Conversion
        {
            Program = new ProgramId("customers"), OrderId = "web-1002", Customer = new ParticipantId("cust-cleo"),
            Amount = new Money(35.00m, "EUR"), EventTime = clock.GetCurrentInstant(), PresentedCode = codeBox,
        });
        #endregion

        Assert.Equal(new ParticipantId("cust-carl"), typed.Referrer);
        Assert.Equal(TouchKind.CodeEnteredOnline, typed.CaptureMethod);
        Assert.Equal(ChannelCombination.OfflineToOnline, typed.Combination);

        var sms = await IssueAsync(app, "cust-dirk", ShareMedium.Sms);
        string scanned = links.BuildQrPayload(sms.Code, ShareMedium.Sms);

        #region Attribution.ScanAtTill
        // A texted link shown as a QR code and scanned at the till (or the code read out and typed by the cashier).
        var inStore = await attribution.RecordConversionAsync(new Conversion
        {
            Program = new ProgramId("customers"), OrderId = "pos-55-0001", Customer = new ParticipantId("cust-dana"),
            Amount = new Money(80.00m, "EUR"), EventTime = clock.GetCurrentInstant(),
            Channel = Channel.Offline, StoreId = "berlin-mitte", RegisterId = "2", PresentedCode = scanned,
        });
        #endregion

        Assert.Equal(new ParticipantId("cust-dirk"), inStore.Referrer);
        Assert.Equal(TouchKind.PosCodeScan, inStore.CaptureMethod);
        Assert.Equal(ChannelCombination.OnlineToOffline, inStore.Combination);
        Assert.Equal("berlin-mitte", inStore.StoreId);
        // Recording an order again returns the decision already made.
        var again = await attribution.RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = "web-1001", Customer = new ParticipantId("cust-ben"), Amount = new Money(49.90m, "EUR"),
            EventTime = app.Clock.GetCurrentInstant(),
        }, ct);
        Assert.Equal(online.Referrer, again.Referrer);
        Assert.Equal(online.TouchId, (await attribution.FindAttributionAsync(Customers, "web-1001", ct))!.TouchId);
    }

    [Fact]
    public async Task AReferrerIsFoundAtTheTillByTheContactTheyRegistered()
    {
        await using var app = await DocsServices.StartAsync(Settings);
        IServiceProvider provider = app.Services;
        var attribution = app.Get<AttributionService>();
        var participants = app.Get<ParticipantService>();
        var clock = app.Get<IClock>();

        #region Attribution.RegisterContacts
        var hasher = provider.GetRequiredService<ContactHasher>();   // needs Referrals:Privacy:ContactHashKey
        var contacts = new List<ContactHash>();
        if (hasher.TryHashEmail("Anna.Berg@Example.com", out var email)) contacts.Add(email);
        if (hasher.TryHashPhone("0151 2345 678", out var phone)) contacts.Add(phone);   // national: Privacy:DefaultCountryCallingCode
        await participants.RegisterAsync(new Participant
        {
            Id = new ParticipantId("cust-anna"),
            Contacts = contacts,                                            // keyed hashes only
            MaskedEmail = ContactHasher.MaskEmail("Anna.Berg@Example.com"),   // a***@example.com, shown to the cashier
            MaskedPhone = ContactHasher.MaskPhone("+49 151 2345 678"),        // +49 *** *** 78
        });
        #endregion

        Assert.Equal(2, contacts.Count);
        Assert.True(hasher.TryHashPhone("+49 (0)151 2345678", out var international));
        Assert.Equal(phone, international);
        Assert.True(hasher.TryHashPhone("0049 151 2345678", out var withZeros));
        Assert.Equal(phone, withZeros);
        Assert.True(hasher.TryHashEmail("anna.berg@example.com", out var lower));
        Assert.Equal(email, lower);
        string typedByCashier = "anna.berg@example.com";

        #region Attribution.LookupAtTill
        // The friend gives the referrer's e-mail address at the till: hashed at once, never stored.
        if (hasher.TryHashEmail(typedByCashier, out var given) && await participants.LookupReferrersAsync(given) is [var match])
        {
            Console.WriteLine($"Referred by {match.MaskedContact}?");   // the cashier confirms with the friend
            await attribution.CaptureAsync(new CaptureRequest
            {
                Program = new ProgramId("customers"), Kind = TouchKind.PosContactLookup, Referrer = match.Referrer,
                Customer = new ParticipantId("cust-emma"), StoreId = "berlin-mitte", RegisterId = "2", EventTime = clock.GetCurrentInstant(),
            });
        }
        var sale = await attribution.RecordConversionAsync(new Conversion
        {
            Program = new ProgramId("customers"), OrderId = "pos-55-0002", Customer = new ParticipantId("cust-emma"),
            Amount = new Money(42.00m, "EUR"), EventTime = clock.GetCurrentInstant(),
            Channel = Channel.Offline, StoreId = "berlin-mitte", RegisterId = "2",
        });
        #endregion

        var matches = await participants.LookupReferrersAsync(given);
        Assert.Equal("a***@example.com", Assert.Single(matches).MaskedContact);
        Assert.True(hasher.TryHashPhone("0151-2345678", out var byPhone));
        Assert.Equal("+49 *** *** 78", Assert.Single(await participants.LookupReferrersAsync(byPhone)).MaskedContact);
        Assert.Equal(new ParticipantId("cust-anna"), sale.Referrer);
        Assert.Equal(TouchKind.PosContactLookup, sale.CaptureMethod);
        Assert.Null(sale.Code);
        Assert.Equal(ChannelCombination.OfflineToOffline, sale.Combination);

        // The same contact on the friend's side is a self-referral: Anna giving her own address earns nothing.
        await attribution.CaptureAsync(new CaptureRequest
        {
            Program = Customers, Kind = TouchKind.PosContactLookup, Referrer = new ParticipantId("cust-anna"),
            Customer = new ParticipantId("cust-anna-2"), StoreId = "berlin-mitte", EventTime = clock.GetCurrentInstant(),
        });
        var self = await attribution.RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = "pos-55-0003", Customer = new ParticipantId("cust-anna-2"), Amount = new Money(42.00m, "EUR"),
            EventTime = clock.GetCurrentInstant(), Channel = Channel.Offline, StoreId = "berlin-mitte", Contacts = [email],
        });
        Assert.Equal(NotAttributedReason.SelfReferral, self.Reason);
    }

    [Fact]
    public async Task AKioskSignUpCountsForTheFriendsLaterOrderByTheirContact()
    {
        await using var app = await DocsServices.StartAsync(Settings);
        IServiceProvider provider = app.Services;
        var attribution = app.Get<AttributionService>();
        var hasher = app.Get<ContactHasher>();
        var clock = app.Get<IClock>();
        var card = await IssueAsync(app, "cust-otto", ShareMedium.Card);
        string cardCode = card.Display;
        string friendsEmail = "Finn.Lang@example.org";
        var purchasedAt = app.Clock.GetCurrentInstant() + Duration.FromDays(7);

        #region Attribution.Kiosk
        // At the kiosk, a friend types the code from a referral card and signs up with an e-mail address.
        if (hasher.TryHashEmail(friendsEmail, out var friend))
        {
            await attribution.CaptureAsync(new CaptureRequest
            {
                Program = new ProgramId("customers"), Kind = TouchKind.KioskSignup, Input = cardCode, Contact = friend,
                StoreId = "berlin-mitte", Source = "kiosk-1", EventTime = clock.GetCurrentInstant(),
            });
        }
        // A week later the friend buys in the store, and the till knows the same address.
        var bought = await attribution.RecordConversionAsync(new Conversion
        {
            Program = new ProgramId("customers"), OrderId = "pos-55-0100", Customer = new ParticipantId("cust-finn"),
            Amount = new Money(64.90m, "EUR"), EventTime = purchasedAt,
            Channel = Channel.Offline, StoreId = "berlin-mitte", Contacts = [friend],
        });
        #endregion

        Assert.Equal(new ParticipantId("cust-otto"), bought.Referrer);
        Assert.Equal(TouchKind.KioskSignup, bought.CaptureMethod);
        Assert.Equal(ChannelCombination.OfflineToOffline, bought.Combination);
    }

    [Fact]
    public async Task AVisitorLinkedAtSignUpBringsTheClickToTheCustomersOrders()
    {
        await using var app = await DocsServices.StartAsync(Settings);
        IServiceProvider provider = app.Services;
        var attribution = app.Get<AttributionService>();
        var participants = app.Get<ParticipantService>();
        var code = await IssueAsync(app, "cust-anna", ShareMedium.Email);
        string visitorId = "v-19ab77";
        await attribution.CaptureAsync(new CaptureRequest
        {
            Program = Customers, Kind = TouchKind.LinkClick, Input = app.Get<ShareLinkService>().Build(code.Code, ShareMedium.Email).Url,
            VisitorId = visitorId, EventTime = app.Clock.GetCurrentInstant(),
        });
        app.Clock.Advance(Duration.FromDays(3));

        #region Attribution.LinkVisitor
        // At sign-up or log-in: this visitor (device, cookie) is this customer from now on, in every later decision.
        await participants.LinkVisitorAsync(visitorId, new ParticipantId("cust-gina"));
        #endregion

        // The order itself names no visitor (placed in the app, say): the linked visitor's click counts.
        var order = await attribution.RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = "app-3001", Customer = new ParticipantId("cust-gina"),
            Amount = new Money(25m, "EUR"), EventTime = app.Clock.GetCurrentInstant(),
        });
        Assert.Equal(new ParticipantId("cust-anna"), order.Referrer);
        Assert.Equal(TouchKind.LinkClick, order.CaptureMethod);
    }

    [Fact]
    public async Task TheProgramsRulesDecideWindowPrecedenceAndEligibility()
    {
        #region Attribution.ProgramRules
        var rules = new ProgramOptions
        {
            TimeZone = "Europe/Berlin",
            ActiveFrom = "2026-11-01", ActiveUntil = "2027-01-01",   // local dates in TimeZone; ActiveUntil is exclusive
            AttributionWindow = TimeSpan.FromDays(30),
            Precedence = TouchPrecedence.LastTouch,                 // among earlier touches
            CodeAtConversionWins = true,                            // a code typed or scanned at the sale beats them all
            Sticky = StickyReferee.SameReferrer,
            NewCustomersOnly = true,
            MinimumOrder = { ["EUR"] = 20m },                       // per currency; one not listed has no minimum
            MaxChainDepth = 3,
        };
        #endregion

        await using var app = await DocsServices.StartAsync(o =>
        {
            Settings(o);
            o.Programs["customers"] = rules;
        });
        var attribution = app.Get<AttributionService>();
        var ct = TestContext.Current.CancellationToken;
        var now = app.Clock.GetCurrentInstant();
        async Task<ReferralCodeRecord> Vanity(string text, string owner, ShareMedium medium)
        {
            var issued = await app.Get<ReferralCodeService>().IssueVanityAsync(text, new CodeRequest { Program = Customers, Owner = new ParticipantId(owner), Medium = medium }, ct);
            Assert.True(issued.IsIssued, issued.Message);
            return issued.Record!;
        }
        async Task ClickAsync(ReferralCodeRecord code, string visitor, Instant at) =>
            Assert.Equal(CaptureOutcome.Captured, (await attribution.CaptureAsync(new CaptureRequest
            {
                Program = Customers, Kind = TouchKind.LinkClick, Input = app.Get<ShareLinkService>().Build(code.Code, code.Medium).Url,
                VisitorId = visitor, EventTime = at,
            }, ct)).Outcome);
        Conversion Order(string id, string customer, Instant at, decimal amount = 40m, string currency = "EUR") => new()
        {
            Program = Customers, OrderId = id, Customer = new ParticipantId(customer), Amount = new Money(amount, currency), EventTime = at,
        };

        var anna = await Vanity("ANNA-25", "cust-anna", ShareMedium.Email);
        var ben = await Vanity("BEN-25", "cust-ben", ShareMedium.Social);
        var cara = await Vanity("CARA-25", "cust-cara", ShareMedium.Sms);
        var dana = await Vanity("DANA-25", "cust-dana", ShareMedium.Card);

        // Window and precedence: 40 days ago is outside the 30-day window; of the two inside, the result wins.
        await ClickAsync(anna, "v-1", now - Duration.FromDays(40));
        await ClickAsync(ben, "v-1", now - Duration.FromDays(10));
        await ClickAsync(cara, "v-1", now - Duration.FromDays(2));
        var result = await attribution.RecordConversionAsync(Order("web-1", "cust-eva", now) with { VisitorId = "v-1" }, ct);
        Assert.Equal(new ParticipantId("cust-cara"), result.Referrer);
        Assert.Equal(
            new[] { TouchVerdict.OutsideWindow, TouchVerdict.Outranked, TouchVerdict.Chosen },
            result.Touches.Select(t => t.Verdict));

        #region Attribution.Explain
        Console.WriteLine(result.Explain());
        #endregion

        var shown = DocsFiles.Blocks("docs/attribution.md").Single(b => b.Marker == "output: Attribution.Explain").Text;
        Assert.Equal(shown, result.Explain().ReplaceLineEndings("\n"));

        // A code presented at the sale beats the later clicks.
        await ClickAsync(ben, "v-2", now - Duration.FromDays(1));
        var withCode = await attribution.RecordConversionAsync(Order("web-2", "cust-fred", now) with { VisitorId = "v-2", PresentedCode = "dana 25" }, ct);
        Assert.Equal(new ParticipantId("cust-dana"), withCode.Referrer);

        // Sticky: the friend's next order stays with the first referrer, as a repeat, whatever it presents.
        var again = await attribution.RecordConversionAsync(Order("web-3", "cust-fred", now + Duration.FromDays(5)) with { PresentedCode = "ANNA-25" }, ct);
        Assert.True(again.IsAttributed);
        Assert.True(again.IsRepeat);
        Assert.Equal(new ParticipantId("cust-dana"), again.Referrer);

        // Eligibility.
        Assert.Equal(NotAttributedReason.BelowMinimumOrder, (await attribution.RecordConversionAsync(Order("web-4", "cust-gus", now, 19.99m) with { PresentedCode = "DANA-25" }, ct)).Reason);
        Assert.True((await attribution.RecordConversionAsync(Order("web-5", "cust-hal", now, 5m, "USD") with { PresentedCode = "DANA-25" }, ct)).IsAttributed);
        await attribution.RecordConversionAsync(Order("web-6", "cust-ida", now - Duration.FromDays(3)), ct);
        Assert.Equal(NotAttributedReason.NotNewCustomer, (await attribution.RecordConversionAsync(Order("web-7", "cust-ida", now) with { PresentedCode = "DANA-25" }, ct)).Reason);
        Assert.True((await attribution.RecordConversionAsync(Order("web-8", "cust-jan", now) with { PresentedCode = "DANA-25", IsNewCustomer = true }, ct)).IsAttributed);
        Assert.Equal(NotAttributedReason.SelfReferral, (await attribution.RecordConversionAsync(Order("web-9", "cust-dana", now) with { PresentedCode = "DANA-25" }, ct)).Reason);
        // The program starts at midnight of 1 November in Berlin: 23:30 UTC on 31 October.
        var midnight = Instant.FromUtc(2026, 10, 31, 23, 0);
        Assert.Equal(NotAttributedReason.ProgramInactive, (await attribution.RecordConversionAsync(Order("web-10", "cust-kim", midnight - Duration.FromMinutes(1)) with { PresentedCode = "DANA-25" }, ct)).Reason);
        Assert.True((await attribution.RecordConversionAsync(Order("web-11", "cust-lea", midnight) with { PresentedCode = "DANA-25" }, ct)).IsAttributed);
        Assert.Equal(NotAttributedReason.NoTouch, (await attribution.RecordConversionAsync(Order("web-12", "cust-max", now), ct)).Reason);
        Assert.Equal(NotAttributedReason.ProgramNotConfigured, (await attribution.RecordConversionAsync(Order("web-13", "cust-ned", now) with { Program = new ProgramId("partners") }, ct)).Reason);

        // Chains: Fred (referred by Dana) refers Ole: the chain is Fred, then Dana.
        var fred = await Vanity("FRED-25", "cust-fred", ShareMedium.Sms);
        var chained = await attribution.RecordConversionAsync(Order("web-14", "cust-ole", now + Duration.FromDays(6)) with { PresentedCode = fred.Display }, ct);
        Assert.Equal(new[] { new ParticipantId("cust-fred"), new ParticipantId("cust-dana") }, chained.Chain);
    }

    [Fact]
    public async Task ACaptureIsStoredOnceOrRefusedWithAReason()
    {
        await using var app = await DocsServices.StartAsync(o =>
        {
            Settings(o);
            o.Programs["staff"] = new ProgramOptions { TimeZone = "Europe/Berlin" };
        });
        var attribution = app.Get<AttributionService>();
        var ct = TestContext.Current.CancellationToken;
        var code = await IssueAsync(app, "cust-anna", ShareMedium.Card);
        var now = app.Clock.GetCurrentInstant();
        var scan = new CaptureRequest { Program = Customers, Kind = TouchKind.PosCodeScan, Input = code.Display, Customer = new ParticipantId("cust-ben"), StoreId = "berlin-mitte", EventTime = now };

        Assert.Equal(CaptureOutcome.Captured, (await attribution.CaptureAsync(scan, ct)).Outcome);
        Assert.Equal(CaptureOutcome.Duplicate, (await attribution.CaptureAsync(scan, ct)).Outcome);
        var withId = scan with { CaptureId = "BM-77", EventTime = now + Duration.FromMinutes(1) };
        Assert.Equal(CaptureOutcome.Captured, (await attribution.CaptureAsync(withId, ct)).Outcome);
        Assert.Equal(CaptureOutcome.Duplicate, (await attribution.CaptureAsync(withId with { EventTime = now + Duration.FromMinutes(2) }, ct)).Outcome);
        Assert.Equal(CaptureRejection.NoProspect, (await attribution.CaptureAsync(scan with { Customer = null }, ct)).Rejection);
        Assert.Equal(CaptureRejection.WrongProgram, (await attribution.CaptureAsync(scan with { Program = new ProgramId("staff") }, ct)).Rejection);
        Assert.Equal(CaptureRejection.CodeMalformed, (await attribution.CaptureAsync(scan with { Input = "anna@example.com" }, ct)).Rejection);
        Assert.Equal(CaptureRejection.UnknownReferrer, (await attribution.CaptureAsync(
            scan with { Kind = TouchKind.PosContactLookup, Input = null, Referrer = new ParticipantId("nobody") }, ct)).Rejection);

        // A paused code's capture is recorded; it is judged when a conversion is decided.
        await app.Get<ReferralCodeService>().PauseAsync(code.Code, ct);
        Assert.Equal(CaptureOutcome.Captured, (await attribution.CaptureAsync(scan with { Customer = new ParticipantId("cust-cy") }, ct)).Outcome);
    }

    [Theory]
    [InlineData(StickyReferee.NotCreditedAgain)]
    [InlineData(StickyReferee.Off)]
    public async Task StickinessDecidesAFriendsLaterOrders(StickyReferee sticky)
    {
        await using var app = await DocsServices.StartAsync(o =>
        {
            Settings(o);
            o.Programs["customers"].Sticky = sticky;
            o.Programs["customers"].NewCustomersOnly = false;
        });
        var attribution = app.Get<AttributionService>();
        var ct = TestContext.Current.CancellationToken;
        var anna = await IssueAsync(app, "cust-anna", ShareMedium.Sms);
        var ben = await IssueAsync(app, "cust-ben", ShareMedium.Sms);
        var now = app.Clock.GetCurrentInstant();
        Conversion Order(string id, Instant at, string code) => new()
        {
            Program = Customers, OrderId = id, Customer = new ParticipantId("cust-eva"), Amount = new Money(40m, "EUR"), EventTime = at, PresentedCode = code,
        };
        Assert.Equal(new ParticipantId("cust-anna"), (await attribution.RecordConversionAsync(Order("web-1", now, anna.Display), ct)).Referrer);
        var second = await attribution.RecordConversionAsync(Order("web-2", now + Duration.FromDays(1), ben.Display), ct);
        if (sticky == StickyReferee.NotCreditedAgain)
        {
            Assert.Equal(NotAttributedReason.AlreadyAttributed, second.Reason);
        }
        else
        {
            Assert.Equal(new ParticipantId("cust-ben"), second.Referrer);
            Assert.False(second.IsRepeat);
        }
    }

    [Fact]
    public async Task FirstTouchCreditsTheEarliestTouchInTheWindow()
    {
        await using var app = await DocsServices.StartAsync(o =>
        {
            Settings(o);
            o.Programs["customers"].Precedence = TouchPrecedence.FirstTouch;
        });
        var attribution = app.Get<AttributionService>();
        var links = app.Get<ShareLinkService>();
        var now = app.Clock.GetCurrentInstant();
        foreach (var (owner, days) in new[] { ("cust-anna", 40), ("cust-ben", 10), ("cust-cleo", 2) })
        {
            var code = await IssueAsync(app, owner, ShareMedium.Email);
            await attribution.CaptureAsync(new CaptureRequest
            {
                Program = Customers, Kind = TouchKind.LinkClick, Input = links.Build(code.Code, ShareMedium.Email).Url, VisitorId = "v-1",
                EventTime = now - Duration.FromDays(days),
            });
        }
        var first = await attribution.RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = "web-1", Customer = new ParticipantId("cust-eva"), Amount = new Money(40m, "EUR"), EventTime = now, VisitorId = "v-1",
        });
        Assert.Equal(new ParticipantId("cust-ben"), first.Referrer);
    }

    [Fact]
    public async Task ALateTouchNeedsARedecisionAndALateOrderDoesNot()
    {
        await using var app = await DocsServices.StartAsync(Settings);
        IServiceProvider provider = app.Services;
        var attribution = app.Get<AttributionService>();
        var ct = TestContext.Current.CancellationToken;
        var card = await IssueAsync(app, "cust-otto", ShareMedium.Card);
        string cardCode = card.Display;
        var signedUpAt = app.Clock.GetCurrentInstant();
        var order = await attribution.RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = "web-2001", Customer = new ParticipantId("cust-finn"), Amount = new Money(30m, "EUR"),
            EventTime = signedUpAt + Duration.FromHours(3),
        }, ct);
        Assert.Equal(NotAttributedReason.NoTouch, order.Reason);
        app.Clock.Advance(Duration.FromDays(1));

        #region Attribution.LateTouch
        // The kiosk was offline yesterday: its sign-up arrives today, after the friend's order was recorded.
        await attribution.CaptureAsync(new CaptureRequest
        {
            Program = new ProgramId("customers"), Kind = TouchKind.KioskSignup, Input = cardCode,
            Customer = new ParticipantId("cust-finn"), StoreId = "berlin-mitte", EventTime = signedUpAt,
        });
        // A touch recorded on its own decides no order again: ask for it.
        int changed = await attribution.ReevaluateCustomerAsync(new ProgramId("customers"), new ParticipantId("cust-finn"));
        #endregion

        Assert.Equal(1, changed);
        var after = await attribution.FindAttributionAsync(Customers, "web-2001", ct);
        Assert.Equal(new ParticipantId("cust-otto"), after!.Referrer);
        Assert.Equal(0, await attribution.ReevaluateCustomerAsync(Customers, new ParticipantId("cust-finn"), ct));
        Assert.Equal(after.Referrer, (await attribution.ReevaluateAsync(Customers, "web-2001", ct))!.Referrer);
        Assert.Null(await attribution.ReevaluateAsync(Customers, "no-such-order", ct));

        // A late order needs no call: an earlier order of Gus arrives after his referred one, which is decided again at once.
        var code = await IssueAsync(app, "cust-anna", ShareMedium.Sms);
        var now = app.Clock.GetCurrentInstant();
        var referred = await attribution.RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = "web-3002", Customer = new ParticipantId("cust-gus"), Amount = new Money(30m, "EUR"),
            EventTime = now, PresentedCode = code.Display,
        }, ct);
        Assert.True(referred.IsAttributed);
        await attribution.RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = "pos-3001", Customer = new ParticipantId("cust-gus"), Amount = new Money(12m, "EUR"),
            EventTime = now - Duration.FromDays(2), Channel = Channel.Offline, StoreId = "berlin-mitte",
        }, ct);
        Assert.Equal(NotAttributedReason.NotNewCustomer, (await attribution.FindAttributionAsync(Customers, "web-3002", ct))!.Reason);
        Assert.Equal(0, await attribution.ReevaluateProgramAsync(Customers, ct));
    }

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task ALateFirstReferralMovesTheChainsOfTheReferralsAfterIt(bool withRewards)
    {
        await using var app = await DocsServices.StartAsync(o =>
        {
            Settings(o);
            if (withRewards)
            {
                o.Programs["customers"].Rewards = new Referrals.Rewards.RewardOptions { Rules = [new Referrals.Rewards.RewardRuleOptions { Name = "thanks", Amount = 10m, Currency = "EUR" }] };
            }
        });
        var attribution = app.Get<AttributionService>();
        var ct = TestContext.Current.CancellationToken;
        var dana = await IssueAsync(app, "cust-dana", ShareMedium.Sms);
        var fred = await IssueAsync(app, "cust-fred", ShareMedium.Sms);
        var now = app.Clock.GetCurrentInstant();
        Conversion Order(string id, string customer, Instant at, string code) => new()
        {
            Program = Customers, OrderId = id, Customer = new ParticipantId(customer), Amount = new Money(40m, "EUR"), EventTime = at, PresentedCode = code,
        };
        Assert.Single((await attribution.RecordConversionAsync(Order("web-ole", "cust-ole", now, fred.Display), ct)).Chain);

        // Fred's own first order, referred by Dana a day earlier, arrives late: Ole's chain is Fred, then Dana —
        // in a program with reward rules. Without them the chain stays as it was (a known limitation: the referrals after
        // it are found through the reward index); this test fails when it is lifted, so the page can be corrected.
        await attribution.RecordConversionAsync(Order("web-fred", "cust-fred", now - Duration.FromDays(1), dana.Display), ct);
        var ole = await attribution.FindAttributionAsync(Customers, "web-ole", ct);
        Assert.Equal(withRewards ? 2 : 1, ole!.Chain.Count);
        Assert.Equal(2, (await attribution.ReevaluateAsync(Customers, "web-ole", ct))!.Chain.Count);
    }

    [Fact]
    public async Task ABatchOfConversionsIsOneTransaction()
    {
        await using var app = await DocsServices.StartAsync(Settings);
        IServiceProvider provider = app.Services;
        var attribution = provider.GetRequiredService<AttributionService>();
        var ct = TestContext.Current.CancellationToken;
        var code = await IssueAsync(app, "cust-emil", ShareMedium.Employee);
        var now = app.Clock.GetCurrentInstant();
        Conversion Sale(string id, string customer, string? presented) => new()
        {
            Program = Customers, OrderId = id, Customer = new ParticipantId(customer), Amount = new Money(25m, "EUR"), EventTime = now,
            Channel = Channel.Offline, StoreId = "berlin-mitte", RegisterId = "1", PresentedCode = presented,
        };
        await attribution.RecordConversionAsync(Sale("pos-1", "cust-fay", code.Display), ct);
        List<Conversion> tillDay = [Sale("pos-1", "cust-fay", code.Display), Sale("pos-2", "cust-gus", code.Display), Sale("pos-3", "cust-hal", null)];

        #region Attribution.Batch
        // A till's day at once: one transaction (all or none), decided in list order, each idempotent by order id.
        var decided = await attribution.RecordConversionsAsync(tillDay);
        foreach (var result in decided)
        {
            Console.WriteLine($"{result.OrderId}: {(result.IsAttributed ? $"credited to {result.Referrer}" : result.Reason.ToString())}");
        }
        #endregion

        Assert.Equal(new[] { "pos-1", "pos-2", "pos-3" }, decided.Select(r => r.OrderId));
        Assert.True(decided[0].IsAttributed);
        Assert.True(decided[1].IsAttributed);
        Assert.Equal(NotAttributedReason.NoTouch, decided[2].Reason);

        // One invalid conversion: nothing of the list is recorded.
        List<Conversion> broken = [Sale("pos-4", "cust-ida", code.Display), Sale("", "cust-jan", null)];
        await Assert.ThrowsAsync<ArgumentException>(async () => await attribution.RecordConversionsAsync(broken, ct));
        Assert.Null(await attribution.FindAttributionAsync(Customers, "pos-4", ct));
    }
}
