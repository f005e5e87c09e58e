using Microsoft.Data.Sqlite;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Sqlite;
using Referrals.Storage;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// A file written before the narrow contract (schema 4) has orders and a ledger but none of the reward rows and summaries
/// the engine reads instead of histories: opening it through the engine builds them once, so the referrer's standing,
/// the reward pass, referral numbers and the fraud history go on from where the old engine left them.
/// </summary>
public sealed class SqliteUpgradeRebuildTests : IDisposable
{
    private static readonly ParticipantId Ana = new("ana");
    private static readonly ParticipantId Bob = new("bob");

    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task A_version_4_files_rewards_and_referrals_go_on_where_the_old_engine_left_them()
    {
        string path = WriteVersion4File();
        var clock = new FakeClock(Start + Duration.FromDays(16));

        await using (var provider = SqliteEngine.Build(path, clock))
        {
            var rewards = provider.GetRequiredService<RewardService>();
            var ana = await rewards.GetReferrerSummaryAsync(Program, Ana, Ct);
            // o-1 approved, o-2 on hold, o-3 refunded in full (cancelled: revoked, no longer counted); o-4 is bob's repeat.
            Assert.Equal(2, ana.SuccessfulReferrals);
            Assert.Equal((1, new Money(10m, "EUR")), (ana.Approved.Count, Assert.Single(ana.Approved.Amounts)));
            Assert.Equal((1, new Money(10m, "EUR")), (ana.Pending.Count, Assert.Single(ana.Pending.Amounts)));
            Assert.Equal(1, ana.Revoked.Count);
            Assert.Equal([new Money(20m, "EUR")], ana.Balance);
            Assert.Equal([new Money(5m, "EUR")], (await rewards.GetReferrerSummaryAsync(Program, Bob, Ct)).Balance);
            Assert.Equal((3, 1), Counts(await provider.GetRequiredService<Referrals.Fraud.IFraudHistory>().GetReferredOrderStatsAsync(Program, Ana, Ct)));

            // The reward pass finds o-2's two rewards through the due index: their hold ended on day 15.
            Assert.Equal(2, (await rewards.ProcessDueAsync(Ct)).Approved);
            Assert.Equal(RewardStatus.Approved, Assert.Single(await rewards.ListOrderRewardsAsync(Program, "o-2", Ct), r => r.Beneficiary == Ana).Status);

            // The next referral is ana's third counted one, and bob, whom ana referred before, buys again as a repeat.
            var code = await provider.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Program, Owner = Ana }, Ct);
            var attribution = provider.GetRequiredService<AttributionService>();
            var erin = await attribution.RecordConversionAsync(NewOrder("o-5", "erin", clock.GetCurrentInstant()) with { PresentedCode = code.Display }, Ct);
            Assert.True(erin.IsAttributed);
            Assert.Equal(3, (await rewards.FindDecisionAsync(Program, "o-5", Ct))!.ReferralNumber);
            var again = await attribution.RecordConversionAsync(NewOrder("o-6", "bob", clock.GetCurrentInstant()) with { PresentedCode = code.Display }, Ct);
            Assert.Equal(((NotAttributedReason?)null, true, Ana), (again.Reason, again.IsRepeat, again.Referrer));
            Assert.Equal(3, (await rewards.GetReferrerSummaryAsync(Program, Ana, Ct)).SuccessfulReferrals);
        }

        // Built once: the file no longer lists the program, and a second engine reads the same standing.
        using (var store = SqliteReferralStore.Open($"Data Source={path}"))
        {
            Assert.Empty(await ((IReferralStore)store).ListPendingRebuildsAsync(Ct));
        }
        await using (var provider = SqliteEngine.Build(path, clock))
        {
            Assert.Equal([new Money(30m, "EUR")], (await provider.GetRequiredService<RewardService>().GetReferrerSummaryAsync(Program, Ana, Ct)).Balance);
        }
    }

    [Fact]
    public async Task What_the_old_interfaces_wrote_after_version_7_is_carried_over_by_version_8()
    {
        string path = WriteVersion4File();
        long t = (Start + Duration.FromDays(4)).ToUnixTimeTicks();
        long hold = (Start + Duration.FromDays(18)).ToUnixTimeTicks();
        using (var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ConnectionString))
        {
            connection.Open();
            using var command = connection.CreateCommand();
            // Versions 5 to 7 as the library applied them, then the old interfaces' writes of one more referral (no document).
            command.CommandText = $$"""
                {{SqliteSchema.Migrations[4].Sql}}
                {{SqliteSchema.Migrations[5].Sql}}
                {{SqliteSchema.Migrations[6].Sql}}
                INSERT INTO schema_migrations VALUES (5, 'v5', '2026-12-01T00:00:00Z'), (6, 'v6', '2026-12-01T00:00:00Z'), (7, 'v7', '2026-12-01T00:00:00Z');
                INSERT INTO conversions (program, order_id, customer, amount, currency, event_time, channel, store_id,
                                         attribution_customer, conversion_time, reason, is_repeat, referrer, code, decided_at, attribution_detail)
                VALUES ('customers', 'o-7', 'fred', '40.00', 'EUR', {{t}}, 1, NULL, 'fred', {{t}}, 0, 0, 'ana', 'ANA2026', {{t}},
                        '{"amount":"40.00","currency":"EUR","channel":1,"medium":1,"chain":["ana"]}');
                INSERT INTO reward_decisions (program, order_id, revision, referrer, referral_seq, decided_at, detail)
                VALUES ('customers', 'o-7', 1, 'ana', 3, {{t}}, '{"chain":["ana"],"referral_number":3,"counted":true,"reward_ids":["o-7#1:credit"]}');
                INSERT INTO reward_entries (seq, program, entry_id, reward_id, beneficiary, order_id, type, amount, currency, recorded_at, actor, reason, reference, terms)
                VALUES (11, 'customers', 'o-7#1:credit:earned', 'o-7#1:credit', 'ana', 'o-7', 1, '10', 'EUR', {{t}}, NULL, NULL, NULL,
                        '{"role":1,"level":1,"kind":1,"item":null,"rule":"credit","tier":"base","referral_number":3,"percent_of_order":false,"order_amount":"40.00","order_currency":"EUR","boosts":[],"capped_by":null,"before_cap":"10","before_cap_currency":"EUR","conversion_time":{{t}},"hold_until":{{hold}},"held_for_review":false}');
                """;
            command.ExecuteNonQuery();
        }
        SqliteConnection.ClearAllPools();

        await using var provider = SqliteEngine.Build(path, new FakeClock(Start + Duration.FromDays(16)));
        var rewards = provider.GetRequiredService<RewardService>();
        var ana = await rewards.GetReferrerSummaryAsync(Program, Ana, Ct);
        Assert.Equal(3, ana.SuccessfulReferrals);
        Assert.Equal((2, new Money(20m, "EUR")), (ana.Pending.Count, Assert.Single(ana.Pending.Amounts)));
        Assert.Equal([new Money(30m, "EUR")], ana.Balance);
        Assert.Equal(3, (await rewards.FindDecisionAsync(Program, "o-7", Ct))!.ReferralNumber);
        Assert.Null((await provider.GetRequiredService<AttributionService>().FindAttributionAsync(Program, "o-7", Ct))!.Reason);
    }

    [Fact]
    public async Task A_new_file_has_nothing_to_build()
    {
        using var store = SqliteReferralStore.Open($"Data Source={_directory.NewDatabasePath()}");
        Assert.Empty(await ((IReferralStore)store).ListPendingRebuildsAsync(Ct));
        await using var session = await ((IReferralStore)store).BeginAsync(Ct);
        Assert.Equal(WriteOutcome.Duplicate(RowKind.Rebuild, Program.Value), await session.WriteAsync(new UnitOfWork(rebuiltPrograms: [Program]), Ct));
    }

    private string WriteVersion4File()
    {
        string path = _directory.NewDatabasePath();
        long T(Duration d) => (Start + d).ToUnixTimeTicks();
        long day = Duration.FromDays(1).BclCompatibleTicks;
        string Detail(string chain) => $$"""{"amount":"40.00","currency":"EUR","channel":1,"medium":1,"chain":[{{chain}}]}""";
        string Decision(int number, bool counted, string ids) => $$"""{"chain":["ana"],"referral_number":{{number}},"counted":{{(counted ? "true" : "false")}},"reward_ids":[{{ids}}]}""";
        string Terms(int role, int kind, string rule, int number, long at) => $$"""
            {"role":{{role}},"level":1,"kind":{{kind}},"item":null,"rule":"{{rule}}","tier":"base","referral_number":{{number}},"percent_of_order":false,
             "order_amount":"40.00","order_currency":"EUR","boosts":[],"capped_by":null,"before_cap":"{{(role == 1 ? "10" : "5")}}","before_cap_currency":"EUR",
             "conversion_time":{{at}},"hold_until":{{at + (14 * day)}},"held_for_review":false}
            """;
        string Entry(int seq, string order, string reward, string type, int typeId, string beneficiary, string amount, long at, string? terms) =>
            $"({seq}, 'customers', '{reward}:{type}', '{reward}', '{beneficiary}', '{order}', {typeId}, '{amount}', 'EUR', {at}, NULL, NULL, NULL, {(terms is null ? "NULL" : $"'{terms}'")})";
        long t1 = T(Duration.Zero), t2 = T(Duration.FromDays(1)), t3 = T(Duration.FromDays(2)), t4 = T(Duration.FromDays(3));
        SqliteFiles.Write(path, 4, $"""
                INSERT INTO conversions (program, order_id, customer, amount, currency, event_time, channel, store_id,
                                         attribution_customer, conversion_time, reason, is_repeat, referrer, code, decided_at, attribution_detail)
                VALUES ('customers', 'o-1', 'bob', '40.00', 'EUR', {t1}, 1, NULL, 'bob', {t1}, 0, 0, 'ana', 'ANA2026', {t1}, '{Detail("\"ana\"")}'),
                       ('customers', 'o-2', 'carl', '40.00', 'EUR', {t2}, 1, NULL, 'carl', {t2}, 0, 0, 'ana', 'ANA2026', {t2}, '{Detail("\"ana\"")}'),
                       ('customers', 'o-3', 'dave', '40.00', 'EUR', {t3}, 1, NULL, 'dave', {t3}, 0, 0, 'ana', 'ANA2026', {t3}, '{Detail("\"ana\"")}'),
                       ('customers', 'o-4', 'bob', '40.00', 'EUR', {t4}, 1, NULL, 'bob', {t4}, 0, 1, 'ana', 'ANA2026', {t4}, '{Detail("\"ana\"")}');
                INSERT INTO reward_decisions (program, order_id, revision, referrer, referral_seq, decided_at, detail)
                VALUES ('customers', 'o-1', 1, 'ana', 1, {t1}, '{Decision(1, true, "\"o-1#1:credit\",\"o-1#1:friend\"")}'),
                       ('customers', 'o-2', 1, 'ana', 2, {t2}, '{Decision(2, true, "\"o-2#1:credit\",\"o-2#1:friend\"")}'),
                       ('customers', 'o-3', 2, 'ana', 3, {t3 + day}, '{Decision(3, false, "\"o-3#1:credit\",\"o-3#1:friend\"")}');
                INSERT INTO reward_accounts (program, beneficiary, version) VALUES ('customers', 'ana', 4), ('customers', 'bob', 1), ('customers', 'carl', 1), ('customers', 'dave', 2);
                INSERT INTO reward_entries (seq, program, entry_id, reward_id, beneficiary, order_id, type, amount, currency, recorded_at, actor, reason, reference, terms)
                VALUES {Entry(1, "o-1", "o-1#1:credit", "earned", 1, "ana", "10", t1, Terms(1, 1, "credit", 1, t1))},
                       {Entry(2, "o-1", "o-1#1:friend", "earned", 1, "bob", "5", t1, Terms(2, 2, "friend", 1, t1))},
                       {Entry(3, "o-2", "o-2#1:credit", "earned", 1, "ana", "10", t2, Terms(1, 1, "credit", 2, t2))},
                       {Entry(4, "o-2", "o-2#1:friend", "earned", 1, "carl", "5", t2, Terms(2, 2, "friend", 2, t2))},
                       {Entry(5, "o-3", "o-3#1:credit", "earned", 1, "ana", "10", t3, Terms(1, 1, "credit", 3, t3))},
                       {Entry(6, "o-3", "o-3#1:friend", "earned", 1, "dave", "5", t3, Terms(2, 2, "friend", 3, t3))},
                       {Entry(7, "o-3", "o-3#1:credit", "refund", 5, "ana", "-10", t3 + day, null)},
                       {Entry(8, "o-3", "o-3#1:friend", "refund", 5, "dave", "-5", t3 + day, null)},
                       {Entry(9, "o-1", "o-1#1:credit", "approved", 2, "ana", "0", t1 + (14 * day), null)},
                       {Entry(10, "o-1", "o-1#1:friend", "approved", 2, "bob", "0", t1 + (14 * day), null)};
                INSERT INTO refunds (seq, program, refund_id, order_id, amount, currency, event_time, is_chargeback)
                VALUES (1, 'customers', 'r-1', 'o-3', '40.00', 'EUR', {t3 + day}, 0);
                """);
        return path;
    }

    private static (int Orders, int Refunded) Counts(Referrals.Fraud.ReferredOrderStats stats) => (stats.Orders, stats.Refunded);
}
