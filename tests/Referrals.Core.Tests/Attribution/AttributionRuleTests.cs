using NodaTime;
using Referrals.Attribution;
using Referrals.Programs;
using Referrals.Tests.Support;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Attribution;

public sealed class AttributionRuleTests
{
    [Fact]
    public async Task A_touch_counts_only_within_the_attribution_window()
    {
        var w = new AttributionWorld(p => p.AttributionWindow = TimeSpan.FromDays(30));
        var anna = await w.ParticipantAsync("anna");
        var code = await w.CodeAsync(anna, ShareMedium.Email);
        var bea = await w.ParticipantAsync("bea");
        await w.EnteredAsync(code.Code.Value, bea, Monday);

        var late = await w.Attribution.RecordConversionAsync(w.Order("o-late", bea, Monday + Duration.FromDays(30) + Duration.FromSeconds(1)), Ct);
        Assert.Equal(NotAttributedReason.OutsideWindow, late.Reason);
        Assert.Equal(TouchVerdict.OutsideWindow, Assert.Single(late.Touches).Verdict);

        var w2 = new AttributionWorld();
        var anna2 = await w2.ParticipantAsync("anna");
        var code2 = await w2.CodeAsync(anna2, ShareMedium.Email);
        var bea2 = await w2.ParticipantAsync("bea");
        await w2.EnteredAsync(code2.Code.Value, bea2, Monday);
        var onTime = await w2.Attribution.RecordConversionAsync(w2.Order("o-ok", bea2, Monday + Duration.FromDays(30)), Ct);
        Assert.True(onTime.IsAttributed, onTime.Explain());
    }

    [Fact]
    public async Task A_code_presented_at_checkout_beats_a_later_click_and_last_touch_wins_otherwise()
    {
        var w = new AttributionWorld();
        var anna = await w.ParticipantAsync("anna");
        var ben = await w.ParticipantAsync("ben");
        var cleo = await w.ParticipantAsync("cleo");
        var annaCode = await w.CodeAsync(anna, ShareMedium.Social);
        var benCode = await w.CodeAsync(ben, ShareMedium.Email);
        var cleoCode = await w.CodeAsync(cleo, ShareMedium.Sms);
        var dan = await w.ParticipantAsync("dan");
        await w.Participants.LinkVisitorAsync("v-dan", dan, Ct);
        await w.ClickAsync(w.Links.Build(annaCode.Code, ShareMedium.Social).Url, "v-dan", Monday);
        await w.ClickAsync(w.Links.Build(benCode.Code, ShareMedium.Email).Url, "v-dan", Monday + Duration.FromDays(2));

        var withCode = await w.Attribution.RecordConversionAsync(w.Order("o-1", dan, Monday + Duration.FromDays(3)) with { PresentedCode = cleoCode.Code.Value }, Ct);
        Assert.Equal(cleo, withCode.Referrer);

        var eve = await w.ParticipantAsync("eve");
        await w.Participants.LinkVisitorAsync("v-eve", eve, Ct);
        await w.ClickAsync(w.Links.Build(annaCode.Code, ShareMedium.Social).Url, "v-eve", Monday);
        await w.ClickAsync(w.Links.Build(benCode.Code, ShareMedium.Email).Url, "v-eve", Monday + Duration.FromDays(2));
        var last = await w.Attribution.RecordConversionAsync(w.Order("o-2", eve, Monday + Duration.FromDays(3)), Ct);
        Assert.Equal(ben, last.Referrer);
        Assert.Equal([TouchVerdict.Outranked, TouchVerdict.Chosen], last.Touches.Select(t => t.Verdict));
    }

    [Fact]
    public async Task First_touch_policy_credits_the_earliest_touch()
    {
        var w = new AttributionWorld(p => p.Precedence = TouchPrecedence.FirstTouch);
        var anna = await w.ParticipantAsync("anna");
        var ben = await w.ParticipantAsync("ben");
        var a = await w.CodeAsync(anna, ShareMedium.Social);
        var b = await w.CodeAsync(ben, ShareMedium.Email);
        var dan = await w.ParticipantAsync("dan");
        await w.EnteredAsync(b.Code.Value, dan, Monday + Duration.FromDays(2));
        await w.EnteredAsync(a.Code.Value, dan, Monday);
        var result = await w.Attribution.RecordConversionAsync(w.Order("o-1", dan, Monday + Duration.FromDays(3)), Ct);
        Assert.Equal(anna, result.Referrer);
    }

