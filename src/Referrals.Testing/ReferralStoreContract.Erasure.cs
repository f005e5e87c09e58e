using Referrals.Rewards;
using Referrals.Storage;
using Xunit;
using static Referrals.Testing.ContractData;

namespace Referrals.Testing;

public abstract partial class ReferralStoreContract
{
    private static UnitOfWork JanesHistory() => new(
        participants: [Person("jane", [Email(1), Phone(1)], [Device(1), Card(1)]), Person("other", [Email(2)], [Device(2)])],
        visitorLinks: [new VisitorLink("v-jane", Id("jane")), new VisitorLink("v-other", Id("other"))],
        codes: [CodeVersion("JANE20", owner: "jane")],
        touches: [Touch("t-click", 1, visitor: "v-jane"), Touch("t-mail", 2, contact: Email(1)), Touch("t-id", 3, customer: "jane"),
            Touch("t-other", 4, visitor: "v-other", customer: "other", contact: Email(2))],
        orders: [Order("o-jane", minute: 5, customer: "jane", credited: "ana", counted: "ana", visitor: "v-jane", contacts: [Email(1)], fingerprints: [Device(1), Card(1)]),
            Order("o-other", minute: 6, customer: "other", credited: "jane", visitor: "v-other", contacts: [Email(2)], fingerprints: [Device(2)])],
        refunds: [Refund("o-jane", "r-1", 7)],
        entries: [Entry("w-jane", "w-jane:earned", 5)],
        rewards: [Reward("w-jane", beneficiary: "jane", orderId: "o-other", minute: 6, due: RewardDue.HoldEnds, dueMinute: 60)],
        summaries: [Summary("jane", "", 1)]);

