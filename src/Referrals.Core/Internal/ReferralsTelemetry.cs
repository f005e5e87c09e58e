using System.Diagnostics;
using System.Diagnostics.Metrics;

namespace Referrals.Internal;

/// <summary>The one <see cref="Meter"/> and <see cref="ActivitySource"/> of the library, both named <c>Referrals</c>. No personal data in tags.</summary>
internal static class ReferralsTelemetry
{
    public const string Name = "Referrals";

    public static class Tags
    {
        public const string Outcome = "referrals.outcome";
        public const string Kind = "referrals.code.kind";
        public const string Limit = "referrals.limit";
    }

    public static readonly Meter Meter = new(Name);
    public static readonly ActivitySource ActivitySource = new(Name);

    public static readonly Counter<long> CodesResolved = Meter.CreateCounter<long>("referrals.codes.resolved", "{code}", "Raw inputs resolved, by outcome.");
    public static readonly Counter<long> CodesIssued = Meter.CreateCounter<long>("referrals.codes.issued", "{code}", "Codes issued, by kind.");
    public static readonly Counter<long> CodeCollisions = Meter.CreateCounter<long>("referrals.codes.collisions", "{draw}", "Drawn codes refused by the store because they exist.");

    public static readonly Counter<long> TouchesCaptured = Meter.CreateCounter<long>("referrals.touches.captured", "{touch}", "Touches of referrals recorded.");
    public static readonly Counter<long> ConversionsDecided = Meter.CreateCounter<long>("referrals.conversions.attributed", "{conversion}", "Conversions decided, by outcome.");
    public static readonly Counter<long> NotificationsRedelivered = Meter.CreateCounter<long>("referrals.notifications.redelivered", "{notification}", "Pending notifications a lifecycle pass delivered to every notifier not told before (after a failure, or left by a process that stopped).");
    public static readonly Counter<long> NotificationRetries = Meter.CreateCounter<long>("referrals.notifications.retries", "{attempt}", "Delivery attempts of pending notifications by a lifecycle pass.");
    public static readonly Counter<long> NotificationsDeadLettered = Meter.CreateCounter<long>("referrals.notifications.dead_lettered", "{notification}", "Notifications moved to the dead-letter state after their last allowed attempt failed.");

    public static readonly Counter<long> NotifierFailures = Meter.CreateCounter<long>("referrals.notifier.failures", "{failure}", "Exceptions thrown by notifiers, caught and logged; the notification is kept for another attempt.");

    public static readonly Counter<long> RewardsEarned = Meter.CreateCounter<long>("referrals.rewards.earned", "{reward}", "Rewards earned (pending).");
    public static readonly Counter<long> RewardsFulfilled = Meter.CreateCounter<long>("referrals.rewards.fulfilled", "{reward}", "Rewards the fulfiller delivered.");
    public static readonly Counter<long> RefundsIgnored = Meter.CreateCounter<long>("referrals.refunds.ignored", "{refund}", "Refunds recorded before their order in another currency than the order's: kept, refunding nothing.");
    public static readonly Counter<long> FulfilmentFailures = Meter.CreateCounter<long>("referrals.rewards.fulfilment_failures", "{failure}", "Exceptions thrown by the fulfiller, caught, logged and retried.");

    public static readonly Counter<long> FraudVerdicts = Meter.CreateCounter<long>("referrals.fraud.verdicts", "{conversion}", "Referred conversions assessed, by verdict.");
    public static readonly Counter<long> FraudCheckFailures = Meter.CreateCounter<long>("referrals.fraud.check_failures", "{failure}", "Exceptions thrown by fraud checks, caught and logged.");
    public static readonly Counter<long> CodeGuessesRefused = Meter.CreateCounter<long>("referrals.fraud.guesses_refused", "{lookup}", "Code look-ups refused because their source, or their program as a whole, failed too often; by limit (source or program).");

    public static readonly KeyValuePair<string, object?> Attributed = new(Tags.Outcome, "attributed");
    public static readonly KeyValuePair<string, object?> NotAttributed = new(Tags.Outcome, "not_attributed");

    public static readonly KeyValuePair<string, object?> Found = new(Tags.Outcome, "found");
    public static readonly KeyValuePair<string, object?> NotFound = new(Tags.Outcome, "not_found");
    public static readonly KeyValuePair<string, object?> Malformed = new(Tags.Outcome, "malformed");
    public static readonly KeyValuePair<string, object?> CheckFailed = new(Tags.Outcome, "check_failed");

    public static readonly KeyValuePair<string, object?> SourceLimit = new(Tags.Limit, "source");
    public static readonly KeyValuePair<string, object?> ProgramLimit = new(Tags.Limit, "program");
}