    [Fact]
    public async Task Self_referral_by_id_or_by_shared_contact_is_not_credited()
    {
        var w = new AttributionWorld();
        var anna = await w.ParticipantAsync("anna", email: "anna.k@gmail.com");
        var code = await w.CodeAsync(anna, ShareMedium.Link);

        var own = await w.Attribution.RecordConversionAsync(w.Order("o-1", anna, Monday) with { PresentedCode = code.Code.Value }, Ct);
        Assert.Equal(NotAttributedReason.SelfReferral, own.Reason);

        // A second account with a gmail alias of the same address.
        var alias = await w.ParticipantAsync("anna-2", email: "Anna.K+shop@googlemail.com");
        var viaAlias = await w.Attribution.RecordConversionAsync(w.Order("o-2", alias, Monday) with { PresentedCode = code.Code.Value }, Ct);
        Assert.Equal(NotAttributedReason.SelfReferral, viaAlias.Reason);
        Assert.Equal(TouchVerdict.SelfReferral, Assert.Single(viaAlias.Touches).Verdict);
    }

    [Fact]
    public async Task Later_conversions_stay_with_the_first_referrer_or_are_not_credited_by_policy()
    {
        foreach (var sticky in new[] { StickyReferee.SameReferrer, StickyReferee.NotCreditedAgain })
        {
            var w = new AttributionWorld(p => p.Sticky = sticky);
            var anna = await w.ParticipantAsync("anna");
            var ben = await w.ParticipantAsync("ben");
            var a = await w.CodeAsync(anna, ShareMedium.Email);
            var b = await w.CodeAsync(ben, ShareMedium.Email);
            var dan = await w.ParticipantAsync("dan");
            var first = await w.Attribution.RecordConversionAsync(w.Order("o-1", dan, Monday) with { PresentedCode = a.Code.Value }, Ct);
            Assert.Equal(anna, first.Referrer);

            var second = await w.Attribution.RecordConversionAsync(w.Order("o-2", dan, Monday + Duration.FromDays(5)) with { PresentedCode = b.Code.Value }, Ct);
            if (sticky == StickyReferee.SameReferrer)
            {
                Assert.True(second.IsAttributed);
                Assert.True(second.IsRepeat);
                Assert.Equal(anna, second.Referrer);
            }
            else
            {
                Assert.Equal(NotAttributedReason.AlreadyAttributed, second.Reason);
            }
        }
    }

    [Fact]
    public async Task New_customers_only_uses_the_hosts_flag_or_the_librarys_records()
    {
        var w = new AttributionWorld(p => p.Sticky = StickyReferee.Off);
        var anna = await w.ParticipantAsync("anna");
        var code = await w.CodeAsync(anna, ShareMedium.Email);
        var dan = await w.ParticipantAsync("dan");
        var flagged = await w.Attribution.RecordConversionAsync(w.Order("o-1", dan, Monday) with { PresentedCode = code.Code.Value, IsNewCustomer = false }, Ct);
        Assert.Equal(NotAttributedReason.NotNewCustomer, flagged.Reason);

        var eve = await w.ParticipantAsync("eve");
        await w.Attribution.RecordConversionAsync(w.Order("o-2", eve, Monday), Ct); // bought before, without a referral
        var known = await w.Attribution.RecordConversionAsync(w.Order("o-3", eve, Monday + Duration.FromDays(1)) with { PresentedCode = code.Code.Value }, Ct);
        Assert.Equal(NotAttributedReason.NotNewCustomer, known.Reason);
    }

