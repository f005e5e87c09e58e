using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Fraud;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Sqlite;
using Referrals.Storage;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// A file written before the narrow contract (schema 4) carries its decided orders and ledger entries over as format-0
/// documents wrapping the old columns; the engine on the contract reads them as the old store read those columns.
/// </summary>
public sealed class SqliteLegacyDocumentTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task A_version_4_files_attribution_reward_decision_and_ledger_entry_read_as_the_old_columns_held_them()
    {
        string path = _directory.NewDatabasePath();
        long t = Start.ToUnixTimeTicks();
        long hold = (Start + Duration.FromDays(14)).ToUnixTimeTicks();
        string detail = $$"""
            {"amount":"49.90","currency":"EUR","channel":2,"store_id":"store-7","medium":3,"capture_method":4,"touch_id":"t-1","combination":1,
             "chain":["ana","zoe"],"touches":[{"id":"t-1","kind":4,"referrer":"ana","event_time":{{t - 100}},"verdict":0}],
             "fraud":{"verdict":2,"score":40,"review_at":30,"block_at":80,"assessed_at":{{t}},"signals":[{"name":"self_referral.device","score":40,"evidence":"device seen"}] } }
            """;
        string terms = $$"""
            {"role":0,"level":1,"kind":1,"item":null,"rule":"credit","tier":"base","referral_number":3,"percent_of_order":true,
             "order_amount":"49.90","order_currency":"EUR","boosts":["weekend"],"capped_by":"monthly","before_cap":"12.50",
             "before_cap_currency":"EUR","conversion_time":{{t}},"hold_until":{{hold}},"held_for_review":true}
            """;
        string decision = """
            {"chain":["ana","zoe"],"referral_number":3,"counted":true,"reward_ids":["o-1#1:credit"],
             "skipped":[{"rule":"friend","beneficiary":"bob","reason":2,"detail":"cap reached"}]}
            """;
        SqliteFiles.Write(path, 4, $"""
                INSERT INTO conversions (program, order_id, customer, amount, currency, event_time, channel, store_id,
                                         attribution_customer, conversion_time, reason, is_repeat, referrer, code, decided_at, attribution_detail)
                VALUES ('customers', 'o-1', 'bob', '49.90', 'EUR', {t}, 2, 'store-7', 'bob', {t}, 0, 0, 'ana', 'ANA2026', {t + 5}, '{detail}');
                INSERT INTO reward_decisions (program, order_id, revision, referrer, referral_seq, decided_at, detail)
                VALUES ('customers', 'o-1', 2, 'ana', 3, {t + 5}, '{decision}');
                INSERT INTO reward_accounts (program, beneficiary, version) VALUES ('customers', 'ana', 1);
                INSERT INTO reward_entries (seq, program, entry_id, reward_id, beneficiary, order_id, type, amount, currency, recorded_at, actor, reason, reference, terms)
                VALUES (1, 'customers', 'o-1#1:credit:earned', 'o-1#1:credit', 'ana', 'o-1', {(int)RewardEntryType.Earned}, '12.50', 'EUR', {t + 5}, 'mia', 'held', 'ref-1', '{terms}');
                INSERT INTO pending_notifications (id, kind, program, order_id, entry_id, reward_id, recorded_at)
                VALUES ('n-2', 2, 'customers', 'o-1', 'o-1#1:credit:earned', 'o-1#1:credit', {t});
                """);

        var clock = new FakeClock(Start + Duration.FromMinutes(2));
        var recorder = new EntryRecorder();
        await using var provider = SqliteEngine.Build(path, clock, recorder);

        var attribution = await provider.GetRequiredService<AttributionService>().FindAttributionAsync(Program, "o-1", Ct);
        var decided = await provider.GetRequiredService<RewardService>().FindDecisionAsync(Program, "o-1", Ct);
        Assert.Equal(1, (await provider.GetRequiredService<RewardService>().ProcessDueAsync(Ct)).Redelivered);

        Assert.NotNull(attribution);
        Assert.Equal(OldAttribution, Shape(attribution));
        Assert.Equal((new Money(49.90m, "EUR"), "store-7", "t-1", "ana,zoe", 1), (attribution.Amount, attribution.StoreId, attribution.TouchId, string.Join(',', attribution.Chain), attribution.Touches.Count));
        Assert.Equal(("self_referral.device", FraudVerdict.Review), (Assert.Single(attribution.Fraud!.Signals).Name, attribution.Fraud.Verdict));
        Assert.NotNull(decided);
        Assert.Equal(OldDecision, Shape(decided));
        Assert.Equal(OldEntry, Shape(Assert.Single(recorder.Entries)));
    }

    // What the old store interfaces read from the v6 columns of this file, before version 9 dropped them (the test
    // compared the two readings until then, on the same Core reader of format-0 documents, which this change leaves as
    // it was).
    private const string OldAttribution = """
        customers|o-1|bob|2026-11-23T09:00:00Z|49.90 EUR|Offline|store-7|attributed|False|ana|ANA2026|2026-11-23T09:00:00Z|Sms|PosContactLookup|t-1|OnlineToOnline|ana,zoe|t-1/PosContactLookup/ana/2026-11-23T08:59:59Z/0|Review/40/30/80/2026-11-23T09:00:00Z/self_referral.device/40/device seen|Order o-1 of bob (49.90 EUR, Offline store store-7) at 2026-11-23T09:00:00Z: credited to ana via PosContactLookup of a Sms referral (code ANA2026), OnlineToOnline; chain ana <- zoe.
        Fraud verdict Review: score 40 (review from 30, block from 80):
          self_referral.device (+40): device seen
          2026-11-23T08:59:59Z PosContactLookup -> ana: 0
        """;

    private const string OldDecision = """
        customers|o-1|2|ana|2026-11-23T09:00:00Z|ana,zoe|1|True|o-1#1:credit|friend/bob/ValueCapReached/cap reached
        """;

    private const string OldEntry = """
        customers|o-1#1:credit|o-1#1:credit:earned|2026-11-23T09:00:00Z|ana|o-1|Earned|12.50 EUR|mia|held|ref-1|0/1/AccountCredit//credit/base/3/True/49.90 EUR/weekend/monthly/12.50 EUR/2026-11-23T09:00:00Z/2026-12-07T09:00:00Z/True
        """;

    private static string Shape(AttributionResult a) =>
        string.Join('|', a.Program, a.OrderId, a.Customer, a.ConversionTime, a.Amount, a.ConversionChannel, a.StoreId, a.Reason?.ToString() ?? "attributed", a.IsRepeat,
            a.Referrer, a.Code, a.DecidedAt, a.Medium, a.CaptureMethod, a.TouchId, a.Combination, string.Join(',', a.Chain),
            string.Join(',', a.Touches.Select(t => $"{t.TouchId}/{t.Kind}/{t.Referrer}/{t.EventTime}/{t.Verdict}")), a.Fraud is { } f ? $"{f.Verdict}/{f.Score}/{f.ReviewAt}/{f.BlockAt}/{f.AssessedAt}/{string.Join(',', f.Signals.Select(s => $"{s.Name}/{s.Score}/{s.Evidence}"))}" : "-",
            a.Explain());

    private static string Shape(RewardDecision d) =>
        string.Join('|', d.Program, d.OrderId, d.Revision, d.Referrer, d.DecidedAt, string.Join(',', d.Chain), d.ReferralNumber, d.Counted,
            string.Join(',', d.RewardIds), string.Join(',', d.Skipped.Select(s => $"{s.Rule}/{s.Beneficiary}/{s.Reason}/{s.Detail}")));

    private static string Shape(RewardEntry e) =>
        string.Join('|', e.Program, e.RewardId, e.EntryId, e.RecordedAt, e.Beneficiary, e.OrderId, e.Type, e.Amount, e.Actor, e.Reason, e.Reference,
            e.Terms is { } t
                ? $"{t.Role}/{t.Level}/{t.Kind}/{t.Item}/{t.Rule}/{t.Tier}/{t.ReferralNumber}/{t.PercentOfOrder}/{t.OrderAmount}/{string.Join(',', t.Boosts)}/{t.CappedBy}/{t.BeforeCap}/{t.ConversionTime}/{t.HoldUntil}/{t.HeldForReview}"
                : "-");

    private sealed class EntryRecorder : Referrals.Notifications.IReferralNotifier
    {
        public List<RewardEntry> Entries { get; } = [];

        public ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken) => ValueTask.CompletedTask;

        public ValueTask OnRewardChangedAsync(RewardEntry entry, CancellationToken cancellationToken)
        {
            Entries.Add(entry);
            return ValueTask.CompletedTask;
        }
    }
}
