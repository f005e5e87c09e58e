using System.Runtime.CompilerServices;
using Microsoft.Extensions.Options;

namespace Referrals.Programs;

/// <summary>
/// Checks <see cref="ReferralsOptions"/> and lists every bad setting by its configuration path
/// (<c>Referrals:Codes:Length</c>) in one result. Used by dependency injection at start and by every non-DI constructor;
/// each options class checks its own settings (<see cref="ReferralsOptions.Validate"/>).
/// </summary>
/// <remarks>
/// Options bound from configuration by <c>AddReferrals(IConfiguration)</c> also carry what the strict binding found —
/// values that could not be converted, keys that name no setting — listed first in the same result.
/// </remarks>
internal sealed class ReferralsOptionsValidator : IValidateOptions<ReferralsOptions>
{
    // What the strict binding of the configuration section found (values it could not convert, keys naming no setting),
    // by the options instance it bound: reported first, in the same message as every other bad setting.
    private static readonly ConditionalWeakTable<ReferralsOptions, IReadOnlyList<string>> BindingFailures = new();

    /// <inheritdoc />
    public ValidateOptionsResult Validate(string? name, ReferralsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = Collect(options);
        return failures.Count == 0 ? ValidateOptionsResult.Success : ValidateOptionsResult.Fail(failures);
    }

    /// <summary>Validates options built in code, outside dependency injection.</summary>
    /// <exception cref="OptionsValidationException">One or more settings are bad; <see cref="OptionsValidationException.Failures"/> lists each, and the message all of them.</exception>
    public static void ThrowIfInvalid(ReferralsOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var failures = Collect(options);
        if (failures.Count > 0)
        {
            throw new OptionsValidationException(Options.DefaultName, typeof(ReferralsOptions), failures);
        }
    }

    /// <summary>Records what binding the configuration into <paramref name="options"/> could not do (see <c>StrictConfigurationBinder</c>).</summary>
    internal static void RecordBindingFailures(ReferralsOptions options, IReadOnlyList<string> failures) =>
        BindingFailures.AddOrUpdate(options, failures);

    private static List<string> Collect(ReferralsOptions options)
    {
        var f = new List<string>();
        if (!BindingFailures.TryGetValue(options, out var binding))
        {
            options.Validate(f);
            return f;
        }
        f.AddRange(binding);
        var checks = new List<string>();
        options.Validate(checks);
        // A value the binder could not read is left unset, so a rule's "give exactly one of Amount or Percent" would only
        // restate that one mistake (a "NaN" amount, reported above by its path): not repeated.
        f.AddRange(checks.Where(c => !RestatesUnreadAmount(c, binding)));
        return f;
    }

    private const string OneOfAmountOrPercent = ": give exactly one of Amount (with Currency) or Percent.";

    private static bool RestatesUnreadAmount(string failure, IReadOnlyList<string> binding)
    {
        if (!failure.EndsWith(OneOfAmountOrPercent, StringComparison.Ordinal))
        {
            return false;
        }
        // "Referrals:Programs:p:Rewards:Rules:0 ('ladder'):Tiers:1" is the binder's "…:Rules:0:Tiers:1", less the rule's name.
        string path = System.Text.RegularExpressions.Regex.Replace(failure[..^OneOfAmountOrPercent.Length], @" \('[^']*'\)", "");
        return binding.Any(b => b.StartsWith(path + ":Amount ", StringComparison.OrdinalIgnoreCase)
            || b.StartsWith(path + ":Percent ", StringComparison.OrdinalIgnoreCase));
    }
}