    /// <summary>
    /// After an erasure nothing of the participant is found by any look-up — participant, contact hash, fingerprint,
    /// visitor id, touches and orders by those — while the financial rows keep the pseudonymous id, and other people's
    /// data stays.
    /// </summary>
    [Fact]
    public async Task After_an_erasure_no_lookup_finds_the_participant()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, JanesHistory());
        await WrittenAsync(store, new UnitOfWork(erasures: [new ParticipantErasure(Id("jane"), "erase-1", At(100), "dpo@shop", "ticket 4711")]));

        Assert.Null(await store.FindParticipantAsync(Id("jane"), Ct));
        Assert.Empty(await store.FindParticipantsByContactAsync(Email(1), Ct));
        Assert.Empty(await store.FindParticipantsByContactAsync(Phone(1), Ct));
        Assert.Empty(await store.ListVisitorsAsync(Id("jane"), Ct));
        Assert.Empty(await store.FindTouchesAsync(Program, null, ["v-jane"], [Email(1), Phone(1)], At(-100), At(1000), 100, Ct));
        Assert.Empty(await store.FindSightingsAsync(Program, Device(1), At(1000), 100, Ct));
        Assert.Empty(await store.FindSightingsAsync(Program, Card(1), At(1000), 100, Ct));
        foreach (var id in new[] { "t-click", "t-mail", "t-id" })
        {
            var touch = await store.FindTouchAsync(Program, id, Ct);
            Assert.Null(touch!.VisitorId);
            Assert.Null(touch.Contact);
        }
        // Listed with the program's touches (a report), they hold none of her visitor ids or contacts either.
        Assert.Equal(
            [("t-click", (string?)null, (Privacy.ContactHash?)null), ("t-mail", null, null), ("t-id", null, null), ("t-other", "v-other", Email(2))],
            (await store.ListProgramTouchesAsync(Program, null, 10, Ct)).Select(t => (t.Id, t.VisitorId, t.Contact)));
        var order = await store.FindOrderAsync(Program, "o-jane", Ct);
        Assert.Equal(Id("jane"), order!.Conversion.Customer);
        Assert.Null(order.Conversion.VisitorId);
        Assert.Empty(order.Conversion.Contacts);
        Assert.Empty(order.Conversion.Fingerprints);
        Assert.Equal(Doc, order.Document);
        Assert.Equal(["o-jane"], (await store.ListReferralsAsync(Program, Id("ana"), null, 10, Ct)).Select(o => o.Conversion.OrderId));

        // Financial and derived rows keep the pseudonymous id.
        Assert.Single(await store.ListRefundsAsync(Program, "o-jane", Ct));
        Assert.Single(await store.ListEntriesAsync(Program, "w-jane", Ct));
        Assert.Equal(Id("jane"), (await store.FindRewardAsync(Program, "w-jane", Ct))!.Beneficiary);
        Assert.Equal([Id("jane")], (await store.ListProgramRewardsAsync(Program, null, 10, Ct)).Select(r => r.Beneficiary));
        Assert.Single(await store.GetSummariesAsync(Program, Id("jane"), [""], Ct));
        Assert.Equal(1, await store.CountCreditedOrdersAsync(Program, Id("jane"), At(0), At(100), 10, Ct));
        Assert.NotNull(await store.FindCodeAsync(Code("JANE20"), Ct));

        // Someone else's data is untouched.
        Assert.Equal(["other"], (await store.FindParticipantsByContactAsync(Email(2), Ct)).Select(p => p.Id.Value));
        Assert.Equal(["t-other"], (await store.FindTouchesAsync(Program, null, ["v-other"], [], At(-100), At(1000), 100, Ct)).Select(t => t.Id));
        Assert.Equal(["other", "other"], (await store.FindSightingsAsync(Program, Device(2), At(1000), 100, Ct)).Select(s => s.Participant.Value));
    }

    /// <summary>An erasure is idempotent by its id (a duplicate naming it) and audited; a new id is audited again.</summary>
    [Fact]
    public async Task Erasure_is_idempotent_by_id_and_audited()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, JanesHistory());
        var erasure = new ParticipantErasure(Id("jane"), "erase-1", At(100), "dpo@shop", "ticket 4711");
        await WrittenAsync(store, new UnitOfWork(erasures: [erasure]));
        Assert.Equal(WriteOutcome.Duplicate(RowKind.Erasure, "erase-1"), await WriteAsync(store, new UnitOfWork(erasures: [erasure], touches: [Touch("t-new", 9)])));
        Assert.Null(await store.FindTouchAsync(Program, "t-new", Ct));
        await WrittenAsync(store, new UnitOfWork(erasures: [new ParticipantErasure(Id("jane"), "erase-2", At(200), "support", "asked again")]));
        var audit = await store.ListErasuresAsync(Id("jane"), Ct);
        Assert.Equal([("erase-1", At(100), "dpo@shop", "ticket 4711"), ("erase-2", At(200), "support", "asked again")],
            audit.Select(a => (a.ErasureId, a.At, a.Actor, a.Reason)));
        Assert.Equal(Id("jane"), audit[0].Participant);
        Assert.Empty(await store.ListErasuresAsync(Id("other"), Ct));
    }

    /// <summary>An erasure in a session is seen by that session's reads and rolled back with it.</summary>
    [Fact]
    public async Task An_uncommitted_erasure_rolls_back()
    {
        var store = await NewStoreAsync();
        await WrittenAsync(store, JanesHistory());
        await using (var session = await store.BeginAsync(Ct))
        {
            Assert.Equal(WriteOutcome.Written, await session.WriteAsync(new UnitOfWork(erasures: [new ParticipantErasure(Id("jane"), "erase-1", At(100), "dpo", "x")]), Ct));
            Assert.Null(await session.FindParticipantAsync(Id("jane"), Ct));
            Assert.NotNull(await store.FindParticipantAsync(Id("jane"), Ct));
        }
        Assert.Equal(["jane"], (await store.FindParticipantsByContactAsync(Email(1), Ct)).Select(p => p.Id.Value));
        Assert.Empty(await store.ListErasuresAsync(Id("jane"), Ct));
    }
}
