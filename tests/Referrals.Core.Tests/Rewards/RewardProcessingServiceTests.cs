using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Services;

namespace Referrals.Tests.Rewards;

public sealed class RewardProcessingServiceTests
{
    [Fact]
    public async Task The_hosted_service_approves_and_fulfils_due_rewards_without_host_code()
    {
        var ct = TestContext.Current.CancellationToken;
        var clock = new FakeClock(Instant.FromUtc(2026, 11, 23, 9, 0));
        var fulfiller = new SignallingFulfiller();
        var services = new ServiceCollection();
        services.AddSingleton<IClock>(clock);
        services.AddSingleton<IRewardFulfiller>(fulfiller);
        services.AddReferrals(o => o.Programs["customers"] = new ProgramOptions
        {
            Rewards = new RewardOptions { HoldPeriod = TimeSpan.FromDays(14), Rules = [RewardWorldExtensions.Fixed("credit", 10m)] },
        }).AddRewardProcessing(TimeSpan.FromSeconds(1));
        await using var provider = services.BuildServiceProvider();
        var program = new ProgramId("customers");
        var code = await provider.GetRequiredService<ReferralCodeService>()
            .IssueAsync(new CodeRequest { Program = program, Owner = new ParticipantId("ana"), Medium = ShareMedium.Email }, ct);
        await provider.GetRequiredService<AttributionService>().RecordConversionAsync(
            new Conversion { Program = program, OrderId = "o-1", Customer = new ParticipantId("bea"), Amount = new Money(50m, "EUR"), EventTime = clock.GetCurrentInstant(), PresentedCode = code.Display },
            ct);
        clock.Advance(Duration.FromDays(14)); // the return window has passed

        var hosted = Assert.Single(provider.GetServices<IHostedService>());
        await hosted.StartAsync(ct);
        var delivered = await fulfiller.Delivered.Task.WaitAsync(TimeSpan.FromSeconds(60), ct);
        await hosted.StopAsync(ct);

        Assert.Equal(new ParticipantId("ana"), delivered.Beneficiary);
        Assert.Equal(RewardStatus.Approved, delivered.Status);
        Assert.Throws<ArgumentOutOfRangeException>(() => new ServiceCollection().AddReferrals(_ => { }).AddRewardProcessing(TimeSpan.Zero));
    }

    private sealed class SignallingFulfiller : IRewardFulfiller
    {
        public TaskCompletionSource<Reward> Delivered { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public ValueTask<string?> FulfilAsync(Reward reward, CancellationToken cancellationToken)
        {
            Delivered.TrySetResult(reward);
            return ValueTask.FromResult<string?>("credit-1");
        }
    }
}
