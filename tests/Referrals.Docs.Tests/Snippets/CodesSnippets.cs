using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Links;
using Referrals.Programs;
using Referrals.Services;

namespace Referrals.Docs;

/// <summary>The code of docs/codes-and-links.md: every region is shown on the page, and the tests check what the page says of it.</summary>
public sealed class CodesSnippets
{
    // Example keys, as on the page (made with `openssl rand -base64 32`); a real host keeps its own in a secret store.
    internal const string LinkKey2026 = "qO8nnxghKpfIvdQ0XxVzY/RGS+Yy3Go59jDWhFTi0B4=";
    internal const string LinkKey2027 = "DnwlnBIY0RszrTQNzXDb2TKLZAOebs5YP50AypvWKzQ=";

    private const string Symbol = "[0-9A-HJKMNP-TV-Z]";
    private static readonly ProgramId Customers = new("customers");

    /// <summary>The settings of the page's configuration example, in code.</summary>
    private static void PageSettings(ReferralsOptions o)
    {
        o.Codes.Prefix = "SHOP";
        o.Codes.AdditionalPrefixes.Add("NYC5");
        o.Links.Template = "https://shop.example/r/{code}";
        o.Links.SigningKeys.Add(new LinkSigningKey { Id = "2026-11", Secret = LinkKey2026 });
        o.Links.ActiveSigningKeyId = "2026-11";
        o.Programs["customers"] = new ProgramOptions { TimeZone = "Europe/Berlin" };
    }

