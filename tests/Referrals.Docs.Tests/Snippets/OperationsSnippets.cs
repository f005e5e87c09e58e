// The snippets show a host's code, which passes no test cancellation token where one is optional.
#pragma warning disable xUnit1051

using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Notifications;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Sqlite;
using Referrals.Storage;

namespace Referrals.Docs;

/// <summary>
/// The code of docs/operations.md, run: backups of the SQLite file, several processes on one file, the reward pass with an
/// idempotent fulfiller and notifier, retries and dead letters of notifications, what may be sent again, the metrics.
/// </summary>
public sealed class OperationsSnippets
{
    private static readonly ProgramId Customers = new("customers");

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A program that pays the referrer 10 EUR per referral, held for 14 days (the default hold).</summary>
    private static void TenEuros(ReferralsOptions o) => o.Programs["customers"] = new ProgramOptions
    {
        TimeZone = "Europe/Berlin",
        Rewards = new RewardOptions { Rules = [new RewardRuleOptions { Name = "thanks", Amount = 10m, Currency = "EUR" }] },
    };

    private static async Task<AttributionResult> ReferAsync(DocsServices app, string orderId, string friend)
    {
        var code = await app.Get<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("anna") }, Ct);
        return await app.Get<AttributionService>().RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = orderId, Customer = new ParticipantId(friend), PresentedCode = code.Display,
            Amount = new Money(49.90m, "EUR"), EventTime = app.Clock.GetCurrentInstant(),
        }, Ct);
    }

    [Fact]
    public async Task ABackupIsTakenWhileTheAppRuns()
    {
        await using var app = await DocsServices.StartAsync(TenEuros);
        string databasePath = Path.Combine(app.Folder!.FullName, "referrals.db");
        string backupPath = Path.Combine(app.Folder!.FullName, "backup-2026-11-23.db");
        await ReferAsync(app, "web-1001", "ben");

        #region Operations.Backup
        await using var connection = new SqliteConnection($"Data Source={databasePath};Mode=ReadWrite;Pooling=False");
        await connection.OpenAsync();
        await using var backup = connection.CreateCommand();
        backup.CommandText = "VACUUM INTO $target;";   // one read transaction: a consistent copy of every commit so far
        backup.Parameters.AddWithValue("$target", backupPath);
        await backup.ExecuteNonQueryAsync();
        #endregion

        // Written after the backup: not in it.
        await ReferAsync(app, "web-1002", "cleo");

        // The copy is a database of its own: the store opens it, with the order recorded before the backup and not the one after.
        using (var copy = SqliteReferralStore.OpenFile(backupPath))
        {
            IReferralStore store = copy;
            Assert.NotNull(await store.FindOrderAsync(Customers, "web-1001", Ct));
            Assert.Null(await store.FindOrderAsync(Customers, "web-1002", Ct));
        }

        // VACUUM INTO refuses to overwrite a file.
        var again = Assert.Throws<SqliteException>(() => backup.ExecuteNonQuery());
        Assert.Contains("output file already exists", again.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheOnlineBackupApiWorksOnTheWalFileToo()
    {
        await using var app = await DocsServices.StartAsync(TenEuros);
        string databasePath = Path.Combine(app.Folder!.FullName, "referrals.db");
        string backupPath = Path.Combine(app.Folder!.FullName, "backup.db");
        await ReferAsync(app, "web-1001", "ben");

        await using (var source = new SqliteConnection($"Data Source={databasePath};Mode=ReadWrite;Pooling=False"))
        await using (var target = new SqliteConnection($"Data Source={backupPath};Pooling=False"))
        {
            await source.OpenAsync(Ct);
            await target.OpenAsync(Ct);
            source.BackupDatabase(target);
        }
        using var copy = SqliteReferralStore.OpenFile(backupPath);
        Assert.NotNull(await ((IReferralStore)copy).FindOrderAsync(Customers, "web-1001", Ct));
    }

    [Fact]
    public async Task AnotherProcessesCodesResolveAfterARefresh()
    {
        await using var app = await DocsServices.StartAsync(TenEuros);
        string databasePath = Path.Combine(app.Folder!.FullName, "referrals.db");
        // A second "process": its own container and store instance on the same file.
        var services = new ServiceCollection();
        services.AddSingleton<NodaTime.IClock>(app.Clock);
        services.AddReferrals(TenEuros).UseSqlite($"Data Source={databasePath}");
        await using var other = services.BuildServiceProvider();
        var elsewhere = other.GetRequiredService<ReferralCodeService>();
        await elsewhere.InitializeAsync(Ct);
        var codes = app.Get<ReferralCodeService>();

        var issued = await elsewhere.IssueAsync(new CodeRequest { Program = Customers, Owner = new ParticipantId("dana") }, Ct);
        Assert.Equal(CodeResolutionOutcome.NotFound, codes.Resolve(issued.Display).Outcome);

        // A conversion presenting it here before the refresh finds it in the store: credited, with the code kept.
        var early = await app.Get<AttributionService>().RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = "web-0999", Customer = new ParticipantId("erik"), PresentedCode = issued.Display,
            Amount = new Money(49.90m, "EUR"), EventTime = app.Clock.GetCurrentInstant(),
        }, Ct);
        Assert.True(early.IsAttributed);
        Assert.Equal(new ParticipantId("dana"), early.Referrer);
        Assert.Equal(issued.Code.Value, (await app.Get<IReferralStore>().FindOrderAsync(Customers, "web-0999", Ct))!.Conversion.PresentedCode);

        #region Operations.Refresh
        int changed = await codes.RefreshAsync();   // reads the codes other processes issued or changed since the last call
        #endregion

        Assert.Equal(1, changed);
        Assert.Equal(CodeResolutionOutcome.Found, codes.Resolve(issued.Display).Outcome);

        // A pause made elsewhere is seen here after the next refresh, not before.
        await elsewhere.PauseAsync(issued.Code, Ct);
        Assert.Equal(CodeState.Active, codes.Resolve(issued.Display).State);
        Assert.Equal(1, await codes.RefreshAsync(Ct));
        Assert.Equal(CodeState.Paused, codes.Resolve(issued.Display).State);
    }

    [Fact]
    public async Task TheBackgroundServicesAreRegistered()
    {
        var folder = Directory.CreateTempSubdirectory("referrals-docs-");
        try
        {
            var configuration = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["Referrals:Programs:customers:TimeZone"] = "Europe/Berlin",
            }).Build();
            string databasePath = Path.Combine(folder.FullName, "referrals.db");
            var services = new ServiceCollection();

            #region Operations.RewardProcessing
            services.AddReferrals(configuration)
                .UseSqlite($"Data Source={databasePath}")   // also loads the code index at start and refreshes it every 2 s
                .AddRewardProcessing();                      // a reward pass at start, then every minute
            #endregion

            await using var provider = services.BuildServiceProvider();
            Assert.Equal(
                ["CodeIndexService", "RewardProcessingService"],
                provider.GetServices<IHostedService>().Select(s => s.GetType().Name).Order(StringComparer.Ordinal));
        }
        finally
        {
            SqliteConnection.ClearAllPools();
            folder.Delete(recursive: true);
        }
    }

    [Fact]
    public async Task TheRewardPassApprovesWhenTheHoldEndsAndFulfilsOnce()
    {
        await using var app = await DocsServices.StartAsync(TenEuros, services: s => s
            .AddSingleton<ShopWallet>()
            .AddSingleton<IRewardFulfiller, StoreCreditFulfiller>());
        await ReferAsync(app, "web-1001", "ben");
        var rewards = app.Get<RewardService>();
        var wallet = app.Get<ShopWallet>();

        Assert.Equal(0, (await rewards.ProcessDueAsync(Ct)).Approved);   // held for 14 days
        app.Clock.Advance(NodaTime.Duration.FromDays(14));

        #region Operations.ProcessDue
        var pass = await rewards.ProcessDueAsync();
        Console.WriteLine($"{pass.Approved} approved, {pass.Fulfilled} fulfilled, {pass.Failed} failed; notifications: "
            + $"{pass.Redelivered} delivered again, {pass.Undelivered} still failing, {pass.DeadLettered} dead-lettered");
        #endregion

        Assert.Equal((1, 1, 0, 0, 0, 0), (pass.Approved, pass.Fulfilled, pass.Failed, pass.Redelivered, pass.Undelivered, pass.DeadLettered));
        var reward = Assert.Single(await rewards.ListOrderRewardsAsync(Customers, "web-1001", Ct));
        Assert.Equal(RewardStatus.Fulfilled, reward.Status);
        Assert.Equal("credit-1", reward.FulfilmentReference);

        // Called again for the same reward (a crash after the credit, another process's pass): credited once.
        var fulfiller = app.Get<IRewardFulfiller>();
        Assert.Equal("credit-1", await fulfiller.FulfilAsync(reward, Ct));
        Assert.Equal(1, wallet.Credits);
        var idle = await rewards.ProcessDueAsync(Ct);
        Assert.Equal((0, 0), (idle.Approved, idle.Fulfilled));
    }

    [Fact]
    public async Task ANotifierIsToldOncePerEntryEvenWhenDeliveredTwice()
    {
        await using var app = await DocsServices.StartAsync(TenEuros, services: s => s
            .AddSingleton<SentMail>()
            .AddSingleton<IReferralNotifier, RewardMailer>());
        await ReferAsync(app, "web-1001", "ben");
        var sent = app.Get<SentMail>();
        Assert.Equal(["anna: You earned 10.00 EUR (pending until it is approved)."], sent.Messages);

        var earned = Assert.Single(await app.Get<RewardService>().ListOrderRewardsAsync(Customers, "web-1001", Ct)).Entries[0];
        await app.Get<IReferralNotifier>().OnRewardChangedAsync(earned, Ct);   // delivered a second time
        Assert.Single(sent.Messages);
    }

    [Fact]
    public async Task AFailedNotificationIsTriedAgainAfterThirtySeconds()
    {
        var flaky = new FlakyNotifier { FailuresLeft = int.MaxValue };
        await using var app = await DocsServices.StartAsync(TenEuros, services: s => s.AddSingleton<IReferralNotifier>(flaky));
        await ReferAsync(app, "web-1001", "ben");
        int kept = flaky.Failed;
        Assert.True(kept > 0);
        flaky.FailuresLeft = 0;
        var rewards = app.Get<RewardService>();

        Assert.Equal(0, (await rewards.ProcessDueAsync(Ct)).Redelivered);   // not due yet
        app.Clock.Advance(NodaTime.Duration.FromSeconds(30));
        var pass = await rewards.ProcessDueAsync(Ct);
        Assert.Equal((kept, 0, 0), (pass.Redelivered, pass.Undelivered, pass.DeadLettered));
        Assert.Equal(kept, flaky.Told);
    }

    [Fact]
    public async Task DeadLettersAreListedAndRequeued()
    {
        var flaky = new FlakyNotifier { FailuresLeft = int.MaxValue };
        await using var app = await DocsServices.StartAsync(
            o => { TenEuros(o); o.Notifications.MaxAttempts = 2; },
            services: s => s.AddSingleton<IReferralNotifier>(flaky));
        await ReferAsync(app, "web-1001", "ben");
        int kept = flaky.Failed;
        var rewards = app.Get<RewardService>();
        app.Clock.Advance(NodaTime.Duration.FromSeconds(30));
        Assert.Equal(kept, (await rewards.ProcessDueAsync(Ct)).DeadLettered);
        flaky.FailuresLeft = 0;   // the notifier is fixed

        #region Operations.DeadLetters
        var deadLetters = await rewards.ListDeadLetteredNotificationsAsync(limit: 100);
        foreach (var n in deadLetters)
        {
            Console.WriteLine($"{n.Kind} of order {n.OrderId}: {n.Attempts} attempts, last at {n.LastAttemptAt}; "
                + $"failed for {string.Join(", ", n.Failures.Select(f => $"{f.Notifier} ({f.ErrorType})"))}");
        }
        // Once the notifier is fixed: due now, with attempts counted from zero; the next pass delivers them.
        int requeued = await rewards.RequeueDeadLetteredNotificationsAsync(deadLetters);
        #endregion

        Assert.Equal(kept, deadLetters.Count);
        Assert.All(deadLetters, n =>
        {
            Assert.Equal(2, n.Attempts);
            Assert.Equal(new NotifierFailure(typeof(FlakyNotifier).FullName!, "System.Net.Http.HttpRequestException"), Assert.Single(n.Failures));
        });
        Assert.Equal(kept, requeued);
        Assert.Equal(kept, (await rewards.ProcessDueAsync(Ct)).Redelivered);
        Assert.Empty(await rewards.ListDeadLetteredNotificationsAsync(cancellationToken: Ct));
    }

    [Fact]
    public async Task WhatIsSentAgainIsRecordedOnce()
    {
        await using var app = await DocsServices.StartAsync(TenEuros);
        var program = Customers;
        var clock = app.Clock;
        var attribution = app.Get<AttributionService>();
        var rewards = app.Get<RewardService>();
        var code = await app.Get<ReferralCodeService>().IssueAsync(new CodeRequest { Program = program, Owner = new ParticipantId("anna") }, Ct);

        #region Operations.SendAgain
        var order = new Conversion
        {
            Program = program, OrderId = "web-7001", Customer = new ParticipantId("ben"), PresentedCode = code.Display,
            Amount = new Money(49.90m, "EUR"), EventTime = clock.GetCurrentInstant(),
        };
        var first = await attribution.RecordConversionAsync(order);
        var again = await attribution.RecordConversionAsync(order);   // sent again after a timeout: the decision made, nothing new

        var refund = new Refund
        {
            Program = program, OrderId = "web-7001", RefundId = "rf-7001", Amount = new Money(49.90m, "EUR"),
            EventTime = clock.GetCurrentInstant(),
        };
        var refunded = await rewards.RecordRefundAsync(refund);        // RefundOutcome.Recorded
        var refundedAgain = await rewards.RecordRefundAsync(refund);   // RefundOutcome.Duplicate
        #endregion

        Assert.True(first.IsAttributed);
        Assert.Equal((first.Referrer, first.DecidedAt), (again.Referrer, again.DecidedAt));
        Assert.Equal(RefundOutcome.Recorded, refunded.Outcome);
        Assert.Equal(RefundOutcome.Duplicate, refundedAgain.Outcome);
        Assert.Empty(refundedAgain.Entries);
        var reward = Assert.Single(await rewards.ListOrderRewardsAsync(program, "web-7001", Ct));
        Assert.Equal(RewardStatus.Revoked, reward.Status);
    }

    [Fact]
    public async Task TheMetricsCanBeReadWithAMeterListener()
    {
        #region Operations.MeterListener
        var seen = new ConcurrentQueue<string>();
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Referrals")
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, tags, _) =>
            seen.Enqueue($"{instrument.Name} {instrument.Unit} +{value} {string.Join(' ', tags.ToArray().Select(t => $"{t.Key}={t.Value}"))}"));
        listener.Start();
        #endregion

        await using var app = await DocsServices.StartAsync(TenEuros);
        await ReferAsync(app, "web-1001", "ben");
        Assert.Contains("referrals.codes.issued {code} +1 referrals.code.kind=generated", seen);
        Assert.Contains("referrals.codes.resolved {code} +1 referrals.outcome=found", seen);
        Assert.Contains("referrals.conversions.attributed {conversion} +1 referrals.outcome=attributed", seen);
        Assert.Contains("referrals.fraud.verdicts {conversion} +1 referrals.outcome=allow", seen);
        Assert.Contains("referrals.rewards.earned {reward} +1 ", seen);
    }

    /// <summary>Stands for the shop's wallet in the docs: credits once per idempotency key and returns the credit's reference.</summary>
    public sealed class ShopWallet
    {
        private readonly ConcurrentDictionary<string, string> _credits = new(StringComparer.Ordinal);

        public int Credits => _credits.Count;

        public Task<string> CreditOnceAsync(string idempotencyKey, ParticipantId customer, Money amount, CancellationToken cancellationToken)
        {
            lock (_credits)
            {
                return Task.FromResult(_credits.GetOrAdd(idempotencyKey, _ => $"credit-{_credits.Count + 1}"));
            }
        }
    }

    #region Operations.Fulfiller
    public sealed class StoreCreditFulfiller(ShopWallet wallet) : IRewardFulfiller
    {
        // Called at least once per approved reward: again after a crash or a failed write, and by two processes' passes
        // at once. The reward id is the wallet's idempotency key, so the customer is credited once.
        public async ValueTask<string?> FulfilAsync(Reward reward, CancellationToken cancellationToken) =>
            await wallet.CreditOnceAsync(reward.Id, reward.Beneficiary, reward.Net, cancellationToken);
    }
    #endregion

    /// <summary>Stands for the shop's mail queue in the docs: one message per key.</summary>
    public sealed class SentMail
    {
        private readonly ConcurrentDictionary<string, string> _byKey = new(StringComparer.Ordinal);

        public IReadOnlyList<string> Messages => [.. _byKey.Values];

        public Task SendOnceAsync(string key, ParticipantId to, string text, CancellationToken cancellationToken)
        {
            _byKey.TryAdd(key, $"{to}: {text}");
            return Task.CompletedTask;
        }
    }

    #region Operations.Notifier
    public sealed class RewardMailer(SentMail mail) : IReferralNotifier
    {
        public ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        // At least once: an entry may come twice (the process stopped before it recorded the delivery, two processes'
        // passes overlapped). The reward id and entry id name the entry: one mail per entry.
        public async ValueTask OnRewardChangedAsync(RewardEntry entry, CancellationToken cancellationToken)
        {
            if (entry.Type == RewardEntryType.Earned)
            {
                await mail.SendOnceAsync($"{entry.RewardId}/{entry.EntryId}", entry.Beneficiary,
                    $"You earned {entry.Amount} (pending until it is approved).", cancellationToken);
            }
        }
    }
    #endregion

    /// <summary>A notifier that throws while <see cref="FailuresLeft"/> is above 0, as a web hook does while its endpoint is down.</summary>
    private sealed class FlakyNotifier : IReferralNotifier
    {
        private int _failed;
        private int _told;

        public int FailuresLeft { get; set; }

        public int Failed => Volatile.Read(ref _failed);

        public int Told => Volatile.Read(ref _told);

        public ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken) => Take();

        public ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken) => Take();

        public ValueTask OnRewardChangedAsync(RewardEntry entry, CancellationToken cancellationToken) => Take();

        private ValueTask Take()
        {
            if (FailuresLeft > 0)
            {
                FailuresLeft--;
                Interlocked.Increment(ref _failed);
                throw new HttpRequestException("The endpoint is down.");
            }
            Interlocked.Increment(ref _told);
            return ValueTask.CompletedTask;
        }
    }
}
