using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Referrals.Rewards;
using Referrals.Services;

namespace Referrals.Hosting;

/// <summary>Runs <see cref="RewardService.ProcessDueAsync"/> at start and then on a timer; a failing pass is logged and the next one runs.</summary>
internal sealed partial class RewardProcessingService(RewardService rewards, TimeProvider time, TimeSpan interval, ILogger<RewardProcessingService>? logger)
    : BackgroundService
{
    private readonly ILogger _logger = logger ?? (ILogger)NullLogger.Instance;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(interval, time);
        do
        {
            try
            {
                var result = await rewards.ProcessDueAsync(stoppingToken).ConfigureAwait(false);
                if (!result.IsIdle)
                {
                    LogPass(_logger, result.Approved, result.Fulfilled, result.Failed, result.Redelivered, result.Undelivered, result.DeadLettered);
                }
            }
#pragma warning disable CA1031 // the store may be briefly unavailable: the next pass tries again
            catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
            {
                LogPassFailed(_logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(EventId = 3003, Level = LogLevel.Information, Message = "Reward pass: {Approved} approved, {Fulfilled} fulfilled, {Failed} failed; notifications: {Redelivered} delivered again, {Undelivered} still failing, {DeadLettered} dead-lettered")]
    private static partial void LogPass(ILogger logger, int approved, int fulfilled, int failed, int redelivered, int undelivered, int deadLettered);

    [LoggerMessage(EventId = 3004, Level = LogLevel.Error, Message = "A reward pass failed; the next one runs on schedule")]
    private static partial void LogPassFailed(ILogger logger, Exception exception);
}
