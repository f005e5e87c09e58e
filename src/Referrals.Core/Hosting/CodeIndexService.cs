using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Referrals.Codes;
using Referrals.Services;

namespace Referrals.Hosting;

/// <summary>
/// Loads the code index when the host starts (before it serves anything, unless <see cref="CodeOptions.LoadIndexInBackground"/>
/// leaves it to the background) and then catches up with other processes' code writes on a timer; a failing refresh (or
/// background load) is logged and the next one runs.
/// </summary>
internal sealed partial class CodeIndexService(ReferralCodeService codes, TimeProvider time, TimeSpan interval, ILogger<CodeIndexService>? logger)
    : BackgroundService
{
    private readonly ILogger _logger = logger ?? (ILogger)NullLogger.Instance;

    public override async Task StartAsync(CancellationToken cancellationToken)
    {
        if (!codes.LoadsIndexInBackground)
        {
            await codes.InitializeAsync(cancellationToken).ConfigureAwait(false);
            LogLoaded(_logger, codes.IndexedCount);
        }
        await base.StartAsync(cancellationToken).ConfigureAwait(false);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        bool loaded = !codes.LoadsIndexInBackground;
        if (!loaded)
        {
            await Task.Yield(); // the host's start goes on while the index loads
        }
        using var timer = new PeriodicTimer(interval, time);
        do
        {
            try
            {
                if (loaded)
                {
                    await codes.RefreshAsync(stoppingToken).ConfigureAwait(false);
                }
                else
                {
                    // Loading in the background: a second call after a failure loads again from the start.
                    await codes.InitializeAsync(stoppingToken).ConfigureAwait(false);
                    loaded = true;
                    LogLoaded(_logger, codes.IndexedCount);
                }
            }
#pragma warning disable CA1031 // the store may be briefly unavailable: the next refresh tries again
            catch (Exception ex) when (ex is not OperationCanceledException)
#pragma warning restore CA1031
            {
                LogRefreshFailed(_logger, ex);
            }
        }
        while (await timer.WaitForNextTickAsync(stoppingToken).ConfigureAwait(false));
    }

    [LoggerMessage(EventId = 1101, Level = LogLevel.Information, Message = "Code index loaded: {Count} codes")]
    private static partial void LogLoaded(ILogger logger, int count);

    [LoggerMessage(EventId = 1102, Level = LogLevel.Warning, Message = "Refreshing the code index failed; the next refresh runs on schedule")]
    private static partial void LogRefreshFailed(ILogger logger, Exception exception);
}

/// <summary>The interval <see cref="CodeIndexService"/> refreshes at; registered once, replaced by a later registration.</summary>
internal sealed record CodeIndexRefreshInterval(TimeSpan Value);
