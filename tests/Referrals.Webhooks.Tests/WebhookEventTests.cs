using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Services;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Webhooks.Tests;

/// <summary>The event a delivery carries: its id, stable for one change and distinct between changes, and a body without personal data.</summary>
public sealed class WebhookEventTests
{
    private static Touch LookedUpAtTheTill(string id, ProgramId? program = null) => NewTouch(
        id, Start, program, kind: TouchKind.PosContactLookup, contact: Email(7), visitor: "device-1234", customer: new ParticipantId("bob"), storeId: "store-9");

    [Fact]
    public void A_touch_event_has_ids_and_kinds_but_no_contact_hash_or_visitor_id()
    {
        var touch = LookedUpAtTheTill("t-1");
        var e = WebhookEvent.Captured(touch);
        string text = System.Text.Encoding.UTF8.GetString(e.Body);

        Assert.DoesNotContain(Email(7).ToString(), text, StringComparison.Ordinal);
        Assert.DoesNotContain("device-1234", text, StringComparison.Ordinal);
        using var json = JsonDocument.Parse(e.Body);
        var root = json.RootElement;
        Assert.Equal(["id", "type", "program", "occurredAt", "data"], root.EnumerateObject().Select(p => p.Name));
        Assert.Equal((e.Id, "referral.captured", "customers"), (root.GetProperty("id").GetString(), root.GetProperty("type").GetString(), root.GetProperty("program").GetString()));
        Assert.Equal(
            ["touchId", "kind", "referrer", "medium", "captureChannel", "customer", "storeId", "eventTime", "recordedAt"],
            root.GetProperty("data").EnumerateObject().Select(p => p.Name));
        Assert.Equal("2026-11-23T09:00:00Z", root.GetProperty("occurredAt").GetString());
        Assert.True(e.Body.All(b => b < 0x80), "The body is ASCII: everything else is escaped.");
    }

    [Fact]
    public async Task A_decision_event_names_a_reason_only_when_the_conversion_earned_no_credit()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(new FakeClock(Start));
        services.AddReferrals(Referrals.Tests.Shared.EngineOptions.Configure);
        await using var provider = services.BuildServiceProvider();
        var attribution = provider.GetRequiredService<AttributionService>();
        var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(
            new CodeRequest { Program = Program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Sms }, TestContext.Current.CancellationToken);

        var credited = await attribution.RecordConversionAsync(NewOrder("o-1", "bob", Start) with { PresentedCode = code.Display }, TestContext.Current.CancellationToken);
        var own = await attribution.RecordConversionAsync(NewOrder("o-2", "ana", Start) with { PresentedCode = code.Display }, TestContext.Current.CancellationToken);

        using var yes = JsonDocument.Parse(WebhookEvent.Decided(credited).Body);
        var data = yes.RootElement.GetProperty("data");
        Assert.True(data.GetProperty("attributed").GetBoolean());
        Assert.False(data.TryGetProperty("reason", out _));
        using var no = JsonDocument.Parse(WebhookEvent.Decided(own).Body);
        data = no.RootElement.GetProperty("data");
        Assert.False(data.GetProperty("attributed").GetBoolean());
        Assert.Equal(nameof(NotAttributedReason.SelfReferral), data.GetProperty("reason").GetString());
    }

    [Fact]
    public void The_event_id_is_stable_for_one_change_and_differs_between_changes()
    {
        var first = WebhookEvent.Captured(LookedUpAtTheTill("t-1"));
        Assert.Matches("^evt_[0-9a-f]{32}$", first.Id);
        // Read back from the store for a re-delivery: an equal touch, another instance.
        Assert.Equal(first.Id, WebhookEvent.Captured(LookedUpAtTheTill("t-1")).Id);
        Assert.NotEqual(first.Id, WebhookEvent.Captured(LookedUpAtTheTill("t-2")).Id);
        Assert.NotEqual(first.Id, WebhookEvent.Captured(LookedUpAtTheTill("t-1", OtherProgram)).Id);
        // Length-prefixed parts: moving a separator between two parts gives another id.
        Assert.NotEqual(WebhookEvent.IdOf("reward.changed", "p", "a|1:b"), WebhookEvent.IdOf("reward.changed", "p", "a", "b"));
        Assert.NotEqual(WebhookEvent.IdOf("reward.changed", "p", "ab", "c"), WebhookEvent.IdOf("reward.changed", "p", "a", "bc"));
    }

    [Fact]
    public void Ids_in_any_script_are_escaped_in_the_body_and_read_back_as_they_were()
    {
        var touch = NewTouch("t-" + AstralText + HighBmpText + "\u2028", Start);
        using var json = JsonDocument.Parse(WebhookEvent.Captured(touch).Body);
        Assert.Equal(touch.Id, json.RootElement.GetProperty("data").GetProperty("touchId").GetString());
    }
}
