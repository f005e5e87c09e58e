using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Rewards;
using Referrals.Store.Tests.Support;
using Referrals.Services;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// Two processes (two engines on one file) recording conversions of one referrer from several tasks each, every order
/// sent twice (once by each process): no conversion or reward is lost or doubled, and referral numbers stay unique.
/// </summary>
public sealed class SqliteConcurrencyTests : IDisposable
{
    private const int TasksPerProcess = 4;
    private const int OrdersPerTask = 8;

    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Conversions_recorded_at_once_by_two_processes_earn_each_reward_exactly_once()
    {
        string path = _directory.NewDatabasePath();
        var clock = new FakeClock(Start);
        using var first = SqliteEngine.Build(path, clock);
        using var second = SqliteEngine.Build(path, clock);
        var ana = new ParticipantId("ana");
        var code = await first.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Program, Owner = ana, Medium = ShareMedium.Sms }, Ct);
        await second.GetRequiredService<ReferralCodeService>().InitializeAsync(Ct);

        var orders = Enumerable.Range(0, TasksPerProcess * OrdersPerTask)
            .Select(i => NewOrder($"o-{i}", $"friend-{i}", Start + Duration.FromMinutes(15 * i)) with { PresentedCode = code.Display })
            .ToArray();
        // Each process sends every order once, its tasks taking them in a different order than the other's.
        var work = new List<Task<AttributionResult>>();
        foreach (var (provider, reversed) in new[] { (first, false), (second, true) })
        {
            var attribution = provider.GetRequiredService<AttributionService>();
            var mine = reversed ? orders.Reverse().ToArray() : orders;
            for (int t = 0; t < TasksPerProcess; t++)
            {
                var slice = mine.Skip(t * OrdersPerTask).Take(OrdersPerTask).ToArray();
                work.Add(Task.Run(async () =>
                {
                    AttributionResult last = null!;
                    foreach (var order in slice)
                    {
                        last = await attribution.RecordConversionAsync(order, Ct);
                        Assert.True(last.IsAttributed, last.Explain());
                    }
                    return last;
                }, Ct));
            }
        }
        await Task.WhenAll(work);

        var rewards = first.GetRequiredService<RewardService>();
        var summary = await rewards.GetReferrerSummaryAsync(Program, ana, Ct);
        Assert.Equal(orders.Length, summary.SuccessfulReferrals);
        // Her rewards, read a page of 3 at a time: each referral number once.
        var all = new List<Reward>();
        for (Reward? after = null; ;)
        {
            var page = await rewards.ListRewardsAsync(Program, ana, after, 3, Ct);
            all.AddRange(page);
            if (page.Count < 3)
            {
                break;
            }
            after = page[^1];
        }
        Assert.Equal(orders.Length, all.Count);
        // Each referral's number is its rank by event time (as read now), once each, whatever order the two processes wrote them in.
        var numbers = new List<int>();
        foreach (var order in orders)
        {
            numbers.Add((await rewards.FindDecisionAsync(Program, order.OrderId, Ct))!.ReferralNumber);
        }
        Assert.Equal(Enumerable.Range(1, orders.Length), numbers.Order());
        Assert.Equal([new Money(10m * orders.Length, "EUR")], summary.Balance);
        foreach (var order in orders)
        {
            var earned = await rewards.ListOrderRewardsAsync(Program, order.OrderId, Ct);
            Assert.Equal(["credit", "friend"], earned.Select(r => r.Terms.Rule).Order(StringComparer.Ordinal));
        }
        var conversions = await first.GetRequiredService<Referrals.Storage.IReferralStore>().ListProgramOrdersAsync(Program, null, 1000, Ct);
        Assert.Equal(orders.Length, conversions.Count);
    }
}
