using System.Diagnostics.Metrics;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Notifications;
using Referrals.Rewards;
using Referrals.Tests.Support;
using Referrals.Services;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Notifications;

/// <summary>Tests that count the library's metrics: they run alone, so that no other test adds to the counts.</summary>
[CollectionDefinition(nameof(MetricsCollection), DisableParallelization = true)]
public sealed class MetricsCollection;

/// <summary>The notification metrics: failures, retries, redeliveries and dead letters are counted as they happen.</summary>
[Collection(nameof(MetricsCollection))]
public sealed class NotificationTelemetryTests
{
    [Fact]
    public async Task Failures_retries_redeliveries_and_dead_letters_are_counted()
    {
        var counts = new Dictionary<string, long>(StringComparer.Ordinal);
        using var listener = new MeterListener();
        listener.InstrumentPublished = (instrument, l) =>
        {
            if (instrument.Meter.Name == "Referrals" && instrument.Name.StartsWith("referrals.notif", StringComparison.Ordinal))
            {
                l.EnableMeasurementEvents(instrument);
            }
        };
        listener.SetMeasurementEventCallback<long>((instrument, value, _, _) =>
        {
            lock (counts)
            {
                counts[instrument.Name] = counts.GetValueOrDefault(instrument.Name) + value;
            }
        });
        listener.Start();

        var flaky = new ScriptedNotifier { Failing = true };
        var failing = new ScriptedNotifier { Failing = true };
        var w = new AttributionWorld(p => p.Rewards = new RewardOptions { Rules = [new RewardRuleOptions { Name = "credit", Amount = 10m, Currency = "EUR" }] });
        w.Options.Notifications.MaxAttempts = 2;
        var options = Microsoft.Extensions.Options.Options.Create(w.Options);
        var rewards = new RewardService(options, w.Clock, w.Contract, [], [flaky, failing]);
        var attribution = new AttributionService(options, w.Clock, w.Codes, w.Contract, [flaky, failing]);
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Email);
        var bea = await w.ParticipantAsync("bea");
        // Three notifications (capture, decision, reward), each failing for both notifiers: six failures.
        await attribution.RecordConversionAsync(w.Order("o-1", bea, Monday) with { PresentedCode = code.Display }, Ct);

        flaky.Failing = false;
        w.Clock.Advance(Duration.FromMinutes(1));
        // The second attempt: flaky takes them, the other fails again (three failures) and they are dead-lettered.
        var pass = await rewards.ProcessDueAsync(Ct);

        Assert.Equal((0, 0, 3), (pass.Redelivered, pass.Undelivered, pass.DeadLettered));
        Assert.Equal(3, flaky.Told.Count);
        lock (counts)
        {
            Assert.Equal(9, counts.GetValueOrDefault("referrals.notifier.failures"));
            Assert.Equal(3, counts.GetValueOrDefault("referrals.notifications.retries"));
            Assert.Equal(3, counts.GetValueOrDefault("referrals.notifications.dead_lettered"));
            Assert.Equal(0, counts.GetValueOrDefault("referrals.notifications.redelivered"));
        }

        failing.Failing = false;
        Assert.Equal(3, await rewards.RequeueDeadLetteredNotificationsAsync(await rewards.ListDeadLetteredNotificationsAsync(cancellationToken: Ct), Ct));
        Assert.Equal(3, (await rewards.ProcessDueAsync(Ct)).Redelivered);
        lock (counts)
        {
            Assert.Equal(6, counts.GetValueOrDefault("referrals.notifications.retries"));
            Assert.Equal(3, counts.GetValueOrDefault("referrals.notifications.redelivered"));
            Assert.Equal(3, counts.GetValueOrDefault("referrals.notifications.dead_lettered"));
        }
        Assert.Equal(3, failing.Told.Count);
        Assert.Equal(3, flaky.Told.Count);
    }
}
