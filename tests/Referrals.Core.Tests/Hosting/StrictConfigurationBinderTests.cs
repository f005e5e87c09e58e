using System.ComponentModel;
using System.Reflection;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Programs;

namespace Referrals.Tests.Hosting;

/// <summary>
/// Binding the <c>Referrals</c> section: a value the binder cannot convert is an error named by its path, never a
/// silently dropped list or dictionary entry; so is a key that names no setting.
/// </summary>
public sealed class StrictConfigurationBinderTests
{
    /// <summary>A configuration that binds cleanly, with an entry of every kind: programs, rules, tiers, boosts, caps, dictionaries.</summary>
    private const string Valid = """
        {
          "Referrals": {
            "Codes": { "Length": 8, "AdditionalPrefixes": [ "NYC5" ] },
            "Links": { "Template": "https://shop.example/r/{code}", "QrPayloadAsLink": true },
            "Fraud": { "CodeGuessing": { "Window": "00:10:00" } },
            "Programs": {
              "customers": {
                "TimeZone": "Europe/Berlin", "AttributionWindow": "30.00:00:00", "Precedence": "LastTouch",
                "MinimumOrder": { "EUR": 20 },
                "Rewards": {
                  "Rules": [
                    { "Name": "ladder", "Tiers": [ { "From": 1, "Amount": 10, "Currency": "EUR" }, { "From": 5, "Amount": 15, "Currency": "EUR" } ] },
                    { "Name": "friend", "For": "Referee", "Kind": "Coupon", "Percent": 10 }
                  ],
                  "Boosts": [ { "Name": "black-friday", "From": "2026-11-27", "Until": "2026-12-01", "Multiply": 2 } ],
                  "Caps": [ { "Period": "Month", "MaxAmount": 100, "Currency": "EUR" } ]
                },
                "Fraud": { "Scores": { "self-referral.address": 20 }, "ReviewDeadline": "30.00:00:00" }
              }
            }
          }
        }
        """;

    private const string Secret = "MDEyMzQ1Njc4OWFiY2RlZjAxMjM0NTY3ODlhYmNkZWY=";

