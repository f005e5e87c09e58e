using System.Text.RegularExpressions;

namespace Referrals.Cli.Tests;

/// <summary>
/// The tool as a real process: <c>dotnet referrals.dll</c> on a temporary SQLite file, configured by environment variables;
/// and packed with <c>dotnet pack</c>, installed into a temporary tool path from a local folder and run as <c>referrals</c>.
/// </summary>
public sealed partial class ProcessTests
{
    [Fact]
    public async Task TheDllRunsCommandsWithExitCodesAndNoColoursIntoAPipe()
    {
        using var shop = new Shop(withSettings: false);
        var environment = new Dictionary<string, string>
        {
            ["ConnectionStrings__Referrals"] = "Data Source=shop.db",
            ["Referrals__Programs__customers__TimeZone"] = "Europe/Berlin",
        };
        var help = await Shop.ProcessAsync(shop.Directory, "dotnet", [Shop.ToolDll, "--help"], environment);
        Assert.Equal(0, help.Exit);
        Assert.Contains("codes", help.Out, StringComparison.Ordinal);

        var bulk = await Shop.ProcessAsync(shop.Directory, "dotnet", [Shop.ToolDll, "codes", "bulk", "-p", "customers", "-n", "2500", "-o", "codes.csv"], environment);
        Assert.True(bulk.Exit == 0, bulk.ToString());
        Assert.Equal(2501, File.ReadAllLines(shop.PathOf("codes.csv")).Length);
        // stderr is a pipe: no progress bar, no colour.
        Assert.Equal(string.Empty, bulk.Error);
        Assert.DoesNotContain('\u001b', bulk.Out);

        string display = File.ReadAllLines(shop.PathOf("codes.csv"))[1].Split(',')[1];
        var show = await Shop.ProcessAsync(shop.Directory, "dotnet", [Shop.ToolDll, "codes", "show", display], environment);
        Assert.Equal(0, show.Exit);
        Assert.Contains("outcome  Found", show.Out, StringComparison.Ordinal);

        var usage = await Shop.ProcessAsync(shop.Directory, "dotnet", [Shop.ToolDll, "codes", "bulk", "-p", "customers", "-n", "none", "-o", "x.csv"], environment);
        Assert.Equal(2, usage.Exit);
        Assert.DoesNotMatch(StackFrame(), usage.Error);

        var refused = await Shop.ProcessAsync(shop.Directory, "dotnet", [Shop.ToolDll, "codes", "revoke", "ABCD-EFGH"], environment);
        Assert.Equal(1, refused.Exit);
        Assert.StartsWith("error: ", refused.Error, StringComparison.Ordinal);
        Assert.DoesNotMatch(StackFrame(), refused.Error);
    }

    [Fact]
    public async Task ThePackedToolInstallsIntoAToolPathAndRuns()
    {
        var work = Directory.CreateTempSubdirectory("referrals-tool-");
        try
        {
            // The packages .ci/run packed (REFERRALS_PACKAGES), else the tool packed here from this build.
            string? packages = Environment.GetEnvironmentVariable("REFERRALS_PACKAGES");
            if (string.IsNullOrEmpty(packages) || Directory.GetFiles(packages, "Referrals.Cli.*.nupkg").Length == 0)
            {
                packages = Path.Combine(work.FullName, "packages");
                string configuration = AppContext.BaseDirectory.Contains($"{Path.DirectorySeparatorChar}Release{Path.DirectorySeparatorChar}", StringComparison.Ordinal) ? "Release" : "Debug";
                var pack = await Shop.ProcessAsync(work.FullName, "dotnet", ["pack", Path.Combine(RepositoryRoot(), "src", "Referrals.Cli", "Referrals.Cli.csproj"), "-c", configuration, "--no-build", "-o", packages]);
                Assert.True(pack.Exit == 0, "dotnet pack: " + pack);
            }
            // A package cache of this test's own, so a tool packed earlier with the same version is never taken instead.
            var nuget = new Dictionary<string, string> { ["NUGET_PACKAGES"] = Path.Combine(work.FullName, "nuget-cache") };
            string tools = Path.Combine(work.FullName, "tools");
            var install = await Shop.ProcessAsync(work.FullName, "dotnet", ["tool", "install", "Referrals.Cli", "--tool-path", tools, "--add-source", packages], nuget);
            Assert.True(install.Exit == 0, "dotnet tool install: " + install);
            string referrals = Path.Combine(tools, OperatingSystem.IsWindows() ? "referrals.exe" : "referrals");

            var help = await Shop.ProcessAsync(work.FullName, referrals, ["--help"]);
            Assert.True(help.Exit == 0, help.ToString());
            Assert.Contains("Usage:\n  referrals [command] [options]", help.Out.ReplaceLineEndings("\n"), StringComparison.Ordinal);

            File.WriteAllText(Path.Combine(work.FullName, "appsettings.json"), Shop.Settings);
            var bulk = await Shop.ProcessAsync(work.FullName, referrals, ["codes", "bulk", "--program", "customers", "--count", "100", "--medium", "receipt", "--out", "codes.csv"]);
            Assert.True(bulk.Exit == 0, bulk.ToString());
            var lines = File.ReadAllLines(Path.Combine(work.FullName, "codes.csv"));
            Assert.Equal("code,display,program,medium,qr_payload", lines[0]);
            Assert.Equal(101, lines.Length);
            Assert.True(File.Exists(Path.Combine(work.FullName, "referrals.db")));
        }
        finally
        {
            work.Delete(recursive: true);
        }
    }

    private static string RepositoryRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Referrals.Core.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException($"No Referrals.Core.sln above {AppContext.BaseDirectory}.");
    }

    [GeneratedRegex(@"^\s+at \S+\(", RegexOptions.Multiline)]
    private static partial Regex StackFrame();
}
