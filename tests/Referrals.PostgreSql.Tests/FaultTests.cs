using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.PostgreSql.Tests.Support;
using Referrals.PostgreSql.Worker;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Storage;

namespace Referrals.PostgreSql.Tests;

/// <summary>
/// The store under the faults of a real deployment, each on a PostgreSQL cluster of the test's own
/// (<see cref="PrivateCluster"/>): backends terminated mid-transaction, the server restarted under load (a clean shutdown
/// and a crash), and a failover to a synchronous hot standby (with a multi-host connection string). Callers do what the
/// store documents — send a conversion again after an <see cref="NpgsqlException"/> with
/// <see cref="NpgsqlException.IsTransient"/> — and every acknowledged conversion must be found afterwards, once, with all
/// of its rewards (<see cref="ConversionAudit"/>). Each test prints its figures.
/// </summary>
/// <remarks>
/// One collection that runs alone: the tests start servers and load them from several tasks, which the 2-core CI
/// machine cannot share with other tests without slowing both.
/// </remarks>
[Collection(nameof(FaultTests))]
public sealed class FaultTests
{
    /// <summary>The engine's <c>Application Name</c>: how the killer finds its backends.</summary>
    private const string EngineApplication = "referrals-fault-engine";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Conversions_recorded_while_their_backends_are_terminated_are_each_committed_once_and_fully()
    {
        const int Orders = 200, Referrers = 10, Tasks = 6;
        await using var cluster = await PrivateCluster.StartAsync("kill", Ct);
        string connectionString = cluster.ConnectionString(applicationName: EngineApplication, pooling: true);
        await using var engine = Engine.Build(connectionString, FaultSchema.Name);
        var (codes, owners) = await IssueCodesAsync(engine, Referrers);
        var orders = Engine.Orders(codes, Orders);
        var load = new ConversionLoad(engine.GetRequiredService<AttributionService>(), orders, Tasks) { Deadline = TimeSpan.FromSeconds(45) };

        // Every 20 to 100 ms, every backend of the engine is terminated: idle in the pool, mid-read, mid-unit or mid-commit.
        // (Every 5 to 25 ms, fewer than one call in 400 got through: the test measured the killer, not the store.) A round
        // waits for an acknowledgement since the last one, so a slow machine slows the killer rather than starving the callers.
        using var stop = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        int terminated = 0, rounds = 0;
        var killer = Task.Run(async () =>
        {
            await using var connection = new NpgsqlConnection(cluster.ConnectionString(applicationName: "referrals-fault-killer"));
            await connection.OpenAsync(Ct);
            await using var kill = new NpgsqlCommand(
                "SELECT count(*) FILTER (WHERE pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = @app", connection);
            kill.Parameters.AddWithValue("app", EngineApplication);
            var random = new Random(20);
            while (!stop.IsCancellationRequested)
            {
                terminated += (int)(long)(await kill.ExecuteScalarAsync(Ct))!;
                rounds++;
                int acknowledged = load.Acknowledged.Count;
                try
                {
                    await Task.Delay(random.Next(20, 100), stop.Token);
                    while (load.Acknowledged.Count == acknowledged)
                    {
                        await Task.Delay(5, stop.Token);
                    }
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
            }
        }, Ct);
        var elapsed = Stopwatch.StartNew();
        try
        {
            await load.RunAsync(Ct);
        }
        finally
        {
            await stop.CancelAsync();
            await killer;
        }
        elapsed.Stop();

        var audit = Stopwatch.StartNew();
        var found = await ConversionAudit.AssertConsistentAsync(cluster.ConnectionString(pooling: true), orders, owners, Ct);
        audit.Stop();
        Report($"terminate backends: {Orders} orders sent from {Tasks} tasks, {load.Attempts} calls, {load.Acknowledged.Count} acknowledged, " +
            $"{found.Count} found after; {terminated} backends terminated in {rounds} rounds; {load.TransientFailures} transient failures " +
            $"({load.FailureSummary}); {load.Errors.Count} errors; load {elapsed.Elapsed.TotalSeconds:F1} s, audit {audit.Elapsed.TotalSeconds:F1} s");
        AssertNoErrors(load);
        Assert.Equal(Orders, load.Acknowledged.Count);
        Assert.Equal(orders.Select(o => o.OrderId).Order(StringComparer.Ordinal), found.Order(StringComparer.Ordinal));
        // The fault happened: callers saw it and retried.
        Assert.True(load.TransientFailures > 0, "No call failed: the killer never hit a backend in use.");
    }

    [Fact]
    public async Task A_commit_whose_backend_is_terminated_writes_nothing_and_the_conversion_sent_again_is_recorded_once()
    {
        const string Direct = "referrals-fault-direct";
        await using var cluster = await PrivateCluster.StartAsync("commit", Ct);
        await using var engine = Engine.Build(cluster.ConnectionString(applicationName: Direct, pooling: true), FaultSchema.Name);
        var (codes, owners) = await IssueCodesAsync(engine, 1);
        var conversion = new Conversion
        {
            Program = Engine.Program,
            OrderId = "direct-1",
            Customer = new ParticipantId("friend-direct"),
            Amount = new Money(50m, "EUR"),
            EventTime = Engine.Start + Duration.FromHours(1),
            PresentedCode = codes[0],
        };
        var store = engine.GetRequiredService<IReferralStore>();

        NpgsqlException failure;
        await using (var session = await store.BeginAsync(Ct))
        {
            var written = await session.WriteAsync(new UnitOfWork(orders: [new OrderRow(conversion, 1, "{}", null, null, null)]), Ct);
            Assert.Equal(WriteStatus.Written, written.Status);
            Assert.NotNull(await session.FindOrderAsync(Engine.Program, conversion.OrderId, Ct));
            // The session's backend (the only one of the engine in a transaction) is gone before COMMIT is sent.
            Assert.Equal(1, await TerminateAsync(cluster, Direct, "AND state = 'idle in transaction'"));
            failure = await Assert.ThrowsAnyAsync<NpgsqlException>(async () => await session.CommitAsync(Ct));
        }
        Report($"commit on a terminated backend: {ConversionLoad.Describe(failure)}");
        Assert.True(failure.IsTransient, $"A commit on a terminated connection is not transient: {ConversionLoad.Describe(failure)}");
        Assert.Null(await store.FindOrderAsync(Engine.Program, conversion.OrderId, Ct));

        // Sent again, as the store's documentation tells a caller: recorded once.
        var attribution = engine.GetRequiredService<AttributionService>();
        var rewards = engine.GetRequiredService<RewardService>();
        var first = await attribution.RecordConversionAsync(conversion, Ct);
        Assert.True(first.IsAttributed, first.Explain());
        Assert.Equal(new ParticipantId("ref-0"), first.Referrer);
        var decided = (await rewards.FindDecisionAsync(Engine.Program, conversion.OrderId, Ct))!;
        Assert.Equal(1, decided.ReferralNumber);

        // And again: the same decision, nothing new.
        var again = await attribution.RecordConversionAsync(conversion, Ct);
        Assert.Equal(first.Explain(), again.Explain());
        var still = (await rewards.FindDecisionAsync(Engine.Program, conversion.OrderId, Ct))!;
        Assert.Equal((decided.Revision, decided.ReferralNumber, decided.DecidedAt), (still.Revision, still.ReferralNumber, still.DecidedAt));
        Assert.Equal(decided.RewardIds, still.RewardIds);
        var found = await ConversionAudit.AssertConsistentAsync(cluster.ConnectionString(pooling: true), [conversion], owners, Ct);
        Assert.Equal([conversion.OrderId], found);
    }

    [Theory]
    [InlineData(ShutdownMode.Fast)]
    [InlineData(ShutdownMode.Immediate)]
    public async Task A_server_restarted_under_load_loses_no_acknowledged_conversion(ShutdownMode mode)
    {
        const int Orders = 1000, Referrers = 50, Tasks = 8;
        await using var cluster = await PrivateCluster.StartAsync("restart", Ct);
        await using var engine = Engine.Build(cluster.ConnectionString(applicationName: EngineApplication, pooling: true), FaultSchema.Name);
        var (codes, owners) = await IssueCodesAsync(engine, Referrers);
        var orders = Engine.Orders(codes, Orders);
        // While the server is down a call fails at once (connection refused): a short pause keeps retries from spinning.
        var load = new ConversionLoad(engine.GetRequiredService<AttributionService>(), orders, Tasks) { RetryDelay = TimeSpan.FromMilliseconds(20) };

        var elapsed = Stopwatch.StartNew();
        var running = load.RunAsync(Ct);
        await load.WhenAcknowledged(Orders / 3);
        int before = load.Acknowledged.Count;
        var restart = Stopwatch.StartNew();
        await cluster.RestartAsync(mode, Ct);
        restart.Stop();
        await running;
        elapsed.Stop();

        var audit = Stopwatch.StartNew();
        var found = await ConversionAudit.AssertConsistentAsync(cluster.ConnectionString(pooling: true), orders, owners, Ct);
        audit.Stop();
        int missing = load.Acknowledged.Keys.Count(id => !found.Contains(id));
        Report($"restart under load ({mode}): {load.Sent} orders sent from {Tasks} tasks, {load.Attempts} calls, {load.Acknowledged.Count} acknowledged " +
            $"({before} before the restart), {found.Count} found after, {missing} missing; restart (pg_ctl -m {mode.ToString().ToLowerInvariant()}) took {restart.Elapsed.TotalSeconds:F1} s; " +
            $"{load.TransientFailures} transient failures ({load.FailureSummary}); {load.Errors.Count} errors; load {elapsed.Elapsed.TotalSeconds:F1} s, audit {audit.Elapsed.TotalSeconds:F1} s");
        AssertNoErrors(load);
        Assert.Equal(Orders, load.Acknowledged.Count);
        Assert.Equal(0, missing);
        Assert.Equal(Orders, found.Count);
        Assert.True(load.TransientFailures > 0, "No call failed: the restart did not reach the callers.");
    }

    [Fact]
    public async Task A_failover_to_a_synchronous_standby_loses_no_acknowledged_conversion()
    {
        const int Orders = 600, Referrers = 30, Tasks = 6;
        await using var primary = await PrivateCluster.StartAsync("primary", Ct);
        var standby = await primary.CreateStandbyAsync("standby1", Ct);
        await using var engine = Engine.Build(MultiHost(primary, standby), FaultSchema.Name);
        var (codes, owners) = await IssueCodesAsync(engine, Referrers);
        var orders = Engine.Orders(codes, Orders);
        var load = new ConversionLoad(engine.GetRequiredService<AttributionService>(), orders, Tasks) { RetryDelay = TimeSpan.FromMilliseconds(50) };

        var elapsed = Stopwatch.StartNew();
        var running = load.RunAsync(Ct);
        await load.WhenAcknowledged(Orders / 3);
        // The standby stops receiving first, for a moment, as behind a stalled network: with asynchronous replication the
        // primary would go on acknowledging commits the standby never gets (lost at the failover: the audit's "missing");
        // with the standby synchronous, those commits wait, then fail with the primary, and are sent again.
        await primary.PauseWalSenderAsync("standby1", Ct);
        int before = load.Acknowledged.Count;
        await Task.Delay(300, Ct);
        int duringPause = load.Acknowledged.Count - before;
        var failover = Stopwatch.StartNew();
        await primary.StopAsync(ShutdownMode.Immediate, Ct);
        await standby.PromoteAsync(Ct);
        failover.Stop();
        await running;
        elapsed.Stop();

        var audit = Stopwatch.StartNew();
        var found = await ConversionAudit.AssertConsistentAsync(standby.ConnectionString(pooling: true), orders, owners, Ct);
        audit.Stop();
        int missing = load.Acknowledged.Keys.Count(id => !found.Contains(id));
        Report($"failover: {load.Sent} orders sent from {Tasks} tasks, {load.Attempts} calls, {load.Acknowledged.Count} acknowledged " +
            $"({before} before the WAL sender was paused, {duringPause} in the 300 ms the standby received nothing), {found.Count} found on the new primary, {missing} missing; stop -m immediate + promote took " +
            $"{failover.Elapsed.TotalSeconds:F1} s; {load.TransientFailures} transient failures ({load.FailureSummary}); {load.Errors.Count} errors; " +
            $"load {elapsed.Elapsed.TotalSeconds:F1} s, audit {audit.Elapsed.TotalSeconds:F1} s");
        AssertNoErrors(load);
        Assert.Equal(0, missing);
        Assert.Equal(Orders, load.Acknowledged.Count);
        Assert.Equal(Orders, found.Count);
        Assert.True(load.TransientFailures > 0, "No call failed: the failover did not reach the callers.");
    }

    [Fact]
    public async Task A_multi_host_store_that_finds_no_primary_fails_with_a_transient_error_until_the_standby_is_promoted()
    {
        await using var primary = await PrivateCluster.StartAsync("noprimary", Ct);
        var standby = await primary.CreateStandbyAsync("standby1", Ct);
        await using (var first = await PostgreSqlReferralStore.OpenAsync(MultiHost(primary, standby), new PostgreSqlStoreOptions { Schema = FaultSchema.Name }, Ct))
        {
            // Migrated on the primary, streamed to the standby.
        }
        await primary.StopAsync(ShutdownMode.Immediate, Ct);

        // A store started now finds the primary down and the standby a standby: Npgsql says "no suitable host", which it
        // does not mark transient; the store does, as it is what a failover looks like until the standby is promoted.
        await using var engine = Engine.Build(MultiHost(primary, standby), FaultSchema.Name);
        var store = engine.GetRequiredService<IReferralStore>();
        var failures = new List<NpgsqlException>();
        for (int i = 0; i < 3; i++)
        {
            failures.Add(await Assert.ThrowsAnyAsync<NpgsqlException>(async () => await store.FindOrderAsync(Engine.Program, "o-1", Ct)));
        }
        Report("no primary: " + string.Join(" | ", failures.Select(ConversionLoad.Describe)));
        Assert.All(failures, f => Assert.True(f.IsTransient, ConversionLoad.Describe(f)));

        await standby.PromoteAsync(Ct);
        // Sent again as a caller would: the promoted standby is found once Npgsql checks the hosts again (1 s here).
        var retrying = Stopwatch.StartNew();
        int retries = 0;
        while (true)
        {
            try
            {
                Assert.Null(await store.FindOrderAsync(Engine.Program, "o-1", Ct));
                break;
            }
            catch (NpgsqlException e) when (e.IsTransient && retrying.Elapsed < TimeSpan.FromSeconds(15))
            {
                retries++;
                await Task.Delay(100, Ct);
            }
        }
        Report($"no primary: the promoted standby answered after {retries} more transient failures, {retrying.Elapsed.TotalSeconds:F1} s");
    }

    /// <summary>
    /// Both hosts; Npgsql connects to the one that is the primary. Host Recheck Seconds: how long Npgsql trusts what it last
    /// saw of a host (10 s by default) — a standby is seen as a standby until checked again after its promotion.
    /// </summary>
    private static string MultiHost(PrivateCluster primary, PrivateCluster standby) => new NpgsqlConnectionStringBuilder
    {
        Host = $"127.0.0.1:{primary.Port},127.0.0.1:{standby.Port}",
        Username = "postgres",
        Database = "postgres",
        ApplicationName = EngineApplication,
        TargetSessionAttributes = "primary",
        HostRecheckSeconds = 1,
        Timeout = 5,
    }.ConnectionString;

    /// <summary>Issues one code to each referrer ref-0, ref-1, …; returns the codes (as presented) and each one's owner.</summary>
    private static async Task<(string[] Codes, Dictionary<string, ParticipantId> Owners)> IssueCodesAsync(ServiceProvider engine, int referrers)
    {
        var service = engine.GetRequiredService<ReferralCodeService>();
        await service.InitializeAsync(Ct);
        var codes = new string[referrers];
        var owners = new Dictionary<string, ParticipantId>(StringComparer.Ordinal);
        for (int r = 0; r < referrers; r++)
        {
            var owner = new ParticipantId(string.Create(CultureInfo.InvariantCulture, $"ref-{r}"));
            var record = await service.IssueAsync(new CodeRequest { Program = Engine.Program, Owner = owner, Medium = ShareMedium.Sms }, Ct);
            codes[r] = record.Display;
            owners[record.Display] = owner;
        }
        return (codes, owners);
    }

    /// <summary>Terminates the backends of an application (and a condition), waiting until each is gone; returns how many.</summary>
    private static async Task<int> TerminateAsync(PrivateCluster cluster, string application, string condition)
    {
        await using var connection = new NpgsqlConnection(cluster.ConnectionString(applicationName: "referrals-fault-killer"));
        await connection.OpenAsync(Ct);
        await using var kill = new NpgsqlCommand(
            $"SELECT count(*) FILTER (WHERE pg_terminate_backend(pid, 10000)) FROM pg_stat_activity WHERE application_name = @app {condition}", connection);
        kill.Parameters.AddWithValue("app", application);
        return (int)(long)(await kill.ExecuteScalarAsync(Ct))!;
    }

    private static void AssertNoErrors(ConversionLoad load) =>
        Assert.True(load.Errors.Count == 0, $"{load.Errors.Count} calls failed with an error that is not transient, the first:\n{load.FirstError}\nAll:\n{string.Join("\n", load.Errors.Take(20))}");

    private static void Report(string figures) => TestContext.Current.SendDiagnosticMessage(figures);
}

/// <summary>The fault tests' collection: it runs alone, not beside other tests.</summary>
[CollectionDefinition(nameof(FaultTests), DisableParallelization = true)]
public sealed class FaultTestsCollection;
