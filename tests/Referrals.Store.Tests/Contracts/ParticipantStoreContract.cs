using Referrals.Participants;
using Referrals.Storage;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Contracts;

/// <summary>What every <see cref="IParticipantStore"/> must do; a store's test class derives from this.</summary>
public abstract class ParticipantStoreContract
{
    /// <summary>A new, empty store.</summary>
    protected abstract IParticipantStore CreateStore();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Upsert_then_Find_returns_every_field_with_lists_in_order()
    {
        var store = CreateStore();
        var jane = new Participant
        {
            Id = new ParticipantId("jane"),
            Kind = ParticipantKind.Influencer,
            Contacts = [Phone(2), Email(1), Email(3)],
            Fingerprints = [Card(9), Device(4)],
            MaskedEmail = "j***@example.com",
            MaskedPhone = "+49 *** ** 12",
        };
        await store.UpsertParticipantAsync(jane, Ct);

        AssertSame(jane, await store.FindParticipantAsync(jane.Id, Ct));
        Assert.Null(await store.FindParticipantAsync(new ParticipantId("john"), Ct));
    }

    [Fact]
    public async Task Upsert_replaces_the_participant_and_its_contact_index()
    {
        var store = CreateStore();
        var before = new Participant
        {
            Id = new ParticipantId("jane"),
            Contacts = [Email(1), Phone(1)],
            Fingerprints = [Device(1)],
            MaskedEmail = "j***@example.com",
        };
        await store.UpsertParticipantAsync(before, Ct);
        var after = new Participant
        {
            Id = new ParticipantId("jane"),
            Kind = ParticipantKind.Employee,
            Contacts = [Email(2), Phone(1)],
            Fingerprints = [],
            MaskedEmail = null,
            MaskedPhone = "+49 *** 7",
        };
        await store.UpsertParticipantAsync(after, Ct);

        AssertSame(after, await store.FindParticipantAsync(after.Id, Ct));
        Assert.Empty(await store.FindParticipantsByContactAsync(Email(1), Ct));
        Assert.Equal(["jane"], Ids(await store.FindParticipantsByContactAsync(Email(2), Ct)));
        Assert.Equal(["jane"], Ids(await store.FindParticipantsByContactAsync(Phone(1), Ct)));
    }

    [Fact]
    public async Task FindParticipantsByContact_returns_each_holder_once_ordered_by_id()
    {
        var store = CreateStore();
        // Ordinal (UTF-16) order: "a", "b", astral (D83D...), high BMP (FF5E); UTF-8 byte order would swap the last two.
        foreach (var id in new[] { HighBmpText, "b", AstralText, "a" })
        {
            await store.UpsertParticipantAsync(Person(id, Email(7), Email(7), Phone(id.Length)), Ct);
        }
        await store.UpsertParticipantAsync(Person("other", Email(8)), Ct);

        var found = await store.FindParticipantsByContactAsync(Email(7), Ct);

        Assert.Equal(["a", "b", AstralText, HighBmpText], Ids(found));
        Assert.All(found, p => Assert.Equal([Email(7), Email(7), Phone(p.Id.Value.Length)], p.Contacts));
        Assert.Empty(await store.FindParticipantsByContactAsync(Email(99), Ct));
        // The same hash value as a phone is another contact.
        Assert.Empty(await store.FindParticipantsByContactAsync(Phone(7), Ct));
    }

    [Fact]
    public async Task LinkVisitor_is_idempotent_and_visitors_list_in_ordinal_order()
    {
        var store = CreateStore();
        var jane = new ParticipantId("jane");
        foreach (var v in new[] { "v-3", HighBmpText, "v-1", AstralText, "v-1", "v-3" })
        {
            await store.LinkVisitorAsync(v, jane, Ct);
        }
        await store.LinkVisitorAsync("v-9", new ParticipantId("john"), Ct);

        Assert.Equal(["v-1", "v-3", AstralText, HighBmpText], await store.FindVisitorsAsync(jane, Ct));
        Assert.Equal(["v-9"], await store.FindVisitorsAsync(new ParticipantId("john"), Ct));
        Assert.Empty(await store.FindVisitorsAsync(new ParticipantId("nobody"), Ct));
    }

    [Fact]
    public async Task Visitor_links_survive_the_participants_upserts_in_either_order()
    {
        var store = CreateStore();
        var jane = new ParticipantId("jane");
        // Linked before the customer is registered (a click, then a sign-up).
        await store.LinkVisitorAsync("v-1", jane, Ct);
        Assert.Null(await store.FindParticipantAsync(jane, Ct));

        await store.UpsertParticipantAsync(Person("jane", Email(1)), Ct);
        await store.LinkVisitorAsync("v-2", jane, Ct);
        await store.UpsertParticipantAsync(Person("jane", Email(2)), Ct);

        Assert.Equal(["v-1", "v-2"], await store.FindVisitorsAsync(jane, Ct));
        Assert.Equal([Email(2)], (await store.FindParticipantAsync(jane, Ct))!.Contacts);
    }

    [Fact]
    public async Task Concurrent_upserts_and_links_lose_nothing_and_duplicate_nothing()
    {
        var store = CreateStore();
        const int Tasks = 8, PerTask = 50;
        var shared = new ParticipantId("shared-customer");
        using var start = new Barrier(Tasks);
        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            start.SignalAndWait(Ct);
            for (int i = 0; i < PerTask; i++)
            {
                // Everyone shares one e-mail hash, and re-registers someone another task registers too.
                await store.UpsertParticipantAsync(Person($"p-{t:D2}-{i:D3}", Email(1), Phone(t)), Ct);
                await store.UpsertParticipantAsync(Person($"p-common-{i:D3}", Email(1)), Ct);
                await store.LinkVisitorAsync($"v-{i % 10}", shared, Ct);
            }
        }, Ct)));

        var holders = await store.FindParticipantsByContactAsync(Email(1), Ct);
        Assert.Equal(Tasks * PerTask + PerTask, holders.Count);
        Assert.Equal(holders.Select(p => p.Id.Value).Order(StringComparer.Ordinal), Ids(holders));
        Assert.Equal(PerTask, (await store.FindParticipantsByContactAsync(Phone(3), Ct)).Count);
        Assert.Equal(Enumerable.Range(0, 10).Select(i => $"v-{i}"), await store.FindVisitorsAsync(shared, Ct));
    }

    private static IEnumerable<string> Ids(IEnumerable<Participant> participants) => participants.Select(p => p.Id.Value);

    private static void AssertSame(Participant expected, Participant? actual)
    {
        Assert.NotNull(actual);
        Assert.Equal(expected.Id, actual.Id);
        Assert.Equal(expected.Kind, actual.Kind);
        Assert.Equal(expected.Contacts, actual.Contacts);
        Assert.Equal(expected.Fingerprints, actual.Fingerprints);
        Assert.Equal(expected.MaskedEmail, actual.MaskedEmail);
        Assert.Equal(expected.MaskedPhone, actual.MaskedPhone);
    }
}
