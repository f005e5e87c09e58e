using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;
using Referrals.Sqlite;
using Referrals.Store.Tests.Support;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// Ids a host gives, on a real SQLite file. SQLite keeps text as UTF-8, which turns an unpaired surrogate half into
/// U+FFFD: two order ids that differed only there were stored as one, and the second order was dropped as a repeat of
/// the first. Such ids, control characters and default (empty) ids are now refused up front with an
/// <see cref="ArgumentException"/> naming the problem, instead of a loss or an exception from inside the store.
/// </summary>
public sealed class SqliteIdentifierTests : IDisposable
{
    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Theory]
    [InlineData(@"ord\uD800")]
    [InlineData(@"ord\uDC00")]
    [InlineData(@"\uDFFF\uD800")]
    [InlineData(@"ord\u0000")]
    [InlineData(@"ord\u001B[2J")]
    public async Task An_order_id_UTF8_cannot_carry_or_with_a_control_character_is_refused_and_the_orders_beside_it_kept(string escaped)
    {
        string bad = HostileTextUnescape(escaped);
        string path = _directory.NewDatabasePath();
        var clock = new FakeClock(Start);
        await using (var store = SqliteReferralStore.OpenFile(path))
        {
            var (attribution, _) = Services(store, clock);
            // U+FFFD itself is a character like any other: an order of its own, beside "ord".
            await attribution.RecordConversionAsync(Order("ord\uFFFD", "cust-1"), Ct);
            await attribution.RecordConversionAsync(Order("ord", "cust-2"), Ct);

            var refused = await Assert.ThrowsAsync<ArgumentException>(() => attribution.RecordConversionAsync(Order(bad, "cust-3"), Ct).AsTask());
            Assert.Equal("conversion", refused.ParamName);
            Assert.StartsWith("An order id cannot hold", refused.Message, StringComparison.Ordinal);
            await Assert.ThrowsAsync<ArgumentException>(() => attribution.FindAttributionAsync(Program, bad, Ct).AsTask());
        }

        await using (var reopened = SqliteReferralStore.OpenFile(path))
        {
            var (attribution, _) = Services(reopened, clock);
            Assert.Equal(new ParticipantId("cust-1"), (await attribution.FindAttributionAsync(Program, "ord\uFFFD", Ct))?.Customer);
            Assert.Equal(new ParticipantId("cust-2"), (await attribution.FindAttributionAsync(Program, "ord", Ct))?.Customer);
        }
    }

    [Theory]
    [InlineData(@"ref\uD800", "unpaired surrogate")]
    [InlineData(@"a\u0000b", "control character")]
    [InlineData(@"tab\u0009id", "control character")]
    public void A_participant_or_program_id_UTF8_cannot_carry_or_with_a_control_character_cannot_be_made(string escaped, string named)
    {
        string value = HostileTextUnescape(escaped);

        var participant = Assert.Throws<ArgumentException>(() => new ParticipantId(value));
        var program = Assert.Throws<ArgumentException>(() => new ProgramId(value));

        Assert.Contains(named, participant.Message, StringComparison.Ordinal);
        Assert.Contains(named, program.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Default_ids_are_refused_up_front_not_by_the_store()
    {
        await using var store = SqliteReferralStore.OpenFile(_directory.NewDatabasePath());
        var (attribution, rewards) = Services(store, new FakeClock(Start));

        var noCustomer = await Assert.ThrowsAsync<ArgumentException>(() => attribution.RecordConversionAsync(Order("o-1", "x") with { Customer = default }, Ct).AsTask());
        var noProgram = await Assert.ThrowsAsync<ArgumentException>(() => attribution.RecordConversionsAsync([Order("o-2", "x") with { Program = default }], Ct).AsTask());
        var reevaluate = await Assert.ThrowsAsync<ArgumentException>(() => attribution.ReevaluateCustomerAsync(Program, default, Ct).AsTask());
        var refund = await Assert.ThrowsAsync<ArgumentException>(() => rewards.RecordRefundAsync(
            new Refund { Program = default, RefundId = "r-1", OrderId = "o-1", Amount = new Money(5m, "EUR"), EventTime = Start }, Ct).AsTask());
        var refundId = await Assert.ThrowsAsync<ArgumentException>(() => rewards.RecordRefundAsync(
            new Refund { Program = Program, RefundId = "r\uD800", OrderId = "o-1", Amount = new Money(5m, "EUR"), EventTime = Start }, Ct).AsTask());

        Assert.Contains("default(ParticipantId)", noCustomer.Message, StringComparison.Ordinal);
        Assert.Contains("default(ProgramId)", noProgram.Message, StringComparison.Ordinal);
        Assert.Equal("customer", reevaluate.ParamName);
        Assert.Contains("default(ProgramId)", refund.Message, StringComparison.Ordinal);
        Assert.StartsWith("A refund id cannot hold an unpaired surrogate", refundId.Message, StringComparison.Ordinal);
        Assert.Null(await attribution.FindAttributionAsync(Program, "o-1", Ct));
    }

    private static Conversion Order(string orderId, string customer) => new()
    {
        Program = Program,
        OrderId = orderId,
        Customer = new ParticipantId(customer),
        Amount = new Money(20m, "EUR"),
        EventTime = Start,
    };

    private static string HostileTextUnescape(string escaped) =>
        System.Text.RegularExpressions.Regex.Replace(
            escaped, @"\\u([0-9A-Fa-f]{4})", m => ((char)Convert.ToInt32(m.Groups[1].Value, 16)).ToString());

    private static (AttributionService Attribution, RewardService Rewards) Services(SqliteReferralStore store, IClock clock)
    {
        var options = new ReferralsOptions();
        options.Links.Template = "https://shop.example/r/{code}";
        options.Programs[Program.Value] = new ProgramOptions();
        var wrapped = Microsoft.Extensions.Options.Options.Create(options);
        var codes = new ReferralCodeService(store, options, clock);
        return (new AttributionService(wrapped, clock, codes, store, []), new RewardService(wrapped, clock, store, [], []));
    }
}
