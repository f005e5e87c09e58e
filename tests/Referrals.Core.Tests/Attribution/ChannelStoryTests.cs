using NodaTime;
using Referrals.Attribution;
using Referrals.Participants;
using Referrals.Tests.Support;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Attribution;

/// <summary>One story per channel combination, as a shop would live it.</summary>
public sealed class ChannelStoryTests
{
    [Fact]
    public async Task Offline_to_online_a_receipt_code_typed_at_web_checkout()
    {
        var w = new AttributionWorld();
        var anna = await w.ParticipantAsync("anna");
        var receipt = await w.CodeAsync(anna, ShareMedium.Receipt);

        // Anna's friend Bea reads the code off the receipt and types it, sloppily, at the web checkout three days later.
        var bea = await w.ParticipantAsync("bea");
        var order = w.Order("web-1001", bea, Monday + Duration.FromDays(3)) with { PresentedCode = receipt.Display.ToLowerInvariant().Replace("-", " ", StringComparison.Ordinal) };
        var result = await w.Attribution.RecordConversionAsync(order, Ct);

        Assert.True(result.IsAttributed, result.Explain());
        Assert.Equal(anna, result.Referrer);
        Assert.Equal(receipt.Code, result.Code);
        Assert.Equal(ShareMedium.Receipt, result.Medium);
        Assert.Equal(TouchKind.CodeEnteredOnline, result.CaptureMethod);
        Assert.Equal(ChannelCombination.OfflineToOnline, result.Combination);
        Assert.Equal([anna], result.Chain);
        Assert.Single(w.Notifier.Captured);
        Assert.Single(w.Notifier.Decided);
    }

    [Fact]
    public async Task Online_to_offline_a_link_shared_by_SMS_then_the_QR_shown_at_the_till()
    {
        var w = new AttributionWorld();
        var ben = await w.ParticipantAsync("ben");
        var code = await w.CodeAsync(ben, ShareMedium.Link);
        string link = w.Links.Build(code.Code, ShareMedium.Sms).Url;

        // The friend opens the SMS link on her phone as an anonymous visitor...
        var click = await w.ClickAsync(link, "phone-77", Monday);
        Assert.Equal(CaptureOutcome.Captured, click.Outcome);
        Assert.Equal(ShareMedium.Sms, click.Touch!.Medium);

        // ...signs up two days later (the host links the visitor to her new customer id)...
        var cleo = await w.ParticipantAsync("cleo");
        await w.Participants.LinkVisitorAsync("phone-77", cleo, Ct);

        // ...and buys in store a week later, showing the link's QR at the till.
        var sale = w.Order("pos-5-0001", cleo, Monday + Duration.FromDays(7), channel: Channel.Offline) with { StoreId = "store-5", PresentedCode = link };
        var result = await w.Attribution.RecordConversionAsync(sale, Ct);

        Assert.True(result.IsAttributed, result.Explain());
        Assert.Equal(ben, result.Referrer);
        Assert.Equal(TouchKind.PosCodeScan, result.CaptureMethod);
        Assert.Equal(ShareMedium.Sms, result.Medium);
        Assert.Equal(ChannelCombination.OnlineToOffline, result.Combination);
        Assert.Equal(2, result.Touches.Count);
        Assert.Contains(result.Touches, t => t.Kind == TouchKind.LinkClick && t.Verdict == TouchVerdict.Outranked);
    }

    [Fact]
    public async Task Online_to_online_an_influencer_vanity_code_converts_on_the_web()
    {
        var w = new AttributionWorld();
        var jane = await w.ParticipantAsync("infl-jane", ParticipantKind.Influencer);
        var vanity = await w.Codes.IssueVanityAsync("JANE20", new Referrals.Codes.CodeRequest { Program = Customers, Owner = jane, Medium = ShareMedium.Social }, Ct);

        var dan = await w.ParticipantAsync("dan");
        var result = await w.Attribution.RecordConversionAsync(w.Order("web-2001", dan, Monday) with { PresentedCode = "jane2o" }, Ct);

        Assert.True(result.IsAttributed, result.Explain());
        Assert.Equal(jane, result.Referrer);
        Assert.Equal(vanity.Record!.Code, result.Code);
        Assert.Equal(ChannelCombination.OnlineToOnline, result.Combination);
    }

