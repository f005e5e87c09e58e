namespace Referrals.Webhooks;

/// <summary>
/// The event types a webhook delivers, in the body's <c>type</c> and the <c>Referrals-Event-Type</c> header, and as
/// an endpoint's <see cref="WebhookEndpointOptions.Events"/>.
/// </summary>
public static class WebhookEventTypes
{
    /// <summary>A touch of a referral was recorded (a link click, a code entered or scanned, ...): <c>referral.captured</c>.</summary>
    public const string ReferralCaptured = "referral.captured";

    /// <summary>A conversion was decided, or decided anew after a late touch: <c>conversion.decided</c>.</summary>
    public const string ConversionDecided = "conversion.decided";

    /// <summary>A reward's ledger gained an entry (earned, approved, fulfilled, rejected, clawed back, ...): <c>reward.changed</c>.</summary>
    public const string RewardChanged = "reward.changed";

    /// <summary>The three types, in the order above.</summary>
    public static IReadOnlyList<string> All { get; } = [ReferralCaptured, ConversionDecided, RewardChanged];
}

/// <summary>The headers of a webhook delivery besides <see cref="WebhookSignature.HeaderName"/>.</summary>
public static class WebhookHeaders
{
    /// <summary>
    /// <c>Referrals-Event-Id</c>: the event's id, also the body's <c>id</c>; the same on every re-delivery of one event, so a
    /// receiver de-duplicates by it.
    /// </summary>
    public const string EventId = "Referrals-Event-Id";

    /// <summary><c>Referrals-Event-Type</c>: one of <see cref="WebhookEventTypes"/>, also the body's <c>type</c>.</summary>
    public const string EventType = "Referrals-Event-Type";
}
