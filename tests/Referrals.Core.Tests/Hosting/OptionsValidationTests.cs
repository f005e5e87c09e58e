using Microsoft.Extensions.Options;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Links;
using Referrals.Notifications;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Rewards;

namespace Referrals.Tests.Hosting;

/// <summary>
/// Each options class checks its own settings under the path it is given, and <see cref="ReferralsOptions"/> puts the
/// sections' findings together into the one start-up message, in section order.
/// </summary>
public sealed class OptionsValidationTests
{
    [Fact]
    public void Each_options_class_names_its_bad_settings_under_the_path_it_is_given()
    {
        Assert.Equal(["S:Length must be 4 to 24 symbols; got 3."], Check(f => new CodeOptions { Length = 3 }.Validate("S", f)));
        Assert.Equal(["S:MinLength must be 3 to 24; got 2."], Check(f => new VanityCodeOptions { MinLength = 2 }.Validate("S", f)));
        Assert.Equal(["S:MaxSources must be 16 to 16,777,216; got 15."], Check(f => new CodeGuessingOptions { MaxSources = 15 }.Validate("S", f)));
        Assert.Equal(["S:MaxLength must be 64 to 8192; got 63."], Check(f => new LinkOptions { MaxLength = 63 }.Validate("S", f)));
        Assert.Equal(
            ["S:DefaultCountryCallingCode must be 1 to 3 digits without a leading 0 or '+' (such as 1 or 49), or unset; got '+49'."],
            Check(f => new PrivacyOptions { DefaultCountryCallingCode = "+49" }.Validate("S", f)));
        Assert.Equal(["S:MaxChainDepth must be 1 to 10; got 0."], Check(f => new ProgramOptions { MaxChainDepth = 0 }.Validate("S", f)));
        // A misspelt currency is named as the key it is, not as an amount (found by a user).
        Assert.Equal(
            ["S:MinimumOrder: the key must be a three-letter currency code such as EUR; got 'EURO'."],
            Check(f => new ProgramOptions { MinimumOrder = new Dictionary<string, decimal> { ["EURO"] = 20m } }.Validate("S", f)));
        // One mistake, one message: the rules' levels are not reported again against the bad depth (found by a user).
        Assert.Equal(
            ["S:MaxChainDepth must be 1 to 10; got 0."],
            Check(f => new ProgramOptions
            {
                MaxChainDepth = 0,
                Rewards = new Referrals.Rewards.RewardOptions { Rules = [new Referrals.Rewards.RewardRuleOptions { Name = "thanks", Amount = 10m, Currency = "EUR" }] },
            }.Validate("S", f)));
        Assert.Equal(
            ["S:DisposableDomains:0 must be a domain name of at least two labels; got 'localhost'."],
            Check(f => new FraudOptions { DisposableDomains = ["localhost"] }.Validate("S", f)));
        Assert.Equal(["S:MinOrdersForRefundRate must be 1 or more; got 0."], Check(f => new FraudPolicyOptions { MinOrdersForRefundRate = 0 }.Validate("S", f)));
        Assert.Equal(["S:HoldPeriod must be 0 to 366 days; got -00:00:01."], Check(f => new RewardOptions { HoldPeriod = TimeSpan.FromSeconds(-1) }.Validate(3, "S", f)));
        Assert.Equal(["S:MaxAttempts must be 1 to 1000; got 0."], Check(f => new NotificationOptions { MaxAttempts = 0 }.Validate("S", f)));
    }

    [Fact]
    public void A_program_checks_its_rewards_and_fraud_policy_under_its_own_path()
    {
        var program = new ProgramOptions
        {
            MaxChainDepth = 1,
            Rewards = new RewardOptions { Rules = [new RewardRuleOptions { Name = "l2", Level = 2, Amount = 5, Currency = "EUR" }] },
            Fraud = new FraudPolicyOptions { MaxRefundRate = 2 },
        };

        Assert.Equal(
            [
                "P:Rewards:Rules:0 ('l2'):Level must be 1 to the program's MaxChainDepth (1); got 2.",
                "P:Fraud:MaxRefundRate must be 0 to 1; got 2.",
            ],
            Check(f => program.Validate("P", f)));
    }

    [Fact]
    public void The_start_up_message_lists_every_sections_findings_in_section_order()
    {
        var options = new ReferralsOptions();
        options.Codes.Length = 3;
        options.Vanity.MinLength = 2;
        options.Links.MaxLength = 63;
        options.Privacy.DefaultCountryCallingCode = "+49";
        options.Fraud.CodeGuessing.MaxSources = 15;
        options.Notifications.MaxAttempts = 0;
        options.Programs["customers"] = new ProgramOptions { MaxChainDepth = 0 };

        var ex = Assert.Throws<OptionsValidationException>(() => ReferralsOptionsValidator.ThrowIfInvalid(options));

        var expected = new List<string>();
        options.Codes.Validate("Referrals:Codes", expected);
        options.Vanity.Validate("Referrals:Vanity", expected);
        options.Links.Validate("Referrals:Links", expected);
        options.Privacy.Validate("Referrals:Privacy", expected);
        options.Fraud.Validate("Referrals:Fraud", expected);
        options.Notifications.Validate("Referrals:Notifications", expected);
        options.Programs["customers"].Validate("Referrals:Programs:customers", expected);
        Assert.Equal(7, expected.Count);
        Assert.Equal(expected, ex.Failures);
    }

    private static List<string> Check(Action<List<string>> validate)
    {
        var failures = new List<string>();
        validate(failures);
        return failures;
    }
}
