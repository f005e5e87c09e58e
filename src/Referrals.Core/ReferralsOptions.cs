using Referrals.Codes;
using Referrals.Links;
using Referrals.Programs;
using Referrals.Privacy;

namespace Referrals;

/// <summary>
/// Settings of Referrals.Core, bound from the <c>Referrals</c> configuration section or set in code.
/// Validated once at start by <see cref="ReferralsOptionsValidator"/>; every bad setting is named in one message.
/// </summary>
public sealed class ReferralsOptions
{
    /// <summary>The configuration section the options are bound from: <c>Referrals</c>.</summary>
    public const string SectionName = "Referrals";

    /// <summary>How generated codes look.</summary>
    public CodeOptions Codes { get; set; } = new();

    /// <summary>What vanity codes may be.</summary>
    public VanityCodeOptions Vanity { get; set; } = new();

    /// <summary>How share links are built, signed and read.</summary>
    public LinkOptions Links { get; set; } = new();

    /// <summary>
    /// How contact details are hashed. The key is optional here: only <see cref="ContactHasher"/> needs it, and fails to
    /// start without it.
    /// </summary>
    public PrivacyOptions Privacy { get; set; } = new();

    /// <summary>Process-wide fraud settings: extra disposable-mail domains, the code-guessing limit. Each program has its own policy.</summary>
    public Fraud.FraudOptions Fraud { get; set; } = new();

    /// <summary>How notifications a notifier failed to take are tried again, and when they are given up (dead-lettered).</summary>
    public Notifications.NotificationOptions Notifications { get; set; } = new();

    /// <summary>
    /// The referral programs by id (<c>Referrals:Programs:customers</c>): time zone, active window and attribution rules.
    /// A conversion of a program not listed here is not attributed.
    /// </summary>
    public IDictionary<string, ProgramOptions> Programs { get; set; } = new Dictionary<string, ProgramOptions>(StringComparer.Ordinal);

    // The settings a lower layer reads from another section of the configuration tree. ReferralsOptions is the root that
    // knows where each setting sits (the paths stay Referrals:Fraud:...); reading through it keeps Codes and Privacy from
    // depending on the Fraud namespace, which sits above them.

    /// <summary><c>Referrals:Fraud:CodeGuessing</c>, read by the code services.</summary>
    internal CodeGuessingOptions CodeGuessing => Fraud.CodeGuessing;

    /// <summary><c>Referrals:Fraud:DisposableDomains</c>, read by <see cref="FingerprintHasher"/>.</summary>
    internal IList<string> ExtraDisposableDomains => Fraud.DisposableDomains;
}
