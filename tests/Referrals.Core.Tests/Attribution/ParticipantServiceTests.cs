using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Services;
using Referrals.Storage;
using Referrals.Tests.Support;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Attribution;

/// <summary>Participants and identity on their own service: registrations, visitor links, referrers looked up at the till.</summary>
public sealed class ParticipantServiceTests
{
    [Fact]
    public async Task A_visitor_linked_through_the_participant_service_lets_the_earlier_click_count_for_the_customers_order()
    {
        var w = new AttributionWorld();
        var participants = new ParticipantService(w.Contract, w.Clock, [Customers]);
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Sms);
        await w.ClickAsync(w.Links.Build(code.Code, ShareMedium.Sms).Url, "phone-1", Monday);
        var bea = new ParticipantId("bea");
        await participants.RegisterAsync(new Participant { Id = bea }, Ct);

        await participants.LinkVisitorAsync("phone-1", bea, Ct);
        var result = await w.Attribution.RecordConversionAsync(w.Order("o-1", bea, Monday + Duration.FromDays(1)), Ct);

        Assert.True(result.IsAttributed, result.Explain());
        Assert.Equal(ana, result.Referrer);
        Assert.Equal(TouchKind.LinkClick, result.CaptureMethod);
    }

    [Fact]
    public async Task Referrers_are_looked_up_by_contact_hash_and_shown_masked_or_as_stars_when_no_mask_was_registered()
    {
        var w = new AttributionWorld();
        var participants = new ParticipantService(w.Contract, w.Clock, [Customers]);
        var hana = await w.ParticipantAsync("hana", email: "hana.berg@example.com");
        await participants.RegisterAsync(new Participant { Id = new ParticipantId("ole"), Contacts = [w.Email("ole@example.com")] }, Ct);

        var masked = Assert.Single(await participants.LookupReferrersAsync(w.Email(" Hana.Berg@EXAMPLE.com "), Ct));
        var unmasked = Assert.Single(await participants.LookupReferrersAsync(w.Email("ole@example.com"), Ct));

        Assert.Equal((hana, ParticipantKind.Customer, "h***@example.com"), (masked.Referrer, masked.Kind, masked.MaskedContact));
        Assert.Equal("***", unmasked.MaskedContact);
        Assert.Empty(await participants.LookupReferrersAsync(w.Email("nobody@example.com"), Ct));
    }

    [Theory]
    [InlineData("")]
    [InlineData("  ")]
    public async Task An_empty_visitor_id_is_refused_by_name(string visitorId)
    {
        var participants = new ParticipantService(new InMemoryStore(), new NodaTime.Testing.FakeClock(Monday), [Customers]);

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => participants.LinkVisitorAsync(visitorId, new ParticipantId("bea"), Ct).AsTask());

        Assert.Equal("visitorId", ex.ParamName);
    }

    [Fact]
    public async Task Dependency_injection_registers_the_service_over_the_store_attribution_reads()
    {
        var services = new ServiceCollection();
        services.AddReferrals(o => o.Programs["customers"] = new Programs.ProgramOptions { TimeZone = "Europe/Berlin" });
        using var provider = services.BuildServiceProvider();
        var participants = provider.GetRequiredService<ParticipantService>();
        // The default in-memory store: the one the attribution reads.
        IReferralStoreReader store = provider.GetRequiredService<IReferralStore>();

        await participants.RegisterAsync(new Participant { Id = new ParticipantId("cem"), Kind = ParticipantKind.Employee }, Ct);

        Assert.Same(participants, provider.GetRequiredService<ParticipantService>());
        Assert.Equal(ParticipantKind.Employee, (await store.FindParticipantAsync(new ParticipantId("cem"), Ct))!.Kind);
    }
}
