using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Rewards;

namespace Referrals.Omnichannel;

/// <summary>The scenes of one week of the story that end in an order.</summary>
public enum Scene
{
    /// <summary>A friend scans the QR code on a store receipt and buys online (Offline → Online).</summary>
    ReceiptQrOnline = 1,

    /// <summary>A friend shows a link texted to them at the till (Online → Offline).</summary>
    SmsLinkAtTill = 2,

    /// <summary>A friend clicks an influencer's post and types her vanity code at web checkout (Online → Online).</summary>
    InfluencerCodeOnline = 3,

    /// <summary>A friend buys in store with an employee's code; the POS uploads the sale the next day (Offline → Offline).</summary>
    EmployeeCodePosBatch = 4,

    /// <summary>A referrer's second account uses her own link: blocked by the fraud checks.</summary>
    SelfReferral = 5,

    /// <summary>A friend has the order delivered to the influencer's address: held for review, then approved by support.</summary>
    ReviewedOrder = 6,

    /// <summary>A friend names the referrer's e-mail address at the till, where the cashier looks her up (Offline → Offline).</summary>
    ContactLookupAtTill = 7,
}

/// <summary>One order of the week: the scene it belongs to, its attribution and its rewards as they stand at the end of the week.</summary>
/// <param name="Scene">The scene.</param>
/// <param name="Attribution">The decision for the order (its program, order id, customer, referrer, combination and fraud verdict).</param>
/// <param name="Rewards">The rewards earned on the order, every one with its ledger entries.</param>
public sealed record StoryOrder(Scene Scene, AttributionResult Attribution, IReadOnlyList<Reward> Rewards);

/// <summary>Referrals and rewards of one channel combination, over every week in the database (from the programs' reports by combination, added up).</summary>
/// <param name="Combination">Where the referral was shared and where the friend converted.</param>
/// <param name="Captured">
/// Touches recorded (link clicks, codes at checkout or at the till, look-ups, POS batch rows), whether an order followed or
/// not, by the combination the touch itself makes: where its code was shared and where it was captured.
/// </param>
/// <param name="Attributed">Conversions credited to a referrer.</param>
/// <param name="NewCustomers">Of those, the ones counted as a successful referral: not refunded in full, not rejected in review.</param>
/// <param name="Earned">What the rewards of those conversions were worth when earned, per currency.</param>
/// <param name="Pending">What is still held (return window or review), net, per currency.</param>
/// <param name="Approved">What passed its hold (approved, and paid out by the fulfiller), net, per currency.</param>
/// <param name="ClawedBack">What was taken back after it had been paid out (refunds), per currency, as a positive amount.</param>
public sealed record CombinationTotals(
    ChannelCombination Combination,
    int Captured,
    int Attributed,
    int NewCustomers,
    IReadOnlyList<Money> Earned,
    IReadOnlyList<Money> Pending,
    IReadOnlyList<Money> Approved,
    IReadOnlyList<Money> ClawedBack);

/// <summary>What one run of <see cref="OmnichannelStory.RunAsync"/> did and found: the week it told and the database after it.</summary>
public sealed record StoryResult
{
    /// <summary>The simulated week this run told: 1 for a new database, one more than the last stored week otherwise.</summary>
    public required int Week { get; init; }

    /// <summary>Where the data lives: the full path of the SQLite database file, or the PostgreSQL server, database and schema.</summary>
    public required string DatabasePath { get; init; }

    /// <summary>True when the database held conversions of earlier weeks.</summary>
    public required bool ContinuedFromStoredState { get; init; }

    /// <summary>Codes in the database before this run.</summary>
    public required int CodesBefore { get; init; }

    /// <summary>Conversions (all programs) in the database before this run.</summary>
    public required int ConversionsBefore { get; init; }

    /// <summary>Codes in the database after this run.</summary>
    public required int CodesAfter { get; init; }

    /// <summary>Conversions (all programs) in the database after this run.</summary>
    public required int ConversionsAfter { get; init; }

    /// <summary>Monday 00:00 of the week, in the programs' time zone.</summary>
    public required Instant WeekStart { get; init; }

    /// <summary>The simulated time when the report was made (the week's Sunday night).</summary>
    public required Instant ReportedAt { get; init; }

    /// <summary>The referrers' codes used this week, by referrer: issued in the first week, reused after.</summary>
    public required IReadOnlyDictionary<ParticipantId, ReferralCodeRecord> Codes { get; init; }

    /// <summary>The orders of this week's scenes.</summary>
    public required IReadOnlyList<StoryOrder> Orders { get; init; }

    /// <summary>The next-day POS upload of this week.</summary>
    public required BatchImportResult PosBatch { get; init; }

    /// <summary>Referrals and rewards per channel combination, over every week in the database.</summary>
    public required IReadOnlyList<CombinationTotals> Combinations { get; init; }

    /// <summary>Each referrer's standing, balance included (the sum of their ledger entries), over every week.</summary>
    public required IReadOnlyList<ReferrerSummary> Referrers { get; init; }

    /// <summary>Each referrer's rewards, oldest first, over every week.</summary>
    public required IReadOnlyDictionary<ParticipantId, IReadOnlyList<Reward>> ReferrerRewards { get; init; }

    /// <summary>A referrer's rewards after this run.</summary>
    public IReadOnlyList<Reward> RewardsOf(ParticipantId referrer) => ReferrerRewards[referrer];

    /// <summary>This week's order of a scene.</summary>
    /// <exception cref="InvalidOperationException">The scene produced no order this week.</exception>
    public StoryOrder Order(Scene scene) => Orders.Single(o => o.Scene == scene);

    /// <summary>A referrer's standing after this run.</summary>
    /// <exception cref="InvalidOperationException">The participant is not one of the story's referrers.</exception>
    public ReferrerSummary Referrer(ParticipantId referrer) => Referrers.Single(r => r.Referrer == referrer);
}
