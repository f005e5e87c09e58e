using System.Net.Http.Headers;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using NodaTime;
using Referrals.Attribution;
using Referrals.Notifications;
using Referrals.Rewards;

namespace Referrals.Webhooks;

/// <summary>
/// Delivers the library's notifications to the configured endpoints as signed JSON POSTs. One notifier for all the
/// endpoints, so the outbox names it the same whatever endpoints are added or removed: an endpoint that does not accept
/// (after the in-call retries) makes it throw, the outbox keeps the notification and tries it again later with backoff,
/// and dead-letters it after <c>Referrals:Notifications:MaxAttempts</c>. A retry in the same process skips the endpoints
/// that accepted the event already (remembered in memory, for at most <see cref="MaxRemembered"/> partly delivered events);
/// after a restart, or past that bound, they hear of it again with the same event id: receivers de-duplicate by it.
/// </summary>
internal sealed partial class WebhookNotifier : IReferralNotifier
{
    /// <summary>The name of the <see cref="HttpClient"/> (with its resilience handler) taken from the factory.</summary>
    public const string HttpClientName = "Referrals.Webhooks";

    private static readonly MediaTypeHeaderValue Json = new("application/json") { CharSet = "utf-8" };

    private readonly IHttpClientFactory _clients;
    private readonly KeyValuePair<string, WebhookEndpointOptions>[] _endpoints;
    private readonly IClock _clock;
    private readonly ILogger _logger;

    /// <summary>The most partly delivered events whose accepting endpoints are remembered; beyond, a retry re-sends to them.</summary>
    internal const int MaxRemembered = 10_000;

    // Event id → the endpoints that accepted it, for events some other endpoint has not accepted yet.
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, string[]> _partlyDelivered = new(StringComparer.Ordinal);

    /// <exception cref="ArgumentException">The options are invalid; the message lists every bad setting.</exception>
    public WebhookNotifier(IHttpClientFactory clients, WebhookOptions options, IClock clock, ILogger<WebhookNotifier>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(clients);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentNullException.ThrowIfNull(clock);
        var failures = options.Validate();
        if (failures.Count > 0)
        {
            throw new ArgumentException(string.Join(" ", failures), nameof(options));
        }
        _clients = clients;
        _endpoints = options.Endpoints.OrderBy(e => e.Key, StringComparer.OrdinalIgnoreCase).ToArray();
        _clock = clock;
        _logger = logger ?? (ILogger)NullLogger.Instance;
    }

    public ValueTask OnReferralCapturedAsync(Touch touch, CancellationToken cancellationToken) =>
        DeliverAsync(WebhookEvent.Captured(touch), cancellationToken);

    public ValueTask OnConversionDecidedAsync(AttributionResult attribution, CancellationToken cancellationToken) =>
        DeliverAsync(WebhookEvent.Decided(attribution), cancellationToken);

    public ValueTask OnRewardChangedAsync(RewardEntry entry, CancellationToken cancellationToken) =>
        DeliverAsync(WebhookEvent.RewardChanged(entry), cancellationToken);

    /// <summary>POSTs <paramref name="e"/> to every endpoint subscribed to its type, one after another.</summary>
    /// <exception cref="HttpRequestException">At least one endpoint did not accept it; the message names them (not their secrets).</exception>
    private async ValueTask DeliverAsync(WebhookEvent e, CancellationToken ct)
    {
        List<string>? refused = null;
        List<string>? accepted = null;
        System.Net.HttpStatusCode? lastStatus = null;
        Exception? lastError = null;
        string[] acceptedBefore = _partlyDelivered.TryGetValue(e.Id, out var before) ? before : [];
        foreach (var (name, endpoint) in _endpoints)
        {
            if (!endpoint.Receives(e.Type) || acceptedBefore.Contains(name, StringComparer.OrdinalIgnoreCase))
            {
                continue;
            }
            try
            {
                var status = await SendAsync(endpoint, e, ct).ConfigureAwait(false);
                if ((int)status is >= 200 and <= 299)
                {
                    LogDelivered(_logger, e.Type, e.Id, name, (int)status);
                    (accepted ??= []).Add(name);
                    continue;
                }
                LogRefused(_logger, e.Type, e.Id, name, (int)status);
                (refused ??= []).Add($"{name} ({(int)status})");
                lastStatus = status;
            }
            catch (Exception ex) when (!(ex is OperationCanceledException && ct.IsCancellationRequested))
            {
                // A connection failure or a timeout, after the retries: the other endpoints are still told.
                LogFailed(_logger, ex, e.Type, e.Id, name);
                (refused ??= []).Add($"{name} ({ex.GetType().Name})");
                lastError = ex;
            }
        }
        if (refused is null)
        {
            _partlyDelivered.TryRemove(e.Id, out _);
            return;
        }
        if (accepted is not null && (acceptedBefore.Length > 0 || _partlyDelivered.Count < MaxRemembered))
        {
            _partlyDelivered[e.Id] = [.. acceptedBefore, .. accepted];
        }
        throw new HttpRequestException(
            $"Webhook {e.Type} event {e.Id} was not accepted by {string.Join(", ", refused)}; the outbox delivers it again later.",
            lastError,
            lastStatus);
    }

    private async Task<System.Net.HttpStatusCode> SendAsync(WebhookEndpointOptions endpoint, WebhookEvent e, CancellationToken ct)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, endpoint.Url);
        request.Content = new ByteArrayContent(e.Body);
        request.Content.Headers.ContentType = Json;
        request.Headers.TryAddWithoutValidation(WebhookHeaders.EventId, e.Id);
        request.Headers.TryAddWithoutValidation(WebhookHeaders.EventType, e.Type);
        // Signed once per attempt of the outbox: the in-call retries resend the same request, well within the tolerance.
        request.Headers.TryAddWithoutValidation(WebhookSignature.HeaderName, WebhookSignature.Sign(e.Body, endpoint.Secret!, _clock.GetCurrentInstant()));
        var client = _clients.CreateClient(HttpClientName);
        using var response = await client.SendAsync(request, HttpCompletionOption.ResponseHeadersRead, ct).ConfigureAwait(false);
        return response.StatusCode;
    }

    [LoggerMessage(EventId = 6001, Level = LogLevel.Debug, Message = "Webhook {EventType} event {EventId} delivered to endpoint {Endpoint} ({StatusCode})")]
    private static partial void LogDelivered(ILogger logger, string eventType, string eventId, string endpoint, int statusCode);

    [LoggerMessage(EventId = 6002, Level = LogLevel.Warning, Message = "Webhook endpoint {Endpoint} answered {StatusCode} to {EventType} event {EventId} after the retries; the outbox delivers it again later")]
    private static partial void LogRefused(ILogger logger, string eventType, string eventId, string endpoint, int statusCode);

    [LoggerMessage(EventId = 6003, Level = LogLevel.Warning, Message = "Webhook {EventType} event {EventId} could not be sent to endpoint {Endpoint} after the retries; the outbox delivers it again later")]
    private static partial void LogFailed(ILogger logger, Exception exception, string eventType, string eventId, string endpoint);
}
