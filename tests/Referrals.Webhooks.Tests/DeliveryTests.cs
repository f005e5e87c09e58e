using System.Collections.Concurrent;
using System.Text.Json;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using NodaTime.Text;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Storage;
using Referrals.Store.Tests.Support;
using Referrals.Webhooks.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Webhooks.Tests;

/// <summary>
/// Webhook delivery end to end: the real attribution and reward services on a SQLite file, the outbox, the notifier and
/// its HTTP client with retries, and a receiver on Kestrel that fails on purpose.
/// </summary>
public sealed class DeliveryTests
{
    private const string Secret = "whsec_test_0123456789abcdef";
    private const string HealthySecret = "whsec_warehouse_fedcba9876543210";
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task Every_event_reaches_a_receiver_that_fails_30_percent_of_requests_and_restarts_once()
    {
        const int Orders = 200;
        using var temp = new TempDirectory();
        var clock = new FakeClock(Start);
        await using var receiver = new FlakyReceiver(Secret, clock, failureRate: 0.3, seed: 2026);
        await receiver.StartAsync(Ct);
        // A second endpoint that always accepts, with a secret of its own: in this process, the retries the first one
        // causes skip it.
        await using var healthy = new FlakyReceiver(HealthySecret, clock, failureRate: 0, seed: 0);
        await healthy.StartAsync(Ct);
        var recorder = new RecordingNotifier();
        await using var provider = Build(temp.NewDatabasePath(), clock, recorder, static _ => { }, ("shop", receiver.Url, Secret), ("warehouse", healthy.Url, HealthySecret));
        var attribution = provider.GetRequiredService<AttributionService>();
        var rewards = provider.GetRequiredService<RewardService>();
        var codes = new List<ReferralCodeRecord>();
        for (int r = 0; r < 20; r++)
        {
            codes.Add(await provider.GetRequiredService<ReferralCodeService>().IssueAsync(
                new CodeRequest { Program = Program, Owner = new ParticipantId("referrer-" + r), Medium = ShareMedium.Sms }, Ct));
        }

        // Each order presents a referrer's code: a capture, a decision and two rewards earned. The receiver goes away for
        // orders 100 to 119 and comes back on the same port; the lifecycle pass runs every 25 orders, as a scheduler would.
        int redelivered = 0;
        for (int i = 0; i < Orders; i++)
        {
            if (i == 100)
            {
                await receiver.StopAsync();
            }
            if (i == 120)
            {
                await receiver.RestartAsync(Ct);
            }
            var decided = await attribution.RecordConversionAsync(
                NewOrder("o-" + i, "friend-" + i, clock.GetCurrentInstant()) with { PresentedCode = codes[i % codes.Count].Display }, Ct);
            Assert.True(decided.IsAttributed, decided.Explain());
            clock.Advance(Duration.FromMinutes(1));
            if (i % 25 == 24)
            {
                redelivered += (await rewards.ProcessDueAsync(Ct)).Redelivered;
            }
        }
        // The holds end (two approvals per order), and the lifecycle runs until nothing is due.
        clock.Advance(Duration.FromDays(15));
        var store = provider.GetRequiredService<IReferralStore>();
        int passes = 0;
        while (true)
        {
            redelivered += (await rewards.ProcessDueAsync(Ct)).Redelivered;
            passes++;
            clock.Advance(Duration.FromHours(1));
            if ((await store.ListDueNotificationsAsync(clock.GetCurrentInstant() + Duration.FromDays(365), 10, Ct)).Count == 0)
            {
                break;
            }
            Assert.True(passes < 100, "The outbox did not drain in 100 passes.");
        }

        Assert.Empty(await rewards.ListDeadLetteredNotificationsAsync(100, Ct));
        var expected = recorder.Keys();
        Assert.Equal(Orders * 6, expected.Count); // a capture, a decision, two rewards earned and approved per order
        Assert.Equal(expected.Count, expected.Distinct().Count());
        var received = receiver.Events.Values.Select(KeyOf).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(expected.Order(StringComparer.Ordinal), received);
        Assert.Equal(expected.Count, receiver.TimesAccepted.Count);
        Assert.Empty(receiver.BadSignatures);
        Assert.Empty(receiver.IdMismatches);
        Assert.Equal(1, receiver.Restarts);
        Assert.True(receiver.FailuresInjected > 0);
        // The 80 events of the 20 orders while the receiver was down reached it through the outbox, and so did those whose
        // three requests all drew a failure.
        Assert.InRange(redelivered, 4 * 20, expected.Count);
        int duplicates = receiver.Deliveries - receiver.TimesAccepted.Count;
        Assert.Equal(expected.Order(StringComparer.Ordinal), healthy.Events.Values.Select(KeyOf).Order(StringComparer.Ordinal));
        Assert.Equal((expected.Count, expected.Count), (healthy.Requests, healthy.Deliveries));
        Assert.Empty(healthy.BadSignatures);
        TestContext.Current.TestOutputHelper!.WriteLine(
            $"events {expected.Count}, requests {receiver.Requests}, deliveries accepted {receiver.Deliveries}, " +
            $"duplicates {duplicates} (seen by the receiver's de-duplication: each event id counted once), " +
            $"failures injected {receiver.FailuresInjected}, restarts {receiver.Restarts}, delivered by the outbox's lifecycle passes {redelivered}, " +
            $"signatures refused {receiver.BadSignatures.Values.Sum()}; the healthy second endpoint: requests {healthy.Requests}, deliveries {healthy.Deliveries}");
    }

