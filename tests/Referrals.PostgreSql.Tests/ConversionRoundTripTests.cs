using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.PostgreSql.Tests.Support;
using Referrals.Services;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.PostgreSql.Tests;

/// <summary>
/// How many round trips one conversion costs on PostgreSQL (issue 20: each is a wait on the network and the server).
/// The pipeline reads what it is about to read in batches (<c>IBatchReader</c>): a credited conversion with a typed
/// code, fraud checks on, is two commands or batches and the commit — against twelve when every read and the capture
/// went alone: the code's owner, the referrer the decision judges, is read with the customer.
/// </summary>
public sealed class ConversionRoundTripTests(DatabaseFixture database) : IClassFixture<DatabaseFixture>
{
    private static readonly ParticipantId Ana = new("ana");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A data source whose commands <paramref name="capture"/> sees, with their parameters.</summary>
    private NpgsqlDataSource CapturedDataSource(CommandCapture capture)
    {
        var source = new NpgsqlDataSourceBuilder(database.ConnectionString);
        source.UseLoggerFactory(capture);
        source.EnableParameterLogging();
        return source.Build();
    }

    /// <summary>The engine on the store over <paramref name="dataSource"/>, in a schema of its own, the clock at <c>Start</c>.</summary>
    private ServiceProvider Engine(NpgsqlDataSource dataSource, Action<ReferralsBuilder>? configure = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(new FakeClock(Start));
        var builder = services.AddReferrals(Referrals.Tests.Shared.EngineOptions.Configure).UsePostgreSql(dataSource, o => o.Schema = database.NewSchemaName());
        configure?.Invoke(builder);
        return services.BuildServiceProvider();
    }