    [Fact]
    public async Task AGeneratedCodeHasThePrefixGroupsAndACheckSymbol()
    {
        await using var app = await DocsServices.StartAsync(PageSettings);
        IServiceProvider provider = app.Services;

        #region Codes.Issue
        var codes = provider.GetRequiredService<ReferralCodeService>();
        var code = await codes.IssueAsync(new CodeRequest
        {
            Program = new ProgramId("customers"), Owner = new ParticipantId("cust-1001"), Medium = ShareMedium.Receipt,
        });
        Console.WriteLine(code.Display);   // SHOP-7Q2M-9KXRB: the prefix, 8 symbols in groups of 4, then the check symbol
        Console.WriteLine(code.Code);      // 7Q2M9KXRB: the normalised code, the key it is stored and looked up by
        #endregion

        Assert.Matches($"^SHOP-{Symbol}{{4}}-{Symbol}{{5}}$", code.Display);
        Assert.Equal(code.Display[5..].Replace("-", "", StringComparison.Ordinal), code.Code.Value);
        Assert.Equal(CodeKind.Generated, code.Kind);
        Assert.Equal(CodeStatus.Active, code.Status);

        // Another configured prefix may be asked for; one that is not configured is refused.
        var store = await codes.IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("store-nyc5"), Medium = ShareMedium.Sign, Prefix = "NYC5" });
        Assert.StartsWith("NYC5-", store.Display, StringComparison.Ordinal);
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await codes.IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("x"), Medium = ShareMedium.Sign, Prefix = "LA01" }));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await codes.IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("x"), Medium = ShareMedium.Sign, MaxUses = 0 }));
        await Assert.ThrowsAsync<ArgumentException>(async () =>
            await codes.IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("x"), Medium = (ShareMedium)99 }));

        // The prefix, case, separators and the look-alikes O/0 and I/L/1 do not matter when it is read back.
        string sloppy = code.Code.Value.ToLowerInvariant().Replace('0', 'o').Replace('1', 'l');
        foreach (var input in new[] { code.Display, code.Code.Value, " shop " + sloppy, sloppy[..4] + "-" + sloppy[4..], "nyc5" + code.Code.Value })
        {
            var read = codes.Resolve(input);
            Assert.Equal(CodeResolutionOutcome.Found, read.Outcome);
            Assert.Equal(code.Code, read.Code);
        }
    }

    [Fact]
    public async Task TheCheckSymbolCatchesEverySingleTypoAndEverySwapOfNeighbours()
    {
        await using var app = await DocsServices.StartAsync(PageSettings);
        var codes = app.Get<ReferralCodeService>();
        var code = await codes.IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("cust-1001"), Medium = ShareMedium.Receipt }, TestContext.Current.CancellationToken);
        var key = code.Code.Value;
        const string alphabet = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        for (int i = 0; i < key.Length; i++)
        {
            foreach (char s in alphabet.Where(s => s != key[i]))
            {
                var typo = key[..i] + s + key[(i + 1)..];
                Assert.Equal(CodeResolutionOutcome.CheckFailed, codes.Resolve(typo).Outcome);
            }
            if (i + 1 < key.Length && key[i] != key[i + 1])
            {
                var swapped = key[..i] + key[i + 1] + key[i] + key[(i + 2)..];
                Assert.Equal(CodeResolutionOutcome.CheckFailed, codes.Resolve(swapped).Outcome);
            }
        }
    }

    [Fact]
    public async Task ResolvingWhatAPersonTypedAnswersEachOutcome()
    {
        await using var app = await DocsServices.StartAsync(PageSettings);
        IServiceProvider provider = app.Services;
        var code = await app.Get<ReferralCodeService>().IssueAsync(
            new CodeRequest { Program = Customers, Owner = new ParticipantId("cust-1001"), Medium = ShareMedium.Receipt }, TestContext.Current.CancellationToken);

        string Answer(string input, string till)
        {
            #region Codes.Resolve
            var codes = provider.GetRequiredService<ReferralCodeService>();
            var typed = codes.Resolve(input, new ProgramId("customers"), source: till);   // till: "berlin-mitte/2", or the client's IP
            string answer = typed.Outcome switch
            {
                CodeResolutionOutcome.Found when typed.Program != new ProgramId("customers") => "No such code",
                CodeResolutionOutcome.Found when typed.IsUsable => $"Referred by {typed.Owner}",
                CodeResolutionOutcome.Found => $"This code is {typed.State}",                  // Paused, Expired, Revoked, UsedUp
                CodeResolutionOutcome.NotFound or CodeResolutionOutcome.CheckFailed
                    when typed.GetSuggestions() is [var nearest, ..] => $"Did you mean {nearest.Display}?",
                CodeResolutionOutcome.Limited => "Too many attempts; try again in a few minutes.",
                CodeResolutionOutcome.Malformed => $"That is not a code ({typed.MalformedReason})",
                _ => "No such code",
            };
            #endregion
            return answer;
        }

        string sloppy = code.Display.ToLowerInvariant().Replace('0', 'o').Replace('1', 'l').Replace('-', ' ');
        Assert.Equal("Referred by cust-1001", Answer(sloppy, "berlin-mitte/2"));
        var key = code.Code.Value;
        var typo = key[..3] + (key[3] == 'X' ? 'Y' : 'X') + key[4..];
        Assert.Equal($"Did you mean {code.Display}?", Answer(typo, "berlin-mitte/2"));
        Assert.Equal("That is not a code (InvalidCharacter)", Answer("ABC#123", "berlin-mitte/2"));
        Assert.Equal("That is not a code (TooShort)", Answer("AB1", "berlin-mitte/2"));

        // The guessing limit: 10 failures per source in 10 minutes (the defaults); a list of suggestions counts at least one
        // more, so five unknown codes whose suggestions were asked for use up a source's ten.
        for (int i = 0; i < 5; i++)
        {
            Assert.Equal("No such code", Answer("BOB99", "berlin-mitte/3"));
        }
        Assert.Equal("Too many attempts; try again in a few minutes.", Answer(code.Display, "berlin-mitte/3"));
        Assert.Equal("Referred by cust-1001", Answer(code.Display, "berlin-mitte/4"));   // another source is not limited
        app.Clock.Advance(Duration.FromMinutes(11));
        Assert.Equal("Referred by cust-1001", Answer(code.Display, "berlin-mitte/3"));

        // Resolve(raw) without program and source is not limited, and neither are its suggestions.
        var unlimited = app.Get<ReferralCodeService>();
        for (int i = 0; i < 50; i++)
        {
            Assert.Equal(CodeResolutionOutcome.CheckFailed, unlimited.Resolve(typo).Outcome);
        }
        Assert.Single(unlimited.Resolve(typo).GetSuggestions());

        // A suggestion list may be empty: no existing code is one typo away.
        Assert.Empty(unlimited.Resolve("BOB99").GetSuggestions());

        await unlimited.PauseAsync(code.Code, TestContext.Current.CancellationToken);
        Assert.Equal("This code is Paused", Answer(code.Display, "berlin-mitte/2"));
    }

    [Fact]
    public async Task AVanityCodeIsIssuedOnceAndRefusedWithAReason()
    {
        await using var app = await DocsServices.StartAsync(PageSettings);
        IServiceProvider provider = app.Services;
        var codes = provider.GetRequiredService<ReferralCodeService>();

        #region Codes.Vanity
        var vanity = await codes.IssueVanityAsync("Jane20", new CodeRequest
        {
            Program = new ProgramId("customers"), Owner = new ParticipantId("infl-jane"), Medium = ShareMedium.Social,
        });
        if (!vanity.IsIssued)
        {
            Console.WriteLine($"{vanity.Rejection}: {vanity.Message}");   // a sentence to show the person who asked
        }
        #endregion

        Assert.True(vanity.IsIssued);
        Assert.Equal("Jane20", vanity.Record!.Display);
        Assert.Equal("JANE20", vanity.Record.Code.Value);
        var request = new CodeRequest { Program = Customers, Owner = new ParticipantId("someone-else"), Medium = ShareMedium.Social };
        Assert.Equal(VanityCodeRejection.Taken, (await codes.IssueVanityAsync("jane-2o", request)).Rejection);
        Assert.Equal(VanityCodeRejection.Reserved, (await codes.IssueVanityAsync("ADM1N", request)).Rejection);
        Assert.Equal(VanityCodeRejection.TooShort, (await codes.IssueVanityAsync("ABC", request)).Rejection);
        Assert.Equal(VanityCodeRejection.TooLong, (await codes.IssueVanityAsync("ABCDEFGHJKABCDEFGHJKA", request)).Rejection);
        Assert.Equal(VanityCodeRejection.InvalidCharacter, (await codes.IssueVanityAsync("JANE_20", request)).Rejection);
        Assert.Equal("Jane20", codes.Resolve("jane 2o").Display);
    }

    [Fact]
    public async Task BulkCodesAreUniqueUnassignedAndHandedOutLater()
    {
        await using var app = await DocsServices.StartAsync(PageSettings);
        IServiceProvider provider = app.Services;
        var codes = provider.GetRequiredService<ReferralCodeService>();
        await using var printFile = new StringWriter();

        #region Codes.Bulk
        await foreach (var printed in codes.GenerateBulkAsync(new CodeRequest { Program = new ProgramId("customers"), Medium = ShareMedium.Card }, 5_000))
        {
            await printFile.WriteLineAsync(printed.Display);   // streamed in chunks as they are stored
        }
        #endregion

        var lines = printFile.ToString().Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        Assert.Equal(5_000, lines.Length);
        Assert.Equal(5_000, lines.Distinct(StringComparer.Ordinal).Count());
        var card = (await codes.FindAsync(codes.Resolve(lines[42]).Code!.Value))!;
        Assert.Null(card.Owner);
        Assert.Equal(CodeKind.Bulk, card.Kind);

        // An unassigned code earns nobody anything: a capture is refused until it is handed to a referrer.
        var attribution = app.Get<AttributionService>();
        var capture = new CaptureRequest { Program = Customers, Kind = TouchKind.PosCodeScan, Input = lines[42], Customer = new ParticipantId("friend"), StoreId = "berlin-mitte", EventTime = app.Clock.GetCurrentInstant() };
        Assert.Equal(CaptureRejection.CodeUnassigned, (await attribution.CaptureAsync(capture)).Rejection);
        await codes.AssignAsync(card.Code, new ParticipantId("cust-2002"));
        Assert.Equal(CaptureOutcome.Captured, (await attribution.CaptureAsync(capture)).Outcome);
        var other = await Assert.ThrowsAsync<ReferralException>(async () => await codes.AssignAsync(card.Code, new ParticipantId("cust-3003")));
        Assert.Equal(ReferralErrorCode.InvalidCodeTransition, other.ErrorCode);
    }

    [Fact]
    public async Task ACodesLifecycleAndItsLimits()
    {
        await using var app = await DocsServices.StartAsync(PageSettings);
        IServiceProvider provider = app.Services;
        var codes = provider.GetRequiredService<ReferralCodeService>();

        #region Codes.Lifecycle
        var clock = provider.GetRequiredService<IClock>();
        var code = await codes.IssueAsync(new CodeRequest
        {
            Program = new ProgramId("customers"), Owner = new ParticipantId("cust-1001"), Medium = ShareMedium.Email,
            ExpiresAt = clock.GetCurrentInstant() + Duration.FromDays(90),   // stops working at this instant
            MaxUses = 5,                                                      // credited conversions, by event time
        });
        await codes.PauseAsync(code.Code);    // from now until resumed, touches and sales earn nothing
        await codes.ResumeAsync(code.Code);   // from now on, it works again
        await codes.RevokeAsync(code.Code);   // for good: resuming a revoked code throws
        #endregion

        Assert.Equal(CodeState.Revoked, codes.Resolve(code.Display).State);
        var resumed = await Assert.ThrowsAsync<ReferralException>(async () => await codes.ResumeAsync(code.Code));
        Assert.Equal(ReferralErrorCode.InvalidCodeTransition, resumed.ErrorCode);
        var missing = await Assert.ThrowsAsync<ReferralException>(async () => await codes.PauseAsync(ReferralCode.Parse("JANE99")));
        Assert.Equal(ReferralErrorCode.CodeNotFound, missing.ErrorCode);

        var expiring = await codes.IssueAsync(new CodeRequest
        {
            Program = Customers, Owner = new ParticipantId("cust-1001"), Medium = ShareMedium.Email,
            ExpiresAt = app.Clock.GetCurrentInstant() + Duration.FromDays(90),
        });
        app.Clock.Advance(Duration.FromDays(90) - Duration.FromSeconds(1));
        Assert.Equal(CodeState.Active, codes.Resolve(expiring.Display).State);
        app.Clock.Advance(Duration.FromSeconds(1));
        Assert.Equal(CodeState.Expired, codes.Resolve(expiring.Display).State);
    }

    [Fact]
    public async Task ACodeIsJudgedByItsStateWhenTheSaleWasMade()
    {
        await using var app = await DocsServices.StartAsync(PageSettings);
        var codes = app.Get<ReferralCodeService>();
        var attribution = app.Get<AttributionService>();
        var ct = TestContext.Current.CancellationToken;
        var code = await codes.IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("emil"), Medium = ShareMedium.Employee }, ct);
        var beforePause = app.Clock.GetCurrentInstant();
        app.Clock.Advance(Duration.FromHours(2));
        await codes.PauseAsync(code.Code, ct);
        var duringPause = app.Clock.GetCurrentInstant() + Duration.FromMinutes(30);
        app.Clock.Advance(Duration.FromHours(2));

        Conversion Sale(string order, string friend, Instant at) => new()
        {
            Program = Customers, OrderId = order, Customer = new ParticipantId(friend), Amount = new Money(30m, "EUR"),
            EventTime = at, Channel = Channel.Offline, StoreId = "berlin-mitte", PresentedCode = code.Display,
        };
        // Recorded after the pause, both: the sale made before it is credited, the one made during it is not.
        var early = await attribution.RecordConversionAsync(Sale("pos-1", "fay", beforePause), ct);
        var paused = await attribution.RecordConversionAsync(Sale("pos-2", "gus", duringPause), ct);
        Assert.True(early.IsAttributed);
        Assert.Equal(NotAttributedReason.CodeInactive, paused.Reason);

        // Resuming does not credit what happened during the pause, and pausing decides no recorded order again.
        await codes.ResumeAsync(code.Code, ct);
        // (A change takes effect just after its instant: a sale dated the resume's own instant would still be refused.)
        var later = await attribution.RecordConversionAsync(Sale("pos-3", "hal", app.Clock.GetCurrentInstant() + Duration.FromMinutes(1)), ct);
        Assert.True(later.IsAttributed);
        Assert.Equal(NotAttributedReason.CodeInactive, (await attribution.FindAttributionAsync(Customers, "pos-2", ct))!.Reason);
        await codes.RevokeAsync(code.Code, ct);
        Assert.True((await attribution.FindAttributionAsync(Customers, "pos-1", ct))!.IsAttributed);
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task AUseLimitCountsCreditedUsesByEventTime(bool withRewards)
    {
        await using var app = await DocsServices.StartAsync(o =>
        {
            PageSettings(o);
            if (withRewards)
            {
                o.Programs["customers"].Rewards = new Referrals.Rewards.RewardOptions { Rules = [new Referrals.Rewards.RewardRuleOptions { Name = "thanks", Amount = 10m, Currency = "EUR" }] };
            }
        });
        var codes = app.Get<ReferralCodeService>();
        var attribution = app.Get<AttributionService>();
        var ct = TestContext.Current.CancellationToken;
        var code = await codes.IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("cust-1001"), Medium = ShareMedium.Email, MaxUses = 2 }, ct);
        var t0 = app.Clock.GetCurrentInstant();
        Conversion Sale(string order, string friend, Instant at) => new()
        {
            Program = Customers, OrderId = order, Customer = new ParticipantId(friend), Amount = new Money(30m, "EUR"), EventTime = at, PresentedCode = code.Display,
        };
        Assert.True((await attribution.RecordConversionAsync(Sale("web-1", "fay", t0 + Duration.FromHours(1)), ct)).IsAttributed);
        Assert.True((await attribution.RecordConversionAsync(Sale("web-2", "gus", t0 + Duration.FromHours(2)), ct)).IsAttributed);
        Assert.Equal(NotAttributedReason.CodeUsedUp, (await attribution.RecordConversionAsync(Sale("web-3", "hal", t0 + Duration.FromHours(3)), ct)).Reason);

        // A sale made before the others arrives late: it takes a use, and the latest use by event time is refused now —
        // in a program with reward rules. Without them, that use keeps its credit: a known limitation (the later uses are
        // found through the reward index); this test fails when it is lifted, so the page can be corrected.
        Assert.True((await attribution.RecordConversionAsync(Sale("pos-0", "ida", t0 + Duration.FromMinutes(30)), ct)).IsAttributed);
        Assert.Equal(withRewards ? NotAttributedReason.CodeUsedUp : null, (await attribution.FindAttributionAsync(Customers, "web-2", ct))!.Reason);
        Assert.True((await attribution.FindAttributionAsync(Customers, "web-1", ct))!.IsAttributed);
        Assert.Equal(NotAttributedReason.CodeUsedUp, (await attribution.ReevaluateAsync(Customers, "web-2", ct))!.Reason);
    }

    [Fact]
    public async Task ASignedShareLinkCarriesCodeAndMediumAndReadsBack()
    {
        await using var app = await DocsServices.StartAsync(PageSettings);
        IServiceProvider provider = app.Services;
        var code = await app.Get<ReferralCodeService>().IssueAsync(
            new CodeRequest { Program = Customers, Owner = new ParticipantId("cust-2002"), Medium = ShareMedium.Sms }, TestContext.Current.CancellationToken);

        #region Links.Build
        var links = provider.GetRequiredService<ShareLinkService>();
        var link = links.Build(code.Code, ShareMedium.Sms, new UtmParameters(Source: "referral", Medium: "sms", Campaign: "winter"));
        Console.WriteLine(link.Url);
        // https://shop.example/r/7Q2M9KXRB?m=sms&utm_source=referral&utm_medium=sms&utm_campaign=winter&kid=2026-11&sig=...
        #endregion

        Assert.Matches(
            $"^https://shop\\.example/r/{code.Code.Value}\\?m=sms&utm_source=referral&utm_medium=sms&utm_campaign=winter&kid=2026-11&sig=[A-Za-z0-9_-]{{22}}$",
            link.Url);
        Assert.True(link.IsSigned);

        string Read(string url)
        {
            #region Links.Parse
            var parsed = links.Parse(url);
            string said = parsed switch
            {
                { IsSuccess: true, Signature: LinkSignatureStatus.Valid } => $"{parsed.Code} shared by {parsed.Medium}",
                { IsSuccess: true } => $"{parsed.Code}, signature {parsed.Signature}: {parsed.Detail}",   // Absent or Invalid
                _ => $"{parsed.Status}: {parsed.Detail}",   // Empty, TooLong, Malformed, UnknownHost, MissingCode, InvalidCode
            };
            #endregion
            return said;
        }

        Assert.Equal($"{code.Code} shared by Sms", Read(link.Url + "&fbclid=IwAR0x"));
        Assert.Equal($"{code.Code} shared by Sms", Read(link.Url.Replace("utm_campaign=winter", "utm_campaign=spring", StringComparison.Ordinal)));
        Assert.StartsWith($"{code.Code}, signature Invalid: ", Read(link.Url.Replace("m=sms", "m=email", StringComparison.Ordinal)), StringComparison.Ordinal);
        string unsigned = link.Url[..link.Url.IndexOf("&kid=", StringComparison.Ordinal)];
        Assert.Equal($"{code.Code}, signature Absent: ", Read(unsigned));
        Assert.StartsWith("UnknownHost: ", Read($"https://evil.example/r/{code.Code}"), StringComparison.Ordinal);
        Assert.Equal($"{code.Code}, signature Absent: ", Read(code.Code.Value));   // a bare code reads too, unsigned
        Assert.Equal($"SH0P{code.Code}, signature Absent: ", Read(code.Display));   // but its prefix is not stripped

        // What a tampered or stripped link earns: with keys configured, nothing.
        var attribution = app.Get<AttributionService>();
        CaptureRequest Click(string url, string visitor) => new()
        {
            Program = Customers, Kind = TouchKind.LinkClick, Input = url, VisitorId = visitor, EventTime = app.Clock.GetCurrentInstant(),
        };
        Assert.Equal(CaptureOutcome.Captured, (await attribution.CaptureAsync(Click(link.Url, "v-1"))).Outcome);
        Assert.Equal(CaptureRejection.LinkSignatureInvalid, (await attribution.CaptureAsync(Click(link.Url.Replace("m=sms", "m=email", StringComparison.Ordinal), "v-2"))).Rejection);
        Assert.Equal(CaptureRejection.LinkSignatureMissing, (await attribution.CaptureAsync(Click(unsigned, "v-3"))).Rejection);
        var typedAlone = await attribution.CaptureAsync(new CaptureRequest
        {
            Program = Customers, Kind = TouchKind.CodeEnteredOnline, Input = code.Display, VisitorId = "v-4", EventTime = app.Clock.GetCurrentInstant(),
        });
        Assert.Equal(CaptureOutcome.Captured, typedAlone.Outcome);
        var altered = await attribution.RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = "web-9", Customer = new ParticipantId("mallory"), Amount = new Money(50m, "EUR"),
            EventTime = app.Clock.GetCurrentInstant(), PresentedCode = link.Url.Replace("m=sms", "m=email", StringComparison.Ordinal),
        });
        Assert.Equal(NotAttributedReason.NoTouch, altered.Reason);
    }

    [Fact]
    public async Task AnUnsignedLinksMediumIsNotBelieved()
    {
        await using var app = await DocsServices.StartAsync(o =>
        {
            PageSettings(o);
            o.Links.RequireSignature = false;   // while unsigned links are still in circulation
        });
        var code = await app.Get<ReferralCodeService>().IssueAsync(
            new CodeRequest { Program = Customers, Owner = new ParticipantId("cust-2002"), Medium = ShareMedium.Sms }, TestContext.Current.CancellationToken);
        var attribution = app.Get<AttributionService>();
        var click = await attribution.CaptureAsync(new CaptureRequest
        {
            Program = Customers, Kind = TouchKind.LinkClick, Input = $"https://shop.example/r/{code.Code}?m=email", VisitorId = "v-1", EventTime = app.Clock.GetCurrentInstant(),
        });
        Assert.Equal(CaptureOutcome.Captured, click.Outcome);
        Assert.Equal(ShareMedium.Sms, click.Touch!.Medium);   // the code's medium, not the one the link claims
    }

    [Fact]
    public void KeysRotateWithoutBreakingLinksAlreadyShared()
    {
        var before = new ShareLinkService(new LinkOptions
        {
            Template = "https://shop.example/r/{code}",
            SigningKeys = [new LinkSigningKey { Id = "2026-11", Secret = LinkKey2026 }],
            ActiveSigningKeyId = "2026-11",
        });
        var during = new ShareLinkService(new LinkOptions
        {
            Template = "https://shop.example/r/{code}",
            SigningKeys = [new LinkSigningKey { Id = "2026-11", Secret = LinkKey2026 }, new LinkSigningKey { Id = "2027-02", Secret = LinkKey2027 }],
            ActiveSigningKeyId = "2027-02",
        });
        var after = new ShareLinkService(new LinkOptions
        {
            Template = "https://shop.example/r/{code}",
            SigningKeys = [new LinkSigningKey { Id = "2027-02", Secret = LinkKey2027 }],
            ActiveSigningKeyId = "2027-02",
        });
        var code = ReferralCode.Parse("7Q2M9KXRB");
        var old = before.Build(code, ShareMedium.Sms).Url;
        var fresh = during.Build(code, ShareMedium.Sms);
        Assert.Equal("2027-02", fresh.KeyId);
        Assert.Equal(LinkSignatureStatus.Valid, during.Parse(old).Signature);
        Assert.Equal(LinkSignatureStatus.Valid, during.Parse(fresh.Url).Signature);
        Assert.Equal(LinkSignatureStatus.Invalid, after.Parse(old).Signature);
        Assert.Equal(LinkSignatureStatus.Valid, after.Parse(fresh.Url).Signature);
    }

    [Fact]
    public async Task AQrPayloadIsTheSignedLinkOrThePrintedCode()
    {
        await using var app = await DocsServices.StartAsync(PageSettings);
        IServiceProvider provider = app.Services;
        var codes = app.Get<ReferralCodeService>();
        var links = app.Get<ShareLinkService>();
        var code = await codes.IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("store-nyc5"), Medium = ShareMedium.Sign }, TestContext.Current.CancellationToken);

        #region Links.Qr
        string payload = links.BuildQrPayload(code.Code, ShareMedium.Sign, printedCode: code.Display);
        // Render it with any QR library; a scan of it resolves like the link (or the code) itself.
        #endregion

        Assert.Equal(links.Build(code.Code, ShareMedium.Sign).Url, payload);
        var scanned = codes.Resolve(payload);
        Assert.Equal(CodeResolutionOutcome.Found, scanned.Outcome);
        Assert.Equal(ShareMedium.Sign, scanned.Link!.Medium);
        Assert.Equal(LinkSignatureStatus.Valid, scanned.Link.Signature);

        var printedOnly = new ShareLinkService(new LinkOptions { Template = "https://shop.example/r/{code}", QrPayloadAsLink = false });
        Assert.Equal(code.Display, printedOnly.BuildQrPayload(code.Code, ShareMedium.Sign, printedCode: code.Display));
        Assert.Equal(code.Code.Value, printedOnly.BuildQrPayload(code.Code, ShareMedium.Sign));
    }
}
