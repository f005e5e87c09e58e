using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Programs;
using Referrals.Services;
using Referrals.Sqlite;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// A code's status at a sale's event time, judged from the code's versions in the SQLite file: a process started after the
/// pause and the resume knows the code only as active again, and still refuses a sale made in the pause.
/// </summary>
public sealed class SqliteCodeStateAtEventTimeTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Sales_uploaded_after_a_restart_are_judged_by_the_code_status_at_their_event_time()
    {
        string path = _directory.NewDatabasePath();
        var clock = new FakeClock(Start);
        ReferralCodeRecord code;
        await using (var store = SqliteReferralStore.OpenFile(path))
        {
            var (codes, _) = Services(store, clock);
            code = await codes.IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Receipt }, Ct);
            clock.Reset(Start + Duration.FromHours(10));
            await codes.PauseAsync(code.Code, Ct);
            clock.Reset(Start + Duration.FromHours(20));
            await codes.ResumeAsync(code.Code, Ct);
        }

        clock.Reset(Start + Duration.FromDays(2));
        await using (var reopened = SqliteReferralStore.OpenFile(path))
        {
            var (codes, attribution) = Services(reopened, clock);
            await codes.InitializeAsync(Ct);
            Assert.Equal(CodeState.Active, codes.Resolve(code.Display).State);

            // The till's sales of the last two days arrive together: before the pause, in it, after the resume.
            var before = await attribution.RecordConversionAsync(Sale("o-1", "bob", Start + Duration.FromHours(5)), Ct);
            var during = await attribution.RecordConversionAsync(Sale("o-2", "cem", Start + Duration.FromHours(15)), Ct);
            var after = await attribution.RecordConversionAsync(Sale("o-3", "dan", Start + Duration.FromHours(25)), Ct);

            Assert.True(before.IsAttributed, before.Explain());
            Assert.Equal(NotAttributedReason.CodeInactive, during.Reason);
            Assert.True(after.IsAttributed, after.Explain());
            Assert.Equal((new ParticipantId("ana"), new ParticipantId("ana")), (before.Referrer, after.Referrer));
        }

        Conversion Sale(string orderId, string customer, Instant at) =>
            NewOrder(orderId, customer, at) with { Channel = Channel.Offline, StoreId = "store-7", RegisterId = "till-3", PresentedCode = code.Display };
    }

    [Fact]
    public async Task A_code_the_index_does_not_hold_yet_is_read_from_the_store_by_a_capture_and_a_conversion()
    {
        // An index loading in the background (CodeOptions.LoadIndexInBackground), or one that has not caught up with
        // another process: the code is in the file, not in this process's index.
        string path = _directory.NewDatabasePath();
        var clock = new FakeClock(Start);
        ReferralCodeRecord code;
        await using (var writer = SqliteReferralStore.OpenFile(path))
        {
            var (codes, _) = Services(writer, clock);
            code = await codes.IssueAsync(new CodeRequest { Program = Program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Receipt }, Ct);
        }
        await using var store = SqliteReferralStore.OpenFile(path);
        var (notLoaded, attribution) = Services(store, clock);
        Assert.Equal(0, notLoaded.IndexedCount);
        Assert.Equal(CodeResolutionOutcome.NotFound, notLoaded.Resolve(code.Display).Outcome);

        var capture = await attribution.CaptureAsync(
            new CaptureRequest { Program = Program, Kind = TouchKind.PosCodeScan, Input = code.Display, Customer = new ParticipantId("bob"), StoreId = "store-7", EventTime = Start },
            Ct);
        Assert.Equal(CaptureOutcome.Captured, capture.Outcome);
        Assert.Equal(new ParticipantId("ana"), capture.Touch!.Referrer);

        var (fresh, freshAttribution) = Services(store, clock);
        var sale = await freshAttribution.RecordConversionAsync(NewOrder("o-1", "cem", Start) with { PresentedCode = code.Display }, Ct);
        Assert.True(sale.IsAttributed, sale.Explain());
        Assert.Equal(1, fresh.IndexedCount); // the code read from the store is held from then on
    }

    private static (ReferralCodeService Codes, AttributionService Attribution) Services(SqliteReferralStore store, IClock clock)
    {
        var options = new ReferralsOptions();
        options.Links.Template = "https://shop.example/r/{code}";
        options.Programs[Program.Value] = new ProgramOptions { TimeZone = "Europe/Berlin" };
        var codes = new ReferralCodeService(store, options, clock);
        var attribution = new AttributionService(Microsoft.Extensions.Options.Options.Create(options), clock, codes, store, []);
        return (codes, attribution);
    }
}