    [Fact]
    public async Task A_credited_conversion_with_a_typed_code_is_two_round_trips_and_the_commit()
    {
        var capture = new CommandCapture();
        await using var dataSource = CapturedDataSource(capture);
        await using var provider = Engine(dataSource);
        var attribution = provider.GetRequiredService<AttributionService>();
        var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Program, Owner = Ana, Medium = ShareMedium.Sms }, Ct);
        // A first conversion: the store's first use (schema, code index) is not what is counted.
        var first = await attribution.RecordConversionAsync(NewOrder("o-1", "bob", Start) with { PresentedCode = code.Display, Fingerprints = [Device(2)] }, Ct);
        Assert.True(first.IsAttributed);

        capture.Take();
        int before = capture.Executions;
        var second = await attribution.RecordConversionAsync(NewOrder("o-2", "carl", Start + Duration.FromMinutes(5)) with { PresentedCode = code.Display, Fingerprints = [Device(3)] }, Ct);
        int executed = capture.Executions - before;
        var statements = capture.Take();
        string sent = string.Join("\n", statements.Select(c => c.Sql.Length > 100 ? c.Sql[..100] : c.Sql));

        Assert.True(second.IsAttributed);
        Assert.Equal(Ana, second.Referrer);
        // Each advisory lock once: the unit does not take again what the transaction's reads (the summaries read) or the
        // unit itself (an order checked absent, then inserted) took already.
        var locks = statements.Where(c => c.Sql.Contains("pg_advisory_xact_lock", StringComparison.Ordinal))
            .SelectMany(c => c.Sql.Contains("unnest", StringComparison.Ordinal)
                // The summaries' keys after their prefix, the array logged as "[k1, k2]" (no key holds ", ").
                ? ((string)c.Parameters[1]!)[1..^1].Split(", ").Select(k => (string)c.Parameters[0]! + k)
                : [(string)c.Parameters[0]!])
            .ToList();
        Assert.NotEmpty(locks);
        Assert.True(locks.Distinct(StringComparer.Ordinal).Count() == locks.Count, "advisory locks taken twice:\n" + string.Join("\n", locks));
        Assert.Equal(FraudVerdict.Allow, second.Fraud!.Verdict);
        // 1 the order, the customer, their visitor links, account summary and touches, and the order's refunds, with the
        // typed code's owner, their account summary, the velocity check's two day counts and who else was seen with the
        // conversion's device; 2 the conversion's unit with the capture's touch (then the commit). Every read and the
        // capture alone were 12; the referrer's reads in a round trip of their own, 3.
        Assert.True(executed <= 2, $"one conversion took {executed} round trips (and the commit); expected at most 2. Sent:\n{sent}");

        // The same answers as reading one at a time: the second conversion was decided on the first one's writes.
        var summary = await provider.GetRequiredService<RewardService>().GetReferrerSummaryAsync(Program, Ana, Ct);
        Assert.Equal(2, summary.SuccessfulReferrals);
        var again = await attribution.RecordConversionAsync(NewOrder("o-2", "carl", Start + Duration.FromMinutes(5)) with { PresentedCode = code.Display }, Ct);
        Assert.Equal(second.Referrer, again.Referrer);
        Assert.Single(await provider.GetRequiredService<RewardService>().ListOrderRewardsAsync(Program, "o-2", Ct), r => r.Beneficiary == Ana);
    }

    [Fact]
    public async Task A_customer_with_fingerprints_of_their_own_costs_one_more_round_trip_and_the_checks_see_them()
    {
        var capture = new CommandCapture();
        await using var dataSource = CapturedDataSource(capture);
        await using var provider = Engine(dataSource);
        var attribution = provider.GetRequiredService<AttributionService>();
        var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Program, Owner = Ana, Medium = ShareMedium.Sms }, Ct);
        // Ana ordered for herself on device 9; carl registered with device 9 and card 7 (the conversion carries only device 3):
        // without the one round trip for both, each would be read alone when a check asks (4 in all).
        Assert.False((await attribution.RecordConversionAsync(NewOrder("o-ana", "ana", Start) with { Fingerprints = [Device(9)] }, Ct)).IsAttributed);
        await provider.GetRequiredService<ParticipantService>().RegisterAsync(new Referrals.Participants.Participant { Id = new("carl"), Fingerprints = [Device(9), Card(7)] }, Ct);

        capture.Take();
        int before = capture.Executions;
        var carl = await attribution.RecordConversionAsync(NewOrder("o-2", "carl", Start + Duration.FromMinutes(5)) with { PresentedCode = code.Display, Fingerprints = [Device(3)] }, Ct);
        int executed = capture.Executions - before;
        string sent = string.Join("\n", capture.Take().Select(c => c.Sql.Length > 100 ? c.Sql[..100] : c.Sql));

        Assert.Equal(Ana, carl.Referrer);
        // The sightings of carl's own device, read in one round trip after the customer was read: ana used it.
        Assert.Contains(carl.Fraud!.Signals, s => s.Name == FraudSignalNames.SelfReferralDevice && s.Evidence.Contains("o-ana", StringComparison.Ordinal));
        Assert.True(executed <= 3, $"one conversion took {executed} round trips (and the commit); expected at most 3. Sent:\n{sent}");
    }

    [Fact]
    public async Task Without_the_velocity_check_a_customers_own_fingerprints_are_still_read_with_the_referrer()
    {
        // No velocity check and a conversion without fingerprints: the first batch reads nothing more of the referrer than
        // their rows, and the customer's registered device is read in the one more batch.
        var capture = new CommandCapture();
        await using var dataSource = CapturedDataSource(capture);
        await using var provider = Engine(dataSource, b => b.RemoveFraudCheck(FraudCheckNames.Velocity));
        var attribution = provider.GetRequiredService<AttributionService>();
        var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Program, Owner = Ana, Medium = ShareMedium.Sms }, Ct);
        Assert.False((await attribution.RecordConversionAsync(NewOrder("o-ana", "ana", Start) with { Fingerprints = [Device(9)] }, Ct)).IsAttributed);
        await provider.GetRequiredService<ParticipantService>().RegisterAsync(new Referrals.Participants.Participant { Id = new("carl"), Fingerprints = [Device(9)] }, Ct);

        var carl = await attribution.RecordConversionAsync(NewOrder("o-2", "carl", Start + Duration.FromMinutes(5)) with { PresentedCode = code.Display }, Ct);

        Assert.Equal(Ana, carl.Referrer);
        Assert.Contains(carl.Fraud!.Signals, s => s.Name == FraudSignalNames.SelfReferralDevice && s.Evidence.Contains("o-ana", StringComparison.Ordinal));
    }
}
