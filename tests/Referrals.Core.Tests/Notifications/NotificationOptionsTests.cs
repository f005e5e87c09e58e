using System.Text;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;
using Referrals.Notifications;
using Referrals.Programs;

namespace Referrals.Tests.Notifications;

/// <summary>The <c>Referrals:Notifications</c> settings: documented defaults, bound from configuration, every bad one named.</summary>
public sealed class NotificationOptionsTests
{
    [Fact]
    public void The_defaults_are_ten_attempts_from_30_seconds_doubling_up_to_an_hour()
    {
        var o = new ReferralsOptions().Notifications;

        Assert.Equal((10, TimeSpan.FromSeconds(30), TimeSpan.FromHours(1)), (o.MaxAttempts, o.FirstRetryDelay, o.MaxRetryDelay));
        ReferralsOptionsValidator.ThrowIfInvalid(new ReferralsOptions());
    }

    [Fact]
    public void Every_bad_setting_is_named_by_its_path_in_one_message()
    {
        var options = new ReferralsOptions();
        options.Notifications.MaxAttempts = 0;
        options.Notifications.FirstRetryDelay = TimeSpan.FromMilliseconds(500);
        options.Notifications.MaxRetryDelay = TimeSpan.FromDays(8);

        var ex = Assert.Throws<OptionsValidationException>(() => ReferralsOptionsValidator.ThrowIfInvalid(options));

        Assert.Equal(
            ["Referrals:Notifications:MaxAttempts", "Referrals:Notifications:FirstRetryDelay", "Referrals:Notifications:MaxRetryDelay"],
            ex.Failures.Select(f => f[..f.IndexOf(' ', StringComparison.Ordinal)]));
        Assert.Contains("got 0", ex.Message, StringComparison.Ordinal);
        Assert.Contains("got 8.00:00:00", ex.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(1001, "00:00:30", "01:00:00", "Referrals:Notifications:MaxAttempts must be 1 to 1000; got 1001.")]
    [InlineData(10, "1.00:00:01", "2.00:00:00", "Referrals:Notifications:FirstRetryDelay must be 1 second to 1 day; got 1.00:00:01.")]
    [InlineData(10, "00:05:00", "00:04:59", "Referrals:Notifications:MaxRetryDelay must be at least FirstRetryDelay (00:05:00) and at most 7 days; got 00:04:59.")]
    public void A_setting_out_of_its_range_is_refused_with_the_value(int maxAttempts, string first, string max, string message)
    {
        var options = new ReferralsOptions();
        options.Notifications = new NotificationOptions { MaxAttempts = maxAttempts, FirstRetryDelay = TimeSpan.Parse(first, System.Globalization.CultureInfo.InvariantCulture), MaxRetryDelay = TimeSpan.Parse(max, System.Globalization.CultureInfo.InvariantCulture) };

        var ex = Assert.Throws<OptionsValidationException>(() => ReferralsOptionsValidator.ThrowIfInvalid(options));

        Assert.Equal([message], ex.Failures);
    }

    [Fact]
    public void A_missing_section_is_refused()
    {
        var ex = Assert.Throws<OptionsValidationException>(() => ReferralsOptionsValidator.ThrowIfInvalid(new ReferralsOptions { Notifications = null! }));

        Assert.Equal(["Referrals:Notifications is required."], ex.Failures);
    }

    [Fact]
    public void The_settings_bind_from_configuration_and_a_bad_one_stops_the_start()
    {
        const string Json = """{ "Referrals": { "Notifications": { "MaxAttempts": 24, "FirstRetryDelay": "00:01:00", "MaxRetryDelay": "06:00:00" } } }""";
        var configuration = new ConfigurationBuilder().AddJsonStream(new MemoryStream(Encoding.UTF8.GetBytes(Json))).Build();
        using var provider = new ServiceCollection().AddReferrals(configuration).Services.BuildServiceProvider();

        var o = provider.GetRequiredService<IOptions<ReferralsOptions>>().Value.Notifications;
        Assert.Equal((24, TimeSpan.FromMinutes(1), TimeSpan.FromHours(6)), (o.MaxAttempts, o.FirstRetryDelay, o.MaxRetryDelay));

        using var bad = new ServiceCollection().AddReferrals(configuration, c => c.Notifications.MaxAttempts = -1).Services.BuildServiceProvider();
        var ex = Assert.Throws<OptionsValidationException>(() => bad.GetRequiredService<IOptions<ReferralsOptions>>().Value);
        Assert.Contains("Referrals:Notifications:MaxAttempts", ex.Message, StringComparison.Ordinal);
    }
}