    private static ServiceProvider Build(IReadOnlyDictionary<string, string?> overrides, string json = Valid)
    {
        var configuration = new ConfigurationBuilder()
            .AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(json)))
            .AddInMemoryCollection(overrides)
            .Build();
        var services = new ServiceCollection();
        services.AddReferrals(configuration);
        return services.BuildServiceProvider();
    }

    private static OptionsValidationException StartFails(IReadOnlyDictionary<string, string?> overrides, string json = Valid)
    {
        using var provider = Build(overrides, json);
        return Assert.Throws<OptionsValidationException>(provider.GetRequiredService<IStartupValidator>().Validate);
    }

    [Theory]
    // The three: each silently removed a program, a tier or a rule.
    [InlineData("Referrals:Programs:customers:AttributionWindow", "30 days", "must be a time span such as 30.00:00:00")]
    [InlineData("Referrals:Programs:customers:Rewards:Rules:0:Tiers:0:Amount", "NaN", "must be a number such as 12.50")]
    [InlineData("Referrals:Programs:customers:Rewards:Rules:1:For", "Nobody", "must be one of Referrer, Referee")]
    // Dictionary entries, list entries and plain values of every type.
    [InlineData("Referrals:Programs:customers:MinimumOrder:EUR", "twenty", "must be a number such as 12.50")]
    [InlineData("Referrals:Programs:customers:Fraud:Scores:self-referral.address", "high", "must be a whole number such as 10")]
    [InlineData("Referrals:Programs:customers:Rewards:Caps:0:Period", "Fortnight", "must be one of Day, Week, Month, Year, Lifetime")]
    [InlineData("Referrals:Programs:customers:Rewards:Boosts:0:Multiply", "1e30", "must be a number such as 12.50")]
    [InlineData("Referrals:Programs:customers:Fraud:ReviewDeadline", "a month", "must be a time span such as 30.00:00:00")]
    [InlineData("Referrals:Codes:Length", "eight", "must be a whole number such as 10")]
    [InlineData("Referrals:Links:QrPayloadAsLink", "yes", "must be true or false")]
    [InlineData("Referrals:Fraud:CodeGuessing:Window", "10 minutes", "must be a time span such as 30.00:00:00")]
    // JSON null for a number or a switch: named as empty, not as the 0 or false the binder would have set (found by a user).
    [InlineData("Referrals:Codes:Length", "", "must be a whole number such as 10")]
    [InlineData("Referrals:Links:QrPayloadAsLink", "", "must be true or false")]
    // An enum by number: the binder takes it, and "1" is LastTouch, "2" a coupon (found by a user); settings are by name.
    [InlineData("Referrals:Programs:customers:Precedence", "1", "must be one of LastTouch, FirstTouch")]
    [InlineData("Referrals:Programs:customers:Rewards:Rules:1:Kind", " 2", "must be one of AccountCredit, Coupon, Points, Cash")]
    [InlineData("Referrals:Programs:customers:Rewards:Caps:0:Period", "-1", "must be one of Day, Week, Month, Year, Lifetime")]
    public void A_value_the_binder_cannot_convert_stops_the_host_at_start_naming_its_path_and_what_was_expected(string path, string value, string expected)
    {
        var ex = StartFails(new Dictionary<string, string?> { [path] = value });

        Assert.Contains($"{path} {expected}", ex.Message, StringComparison.Ordinal);
        Assert.Contains(value.Length == 0 ? "got an empty value (null)" : $"got '{value}'", ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_key_that_names_no_setting_is_a_typo_and_stops_the_host()
    {
        var ex = StartFails(new Dictionary<string, string?>
        {
            ["Referrals:Programs:customers:AtributionWindow"] = "14.00:00:00",
            ["Referrals:Links:Tempalte"] = "https://shop.example/invite/{code}",
            ["Referrals:Colour"] = "blue",
        });

        Assert.Contains("Referrals:Programs:customers:AtributionWindow names no setting (a typo of 'AttributionWindow'?)", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Referrals:Links:Tempalte names no setting (a typo of 'Template'?)", ex.Message, StringComparison.Ordinal);
        var colour = Assert.Single(ex.Failures, f => f.StartsWith("Referrals:Colour names no setting; the settings here are ", StringComparison.Ordinal));
        Assert.Contains("Codes", colour, StringComparison.Ordinal);
        Assert.Contains("Programs", colour, StringComparison.Ordinal);
        Assert.Equal(3, ex.Failures.Count());
    }

    /// <summary>
    /// A misspelt section name (found by a user) left every setting unread and the host started with no program at all,
    /// issuing codes for it: a near miss of <c>Referrals</c> at the top of the configuration stops the host.
    /// </summary>
    [Theory]
    [InlineData("Referals")]
    [InlineData("Refferals")]
    [InlineData("referral")]
    public void A_misspelt_Referrals_section_stops_the_host_naming_it(string misspelt)
    {
        var ex = StartFails(new Dictionary<string, string?>(), Valid.Replace("\"Referrals\"", $"\"{misspelt}\"", StringComparison.Ordinal));

        Assert.Equal($"Referrals: there is no such section, but there is '{misspelt}' (a typo of 'Referrals'?); none of its settings are read.", Assert.Single(ex.Failures));
    }

    /// <summary>
    /// An amount the binder cannot read is one mistake, named once: the rule then has neither Amount nor Percent, which is
    /// not reported again (found by a user). A rule that really has neither still is.
    /// </summary>
    [Theory]
    [InlineData("Referrals:Programs:customers:Rewards:Rules:0:Tiers:1:Amount", "NaN")]
    [InlineData("Referrals:Programs:customers:Rewards:Rules:1:Percent", "1,5")]
    public void An_unreadable_amount_is_named_once(string path, string value)
    {
        var ex = StartFails(new Dictionary<string, string?> { [path] = value });

        Assert.StartsWith(path + " must be a number such as 12.50", Assert.Single(ex.Failures), StringComparison.Ordinal);

        var neither = StartFails(new Dictionary<string, string?> { [path] = value, ["Referrals:Programs:customers:Rewards:Rules:2:Name"] = "empty" });
        Assert.Contains(neither.Failures, f => f.EndsWith("Rules:2 ('empty'): give exactly one of Amount (with Currency) or Percent.", StringComparison.Ordinal));
    }

    [Fact]
    public void A_section_where_a_list_belongs_is_named_once_as_the_list()
    {
        var ex = StartFails(new Dictionary<string, string?>(), """
            { "Referrals": { "Links": { "Template": "https://shop.example/r/{code}" },
              "Programs": { "customers": { "Rewards": { "Rules": { "Name": "solo", "Amount": 5, "Currency": "EUR" } } } } } }
            """);

        Assert.Contains("Referrals:Programs:customers:Rewards:Rules must be a list (a JSON array); got a section ('Amount', 'Currency', 'Name').", ex.Failures);
        Assert.DoesNotContain(ex.Failures, f => f.StartsWith("Referrals:Programs:customers:Rewards:Rules:", StringComparison.Ordinal));
    }

    [Fact]
    public void A_host_configured_in_code_alone_starts_beside_other_sections()
    {
        using var provider = Build(new Dictionary<string, string?>(), """{ "Logging": { "LogLevel": { "Default": "Warning" } }, "Rewards": { } }""");

        provider.GetRequiredService<IStartupValidator>().Validate();
    }

    [Fact]
    public void The_section_of_an_extension_package_is_left_to_it_and_a_key_beside_it_is_still_a_typo()
    {
        // Referrals:Webhooks belongs to Referrals.Webhooks, which binds and checks it strictly itself.
        var ex = StartFails(new Dictionary<string, string?>
        {
            ["Referrals:Webhooks:Endpoints:crm:Url"] = "https://crm.example/hooks",
            ["Referrals:Webhooks:Anything"] = "the package reports it",
            ["Referrals:Webhook:Endpoints:crm:Url"] = "https://crm.example/hooks",
        });

        Assert.Equal("Referrals:Webhook names no setting (a typo of 'Webhooks'?).", Assert.Single(ex.Failures));
    }

    [Fact]
    public void A_single_value_where_a_section_or_list_belongs_stops_the_host_without_showing_the_value()
    {
        var ex = StartFails(new Dictionary<string, string?>
        {
            ["Referrals:Links:SigningKeys"] = Secret,
            ["Referrals:Programs:staff:Rewards"] = "yes",
        });

        Assert.Contains("Referrals:Links:SigningKeys must be a list (a JSON array); got a single value (not shown).", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Referrals:Programs:staff:Rewards must be a section of settings (a JSON object); got a single value (not shown).", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, ex.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_long_bad_value_is_not_shown_it_may_be_a_misplaced_secret()
    {
        var ex = StartFails(new Dictionary<string, string?> { ["Referrals:Links:MaxLength"] = Secret, ["Referrals:Links:Secret"] = Secret });

        Assert.Contains($"Referrals:Links:MaxLength must be a whole number such as 10; got a value of {Secret.Length} characters (not shown).", ex.Message, StringComparison.Ordinal);
        Assert.Contains("Referrals:Links:Secret names no setting", ex.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(Secret, ex.Message, StringComparison.Ordinal);
    }

    /// <summary>
    /// Found by reflection, so a setting added later is covered without touching this test: every setting below
    /// <c>Referrals</c> whose value is not text (numbers, time spans, enums, flags), reached through every section, list
    /// (entry 0) and dictionary (entry "p").
    /// </summary>
    [Fact]
    public void Every_setting_of_every_options_type_is_checked_and_all_bad_values_are_named_in_one_message()
    {
        var paths = new List<string>();
        ValueSettings(typeof(ReferralsOptions), ReferralsOptions.SectionName, paths, depth: 0);
        Assert.True(paths.Count > 40, $"only {paths.Count} settings found");
        Assert.Contains("Referrals:Programs:p:Rewards:Rules:0:Tiers:0:Amount", paths);
        Assert.Contains("Referrals:Programs:p:MinimumOrder:p", paths);

        var ex = StartFails(paths.ToDictionary(p => p, _ => (string?)"x\u2028\uFFFF\u0378"), json: "{}");

        foreach (var path in paths)
        {
            Assert.Contains(ex.Failures, f => f.StartsWith(path + " must be ", StringComparison.Ordinal));
        }
        Assert.DoesNotContain('\u2028', ex.Message);
    }

    private static void ValueSettings(Type type, string path, List<string> paths, int depth)
    {
        Assert.True(depth < 10, $"options nest too deep at {path}");
        var t = Nullable.GetUnderlyingType(type) ?? type;
        if (t == typeof(string))
        {
            return;
        }
        if (TypeDescriptor.GetConverter(t).CanConvertFrom(typeof(string)))
        {
            paths.Add(path);
            return;
        }
        if (Implemented(t, typeof(IDictionary<,>)) is { } dictionary)
        {
            ValueSettings(dictionary.GetGenericArguments()[1], path + ":p", paths, depth + 1);
            return;
        }
        if (Implemented(t, typeof(IEnumerable<>)) is { } list)
        {
            ValueSettings(list.GetGenericArguments()[0], path + ":0", paths, depth + 1);
            return;
        }
        foreach (var p in t.GetProperties(BindingFlags.Public | BindingFlags.Instance))
        {
            if (p.SetMethod is { IsPublic: true })
            {
                ValueSettings(p.PropertyType, $"{path}:{p.Name}", paths, depth + 1);
            }
        }
    }

    private static Type? Implemented(Type type, Type definition) =>
        type.IsGenericType && type.GetGenericTypeDefinition() == definition
            ? type
            : type.GetInterfaces().FirstOrDefault(i => i.IsGenericType && i.GetGenericTypeDefinition() == definition);

    private static Gen<string> HostileText { get; } =
        Gen.Frequency(
            (3, ArbMap.Default.GeneratorFor<string>().Select(s => s ?? string.Empty)),
            (3, Gen.Elements(
                "30 days", "00:59:59", "367.00:00:00", "-1.00:00:00", "NaN", "Infinity", "1e30", "1e26", "-5", "", " ", "\uD800",
                "\uDC00x", "\u2028", "\uFFFF", "\u0378", "٣٠", "３０", "30\u00A0days", "10675199.02:48:05.4775807",
                "79228162514264337593543950335", "0x10")),
            (2, Gen.Elements("10", "30", " 30 ", "14.00:00:00", "1.00:00:00", "366.00:00:00", "12.5", "1e3", "0.01")));

    /// <summary>
    /// Any text in a time span (a program's window) or in an amount (a tier's): bound to exactly the converted value, or
    /// the host stops naming the setting. Never a program, rule or tier silently gone.
    /// </summary>
    [Property(MaxTest = 200)]
    public Property Any_text_is_bound_as_converted_or_named_never_dropped() =>
        Prop.ForAll(Gen.Elements(false, true).ToArbitrary(), HostileText.ToArbitrary(), (inWindow, text) =>
        {
            const string windowPath = "Referrals:Programs:customers:AttributionWindow";
            const string amountPath = "Referrals:Programs:customers:Rewards:Rules:0:Tiers:0:Amount";
            string path = inWindow ? windowPath : amountPath;
            using var provider = Build(new Dictionary<string, string?> { [path] = text });
            ReferralsOptions options;
            try
            {
                options = provider.GetRequiredService<IOptions<ReferralsOptions>>().Value;
            }
            catch (OptionsValidationException ex)
            {
                // Stopped: for reasons that name the setting (its value cannot be converted, or is out of range).
                string tier = "Referrals:Programs:customers:Rewards:Rules:0 ('ladder'):Tiers:0";
                bool converts = inWindow ? Converts<TimeSpan>(text) : text.Length == 0 || Converts<decimal>(text);
                return (ex.Failures.All(f => f.StartsWith(path, StringComparison.Ordinal) || (!inWindow && f.StartsWith(tier, StringComparison.Ordinal)))
                    && (converts || ex.Failures.Any(f => f.StartsWith(path + (inWindow ? " must be a time span" : " must be a number"), StringComparison.Ordinal))))
                    .Label("stopped: " + string.Join(" | ", ex.Failures));
            }
            // Started: the program, its rules and tiers are all there, with exactly the value written.
            return (options.Programs.TryGetValue("customers", out var p)
                && p.Rewards!.Rules.Count == 2
                && p.Rewards.Rules[0].Tiers.Count == 2
                && (inWindow
                    ? p.AttributionWindow == (TimeSpan)Convert<TimeSpan>(text)!
                    : p.Rewards.Rules[0].Tiers[0].Amount == (decimal)Convert<decimal>(text)!))
                .Label("started");
        });

    private static bool Converts<T>(string text) => Convert<T>(text) is not null;

    private static object? Convert<T>(string text)
    {
        try
        {
            return TypeDescriptor.GetConverter(typeof(T)).ConvertFromInvariantString(text);
        }
#pragma warning disable CA1031 // any exception of a converter means "not convertible"
        catch (Exception)
#pragma warning restore CA1031
        {
            return null;
        }
    }

    [Fact]
    public void A_service_resolved_before_start_validation_fails_with_the_same_message()
    {
        var configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Referrals:Programs:customers:AttributionWindow"] = "30 days" })
            .Build();
        var services = new ServiceCollection();
        services.AddReferrals(configuration);
        using var provider = services.BuildServiceProvider();

        var ex = Assert.Throws<OptionsValidationException>(() => provider.GetRequiredService<Referrals.Links.ShareLinkService>());
        Assert.Contains("Referrals:Programs:customers:AttributionWindow must be a time span", ex.Message, StringComparison.Ordinal);
    }
}
