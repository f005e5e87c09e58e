using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Http.Resilience;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using NodaTime;
using Polly;
using Referrals.Notifications;
using Referrals.Webhooks;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers webhook delivery with dependency injection.</summary>
public static class WebhooksReferralsBuilderExtensions
{
    /// <summary>
    /// Delivers the library's events to the endpoints of the <c>Referrals:Webhooks</c> section of
    /// <paramref name="configuration"/> (or <paramref name="configuration"/> itself when it is that section):
    /// <c>Endpoints:{name}:Url</c>, <c>Secret</c> and <c>Events</c>, and the retry settings of <see cref="WebhookOptions"/>.
    /// Bound strictly: a value that cannot be converted or a key that names no setting stops the host at start, with every
    /// other bad setting, in one <see cref="OptionsValidationException"/>.
    /// </summary>
    /// <remarks>See <see cref="AddWebhooks(ReferralsBuilder, Action{WebhookOptions})"/> for what is registered.</remarks>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configuration"/> is <see langword="null"/>.</exception>
    public static ReferralsBuilder AddWebhooks(this ReferralsBuilder builder, IConfiguration configuration)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configuration);
        var section = configuration is IConfigurationSection { Path: WebhookOptions.SectionName } s
            ? s
            : configuration.GetSection(WebhookOptions.SectionName);
        builder.Services.AddOptions<WebhookOptions>().Configure(options =>
            options.BindingFailures.AddRange(Referrals.Programs.StrictConfigurationBinder.BindSection(section, options)));
        return AddCore(builder);
    }

    /// <summary>
    /// Delivers the library's events (<see cref="WebhookEventTypes"/>) as signed JSON POSTs to the endpoints that
    /// <paramref name="configure"/> sets. Registers an <see cref="IReferralNotifier"/>, so every event goes through the
    /// library's outbox: delivered right after its commit, and when an endpoint does not accept it (a status outside
    /// 200–299, a connection failure or a timeout, after <see cref="WebhookOptions.MaxRetries"/> retries with backoff and
    /// jitter within the call) tried again by the lifecycle pass (<c>AddRewardProcessing</c>) with the backoff of
    /// <c>Referrals:Notifications</c>, then dead-lettered. Requests go through the <see cref="IHttpClientFactory"/> client
    /// named <c>Referrals.Webhooks</c> (configure it further with <c>AddHttpClient("Referrals.Webhooks")</c>). Options are
    /// validated when the host starts. Calling it again adds to the same options; the notifier is registered once.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> or <paramref name="configure"/> is <see langword="null"/>.</exception>
    public static ReferralsBuilder AddWebhooks(this ReferralsBuilder builder, Action<WebhookOptions> configure)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(configure);
        builder.Services.AddOptions<WebhookOptions>().Configure(configure);
        return AddCore(builder);
    }

    private static ReferralsBuilder AddCore(ReferralsBuilder builder)
    {
        var services = builder.Services;
        services.AddOptions<WebhookOptions>().ValidateOnStart();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IValidateOptions<WebhookOptions>, WebhookOptionsValidator>());
        if (services.Any(d => d.ServiceType == typeof(WebhookNotifierMarker)))
        {
            return builder;
        }
        services.AddSingleton<WebhookNotifierMarker>();
        services.AddHttpClient(WebhookNotifier.HttpClientName, client => client.Timeout = Timeout.InfiniteTimeSpan)
            .AddResilienceHandler("referrals-webhooks", static (pipeline, context) =>
            {
                var o = context.ServiceProvider.GetRequiredService<IOptions<WebhookOptions>>().Value;
                var time = context.ServiceProvider.GetService<TimeProvider>() ?? TimeProvider.System;
                if (o.MaxRetries > 0)
                {
                    var max = o.MaxRetryDelay;
                    pipeline.AddRetry(new HttpRetryStrategyOptions
                    {
                        MaxRetryAttempts = o.MaxRetries,
                        BackoffType = DelayBackoffType.Exponential,
                        UseJitter = true,
                        Delay = o.RetryDelay,
                        MaxDelay = max,
                        // Polly's own Retry-After handling ignores MaxDelay: an endpoint answering "Retry-After: 86400" would
                        // hold the call that committed for a day. Honour it up to MaxRetryDelay instead.
                        ShouldRetryAfterHeader = false,
                        DelayGenerator = args => new ValueTask<TimeSpan?>(RetryAfter(args.Outcome.Result, time, max)),
                    });
                }
                // Inside the retry: each request has its own time limit, and running out of it is retried like a failure.
                pipeline.AddTimeout(o.RequestTimeout);
            });
        services.AddSingleton<IReferralNotifier>(sp => new WebhookNotifier(
            sp.GetRequiredService<IHttpClientFactory>(),
            sp.GetRequiredService<IOptions<WebhookOptions>>().Value,
            sp.GetRequiredService<IClock>(),
            sp.GetService<ILogger<WebhookNotifier>>()));
        return builder;
    }

    /// <summary>The wait a response's <c>Retry-After</c> asks for, at most <paramref name="max"/>; <see langword="null"/> (the backoff's) without one.</summary>
    internal static TimeSpan? RetryAfter(HttpResponseMessage? response, TimeProvider time, TimeSpan max)
    {
        if (response?.Headers.RetryAfter is not { } retryAfter)
        {
            return null;
        }
        var wait = retryAfter.Delta ?? (retryAfter.Date is { } date ? date - time.GetUtcNow() : null);
        if (wait is not { } w || w <= TimeSpan.Zero)
        {
            return null;
        }
        return w < max ? w : max;
    }

    /// <summary>Marks the notifier as registered, so a second <c>AddWebhooks</c> does not add a second one.</summary>
    private sealed class WebhookNotifierMarker;
}

/// <summary>Validates <see cref="WebhookOptions"/> when the host starts: one failure listing every bad setting.</summary>
internal sealed class WebhookOptionsValidator : IValidateOptions<WebhookOptions>
{
    public ValidateOptionsResult Validate(string? name, WebhookOptions options)
    {
        var failures = options.Validate();
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }
}
