using NodaTime;
using Referrals.Rewards;
using Referrals.Fraud;
using Referrals.Tests.Support;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Pipeline;

/// <summary>
/// The refund-abuse check's counts per referrer — orders credited to them, and of those the ones refunded in full — are a
/// function of the orders as they stand: when credit moves, both counts move with the order, refunded or not.
/// </summary>
public sealed class ReferrerOrderStatsTests
{
    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task A_fully_refunded_order_that_loses_its_credit_leaves_the_referrers_refunded_count()
    {
        var w = new AttributionWorld();
        var ana = await w.ParticipantAsync("ana");
        var code = await w.CodeAsync(ana, ShareMedium.Receipt);
        var friend = await w.ParticipantAsync("f-1");
        var order = w.Order("o-1", friend, Monday) with { PresentedCode = code.Display };
        Assert.True((await w.Attribution.RecordConversionAsync(order, Ct)).IsAttributed);
        var refund = await w.Rewards.RecordRefundAsync(new Refund { Program = Customers, OrderId = "o-1", RefundId = "rf-1", Amount = order.Amount, EventTime = Monday + Duration.FromDays(1) }, Ct);
        Assert.Equal(RefundOutcome.Recorded, refund.Outcome);
        var history = new Referrals.Pipeline.ContractFraudHistory(w.Contract);
        Assert.Equal(new ReferredOrderStats(1, 1), await history.GetReferredOrderStatsAsync(Customers, ana, Ct));

        // The code was revoked since: decided again, the order is credited to nobody, and ana's counts lose it whole.
        await w.Codes.RevokeAsync(code.Code, Ct);
        Assert.False((await w.Attribution.ReevaluateAsync(Customers, "o-1", Ct))!.IsAttributed);

        Assert.Equal(new ReferredOrderStats(0, 0), await history.GetReferredOrderStatsAsync(Customers, ana, Ct));
    }
}
