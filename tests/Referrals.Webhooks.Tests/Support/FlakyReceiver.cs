using System.Collections.Concurrent;
using System.Net;
using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using NodaTime;

namespace Referrals.Webhooks.Tests.Support;

/// <summary>
/// A webhook receiver as a host would write one, on Kestrel at 127.0.0.1 in the test process: verifies each delivery's
/// signature, refuses a share of them with 503 (decided by a seeded random source, so a run is repeatable), and
/// de-duplicates the accepted ones by event id. It can be stopped and started again on the same port, keeping what it
/// received.
/// </summary>
internal sealed class FlakyReceiver : IAsyncDisposable
{
    private readonly string _secret;
    private readonly IClock _clock;
    private readonly double _failureRate;
    private readonly Random _random;
    private readonly Lock _gate = new();
    private WebApplication? _app;

    public FlakyReceiver(string secret, IClock clock, double failureRate, int seed)
    {
        _secret = secret;
        _clock = clock;
        _failureRate = failureRate;
        _random = new Random(seed);
    }

    public int Port { get; private set; }

    public Uri Url => new($"http://127.0.0.1:{Port}/hooks");

    /// <summary>Requests that arrived, accepted or not.</summary>
    public int Requests => _requests;

    /// <summary>Requests refused with 503 on purpose.</summary>
    public int FailuresInjected => _failuresInjected;

    /// <summary>Requests whose signature did not verify (refused with 400), by status.</summary>
    public ConcurrentDictionary<WebhookVerificationStatus, int> BadSignatures { get; } = new();

    /// <summary>Accepted deliveries.</summary>
    public int Deliveries => _deliveries;

    public int Restarts { get; private set; }

    /// <summary>Sent as <c>Retry-After</c> (seconds) with the injected failures, when set.</summary>
    public int? RetryAfterSeconds { get; init; }

    /// <summary>Accepted deliveries by event id (the receiver's de-duplication): how many times each was accepted.</summary>
    public ConcurrentDictionary<string, int> TimesAccepted { get; } = new(StringComparer.Ordinal);

    /// <summary>The first accepted body of each event id, parsed.</summary>
    public ConcurrentDictionary<string, JsonElement> Events { get; } = new(StringComparer.Ordinal);

    /// <summary>Event ids whose header and body's id differ.</summary>
    public ConcurrentBag<string> IdMismatches { get; } = [];

    private int _requests;
    private int _failuresInjected;
    private int _deliveries;

    public async Task StartAsync(CancellationToken ct)
    {
        var builder = WebApplication.CreateEmptyBuilder(new WebApplicationOptions());
        builder.WebHost.UseKestrelCore().ConfigureKestrel(k => k.Listen(IPAddress.Loopback, Port));
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync(ct);
        Port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single()).Port;
        _app = app;
    }

    /// <summary>Stops the server and starts a new one on the same port: deliveries in between are refused by the system.</summary>
    public async Task StopAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            await app.StopAsync();
            await app.DisposeAsync();
        }
    }

    public async Task RestartAsync(CancellationToken ct)
    {
        await StartAsync(ct);
        Restarts++;
    }

    private async Task HandleAsync(HttpContext context)
    {
        Interlocked.Increment(ref _requests);
        using var buffer = new MemoryStream();
        await context.Request.Body.CopyToAsync(buffer, context.RequestAborted);
        byte[] body = buffer.ToArray();
        var verification = WebhookSignature.Verify(body, context.Request.Headers[WebhookSignature.HeaderName].ToString(), _secret, _clock.GetCurrentInstant());
        if (!verification.IsVerified)
        {
            BadSignatures.AddOrUpdate(verification.Status, 1, static (_, n) => n + 1);
            context.Response.StatusCode = StatusCodes.Status400BadRequest;
            return;
        }
        bool fail;
        lock (_gate)
        {
            fail = _random.NextDouble() < _failureRate;
        }
        if (fail)
        {
            Interlocked.Increment(ref _failuresInjected);
            context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
            if (RetryAfterSeconds is { } seconds)
            {
                context.Response.Headers.RetryAfter = seconds.ToString(System.Globalization.CultureInfo.InvariantCulture);
            }
            return;
        }
        string id = context.Request.Headers[WebhookHeaders.EventId].ToString();
        using var json = JsonDocument.Parse(body);
        if (json.RootElement.GetProperty("id").GetString() != id)
        {
            IdMismatches.Add(id);
        }
        Interlocked.Increment(ref _deliveries);
        TimesAccepted.AddOrUpdate(id, 1, static (_, n) => n + 1);
        Events.TryAdd(id, json.RootElement.Clone());
        context.Response.StatusCode = StatusCodes.Status204NoContent;
    }

    public async ValueTask DisposeAsync() => await StopAsync();
}
