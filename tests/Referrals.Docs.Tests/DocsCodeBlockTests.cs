using System.Text.Json;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace Referrals.Docs;

/// <summary>
/// The code the README and the docs show is code that compiles and runs: every C# block is marked with the source it
/// shows (<c>&lt;!-- snippet: Topic.Name --&gt;</c> for a <c>#region</c> under Snippets/, or a sample's file), and its text is
/// that source's, character for character. Every JSON block with a <c>Referrals</c> section is a configuration the
/// library accepts at start.
/// </summary>
public sealed class DocsCodeBlockTests
{
    public static TheoryData<string> Pages() => new(DocsFiles.Pages);

    [Fact]
    public void TheDocsHaveOnePagePerTopic()
    {
        string[] topics =
        [
            "docs/getting-started.md", "docs/configuration.md", "docs/codes-and-links.md", "docs/attribution.md",
            "docs/pos-batch-csv.md", "docs/rewards.md", "docs/fraud.md", "docs/stores.md", "docs/operations.md", "docs/privacy.md",
            "docs/reports.md",
        ];
        Assert.Empty(topics.Except(DocsFiles.Pages));
        var readme = DocsFiles.Read("README.md");
        Assert.All(topics, t => Assert.Contains($"({t})", readme, StringComparison.Ordinal));
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void EveryCSharpBlockIsTheSourceItNames(string page)
    {
        var failures = new List<string>();
        foreach (var block in DocsFiles.Blocks(page).Where(b => b.Language is "csharp" or "cs" or "c#"))
        {
            if (block.Marker is not { } marker || !marker.StartsWith("snippet: ", StringComparison.Ordinal))
            {
                failures.Add($"{block}: a C# block needs a '<!-- snippet: Name -->' line before it naming the compiled source it shows.");
                continue;
            }
            string source;
            try
            {
                source = DocsFiles.Snippet(marker["snippet: ".Length..]);
            }
            catch (Exception e) when (e is FileNotFoundException or KeyNotFoundException)
            {
                failures.Add($"{block}: {e.Message}");
                continue;
            }
            if (FirstDifference(block.Text, source) is { } diff)
            {
                failures.Add($"{block}: differs from its source at line {diff.Line}:\n  page:   {diff.Page}\n  source: {diff.Source}");
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
    }

    [Fact]
    public void EverySnippetIsShownOnAPage()
    {
        var shown = DocsFiles.Pages.SelectMany(DocsFiles.Blocks).Select(b => b.Marker)
            .Where(m => m is not null && m.StartsWith("snippet: ", StringComparison.Ordinal)).Select(m => m!["snippet: ".Length..]).ToHashSet();
        var unshown = DocsFiles.Regions().Keys.Where(r => !shown.Contains(r)).Order(StringComparer.Ordinal).ToList();
        Assert.True(unshown.Count == 0, "Regions under Snippets/ that no page shows: " + string.Join(", ", unshown));
    }

    [Theory]
    [MemberData(nameof(Pages))]
    public void EveryConfigurationBlockStartsAHost(string page)
    {
        foreach (var block in DocsFiles.Blocks(page).Where(b => b.Language == "json"))
        {
            using var doc = JsonDocument.Parse(block.Text, new JsonDocumentOptions { CommentHandling = JsonCommentHandling.Skip, AllowTrailingCommas = true });
            if (doc.RootElement.ValueKind != JsonValueKind.Object || !doc.RootElement.TryGetProperty("Referrals", out _))
            {
                continue;
            }
            var configuration = new ConfigurationBuilder()
                .AddJsonStream(new MemoryStream(System.Text.Encoding.UTF8.GetBytes(block.Text)))
                .Build();
            var services = new ServiceCollection();
            services.AddReferrals(configuration);
            using var provider = services.BuildServiceProvider();
            var error = Record.Exception(() => provider.GetRequiredService<IStartupValidator>().Validate());
            Assert.True(error is null, $"{block}: the host would not start: {(error as OptionsValidationException)?.Message ?? error?.ToString()}");
        }
    }

    [Fact]
    public void TheCheckerFindsADifferenceAndAMissingMarker()
    {
        // The checks above pass only because the pages match; this shows they would notice when they do not.
        Assert.Equal(2, FirstDifference("a\nb\nc", "a\nB\nc")!.Value.Line);
        Assert.Equal(3, FirstDifference("a\nb", "a\nb\nc")!.Value.Line);
        Assert.Null(FirstDifference("a\n  b", "a\n  b"));
        var lines = "intro\n\n<!-- snippet: X.Y -->\n```csharp\n    var a = 1;\n```\n\n```csharp\nvar b = 2;\n```\n".Split('\n');
        var file = Path.Combine(Path.GetTempPath(), $"docs-check-{Environment.ProcessId}.md");
        File.WriteAllLines(file, lines);
        try
        {
            var blocks = DocsFiles.Blocks(Path.GetRelativePath(DocsFiles.Root, file));
            Assert.Equal(["snippet: X.Y", null], blocks.Select(b => b.Marker));
            Assert.Equal("var a = 1;", blocks[0].Text);
        }
        finally
        {
            File.Delete(file);
        }
    }

    internal static (int Line, string Page, string Source)? FirstDifference(string page, string source)
    {
        var a = page.Split('\n');
        var b = source.Split('\n');
        for (int i = 0; i < Math.Max(a.Length, b.Length); i++)
        {
            var x = i < a.Length ? a[i] : "(end)";
            var y = i < b.Length ? b[i] : "(end)";
            if (!string.Equals(x, y, StringComparison.Ordinal))
            {
                return (i + 1, x, y);
            }
        }
        return null;
    }
}
