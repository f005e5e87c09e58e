using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Programs;
using Referrals.Services;
using Referrals.Storage;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Tests.Shared;

/// <summary>
/// The attribution engine on a store, end to end, across a restart (a new store on the same database), for every store
/// (<c>SqliteAttributionServiceTests</c>, <c>PostgreSqlAttributionServiceTests</c> open it).
/// </summary>
/// <typeparam name="TStore">The store's type: the services are built on it, and it is disposed at each restart.</typeparam>
public abstract class AttributionServiceTests<TStore>
    where TStore : IReferralStore, IAsyncDisposable
{
    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A new, empty database for one test: a SQLite file's path, a PostgreSQL schema's name.</summary>
    protected abstract string NewDatabase();

    /// <summary>A new store on <paramref name="database"/>, as a process opens it.</summary>
    protected abstract Task<TStore> OpenAsync(string database);

    [Fact]
    public async Task A_conversion_with_a_presented_code_is_attributed_and_the_decision_is_read_back_after_reopening()
    {
        string database = NewDatabase();
        var clock = new FakeClock(Start);
        var bob = new ParticipantId("bob");
        AttributionResult decided;
        ReferralCodeRecord anasCode;

        await using (var store = await OpenAsync(database))
        {
            var (codes, attribution, participants) = Services(store, clock);
            var ana = new ParticipantId("ana");
            await participants.RegisterAsync(new Participant { Id = ana, Contacts = [Email(1)] }, Ct);
            anasCode = await codes.IssueAsync(new CodeRequest { Program = Program, Owner = ana, Medium = ShareMedium.Receipt }, Ct);
            var zoesCode = await codes.IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId("zoe"), Medium = ShareMedium.Email }, Ct);
            // A day earlier bob typed zoe's code online; at the till he presents ana's receipt code, which wins.
            var captured = await attribution.CaptureAsync(
                new CaptureRequest { Program = Program, Kind = TouchKind.CodeEnteredOnline, Input = zoesCode.Display, Customer = bob, EventTime = Start - Duration.FromDays(1) },
                Ct);
            Assert.Equal(CaptureOutcome.Captured, captured.Outcome);

            decided = await attribution.RecordConversionAsync(
                NewOrder("o-1", "bob", Start) with { Channel = Channel.Offline, StoreId = "store-7", RegisterId = "till-3", PresentedCode = anasCode.Display.ToLowerInvariant() },
                Ct);

            Assert.True(decided.IsAttributed);
            Assert.Equal(ana, decided.Referrer);
            Assert.Equal(anasCode.Code, decided.Code);
            Assert.Equal(TouchKind.PosCodeScan, decided.CaptureMethod);
            Assert.Equal(ChannelCombination.OfflineToOffline, decided.Combination);
            Assert.Equal([TouchVerdict.Outranked, TouchVerdict.Chosen], decided.Touches.Select(t => t.Verdict));
        }

        await using (var reopened = await OpenAsync(database))
        {
            var (_, attribution, _) = Services(reopened, clock);

            var found = await attribution.FindAttributionAsync(Program, "o-1", Ct);

            Assert.Equivalent(decided, found, strict: true);
            Assert.Equal(decided.Explain(), found!.Explain());
            // Recording the order again after the restart returns the stored decision and records nothing new.
            var again = await attribution.RecordConversionAsync(NewOrder("o-1", "bob", Start + Duration.FromHours(1)) with { PresentedCode = "SOMETHING-ELSE" }, Ct);
            Assert.Equal(decided.Explain(), again.Explain());
            IReferralStore contract = reopened;
            Assert.Equal(1, await contract.CountCodeUsesAsync(anasCode.Code, new ListPosition(Start + Duration.FromDays(1), ""), 10, Ct));
            Assert.Equal(["o-1"], (await contract.ListCustomerOrdersAsync(Program, bob, null, 10, Ct)).Where(o => o.CreditedReferrer is not null).Select(o => o.Conversion.OrderId));
            Assert.Equal(2, (await contract.FindTouchesAsync(Program, bob, [], [], Start - Duration.FromDays(30), Start + Duration.FromDays(1), 10, Ct)).Count);
        }
    }

    private static (ReferralCodeService Codes, AttributionService Attribution, ParticipantService Participants) Services(TStore store, IClock clock)
    {
        var options = new ReferralsOptions();
        options.Links.Template = "https://shop.example/r/{code}";
        options.Programs[Program.Value] = new ProgramOptions { TimeZone = "Europe/Berlin" };
        var codes = new ReferralCodeService(store, options, clock);
        var attribution = new AttributionService(Microsoft.Extensions.Options.Options.Create(options), clock, codes, store, []);
        return (codes, attribution, new ParticipantService(store, clock, Microsoft.Extensions.Options.Options.Create(options)));
    }
}
