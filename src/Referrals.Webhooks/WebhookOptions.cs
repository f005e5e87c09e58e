using System.Net;

namespace Referrals.Webhooks;

/// <summary>
/// Where and how webhooks are delivered, under <c>Referrals:Webhooks</c>. Validated when the host starts: one message lists
/// every bad setting by its configuration path.
/// </summary>
public sealed class WebhookOptions
{
    /// <summary>The configuration section, <c>Referrals:Webhooks</c>.</summary>
    public const string SectionName = "Referrals:Webhooks";

    /// <summary>
    /// The endpoints by name (<c>Referrals:Webhooks:Endpoints:{name}</c>; names compared ignoring case). At least one.
    /// Every event goes to every endpoint subscribed to its type.
    /// </summary>
    public IDictionary<string, WebhookEndpointOptions> Endpoints { get; } = new Dictionary<string, WebhookEndpointOptions>(StringComparer.OrdinalIgnoreCase);

    /// <summary>How long one HTTP request may take, headers and body included. 100 milliseconds to 5 minutes; default 10 seconds.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Retries of a failed request within one delivery attempt (on a connection failure, a timeout, 408, 429 or 5xx), with
    /// exponential backoff and jitter. 0 to 10; default 3. When they are spent the outbox tries again later
    /// (<c>Referrals:Notifications</c>).
    /// </summary>
    public int MaxRetries { get; set; } = 3;

    /// <summary>
    /// The base wait before the first retry; each retry after waits about twice as long, randomised (jitter) so that many
    /// senders do not retry in step. 1 millisecond to 1 minute; default 1 second.
    /// </summary>
    public TimeSpan RetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    /// <summary>The longest wait between two retries, a <c>Retry-After</c> the endpoint sent included. <see cref="RetryDelay"/> to 5 minutes; default 30 seconds.</summary>
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>What binding the section found wrong, reported with the validation's other failures.</summary>
    internal List<string> BindingFailures { get; } = [];

    /// <summary>Every bad setting, each naming its configuration path; empty when the options are valid.</summary>
    internal List<string> Validate()
    {
        const string path = SectionName;
        var failures = new List<string>(BindingFailures);
        if (Endpoints.Count == 0)
        {
            failures.Add($"{path}:Endpoints must name at least one endpoint (Url, Secret, and optionally Events).");
        }
        foreach (var (name, endpoint) in Endpoints.OrderBy(e => e.Key, StringComparer.OrdinalIgnoreCase))
        {
            if (endpoint is null)
            {
                failures.Add($"{path}:Endpoints:{name} must be a section with Url and Secret.");
                continue;
            }
            endpoint.Validate($"{path}:Endpoints:{name}", failures);
        }
        if (RequestTimeout < TimeSpan.FromMilliseconds(100) || RequestTimeout > TimeSpan.FromMinutes(5))
        {
            failures.Add($"{path}:RequestTimeout must be 100 milliseconds to 5 minutes; got {RequestTimeout}.");
        }
        if (MaxRetries is < 0 or > 10)
        {
            failures.Add($"{path}:MaxRetries must be 0 to 10; got {MaxRetries}.");
        }
        bool delayOk = RetryDelay >= TimeSpan.FromMilliseconds(1) && RetryDelay <= TimeSpan.FromMinutes(1);
        if (!delayOk)
        {
            failures.Add($"{path}:RetryDelay must be 1 millisecond to 1 minute; got {RetryDelay}.");
        }
        if (MaxRetryDelay > TimeSpan.FromMinutes(5) || MaxRetryDelay < TimeSpan.FromMilliseconds(1) || (delayOk && MaxRetryDelay < RetryDelay))
        {
            failures.Add($"{path}:MaxRetryDelay must be at least RetryDelay ({RetryDelay}) and at most 5 minutes; got {MaxRetryDelay}.");
        }
        return failures;
    }
}

/// <summary>One webhook endpoint, under <c>Referrals:Webhooks:Endpoints:{name}</c>.</summary>
public sealed class WebhookEndpointOptions
{
    /// <summary>The shortest secret accepted, in characters.</summary>
    public const int MinSecretLength = 16;

    private static bool IsPrintableSecret(string secret) =>
        Referrals.Internal.UntrustedText.IndexOfUnpairedSurrogate(secret) < 0
        && Referrals.Internal.UntrustedText.IndexOfControl(secret) < 0
        && !secret.Any(c => char.IsWhiteSpace(c) || char.GetUnicodeCategory(c) == System.Globalization.UnicodeCategory.Format);

    /// <summary>
    /// Where events are POSTed: an absolute <c>https</c> URL, or <c>http</c> to a loopback address (a receiver on the same
    /// machine). Required.
    /// </summary>
    public Uri? Url { get; set; }

    /// <summary>
    /// The key of the deliveries' <c>Referrals-Signature</c> (see <see cref="WebhookSignature"/>), shared with the receiver:
    /// at least <see cref="MinSecretLength"/> characters, random and printable (no white space, control, invisible or broken characters). Required. Keep it out of files under source control
    /// (user secrets, environment variables, a vault); it is never logged nor shown in messages.
    /// </summary>
    public string? Secret { get; set; }

    /// <summary>The event types this endpoint receives (<see cref="WebhookEventTypes"/>); empty (the default) for all.</summary>
    public IList<string> Events { get; } = new List<string>();

    /// <summary>Whether this endpoint receives events of <paramref name="type"/>.</summary>
    internal bool Receives(string type) => Events.Count == 0 || Events.Contains(type, StringComparer.Ordinal);

    internal void Validate(string path, List<string> failures)
    {
        if (Url is null)
        {
            failures.Add($"{path}:Url is required.");
        }
        else if (!Url.IsAbsoluteUri)
        {
            failures.Add($"{path}:Url must be an absolute URL; got '{Url.OriginalString}'.");
        }
        else if (!(Url.Scheme == Uri.UriSchemeHttps || (Url.Scheme == Uri.UriSchemeHttp && IsLoopback(Url))))
        {
            failures.Add($"{path}:Url must be https (http only to a loopback address); got '{Url.GetLeftPart(UriPartial.Path)}'.");
        }
        else if (!string.IsNullOrEmpty(Url.UserInfo))
        {
            failures.Add($"{path}:Url must not carry a user name or password; put credentials in Secret.");
        }
        if (string.IsNullOrEmpty(Secret))
        {
            failures.Add($"{path}:Secret is required.");
        }
        else if (Secret.Length < MinSecretLength || string.IsNullOrWhiteSpace(Secret))
        {
            // The length only, never the value.
            failures.Add($"{path}:Secret must be at least {MinSecretLength} characters, not all white space; got {Secret.Length}.");
        }
        else if (!IsPrintableSecret(Secret))
        {
            // Never the value: only what is wrong with it. A receiver pastes the secret into its own code, and UTF-8 signs
            // every unpaired surrogate half as the same U+FFFD (sixteen of them would be one secret, whichever they were).
            failures.Add($"{path}:Secret must be printable text: no white space, control, invisible (format) or broken (unpaired surrogate) characters.");
        }
        for (int i = 0; i < Events.Count; i++)
        {
            if (!WebhookEventTypes.All.Contains(Events[i], StringComparer.Ordinal))
            {
                failures.Add($"{path}:Events:{i} must be one of {string.Join(", ", WebhookEventTypes.All)}; got '{Events[i]}'.");
            }
        }
    }

    private static bool IsLoopback(Uri url) =>
        url.IsLoopback || (IPAddress.TryParse(url.DnsSafeHost, out var ip) && IPAddress.IsLoopback(ip));
}
