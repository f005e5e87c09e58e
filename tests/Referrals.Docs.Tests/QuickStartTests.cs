using System.Diagnostics;
using System.Text.RegularExpressions;

namespace Referrals.Docs;

/// <summary>
/// The README's Quick start is samples/Referrals.QuickStart/Program.cs, shown verbatim (checked by
/// <see cref="DocsCodeBlockTests"/>); here it runs, prints what the README says it prints, and stays short.
/// </summary>
public sealed partial class QuickStartTests
{
    internal const string SampleSource = "samples/Referrals.QuickStart/Program.cs";

    [Fact]
    public void TheReadmeShowsTheQuickStartSample()
    {
        var blocks = DocsFiles.Blocks("README.md");
        Assert.Single(blocks, b => b.Marker == "snippet: " + SampleSource);
        Assert.Single(blocks, b => b.Marker == "output: samples/Referrals.QuickStart");
    }

    [Fact]
    public void TheFirstAttributedReferralTakesAtMostFifteenLinesOfCode()
    {
        var lines = DocsFiles.Read(SampleSource).Split('\n');
        int call = Array.FindIndex(lines, l => l.Contains("RecordConversionAsync(", StringComparison.Ordinal));
        Assert.True(call > 0, "the quick start records no conversion");
        int end = Array.FindIndex(lines, call, l => l.TrimEnd().EndsWith(");", StringComparison.Ordinal));
        var code = lines[..(end + 1)].Select(l => l.Trim())
            .Where(l => l.Length > 0 && !l.StartsWith("//", StringComparison.Ordinal) && !l.StartsWith("using ", StringComparison.Ordinal))
            .ToList();
        Assert.True(code.Count <= 15, $"{code.Count} lines of code before the first attributed referral:\n{string.Join('\n', code)}");
    }

    [Fact]
    public async Task TheQuickStartRunsAndPrintsWhatTheReadmeShows()
    {
        var shown = DocsFiles.Blocks("README.md").Single(b => b.Marker == "output: samples/Referrals.QuickStart").Text;
        var dir = Directory.CreateTempSubdirectory("quickstart-");
        try
        {
            var first = await RunAsync(SampleDll(), dir.FullName);
            Assert.True(File.Exists(Path.Combine(dir.FullName, "referrals.db")), "the quick start keeps its data in ./referrals.db");
            Assert.Equal(Normalise(shown), Normalise(first));
            Assert.Contains("credited to anna", first, StringComparison.Ordinal);

            // A second run on the same file: the order is already recorded, and Anna still has her one reward.
            var second = await RunAsync(SampleDll(), dir.FullName);
            Assert.Contains("Anna: 1 referral(s), pending 10.00 EUR", second, StringComparison.Ordinal);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The quick start's random code and the clock's instants are the only things that differ between runs.</summary>
    internal static string Normalise(string output)
    {
        var text = output.ReplaceLineEndings("\n").Trim();
        var code = CodeLine().Match(text);
        if (code.Success)
        {
            // Shown as issued (grouped) and as stored (the symbols alone).
            text = text.Replace(code.Groups[1].Value, "<code>", StringComparison.Ordinal)
                .Replace(code.Groups[1].Value.Replace("-", "", StringComparison.Ordinal), "<code>", StringComparison.Ordinal);
        }
        return Instant().Replace(text, "<time>");
    }

    internal static async Task<string> RunAsync(string dll, string workingDirectory)
    {
        var start = new ProcessStartInfo("dotnet", [dll])
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(2));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"exit code {process.ExitCode}:\n{await stdout}\n{await stderr}");
        return await stdout;
    }

    private static string SampleDll()
    {
        // The test runs from tests/Referrals.Docs.Tests/bin/<Configuration>/net10.0/; the sample is built with it.
        var configuration = new DirectoryInfo(Path.TrimEndingDirectorySeparator(AppContext.BaseDirectory)).Parent!.Name;
        var dll = Path.Combine(DocsFiles.Root, "samples", "Referrals.QuickStart", "bin", configuration, "net10.0", "Referrals.QuickStart.dll");
        Assert.True(File.Exists(dll), $"{dll} is not built");
        return dll;
    }

    [GeneratedRegex(@"^Anna's code: (\S+)$", RegexOptions.Multiline)]
    private static partial Regex CodeLine();

    [GeneratedRegex(@"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z")]
    private static partial Regex Instant();
}