    [Fact]
    public async Task An_endpoint_that_always_fails_ends_dead_lettered_after_MaxAttempts()
    {
        using var temp = new TempDirectory();
        var clock = new FakeClock(Start);
        await using var receiver = new FlakyReceiver(Secret, clock, failureRate: 1.0, seed: 1);
        await receiver.StartAsync(Ct);
        await using var provider = Build(temp.NewDatabasePath(), clock, receiver.Url, recorder: null, o => o.Notifications.MaxAttempts = 3);
        var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(
            new CodeRequest { Program = Program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Sms }, Ct);
        await provider.GetRequiredService<AttributionService>().RecordConversionAsync(NewOrder("o-1", "bob", Start) with { PresentedCode = code.Display }, Ct);

        var rewards = provider.GetRequiredService<RewardService>();
        for (int pass = 0; pass < 10; pass++)
        {
            clock.Advance(Duration.FromHours(1));
            await rewards.ProcessDueAsync(Ct);
        }

        var dead = await rewards.ListDeadLetteredNotificationsAsync(100, Ct);
        Assert.Equal(
            [NotificationKind.ConversionDecided, NotificationKind.RewardChanged, NotificationKind.RewardChanged, NotificationKind.ReferralCaptured],
            dead.Select(n => n.Kind).Order());
        Assert.All(dead, n =>
        {
            Assert.Equal(3, n.Attempts);
            var failure = Assert.Single(n.Failures);
            Assert.Equal(("Referrals.Webhooks.WebhookNotifier", "System.Net.Http.HttpRequestException"), (failure.Notifier, failure.ErrorType));
        });
        // Four events, three attempts of the outbox each, and each attempt a request and its two retries.
        Assert.Equal(4 * 3 * 3, receiver.Requests);
        Assert.Equal(receiver.Requests, receiver.FailuresInjected);
        Assert.Empty(receiver.TimesAccepted);
    }

    [Fact]
    public async Task A_Retry_After_of_an_hour_waits_no_longer_than_MaxRetryDelay()
    {
        using var temp = new TempDirectory();
        var clock = new FakeClock(Start);
        await using var receiver = new FlakyReceiver(Secret, clock, failureRate: 1.0, seed: 1) { RetryAfterSeconds = 3600 };
        await receiver.StartAsync(Ct);
        await using var provider = Build(temp.NewDatabasePath(), clock, receiver.Url, recorder: null, static _ => { });
        var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(
            new CodeRequest { Program = Program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Sms }, Ct);

        // Honoured as asked, the retries would hold this call for hours; the test's own limit would cancel it first.
        using var limit = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        limit.CancelAfter(TimeSpan.FromSeconds(60));
        var started = System.Diagnostics.Stopwatch.StartNew();
        var decided = await provider.GetRequiredService<AttributionService>().RecordConversionAsync(NewOrder("o-1", "bob", Start) with { PresentedCode = code.Display }, limit.Token);

        Assert.True(decided.IsAttributed);
        // Four events, each a request and two retries, every one refused: the change stands and the outbox keeps them.
        Assert.Equal(4 * 3, receiver.Requests);
        Assert.Equal(4, (await provider.GetRequiredService<IReferralStore>().ListDueNotificationsAsync(Start + Duration.FromDays(1), 10, Ct)).Count);
        Assert.InRange(started.Elapsed, TimeSpan.Zero, TimeSpan.FromSeconds(30));
    }

