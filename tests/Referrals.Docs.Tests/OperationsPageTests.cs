using System.Text.RegularExpressions;

namespace Referrals.Docs;

/// <summary>
/// docs/operations.md lists every log event (id and level) and every instrument (name and unit) the library has, and
/// nothing else: these read the sources under src/ and fail when the page and the code differ.
/// </summary>
public sealed partial class OperationsPageTests
{
    private const string Page = "docs/operations.md";

    [Fact]
    public void EveryLogEventIsOnThePageWithItsLevel()
    {
        var inSource = Sources().SelectMany(text => LoggerMessagePattern().Matches(text))
            .Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value}").Distinct().Order(StringComparer.Ordinal).ToList();
        // The scan finds what it looks for (a pattern that matched nothing would pass any page).
        Assert.Contains("2004 Error", inSource);
        Assert.Contains("1001 Debug", inSource);

        var onPage = DocsFiles.Read(Page).Split('\n').Select(l => EventRowPattern().Match(l)).Where(m => m.Success)
            .Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(inSource, onPage);
    }

    [Fact]
    public void EveryInstrumentIsOnThePageWithItsUnit()
    {
        var inSource = Sources().SelectMany(text => InstrumentPattern().Matches(text))
            .Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value}").Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.Contains("referrals.notifications.dead_lettered {notification}", inSource);

        var onPage = DocsFiles.Read(Page).Split('\n').Select(l => InstrumentRowPattern().Match(l)).Where(m => m.Success)
            .Select(m => $"{m.Groups[1].Value} {m.Groups[2].Value}").Order(StringComparer.Ordinal).ToList();
        Assert.Equal(inSource, onPage);
    }

    [Fact]
    public void TheMeterTheActivitySourceAndEveryTagAreNamedOnThePage()
    {
        var telemetry = DocsFiles.Read("src/Referrals.Core/Internal/ReferralsTelemetry.cs");
        var names = ConstantPattern().Matches(telemetry).Select(m => m.Groups[1].Value).ToList();
        Assert.Contains("Referrals", names);
        Assert.Contains("referrals.outcome", names);
        var page = DocsFiles.Read(Page);
        Assert.All(names, n => Assert.Contains($"`{n}`", page, StringComparison.Ordinal));
    }

    private static IEnumerable<string> Sources() =>
        Directory.GetFiles(Path.Combine(DocsFiles.Root, "src"), "*.cs", SearchOption.AllDirectories)
            .Order(StringComparer.Ordinal)
            .Select(File.ReadAllText);

    [GeneratedRegex(@"\[LoggerMessage\(\s*EventId\s*=\s*(\d+)\s*,\s*Level\s*=\s*LogLevel\.(\w+)")]
    private static partial Regex LoggerMessagePattern();

    /// <summary>A row of the page's log table: <c>| 2004 | Error | ...</c>.</summary>
    [GeneratedRegex(@"^\|\s*(\d{4})\s*\|\s*(Trace|Debug|Information|Warning|Error|Critical)\s*\|")]
    private static partial Regex EventRowPattern();

    [GeneratedRegex(@"\.Create(?:Counter|UpDownCounter|Histogram|Gauge|ObservableCounter|ObservableUpDownCounter|ObservableGauge)<\w+>\(\s*""([^""]+)""\s*,\s*""([^""]*)""")]
    private static partial Regex InstrumentPattern();

    /// <summary>A row of the page's instrument table: <c>| `referrals.codes.resolved` | `{code}` | ...</c>.</summary>
    [GeneratedRegex(@"^\|\s*`(referrals\.[a-z_.]+)`\s*\|\s*`([^`]*)`\s*\|")]
    private static partial Regex InstrumentRowPattern();

    /// <summary>The string constants of the telemetry class: the Meter's and ActivitySource's name and the tag names.</summary>
    [GeneratedRegex(@"const string \w+ = ""([^""]+)""")]
    private static partial Regex ConstantPattern();
}
