using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Programs;
using Referrals.Sqlite;
using Referrals.Sqlite.Hosting;
using Referrals.Storage;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

public sealed class UseSqliteTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void Codes_participants_touches_and_conversions_resolve_to_SQLite_and_rewards_and_fraud_stay_in_memory()
    {
        using var provider = Build(_directory.NewDatabasePath());

        var sqlite = provider.GetRequiredService<SqliteReferralStore>();
        Assert.Same(sqlite, provider.GetRequiredService<IReferralCodeStore>());
        // One mirror in front of SQLite for the three interfaces whose writes feed the in-memory fraud history.
        var mirror = Assert.IsType<FraudIndexedStore>(provider.GetRequiredService<IParticipantStore>());
        Assert.Same(mirror, provider.GetRequiredService<ITouchStore>());
        Assert.Same(mirror, provider.GetRequiredService<IConversionStore>());
        var memory = provider.GetRequiredService<InMemoryReferralStore>();
        Assert.Same(memory, provider.GetRequiredService<IRewardStore>());
        Assert.Same(memory, provider.GetRequiredService<IFraudStore>());
    }

    [Fact]
    public void With_the_hosts_own_fraud_store_the_SQLite_store_is_resolved_without_the_mirror()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(new NodaTime.Testing.FakeClock(Start));
        services.AddSingleton<IFraudStore, EmptyFraudStore>();
        services.AddReferrals(o => o.Links.Template = "https://shop.example/r/{code}").UseSqlite($"Data Source={_directory.NewDatabasePath()}");
        using var provider = services.BuildServiceProvider();

        var sqlite = provider.GetRequiredService<SqliteReferralStore>();
        Assert.Same(sqlite, provider.GetRequiredService<IParticipantStore>());
        Assert.Same(sqlite, provider.GetRequiredService<ITouchStore>());
        Assert.Same(sqlite, provider.GetRequiredService<IConversionStore>());
    }

    [Fact]
    public async Task Touches_conversions_and_attributions_go_to_the_file_and_reach_the_in_memory_fraud_history()
    {
        using var provider = Build(_directory.NewDatabasePath());
        var touches = provider.GetRequiredService<ITouchStore>();
        var conversions = provider.GetRequiredService<IConversionStore>();
        var sqlite = provider.GetRequiredService<SqliteReferralStore>();
        var fraud = provider.GetRequiredService<IFraudStore>();
        var ana = new ParticipantId("ana");
        var until = Start + Duration.FromDays(1);

        var touch = NewTouch("t-1", Start, referrer: "ana") with { Customer = new ParticipantId("bob") };
        Assert.True(await touches.TryAddTouchAsync(touch, Ct));
        Assert.False(await touches.TryAddTouchAsync(touch with { EventTime = Start + Duration.FromMinutes(1) }, Ct));
        var order = NewOrder("o-1", "bob", Start + Duration.FromMinutes(5)) with { Fingerprints = [Device(1)] };
        Assert.True(await conversions.TryAddConversionAsync(order, Ct));
        Assert.False(await conversions.TryAddConversionAsync(order, Ct));
        Assert.Equal([new FingerprintSighting(new ParticipantId("bob"), order.EventTime, "o-1")], await fraud.FindSightingsAsync(Program, Device(1), until, 10, Ct));
        await conversions.SaveAttributionAsync(Decision(order, Code("ANA1"), "ana"), Ct);
        // A re-evaluation replaces the decision in both.
        await conversions.SaveAttributionAsync(Decision(order, Code("ANA1"), "ana") with { DecidedAt = until }, Ct);

        // In the file ...
        Assert.Equal([touch], await sqlite.FindTouchesAsync(Program, new ParticipantId("bob"), [], [], Ct));
        Assert.Equal([Device(1)], (await sqlite.FindConversionAsync(Program, "o-1", Ct))!.Fingerprints);
        Assert.Equal(until, (await sqlite.FindAttributionAsync(Program, "o-1", Ct))!.DecidedAt);
        // ... and, once each, in the history the fraud checks read.
        Assert.Equal(1, await fraud.CountReferralsAsync(Program, ana, Start, until, Ct));
        Assert.Equal([new FingerprintSighting(new ParticipantId("bob"), order.EventTime, "o-1")], await fraud.FindSightingsAsync(Program, Device(1), until, 10, Ct));
        Assert.Equal(1, await fraud.CountReferredConversionsAsync(Program, ana, Start, until, Ct));
        Assert.Equal(new ReferredOrderStats(1, 0), await fraud.GetReferredOrderStatsAsync(Program, ana, Ct));

        // An order the index never saw (recorded before this process started): its attribution still counts.
        var older = NewOrder("o-0", "carl", Start - Duration.FromDays(1)) with { Fingerprints = [Device(1)] };
        Assert.True(await sqlite.TryAddConversionAsync(older, Ct));
        await conversions.SaveAttributionAsync(Decision(older, Code("ANA1"), "ana"), Ct);
        Assert.Equal(new ReferredOrderStats(2, 0), await fraud.GetReferredOrderStatsAsync(Program, ana, Ct));
        Assert.Equal(2, (await fraud.FindSightingsAsync(Program, Device(1), until, 10, Ct)).Count);

        // A write SQLite refuses is not mirrored.
        await Assert.ThrowsAsync<InvalidOperationException>(async () =>
            await conversions.SaveAttributionAsync(Decision(NewOrder("o-404", "dan", Start), Code("ANA1"), "ana"), Ct));
        Assert.Equal(new ReferredOrderStats(2, 0), await fraud.GetReferredOrderStatsAsync(Program, ana, Ct));
    }

    [Fact]
    public async Task Referred_conversion_velocity_is_flagged_with_SQLite_and_the_decision_is_read_back_after_a_restart()
    {
        string path = _directory.NewDatabasePath();
        AttributionResult flagged;
        using (var provider = Build(path, fraud: new FraudPolicyOptions { MaxConversionsPerHour = 1 }))
        {
            var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(
                new CodeRequest { Program = Program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Email }, Ct);
            var attribution = provider.GetRequiredService<AttributionService>();

            var first = await attribution.RecordConversionAsync(NewOrder("o-1", "bob", Start) with { PresentedCode = code.Display }, Ct);
            flagged = await attribution.RecordConversionAsync(NewOrder("o-2", "carl", Start + Duration.FromMinutes(30)) with { PresentedCode = code.Display }, Ct);

            Assert.True(first.IsAttributed);
            Assert.Equal(FraudVerdict.Allow, first.Fraud!.Verdict);
            // The second referred conversion within the hour: seen only because the first one's credit reached the index.
            Assert.True(flagged.IsAttributed);
            Assert.Equal(FraudVerdict.Review, flagged.Fraud!.Verdict);
            Assert.Equal(FraudSignalNames.ConversionsPerHour, Assert.Single(flagged.Fraud.Signals).Name);
        }

        using (var provider = Build(path, fraud: new FraudPolicyOptions { MaxConversionsPerHour = 1 }))
        {
            var found = await provider.GetRequiredService<AttributionService>().FindAttributionAsync(Program, "o-2", Ct);
            Assert.NotNull(found);
            Assert.Equal(flagged.Explain(), found.Explain());
            Assert.Contains(FraudSignalNames.ConversionsPerHour, found.Explain(), StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Participants_go_to_the_file_and_their_fingerprints_still_reach_the_in_memory_fraud_history()
    {
        using var provider = Build(_directory.NewDatabasePath());
        var jane = new Participant { Id = new ParticipantId("jane"), Contacts = [Email(1)], Fingerprints = [Card(1)] };

        var participants = provider.GetRequiredService<IParticipantStore>();
        await participants.UpsertParticipantAsync(jane, Ct);
        await participants.LinkVisitorAsync("v-1", jane.Id, Ct);

        var sqlite = provider.GetRequiredService<SqliteReferralStore>();
        Assert.Equal([Email(1)], (await sqlite.FindParticipantAsync(jane.Id, Ct))!.Contacts);
        Assert.Equal(["v-1"], await sqlite.FindVisitorsAsync(jane.Id, Ct));
        Assert.Equal(["jane"], (await participants.FindParticipantsByContactAsync(Email(1), Ct)).Select(p => p.Id.Value));
        var sightings = await provider.GetRequiredService<IFraudStore>().FindSightingsAsync(Program, Card(1), Start, 10, Ct);
        Assert.Equal([new FingerprintSighting(jane.Id, null, null)], sightings);
    }

    [Fact]
    public async Task Codes_issued_through_the_service_are_there_after_a_restart_of_the_container()
    {
        string path = _directory.NewDatabasePath();
        ReferralCodeRecord issued;
        using (var provider = Build(path))
        {
            issued = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(
                new CodeRequest { Program = Program, Owner = new ParticipantId("jane"), Medium = ShareMedium.Receipt }, Ct);
        }

        using (var provider = Build(path))
        {
            var codes = provider.GetRequiredService<ReferralCodeService>();
            await codes.InitializeAsync(Ct);
            Assert.Equal(1, codes.IndexedCount);
            Assert.Equal(issued, await codes.FindAsync(issued.Code, Ct));
        }
    }

    [Fact]
    public async Task Disposing_the_container_disposes_the_store()
    {
        var provider = Build(_directory.NewDatabasePath());
        var store = provider.GetRequiredService<SqliteReferralStore>();
        await provider.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.FindAsync(Code("ANY1"), Ct));
    }

    [Fact]
    public void A_bad_connection_string_fails_at_registration()
    {
        var builder = new ServiceCollection().AddReferrals();
        Assert.Throws<ArgumentException>(() => builder.UseSqlite("Data Source=:memory:"));
        Assert.Throws<ArgumentException>(() => builder.UseSqlite(""));
    }

    private static ServiceProvider Build(string path, FraudPolicyOptions? fraud = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(new NodaTime.Testing.FakeClock(Start));
        services.AddReferrals(o =>
        {
            o.Links.Template = "https://shop.example/r/{code}";
            if (fraud is not null)
            {
                o.Programs[Program.Value] = new ProgramOptions { Fraud = fraud };
            }
        }).UseSqlite($"Data Source={path}");
        return services.BuildServiceProvider();
    }

    /// <summary>A host's own fraud history, here one that has seen nothing.</summary>
    private sealed class EmptyFraudStore : IFraudStore
    {
        public ValueTask<int> CountReferralsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, CancellationToken cancellationToken = default) => ValueTask.FromResult(0);

        public ValueTask<int> CountReferredConversionsAsync(ProgramId program, ParticipantId referrer, Instant from, Instant until, CancellationToken cancellationToken = default) => ValueTask.FromResult(0);

        public ValueTask<ReferredOrderStats> GetReferredOrderStatsAsync(ProgramId program, ParticipantId referrer, CancellationToken cancellationToken = default) => ValueTask.FromResult(default(ReferredOrderStats));

        public ValueTask<IReadOnlyList<FingerprintSighting>> FindSightingsAsync(ProgramId program, Privacy.Fingerprint fingerprint, Instant until, int limit, CancellationToken cancellationToken = default) =>
            ValueTask.FromResult<IReadOnlyList<FingerprintSighting>>([]);
    }
}
