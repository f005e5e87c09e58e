using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Participants;
using Referrals.Programs;
using Referrals.Sqlite;
using Referrals.Storage;
using Referrals.Store.Tests.Support;
using Referrals.Services;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

public sealed class UseSqliteTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public void The_store_contract_resolves_to_the_SQLite_store_replacing_one_registered_before()
    {
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(new NodaTime.Testing.FakeClock(Start));
        services.AddSingleton<IReferralStore>(new InMemoryStore());
        services.AddReferrals(o => o.Links.Template = "https://shop.example/r/{code}").UseSqlite($"Data Source={_directory.NewDatabasePath()}");
        using var provider = services.BuildServiceProvider();

        var sqlite = provider.GetRequiredService<SqliteReferralStore>();
        Assert.Same(sqlite, Assert.Single(provider.GetServices<IReferralStore>()));
    }

    [Fact]
    public async Task Referred_conversion_velocity_counts_the_conversions_made_before_a_restart()
    {
        string path = _directory.NewDatabasePath();
        ReferralCodeRecord code;
        using (var provider = Build(path, fraud: new FraudPolicyOptions { MaxConversionsPerHour = 1 }))
        {
            code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(
                new CodeRequest { Program = Program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Email }, Ct);
            var first = await provider.GetRequiredService<AttributionService>().RecordConversionAsync(NewOrder("o-1", "bob", Start) with { PresentedCode = code.Display }, Ct);
            Assert.True(first.IsAttributed);
            Assert.Equal(FraudVerdict.Allow, first.Fraud!.Verdict);
        }

        AttributionResult flagged;
        using (var provider = Build(path, fraud: new FraudPolicyOptions { MaxConversionsPerHour = 1 }))
        {
            // The second referred conversion within the hour, in a new process: the first one is in the file.
            await provider.GetRequiredService<ReferralCodeService>().InitializeAsync(Ct);
            flagged = await provider.GetRequiredService<AttributionService>().RecordConversionAsync(
                NewOrder("o-2", "carl", Start + Duration.FromMinutes(30)) with { PresentedCode = code.Display }, Ct);

            Assert.True(flagged.IsAttributed);
            Assert.Equal(FraudVerdict.Review, flagged.Fraud!.Verdict);
            Assert.Equal(FraudSignalNames.ConversionsPerHour, Assert.Single(flagged.Fraud.Signals).Name);
        }

        using (var provider = Build(path, fraud: new FraudPolicyOptions { MaxConversionsPerHour = 1 }))
        {
            var found = await provider.GetRequiredService<AttributionService>().FindAttributionAsync(Program, "o-2", Ct);
            Assert.NotNull(found);
            Assert.Equal(flagged.Explain(), found.Explain());
            Assert.Equal(2, await provider.GetRequiredService<IFraudHistory>().CountReferredConversionsAsync(Program, new ParticipantId("ana"), Start, Start + Duration.FromHours(1), 10, Ct));
        }
    }

    [Fact]
    public async Task A_participants_fingerprints_are_in_the_fraud_history_after_a_restart()
    {
        string path = _directory.NewDatabasePath();
        var jane = new Participant { Id = new ParticipantId("jane"), Contacts = [Email(1)], Fingerprints = [Card(1)] };
        using (var provider = Build(path))
        {
            var participants = provider.GetRequiredService<ParticipantService>();
            await participants.RegisterAsync(jane, Ct);
            await participants.LinkVisitorAsync("v-1", jane.Id, Ct);
        }

        using (var provider = Build(path))
        {
            var store = provider.GetRequiredService<IReferralStore>();
            Assert.Equal([Email(1)], (await store.FindParticipantAsync(jane.Id, Ct))!.Contacts);
            Assert.Equal(["v-1"], await store.ListVisitorsAsync(jane.Id, Ct));
            var sightings = await provider.GetRequiredService<IFraudHistory>().FindSightingsAsync(Program, Card(1), Start, 10, Ct);
            Assert.Equal([new FingerprintSighting(jane.Id, null, null)], sightings);
        }
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
        var store = provider.GetRequiredService<IReferralStore>();
        await provider.DisposeAsync();

        await Assert.ThrowsAsync<ObjectDisposedException>(async () => await store.FindCodeAsync(Code("ANY1"), Ct));
    }

    [Fact]
    public void A_file_in_a_directory_that_does_not_exist_is_refused_naming_the_path()
    {
        string path = Path.Combine(_directory.NewDatabasePath() + "-missing", "referrals.db");

        var ex = Assert.Throws<DirectoryNotFoundException>(() => SqliteReferralStore.OpenFile(path));

        Assert.Contains(path, ex.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(Path.GetDirectoryName(path)));
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
            o.Programs[Program.Value] = new ProgramOptions { Fraud = fraud };
        }).UseSqlite($"Data Source={path}");
        return services.BuildServiceProvider();
    }
}
