using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Storage;
using Referrals.Tests.Support;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Attribution;

/// <summary>
/// <see cref="ParticipantService.ForgetAsync"/>: after an erasure, nothing of the participant's personal data is found by
/// any look-up — by contact, by visitor id, by fingerprint, in a stored document — while the ledger keeps the
/// pseudonymous id; every erasure is audited; erasing again finds nothing left and changes nothing else.
/// </summary>
public sealed class ParticipantErasureTests
{
    private sealed record Scene(AttributionWorld World, ParticipantService Participants, ParticipantId Bea, ContactHash Email, Fingerprint Device, ReferralCodeRecord Code);

    private static async Task<Scene> SceneAsync()
    {
        var w = new AttributionWorld(p => p.Rewards = new RewardOptions { Rules = [RewardRuleOptions("credit", 10m, RewardRole.Referrer), RewardRuleOptions("welcome", 5m, RewardRole.Referee)] });
        var participants = new ParticipantService(w.Contract, w.Clock, [Customers]);
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Sms);
        var email = w.Email("bea.berg@example.com");
        Assert.True(w.Fingerprints.TryHashDevice("bea-phone-7", out var device));
        var bea = new ParticipantId("bea");
        await participants.RegisterAsync(new Participant { Id = bea, Contacts = [email], Fingerprints = [device], MaskedEmail = "b***@example.com" }, Ct);
        await w.ClickAsync(w.Links.Build(code.Code, ShareMedium.Sms).Url, "v-bea", Monday);
        await participants.LinkVisitorAsync("v-bea", bea, Ct);
        var order = w.Order("o-1", bea, Monday + Duration.FromHours(1)) with { VisitorId = "v-bea", Contacts = [email], Fingerprints = [device] };
        Assert.True((await w.Attribution.RecordConversionAsync(order, Ct)).IsAttributed);
        return new Scene(w, participants, bea, email, device, code);
    }

    private static RewardRuleOptions RewardRuleOptions(string name, decimal amount, RewardRole role) =>
        new() { Name = name, For = role, Amount = amount, Currency = "EUR" };

    [Fact]
    public async Task Before_an_erasure_the_look_ups_find_the_participant()
    {
        var s = await SceneAsync();
        var w = s.World;

        Assert.Equal(s.Bea, Assert.Single(await s.Participants.LookupReferrersAsync(s.Email, Ct)).Referrer);
        Assert.Contains(await new Referrals.Pipeline.ContractFraudHistory(w.Contract).FindSightingsAsync(Customers, s.Device, Monday + Duration.FromDays(1), 10, Ct), x => x.Participant == s.Bea);
        var probe = await w.Attribution.RecordConversionAsync(w.Order("o-probe", new ParticipantId("dan"), Monday + Duration.FromHours(2)) with { VisitorId = "v-bea" }, Ct);
        Assert.True(probe.IsAttributed, probe.Explain()); // the click of bea's visitor id counts for anyone presenting it
    }

    [Fact]
    public async Task After_an_erasure_no_look_up_finds_the_participant_and_the_ledger_keeps_the_pseudonymous_id()
    {
        var s = await SceneAsync();
        var w = s.World;
        w.Clock.Advance(Duration.FromDays(3));

        await s.Participants.ForgetAsync(s.Bea, "dpo@shop", "ticket 4711", Ct);

        // The public services: the contact given at the till, a visitor id at checkout, a fingerprint in a fraud check.
        Assert.Empty(await s.Participants.LookupReferrersAsync(s.Email, Ct));
        var later = await w.Attribution.RecordConversionAsync(w.Order("o-2", new ParticipantId("eve"), Monday + Duration.FromHours(2)) with { VisitorId = "v-bea" }, Ct);
        Assert.Equal(NotAttributedReason.NoTouch, later.Reason);
        Assert.DoesNotContain(await new Referrals.Pipeline.ContractFraudHistory(w.Contract).FindSightingsAsync(Customers, s.Device, Monday + Duration.FromDays(30), 100, Ct), x => x.Participant == s.Bea || x.OrderId == "o-1");

        // The store's reads: no registration, visitor link, touch or order field holds bea's data, nor any document.
        Assert.Null(await w.Reads.FindParticipantAsync(s.Bea, Ct));
        Assert.Empty(await w.Reads.ListVisitorsAsync(s.Bea, Ct));
        Assert.Empty(await w.Reads.FindParticipantsByContactAsync(s.Email, Ct));
        Assert.Empty(await w.Reads.FindTouchesAsync(Customers, null, ["v-bea"], [s.Email], Instant.MinValue, Instant.MaxValue, 100, Ct));
        var order = (await w.Reads.FindOrderAsync(Customers, "o-1", Ct))!;
        Assert.Null(order.Conversion.VisitorId);
        Assert.Empty(order.Conversion.Contacts);
        Assert.Empty(order.Conversion.Fingerprints);
        foreach (var secret in new[] { "v-bea", s.Email.Value, s.Device.Value, "b***@example.com" })
        {
            Assert.DoesNotContain(secret, order.Document, StringComparison.Ordinal);
            foreach (var row in await w.Reads.ListOrderRewardsAsync(Customers, "o-1", Ct))
            {
                Assert.DoesNotContain(secret, row.Document, StringComparison.Ordinal);
            }
        }

        // The financial record stands, under the pseudonymous id; the attribution too.
        var welcome = Assert.Single(await w.Rewards.ListOrderRewardsAsync(Customers, "o-1", Ct), r => r.Terms.Rule == "welcome");
        Assert.Equal(s.Bea, welcome.Beneficiary);
        Assert.Equal(new Money(5m, "EUR"), welcome.Net);
        Assert.True((await w.Attribution.FindAttributionAsync(Customers, "o-1", Ct))!.IsAttributed);

        // The audit row: who, when, why — and nothing of bea's data.
        var audit = Assert.Single(await w.Reads.ListErasuresAsync(s.Bea, Ct));
        Assert.Equal(("dpo@shop", "ticket 4711", Monday + Duration.FromDays(3)), (audit.Actor, audit.Reason, audit.At));
    }

    [Fact]
    public async Task Erasing_again_finds_nothing_left_is_audited_again_and_changes_nothing_else()
    {
        var s = await SceneAsync();
        var w = s.World;
        await s.Participants.ForgetAsync(s.Bea, "dpo@shop", "ticket 4711", Ct);
        var summaryAfterFirst = await w.Reads.GetSummariesAsync(Customers, s.Bea, [""], Ct);
        var ledgerAfterFirst = await w.LedgerAsync();

        w.Clock.Advance(Duration.FromMinutes(5));
        await s.Participants.ForgetAsync(s.Bea, "dpo@shop", "ticket 4711 (repeated)", Ct);

        Assert.Equal(2, (await w.Reads.ListErasuresAsync(s.Bea, Ct)).Count);
        Assert.Null(await w.Reads.FindParticipantAsync(s.Bea, Ct));
        Assert.Equal(ledgerAfterFirst.Select(e => e.EntryId), (await w.LedgerAsync()).Select(e => e.EntryId));
        var summary = AccountSummary.FromJson((await w.Reads.GetSummariesAsync(Customers, s.Bea, [""], Ct))[0].Document);
        Assert.Equal(AccountSummary.FromJson(summaryAfterFirst[0].Document) with { ErasedAt = summary.ErasedAt }, summary);
        Assert.Equal(Monday + Duration.FromMinutes(5), summary.ErasedAt);
    }

    [Fact]
    public async Task An_erased_customers_orders_are_not_decided_again()
    {
        var s = await SceneAsync();
        var w = s.World;
        await s.Participants.ForgetAsync(s.Bea, "dpo@shop", "ticket 4711", Ct);
        var before = (await w.Reads.FindOrderAsync(Customers, "o-1", Ct))!;

        // Without the erasure, deciding again would find no touch any more (the visitor id is gone) and take the credit away.
        var again = await w.Attribution.ReevaluateAsync(Customers, "o-1", Ct);

        Assert.True(again!.IsAttributed, again.Explain());
        Assert.Equal(before.Version, (await w.Reads.FindOrderAsync(Customers, "o-1", Ct))!.Version);
        Assert.Equal(0, await w.Attribution.ReevaluateCustomerAsync(Customers, s.Bea, Ct));
    }

    [Theory]
    [InlineData("", "ticket 1")]
    [InlineData("dpo", " ")]
    public async Task An_erasure_without_who_or_why_is_refused_by_name(string actor, string reason)
    {
        var s = await SceneAsync();

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => s.Participants.ForgetAsync(s.Bea, actor, reason, Ct).AsTask());

        Assert.Equal(actor.Length == 0 ? "actor" : "reason", ex.ParamName);
        Assert.NotNull(await s.World.Reads.FindParticipantAsync(s.Bea, Ct));
    }
}