    [Fact]
    public async Task The_program_window_is_read_in_the_programs_time_zone()
    {
        // "Ends November 30 at midnight, New York time."
        var w = new AttributionWorld(p =>
        {
            p.TimeZone = "America/New_York";
            p.ActiveFrom = "2026-11-01";
            p.ActiveUntil = "2026-12-01";
        });
        var anna = await w.ParticipantAsync("anna");
        var code = await w.CodeAsync(anna, ShareMedium.Email);
        var dan = await w.ParticipantAsync("dan");
        var eve = await w.ParticipantAsync("eve");
        var inTime = await w.Attribution.RecordConversionAsync(w.Order("o-1", dan, Instant.FromUtc(2026, 12, 1, 4, 59)) with { PresentedCode = code.Code.Value }, Ct);
        Assert.True(inTime.IsAttributed, inTime.Explain());
        var tooLate = await w.Attribution.RecordConversionAsync(w.Order("o-2", eve, Instant.FromUtc(2026, 12, 1, 5, 0)) with { PresentedCode = code.Code.Value }, Ct);
        Assert.Equal(NotAttributedReason.ProgramInactive, tooLate.Reason);
    }

    [Fact]
    public async Task A_minimum_order_applies_in_the_orders_currency()
    {
        var w = new AttributionWorld(p => p.MinimumOrder["EUR"] = 20m);
        var anna = await w.ParticipantAsync("anna");
        var code = await w.CodeAsync(anna, ShareMedium.Email);
        var dan = await w.ParticipantAsync("dan");
        var eve = await w.ParticipantAsync("eve");
        var small = await w.Attribution.RecordConversionAsync(w.Order("o-1", dan, Monday, amount: 19.99m) with { PresentedCode = code.Code.Value }, Ct);
        Assert.Equal(NotAttributedReason.BelowMinimumOrder, small.Reason);
        var dollars = await w.Attribution.RecordConversionAsync(w.Order("o-2", eve, Monday) with { Amount = new Money(5m, "USD"), PresentedCode = code.Code.Value }, Ct);
        Assert.True(dollars.IsAttributed);
    }

    [Fact]
    public async Task Paused_expired_and_used_up_codes_earn_nothing()
    {
        var w = new AttributionWorld();
        var anna = await w.ParticipantAsync("anna");
        var limited = await w.CodeAsync(anna, ShareMedium.Card, maxUses: 1);
        var paused = await w.CodeAsync(anna, ShareMedium.Email);
        await w.Codes.PauseAsync(paused.Code, Ct);
        var expiring = await w.Codes.IssueAsync(new Referrals.Codes.CodeRequest { Program = Customers, Owner = anna, Medium = ShareMedium.Sms, ExpiresAt = Monday + Duration.FromDays(1) }, Ct);

        var c1 = await w.ParticipantAsync("c1");
        var c2 = await w.ParticipantAsync("c2");
        var c3 = await w.ParticipantAsync("c3");
        var c4 = await w.ParticipantAsync("c4");
        Assert.True((await w.Attribution.RecordConversionAsync(w.Order("o-1", c1, Monday) with { PresentedCode = limited.Code.Value }, Ct)).IsAttributed);
        Assert.Equal(NotAttributedReason.CodeUsedUp, (await w.Attribution.RecordConversionAsync(w.Order("o-2", c2, Monday + Duration.FromHours(1)) with { PresentedCode = limited.Code.Value }, Ct)).Reason);
        Assert.Equal(NotAttributedReason.CodeInactive, (await w.Attribution.RecordConversionAsync(w.Order("o-3", c3, Monday) with { PresentedCode = paused.Code.Value }, Ct)).Reason);
        Assert.Equal(NotAttributedReason.CodeInactive, (await w.Attribution.RecordConversionAsync(w.Order("o-4", c4, Monday + Duration.FromDays(2)) with { PresentedCode = expiring.Code.Value }, Ct)).Reason);
    }

