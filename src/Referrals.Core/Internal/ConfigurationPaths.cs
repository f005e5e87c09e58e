
namespace Referrals.Internal;

/// <summary>Where the settings sit in the configuration tree, for messages that name a bad setting by its path.</summary>
internal static class ConfigurationPaths
{
    /// <summary>The root section of every setting, <c>Referrals</c> (<c>ReferralsOptions.SectionName</c>).</summary>
    public const string Root = "Referrals";

    /// <summary><c>Referrals:Links</c>.</summary>
    public const string Links = Root + ":Links";

    /// <summary><c>Referrals:Privacy</c>.</summary>
    public const string Privacy = Root + ":Privacy";

    /// <summary>
    /// Sections under <c>Referrals</c> that an extension package binds and checks itself (<c>Referrals:Webhooks</c>, by
    /// Referrals.Webhooks): the core's strict binding neither binds them nor reports their keys as naming no setting.
    /// </summary>
    public static readonly IReadOnlySet<string> PackageSections = new HashSet<string>(["Webhooks"], StringComparer.OrdinalIgnoreCase);
}
