using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using NodaTime.Testing;
using Referrals.Codes;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Tests.Shared;

/// <summary>
/// Issue 18 on a store's database, for every store (<c>SqliteEventTimeRewardTests</c>, <c>PostgreSqlEventTimeRewardTests</c>
/// supply it): a conversion uploaded late, by another process, is ranked by event time.
/// </summary>
public abstract class EventTimeRewardTests
{
    private static readonly ParticipantId Ana = new("ana");

    protected static CancellationToken Ct => TestContext.Current.CancellationToken;

    /// <summary>A new, empty database for one test: a SQLite file's path, a PostgreSQL schema's name.</summary>
    protected abstract string NewDatabase();

    /// <summary>Puts the engine on <paramref name="database"/> (the store's <c>UseXxx</c>).</summary>
    protected abstract void UseStore(ReferralsBuilder builder, string database);

    /// <summary>The engine on <paramref name="database"/>, as one process builds it: a ladder of 10 then 15 EUR, capped at 45 EUR a month.</summary>
    private ServiceProvider Build(string database, IClock clock)
    {
        var services = new ServiceCollection();
        services.AddSingleton(clock);
        var builder = services.AddReferrals(o =>
        {
            o.Links.Template = "https://shop.example/r/{code}";
            o.Programs[Program.Value] = new ProgramOptions
            {
                TimeZone = "Europe/Berlin",
                Rewards = new RewardOptions
                {
                    HoldPeriod = TimeSpan.FromDays(14),
                    Rules =
                    [
                        new RewardRuleOptions
                        {
                            Name = "ladder",
                            Tiers = [new RewardTierOptions { From = 1, Amount = 10m, Currency = "EUR" }, new RewardTierOptions { From = 3, Amount = 15m, Currency = "EUR" }],
                        },
                    ],
                    Caps = [new RewardCapOptions { Period = CapPeriod.Month, MaxAmount = 45m, Currency = "EUR" }],
                },
                Fraud = new Referrals.Fraud.FraudPolicyOptions { Enabled = false },
            };
        });
        UseStore(builder, database);
        return services.BuildServiceProvider();
    }

    private static async Task<Dictionary<string, decimal>> NetsAsync(RewardService rewards) =>
        (await rewards.ListRewardsAsync(Program, Ana, null, 100, Ct)).GroupBy(r => r.OrderId).ToDictionary(g => g.Key, g => g.Sum(r => r.Net.Amount));

    [Fact]
    public async Task A_conversion_uploaded_late_by_another_process_takes_its_rank_and_cap_room_by_event_time_and_it_survives_a_restart()
    {
        string database = NewDatabase();
        var clock = new FakeClock(Start);
        string code;
        await using (var provider = Build(database, clock))
        {
            code = (await provider.GetRequiredService<ReferralCodeService>().IssueAsync(new CodeRequest { Program = Program, Owner = Ana, Medium = ShareMedium.Sms }, Ct)).Display;
            var attribution = provider.GetRequiredService<Referrals.Services.AttributionService>();
            for (int i = 1; i <= 4; i++)
            {
                var result = await attribution.RecordConversionAsync(NewOrder($"o-{i}", $"f{i}", Start + Duration.FromHours(i)) with { PresentedCode = code }, Ct);
                Assert.True(result.IsAttributed, result.Explain());
            }
            // 10 + 10 + 15 + 10 (the cap of 45 reached)
            Assert.Equal([10m, 10m, 15m, 10m], (await NetsAsync(provider.GetRequiredService<RewardService>())).OrderBy(n => n.Key).Select(n => n.Value));
        }

        // The next day another process uploads a till's order from before all four.
        clock.Reset(Start + Duration.FromDays(1));
        await using (var provider = Build(database, clock))
        {
            await provider.GetRequiredService<ReferralCodeService>().InitializeAsync(Ct);
            var late = await provider.GetRequiredService<Referrals.Services.AttributionService>()
                .RecordConversionAsync(NewOrder("o-0", "f0", Start) with { PresentedCode = code }, Ct);
            Assert.True(late.IsAttributed, late.Explain());
        }

        await using (var provider = Build(database, clock))
        {
            var rewards = provider.GetRequiredService<RewardService>();
            var nets = await NetsAsync(rewards);
            // By event time: 10, 10, 15 (now the 3rd), 10 → cap 45 reached; o-4 gets nothing.
            Assert.Equal([("o-0", 10m), ("o-1", 10m), ("o-2", 15m), ("o-3", 10m), ("o-4", 0m)], nets.OrderBy(n => n.Key, StringComparer.Ordinal).Select(n => (n.Key, n.Value)));
            var numbers = new List<int>();
            for (int i = 0; i < 5; i++)
            {
                numbers.Add((await rewards.FindDecisionAsync(Program, $"o-{i}", Ct))!.ReferralNumber);
            }
            Assert.Equal([1, 2, 3, 4, 5], numbers);
            Assert.Equal([new Money(45m, "EUR")], (await rewards.GetReferrerSummaryAsync(Program, Ana, Ct)).Balance);
        }
    }
}