    [Fact]
    public async Task The_chain_records_the_referrers_referrers_and_never_loops()
    {
        // The loop below is a referral ring, which the fraud checks block by default (see FraudCheckTests); this test is
        // about the chain attribution records, so the program's fraud policy is off.
        var w = new AttributionWorld(p =>
        {
            p.MaxChainDepth = 3;
            p.Fraud = new Referrals.Fraud.FraudPolicyOptions { Enabled = false };
        });
        var anna = await w.ParticipantAsync("anna");
        var ben = await w.ParticipantAsync("ben");
        var cleo = await w.ParticipantAsync("cleo");
        var dan = await w.ParticipantAsync("dan");
        var annaCode = await w.CodeAsync(anna, ShareMedium.Email);
        var benCode = await w.CodeAsync(ben, ShareMedium.Email);
        var cleoCode = await w.CodeAsync(cleo, ShareMedium.Email);
        var danCode = await w.CodeAsync(dan, ShareMedium.Email);

        await w.Attribution.RecordConversionAsync(w.Order("o-ben", ben, Monday) with { PresentedCode = annaCode.Code.Value }, Ct);
        await w.Attribution.RecordConversionAsync(w.Order("o-cleo", cleo, Monday + Duration.FromDays(1)) with { PresentedCode = benCode.Code.Value }, Ct);
        var danResult = await w.Attribution.RecordConversionAsync(w.Order("o-dan", dan, Monday + Duration.FromDays(2)) with { PresentedCode = cleoCode.Code.Value }, Ct);
        Assert.Equal([cleo, ben, anna], danResult.Chain);

        // Anna, who started it, later converts through Dan's code: Dan's chain leads back to Anna, and stops there.
        var annaResult = await w.Attribution.RecordConversionAsync(w.Order("o-anna", anna, Monday + Duration.FromDays(3)) with { PresentedCode = danCode.Code.Value }, Ct);
        Assert.True(annaResult.IsAttributed, annaResult.Explain());
        Assert.Equal([dan, cleo, ben], annaResult.Chain);
        Assert.DoesNotContain(anna, annaResult.Chain);
    }

    [Fact]
    public async Task The_same_conversion_recorded_twice_is_one_conversion()
    {
        var w = new AttributionWorld();
        var anna = await w.ParticipantAsync("anna");
        var code = await w.CodeAsync(anna, ShareMedium.Email);
        var dan = await w.ParticipantAsync("dan");
        var order = w.Order("o-1", dan, Monday) with { PresentedCode = code.Code.Value };
        var first = await w.Attribution.RecordConversionAsync(order, Ct);
        var second = await w.Attribution.RecordConversionAsync(order with { Amount = new Money(999m, "EUR") }, Ct);
        AssertSameDecision(first, second);
        Assert.Single(await w.Reads.ListCustomerOrdersAsync(Customers, dan, null, 10, Ct));
        Assert.Single(w.Notifier.Decided);
        Assert.Single(w.Notifier.Captured);
    }

    [Fact]
    public async Task A_late_touch_with_an_earlier_event_time_counts_after_reevaluation()
    {
        var w = new AttributionWorld();
        var anna = await w.ParticipantAsync("anna");
        var code = await w.CodeAsync(anna, ShareMedium.Receipt);
        var dan = await w.ParticipantAsync("dan");
        var result = await w.Attribution.RecordConversionAsync(w.Order("o-1", dan, Monday + Duration.FromHours(2)), Ct);
        Assert.Equal(NotAttributedReason.NoTouch, result.Reason);

        // The kiosk's capture of an hour before the order arrives afterwards.
        await w.Attribution.CaptureAsync(new CaptureRequest { Program = Customers, Kind = TouchKind.KioskSignup, Input = code.Display, Customer = dan, StoreId = "s1", EventTime = Monday + Duration.FromHours(1) }, Ct);
        Assert.False((await w.Attribution.FindAttributionAsync(Customers, "o-1", Ct))!.IsAttributed);
        var again = await w.Attribution.ReevaluateAsync(Customers, "o-1", Ct);
        Assert.True(again!.IsAttributed, again.Explain());
        Assert.Equal(anna, again.Referrer);
        Assert.Equal(ChannelCombination.OfflineToOnline, again.Combination);
        Assert.True((await w.Attribution.FindAttributionAsync(Customers, "o-1", Ct))!.IsAttributed);
        Assert.Null(await w.Attribution.ReevaluateAsync(Customers, "no-such-order", Ct));
    }