    [Fact]
    public async Task Offline_to_offline_an_employee_code_in_store_uploaded_next_day_in_a_POS_batch()
    {
        var w = new AttributionWorld();
        var emil = await w.ParticipantAsync("emp-emil", ParticipantKind.Employee);
        var code = await w.CodeAsync(emil, ShareMedium.Employee);
        var fay = await w.ParticipantAsync("fay");

        // The sale happened Monday 17:45 in Berlin; the POS uploads its captures Tuesday morning.
        w.Clock.Reset(Monday + Duration.FromHours(24));
        string csv = $"""
            capture_id,store_id,register_id,event_time,code,customer_id,order_id,amount,currency,new_customer
            C-1,store-7,R2,2026-11-23T17:45:00+01:00,{code.Display},fay,pos-7-991,89.90,eur,true
            C-2,store-7,R2,yesterday,{code.Display},gus,pos-7-992,12.00,EUR,true
            """;
        var import = await w.Attribution.ImportPosBatchAsync(Customers, new StringReader(csv), Ct);

        Assert.Equal(1, import.Captured);
        Assert.Equal(1, import.Conversions);
        var error = Assert.Single(import.Errors);
        Assert.Equal(3, error.LineNumber);

        var result = await w.Attribution.FindAttributionAsync(Customers, "pos-7-991", Ct);
        Assert.NotNull(result);
        Assert.True(result.IsAttributed, result.Explain());
        Assert.Equal(emil, result.Referrer);
        Assert.Equal(TouchKind.PosBatchCapture, result.CaptureMethod);
        Assert.Equal(ChannelCombination.OfflineToOffline, result.Combination);
        Assert.Equal(Instant.FromUtc(2026, 11, 23, 16, 45), result.ConversionTime);
        var touch = Assert.Single(w.Notifier.Captured);
        Assert.Equal(Instant.FromUtc(2026, 11, 23, 16, 45), touch.EventTime);
        Assert.Equal(Monday + Duration.FromHours(24), touch.RecordedAt);
        Assert.Equal(new Money(89.90m, "EUR"), result.Amount);
        Assert.NotNull(fay.Value);

        // The POS sends the same file again: nothing changes.
        var again = await w.Attribution.ImportPosBatchAsync(Customers, new StringReader(csv), Ct);
        Assert.Equal(0, again.Captured);
        Assert.Equal(1, again.Duplicates);
        Assert.Single(w.Notifier.Captured);
    }

    [Fact]
    public async Task The_referrer_is_looked_up_at_the_till_by_the_e_mail_the_friend_gives()
    {
        var w = new AttributionWorld();
        var hana = await w.ParticipantAsync("hana", email: "Hana.Berg@Example.com");
        var ida = await w.ParticipantAsync("ida", email: "ida@example.org");

        // The friend says "Hana sent me, hana.berg@example.com": the POS hashes it and asks.
        var matches = await w.Participants.LookupReferrersAsync(w.Email(" hana.berg@EXAMPLE.com "), Ct);
        var match = Assert.Single(matches);
        Assert.Equal(hana, match.Referrer);
        Assert.Equal("h***@example.com", match.MaskedContact);
        Assert.Empty(await w.Participants.LookupReferrersAsync(w.Email("nobody@example.com"), Ct));

        var capture = await w.Attribution.CaptureAsync(
            new CaptureRequest { Program = Customers, Kind = TouchKind.PosContactLookup, Referrer = match.Referrer, Customer = ida, StoreId = "store-2", EventTime = Monday },
            Ct);
        Assert.Equal(CaptureOutcome.Captured, capture.Outcome);

        var sale = w.Order("pos-2-1", ida, Monday + Duration.FromMinutes(5), channel: Channel.Offline) with { StoreId = "store-2" };
        var result = await w.Attribution.RecordConversionAsync(sale, Ct);
        Assert.True(result.IsAttributed, result.Explain());
        Assert.Equal(hana, result.Referrer);
        Assert.Null(result.Code);
        Assert.Equal(TouchKind.PosContactLookup, result.CaptureMethod);
        Assert.Equal(ChannelCombination.OfflineToOffline, result.Combination);

        // Nothing in the store holds the address in clear text.
        var stored = await w.Reads.FindParticipantAsync(hana, Ct);
        Assert.DoesNotContain(stored!.Contacts, c => c.Value.Contains("hana", StringComparison.OrdinalIgnoreCase));
    }
}
