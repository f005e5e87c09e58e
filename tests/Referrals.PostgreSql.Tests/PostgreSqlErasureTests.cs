using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Participants;
using Referrals.PostgreSql.Tests.Support;
using Referrals.Privacy;
using Referrals.Services;
using Referrals.Storage;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.PostgreSql.Tests;

/// <summary>
/// An erasure on PostgreSQL (the SQLite store's <c>SqliteErasureTests</c>): no read of the contract finds the erased
/// participant's personal data any more, and no live row of the schema holds it. (Unlike SQLite's <c>secure_delete</c>,
/// PostgreSQL keeps dead row versions until vacuum reclaims them: docs/privacy.md says what an operator does about that;
/// these tests check the live rows, which is what every reader and every dump sees.)
/// </summary>
public sealed class PostgreSqlErasureTests(DatabaseFixture database) : IClassFixture<DatabaseFixture>
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task After_forgetting_a_participant_no_read_finds_their_personal_data_and_no_live_row_holds_it()
    {
        string schema = database.NewSchemaName();
        var jane = new ParticipantId("jane");
        var other = new ParticipantId("other");
        const string MaskedEmail = "ja***@erasure-test.example";
        const string MaskedPhone = "+49 *** *** 4711";
        const string Visitor = "visitor-7f3a9c-jane-device";
        var contacts = new[] { Email(4711), Phone(4711) };
        var fingerprints = new[] { Device(4711), Card(4711) };
        string[] personal = [MaskedEmail, MaskedPhone, Visitor, .. contacts.Select(c => c.ToString()), .. fingerprints.Select(f => f.ToString())];
        // Someone else's data stays.
        const string OtherVisitor = "visitor-0b1c2d-other-device";

        await using var store = await PostgreSqlReferralStore.OpenAsync(database.ConnectionString, new PostgreSqlStoreOptions { Schema = schema }, Ct);
        IReferralStore contract = store;
        await contract.WrittenAsync(new UnitOfWork(
            participants: [
                new Participant { Id = jane, Contacts = contacts, Fingerprints = fingerprints, MaskedEmail = MaskedEmail, MaskedPhone = MaskedPhone },
                new Participant { Id = other, Contacts = [Email(1)], Fingerprints = [Device(1)] },
            ],
            visitorLinks: [new VisitorLink(Visitor, jane), new VisitorLink(OtherVisitor, other)],
            touches: [
                NewTouch("t-visitor", Start) with { VisitorId = Visitor },
                NewTouch("t-contact", Start) with { Contact = contacts[0] },
                NewTouch("t-customer", Start) with { Customer = jane, VisitorId = Visitor, Contact = contacts[1] },
                NewTouch("t-other", Start) with { VisitorId = OtherVisitor },
            ],
            orders: [
                new OrderRow(NewOrder("o-jane", "jane", Start) with { VisitorId = Visitor, Contacts = contacts, Fingerprints = fingerprints },
                    1, """{"v":1}""", null, null, null),
                new OrderRow(NewOrder("o-other", "other", Start) with { VisitorId = OtherVisitor, Fingerprints = [Device(1)] },
                    1, """{"v":1}""", null, null, null),
            ]), Ct);
        await using var raw = await RawSql.OpenAsync(database, schema);
        // The checks below can see the values: before the erasure the reads find them and rows hold them.
        foreach (string value in personal)
        {
            Assert.True(await HeldByALiveRowAsync(raw, value), $"'{value}' should be in a row before the erasure.");
        }
        Assert.Equal(["jane"], (await contract.FindParticipantsByContactAsync(contacts[0], Ct)).Select(p => p.Id.Value));
        Assert.Equal(3, (await contract.FindTouchesAsync(Program, null, [Visitor], contacts, Start - Duration.FromDays(1), Start + Duration.FromDays(1), 10, Ct)).Count);
        Assert.Equal(2, (await contract.FindSightingsAsync(Program, fingerprints[0], Start + Duration.FromDays(1), 10, Ct)).Count);

        await contract.WrittenAsync(new UnitOfWork(erasures: [new ParticipantErasure(jane, "erase-1", Start, "dpo", "ticket 4711")]), Ct);

        foreach (string value in personal)
        {
            Assert.False(await HeldByALiveRowAsync(raw, value), $"'{value}' is in a row of the schema after the erasure.");
        }
        Assert.True(await HeldByALiveRowAsync(raw, OtherVisitor));

        Assert.Null(await contract.FindParticipantAsync(jane, Ct));
        Assert.Empty(await contract.ListVisitorsAsync(jane, Ct));
        foreach (var contact in contacts)
        {
            Assert.Empty(await contract.FindParticipantsByContactAsync(contact, Ct));
        }
        Assert.Empty(await contract.FindTouchesAsync(Program, null, [Visitor], contacts, Start - Duration.FromDays(1), Start + Duration.FromDays(1), 10, Ct));
        foreach (var fingerprint in fingerprints)
        {
            Assert.Empty(await contract.FindSightingsAsync(Program, fingerprint, Start + Duration.FromDays(1), 10, Ct));
        }
        // Her touches and orders stay (the business records), without her values.
        var touch = Assert.Single(await contract.FindTouchesAsync(Program, jane, [], [], Start - Duration.FromDays(1), Start + Duration.FromDays(1), 10, Ct));
        Assert.Equal(("t-customer", (string?)null, (ContactHash?)null), (touch.Id, touch.VisitorId, touch.Contact));
        foreach (string id in (string[])["t-visitor", "t-contact"])
        {
            var kept = await contract.FindTouchAsync(Program, id, Ct);
            Assert.Equal(((string?)null, (ContactHash?)null), (kept!.VisitorId, kept.Contact));
        }
        var order = await contract.FindOrderAsync(Program, "o-jane", Ct);
        Assert.Equal((jane, (string?)null, 0, 0), (order!.Conversion.Customer, order.Conversion.VisitorId, order.Conversion.Contacts.Count, order.Conversion.Fingerprints.Count));
        Assert.Equal(2, order.Version);
        Assert.Equal(["o-jane"], (await contract.ListCustomerOrdersAsync(Program, jane, null, 10, Ct)).Select(o => o.Conversion.OrderId));
        // The other participant's are untouched.
        Assert.Equal("t-other", Assert.Single(await contract.FindTouchesAsync(Program, null, [OtherVisitor], [], Start - Duration.FromDays(1), Start + Duration.FromDays(1), 10, Ct)).Id);
        Assert.Equal(OtherVisitor, (await contract.FindOrderAsync(Program, "o-other", Ct))!.Conversion.VisitorId);
        Assert.Equal(["other"], (await contract.FindParticipantsByContactAsync(Email(1), Ct)).Select(p => p.Id.Value));
        Assert.Equal("erase-1", Assert.Single(await contract.ListErasuresAsync(jane, Ct)).ErasureId);
    }

    [Fact]
    public async Task A_host_forgetting_a_participant_through_the_service_scrubs_the_schema_and_audits_it()
    {
        string schema = database.NewSchemaName();
        var jane = new ParticipantId("jane");
        const string Visitor = "visitor-5e6f-jane-laptop";
        var contacts = new[] { Email(815), Phone(815) };
        var fingerprints = new[] { Device(815) };
        string[] personal = [Visitor, .. contacts.Select(c => c.ToString()), .. fingerprints.Select(f => f.ToString())];
        var clock = new FakeClock(Start);
        await using var provider = PostgreSqlEngine.Build(database.ConnectionString, schema, clock);
        var participants = provider.GetRequiredService<ParticipantService>();
        await participants.RegisterAsync(new Participant { Id = jane, Contacts = contacts, Fingerprints = fingerprints }, Ct);
        await participants.LinkVisitorAsync(Visitor, jane, Ct);
        await provider.GetRequiredService<AttributionService>().RecordConversionAsync(
            NewOrder("o-jane", "jane", Start) with { VisitorId = Visitor, Contacts = contacts, Fingerprints = fingerprints }, Ct);
        Assert.Equal(jane, Assert.Single(await participants.LookupReferrersAsync(contacts[0], Ct)).Referrer);
        await using var raw = await RawSql.OpenAsync(database, schema);
        foreach (string value in personal)
        {
            Assert.True(await HeldByALiveRowAsync(raw, value), $"'{value}' should be in a row before the erasure.");
        }

        clock.Advance(Duration.FromDays(2));
        await participants.ForgetAsync(jane, "dpo@shop", "ticket 815", Ct);

        foreach (string value in personal)
        {
            Assert.False(await HeldByALiveRowAsync(raw, value), $"'{value}' is in a row of the schema after the erasure.");
        }
        Assert.Empty(await participants.LookupReferrersAsync(contacts[0], Ct));
        var store = provider.GetRequiredService<IReferralStore>();
        var audit = Assert.Single(await store.ListErasuresAsync(jane, Ct));
        Assert.Equal(("dpo@shop", "ticket 815", Start + Duration.FromDays(2)), (audit.Actor, audit.Reason, audit.At));
        Assert.Equal(jane, (await store.FindOrderAsync(Program, "o-jane", Ct))!.Conversion.Customer);
        // The audit row holds no personal data either: only the pseudonymous id and who erased, when and why.
        Assert.Equal(1L, await raw.ScalarAsync("SELECT count(*) FROM erasures WHERE participant = 'jane' AND actor = 'dpo@shop';"));
    }

    /// <summary>Whether any live row of any table of the schema holds <paramref name="value"/> (in any column, as text).</summary>
    private static async Task<bool> HeldByALiveRowAsync(RawSql raw, string value)
    {
        var tables = await raw.ColumnAsync<string>("SELECT table_name::text FROM information_schema.tables WHERE table_schema = current_schema() AND table_type = 'BASE TABLE';");
        Assert.Contains("orders", tables);
        foreach (string table in tables)
        {
            await using var command = new Npgsql.NpgsqlCommand($"SELECT EXISTS (SELECT 1 FROM \"{table}\" x WHERE strpos(x::text, @value) > 0);", raw.Connection);
            command.Parameters.AddWithValue("value", value);
            if ((bool)(await command.ExecuteScalarAsync(Ct))!)
            {
                return true;
            }
        }
        return false;
    }
}