    [Fact]
    public async Task A_failing_notifier_never_fails_or_undoes_the_attribution()
    {
        var w = new AttributionWorld(null, new ThrowingNotifier());
        var anna = await w.ParticipantAsync("anna");
        var code = await w.CodeAsync(anna, ShareMedium.Email);
        var dan = await w.ParticipantAsync("dan");
        var result = await w.Attribution.RecordConversionAsync(w.Order("o-1", dan, Monday) with { PresentedCode = code.Code.Value }, Ct);
        Assert.True(result.IsAttributed);
        AssertSameDecision(result, await w.Attribution.FindAttributionAsync(Customers, "o-1", Ct));
        Assert.Single(w.Notifier.Decided); // the notifier after the failing one was still told
    }

    [Theory]
    [InlineData("NO-SUCH-CODE", CaptureRejection.CodeNotFound)]
    [InlineData("AB#CD", CaptureRejection.CodeMalformed)]
    public async Task Bad_captures_are_refused_with_a_reason(string input, CaptureRejection rejection)
    {
        var w = new AttributionWorld();
        var dan = await w.ParticipantAsync("dan");
        var result = await w.EnteredAsync(input, dan, Monday);
        Assert.Equal(CaptureOutcome.Rejected, result.Outcome);
        Assert.Equal(rejection, result.Rejection);
        Assert.Empty(w.Notifier.Captured);
    }

    [Fact]
    public async Task Captures_need_a_prospect_and_a_known_referrer_and_an_intact_link()
    {
        var w = new AttributionWorld();
        var anna = await w.ParticipantAsync("anna");
        var code = await w.CodeAsync(anna, ShareMedium.Email);
        var noOne = await w.Attribution.CaptureAsync(new CaptureRequest { Program = Customers, Kind = TouchKind.LinkClick, Input = code.Code.Value, EventTime = Monday }, Ct);
        Assert.Equal(CaptureRejection.NoProspect, noOne.Rejection);

        var unknown = await w.Attribution.CaptureAsync(new CaptureRequest { Program = Customers, Kind = TouchKind.PosContactLookup, Referrer = new ParticipantId("ghost"), VisitorId = "v", EventTime = Monday }, Ct);
        Assert.Equal(CaptureRejection.UnknownReferrer, unknown.Rejection);

        string tampered = w.Links.Build(code.Code, ShareMedium.Email).Url.Replace("m=email", "m=sms", StringComparison.Ordinal);
        var altered = await w.ClickAsync(tampered, "v1", Monday);
        Assert.Equal(CaptureRejection.LinkSignatureInvalid, altered.Rejection);

        var same = await w.ClickAsync(w.Links.Build(code.Code, ShareMedium.Email).Url, "v1", Monday);
        var dup = await w.ClickAsync(w.Links.Build(code.Code, ShareMedium.Email).Url, "v1", Monday);
        Assert.Equal(CaptureOutcome.Captured, same.Outcome);
        Assert.Equal(CaptureOutcome.Duplicate, dup.Outcome);
        Assert.Equal(same.Touch!.Id, dup.Touch!.Id);
    }

    [Fact]
    public async Task Unconfigured_programs_are_not_attributed()
    {
        var w = new AttributionWorld();
        var dan = await w.ParticipantAsync("dan");
        var result = await w.Attribution.RecordConversionAsync(w.Order("o-1", dan, Monday) with { Program = new ProgramId("other") }, Ct);
        Assert.Equal(NotAttributedReason.ProgramNotConfigured, result.Reason);
        Assert.Contains("ProgramNotConfigured", result.Explain(), StringComparison.Ordinal);
    }

    /// <summary>The decision stored is the one returned: every field (the store returns a copy read back from its document).</summary>
    private static void AssertSameDecision(AttributionResult expected, AttributionResult? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Explain(), actual.Explain());
        Assert.Equal((expected.TouchId, expected.DecidedAt, expected.Amount), (actual.TouchId, actual.DecidedAt, actual.Amount));
        Assert.Equal(expected.Fraud?.Explain(), actual.Fraud?.Explain());
    }
}