    [Theory]
    [InlineData(null, null)]
    [InlineData(5, 5_000)]
    [InlineData(3600, 20_000)]
    [InlineData(0, null)]
    public void Retry_After_is_honoured_up_to_MaxRetryDelay(int? seconds, int? expectedMilliseconds)
    {
        using var response = new HttpResponseMessage(System.Net.HttpStatusCode.ServiceUnavailable);
        if (seconds is { } s)
        {
            response.Headers.RetryAfter = new System.Net.Http.Headers.RetryConditionHeaderValue(TimeSpan.FromSeconds(s));
        }
        var wait = Microsoft.Extensions.DependencyInjection.WebhooksReferralsBuilderExtensions.RetryAfter(response, TimeProvider.System, TimeSpan.FromSeconds(20));
        Assert.Equal(expectedMilliseconds is { } ms ? TimeSpan.FromMilliseconds(ms) : null, wait);
    }

    private static ServiceProvider Build(string path, IClock clock, Uri url, IReferralNotifier? recorder, Action<Referrals.Programs.ReferralsOptions> configure) =>
        Build(path, clock, recorder, configure, ("shop", url, Secret));

    private static ServiceProvider Build(string path, IClock clock, IReferralNotifier? recorder, Action<Referrals.Programs.ReferralsOptions> configure, params (string Name, Uri Url, string Secret)[] endpoints)
    {
        var services = new ServiceCollection();
        services.AddSingleton(clock);
        if (recorder is not null)
        {
            services.AddSingleton(recorder);
        }
        services.AddReferrals(o =>
            {
                Referrals.Tests.Shared.EngineOptions.Configure(o);
                configure(o);
            })
            .UseSqlite($"Data Source={path}")
            .AddWebhooks(o =>
            {
                foreach (var (name, url, secret) in endpoints)
                {
                    o.Endpoints[name] = new WebhookEndpointOptions { Url = url, Secret = secret };
                }
                o.MaxRetries = 2;
                o.RetryDelay = TimeSpan.FromMilliseconds(1);
                o.MaxRetryDelay = TimeSpan.FromMilliseconds(20);
                o.RequestTimeout = TimeSpan.FromSeconds(5);
            });
        return services.BuildServiceProvider();
    }

    /// <summary>What identifies an event, read from a received body by the receiver's own reading of the fields.</summary>
    private static string KeyOf(JsonElement e)
    {
        var data = e.GetProperty("data");
        return e.GetProperty("type").GetString() switch
        {
            WebhookEventTypes.ReferralCaptured => "captured " + data.GetProperty("touchId").GetString(),
            WebhookEventTypes.ConversionDecided => "decided " + data.GetProperty("orderId").GetString() + " "
                + InstantPattern.ExtendedIso.Parse(data.GetProperty("decidedAt").GetString()!).Value.ToUnixTimeMilliseconds(),
            WebhookEventTypes.RewardChanged => "reward " + data.GetProperty("rewardId").GetString() + " " + data.GetProperty("entryId").GetString(),
            var other => "unknown " + other,
        };
    }

    /// <summary>A notifier that always takes what it is told, recording what identifies each event.</summary>
    private sealed class RecordingNotifier : IReferralNotifier
    {
        private readonly ConcurrentQueue<string> _keys = new();

        public List<string> Keys() => [.. _keys];

        public ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken)
        {
            _keys.Enqueue("captured " + touch.Id);
            return ValueTask.CompletedTask;
        }

        public ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken)
        {
            _keys.Enqueue("decided " + attribution.OrderId + " " + attribution.DecidedAt.ToUnixTimeMilliseconds());
            return ValueTask.CompletedTask;
        }

        public ValueTask OnRewardChangedAsync(RewardEntry entry, CancellationToken cancellationToken)
        {
            _keys.Enqueue("reward " + entry.RewardId + " " + entry.EntryId);
            return ValueTask.CompletedTask;
        }
    }
}
