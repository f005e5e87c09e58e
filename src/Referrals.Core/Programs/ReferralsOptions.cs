using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Internal;
using Referrals.Links;
using Referrals.Notifications;
using Referrals.Privacy;

namespace Referrals.Programs;

/// <summary>
/// Settings of Referrals.Core, bound from the <c>Referrals</c> configuration section or set in code.
/// Validated once: at start under dependency injection (<c>ValidateOnStart</c>), by the constructor otherwise; every bad
/// setting is named in one message. Each options class checks its own settings.
/// </summary>
public sealed class ReferralsOptions
{
    /// <summary>The configuration section the options are bound from: <c>Referrals</c>.</summary>
    public const string SectionName = ConfigurationPaths.Root;

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
    public FraudOptions Fraud { get; set; } = new();

    /// <summary>How notifications a notifier failed to take are tried again, and when they are given up (dead-lettered).</summary>
    public NotificationOptions Notifications { get; set; } = new();

    /// <summary>
    /// The referral programs by id (<c>Referrals:Programs:customers</c>): time zone, active window and attribution rules.
    /// A conversion of a program not listed here is not attributed.
    /// </summary>
    public IDictionary<string, ProgramOptions> Programs { get; set; } = new Dictionary<string, ProgramOptions>(StringComparer.Ordinal);

    // A setting a lower layer reads from another section of the configuration tree. ReferralsOptions is the root that
    // knows where each setting sits (the path stays Referrals:Fraud:CodeGuessing) and hands the lower layers their values.

    /// <summary><c>Referrals:Fraud:CodeGuessing</c>, read by the code service.</summary>
    internal CodeGuessingOptions CodeGuessing => Fraud.CodeGuessing;

    /// <summary>
    /// Adds a message naming the setting by its configuration path (<c>Referrals:Codes:Length</c>) for every bad setting
    /// of every section; each section checks its own settings. Besides each setting's range, the checks make sure nothing
    /// accepted can fail later: amounts bounded so that no reward computation overflows, local dates that are instants in
    /// every time zone, and a link template that builds links which read back.
    /// </summary>
    internal void Validate(List<string> f)
    {
        const string root = SectionName;
        if (Codes is null)
        {
            f.Add($"{root}:Codes is required.");
        }
        else
        {
            Codes.Validate($"{root}:Codes", f);
        }
        if (Vanity is null)
        {
            f.Add($"{root}:Vanity is required.");
        }
        else
        {
            Vanity.Validate($"{root}:Vanity", f);
        }
        if (Links is null)
        {
            f.Add($"{root}:Links is required.");
        }
        else
        {
            int before = f.Count;
            Links.Validate($"{root}:Links", f);
            if (f.Count == before)
            {
                // In long arithmetic: a code length or vanity length far out of range (reported with the codes' own
                // settings) must not overflow here before the message listing every bad setting is thrown.
                long longest = Math.Max((Codes?.Length ?? 0) + (Codes?.UseCheckCharacter == true ? 1L : 0L), Vanity?.MaxLength ?? 0);
                int longestCode = (int)Math.Clamp(longest, 0, CodeText.MaxKeyLength);
                LinkOptions.ValidateRoundTrip(Links, longestCode, $"{root}:Links", f);
            }
        }
        if (Privacy is null)
        {
            f.Add($"{root}:Privacy is required.");
        }
        else
        {
            Privacy.Validate($"{root}:Privacy", f);
        }
        if (Fraud is null)
        {
            f.Add($"{root}:Fraud is required.");
        }
        else
        {
            Fraud.Validate($"{root}:Fraud", f);
        }
        if (Notifications is null)
        {
            f.Add($"{root}:Notifications is required.");
        }
        else
        {
            Notifications.Validate($"{root}:Notifications", f);
        }
        if (Programs is null)
        {
            f.Add($"{root}:Programs is required (it may be empty).");
            return;
        }
        foreach (var (id, program) in Programs)
        {
            string path = $"{root}:Programs:{id}";
            if (IdentifierRules.Problem(id, ProgramId.MaxLength, "A program id") is { } problem)
            {
                f.Add($"{path}: {problem}");
            }
            if (program is null)
            {
                f.Add($"{path} is empty.");
            }
            else
            {
                program.Validate(path, f);
            }
        }
    }
}
