using System.Diagnostics;
using System.IO.Compression;
using System.Xml.Linq;

namespace Referrals.Docs;

/// <summary>
/// The packed packages as a new user meets them: each carries its README, XML docs, licence, repository and symbols,
/// and a <c>dotnet new console</c> app that follows the README's Install section and contains its Quick start builds
/// and runs first time. They need the packages: set <c>REFERRALS_PACKAGES</c> to the folder <c>dotnet pack</c> wrote
/// them to (<c>.ci/run</c> does); without it they are skipped, and say so.
/// </summary>
public sealed class PackageTests
{
    private static readonly string[] Packages = ["Referrals.Core", "Referrals.Sqlite", "Referrals.PostgreSql", "Referrals.Testing", "Referrals.QrCodes", "Referrals.Webhooks"];

    [Fact]
    public void EveryPackageCarriesItsReadmeDocsLicenceRepositoryAndSymbols()
    {
        var folder = PackageFolder();
        foreach (var id in Packages)
        {
            var nupkg = Single(folder, id, ".nupkg");
            using var zip = ZipFile.OpenRead(nupkg);
            var names = zip.Entries.Select(e => e.FullName).ToHashSet(StringComparer.Ordinal);
            Assert.Contains($"lib/net10.0/{id}.dll", names);
            Assert.Contains($"lib/net10.0/{id}.xml", names);
            Assert.Contains("README.md", names);
            var readme = new StreamReader(zip.GetEntry("README.md")!.Open()).ReadToEnd();
            Assert.Contains("docs/", readme, StringComparison.Ordinal);

            var nuspec = XDocument.Load(zip.Entries.Single(e => e.FullName.EndsWith(".nuspec", StringComparison.Ordinal)).Open());
            var ns = nuspec.Root!.Name.Namespace;
            var metadata = nuspec.Root.Element(ns + "metadata")!;
            Assert.Equal("README.md", metadata.Element(ns + "readme")?.Value);
            Assert.Equal("MIT", metadata.Element(ns + "license")?.Value);
            Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "description")?.Value));
            Assert.False(string.IsNullOrWhiteSpace(metadata.Element(ns + "tags")?.Value));
            var repository = metadata.Element(ns + "repository");
            Assert.NotNull(repository);
            Assert.StartsWith("https://", repository.Attribute("url")?.Value, StringComparison.Ordinal);
            Assert.Matches("^[0-9a-f]{40}$", repository.Attribute("commit")?.Value);

            using var symbols = ZipFile.OpenRead(Single(folder, id, ".snupkg"));
            Assert.Contains(symbols.Entries, e => e.FullName == $"lib/net10.0/{id}.pdb");
        }
    }

    [Fact]
    public async Task ANewConsoleAppWithTheReadmesInstallAndQuickStartRunsFirstTime()
    {
        var folder = PackageFolder();
        var dir = Directory.CreateTempSubdirectory("quickstart-packed-");
        try
        {
            var app = Path.Combine(dir.FullName, "app");
            await DotnetAsync(dir.FullName, "new", "console", "-o", "app", "--framework", "net10.0");
            // The packed packages as a source beside the machine's own (nuget.org for their dependencies), and a package
            // cache of this run's own, so a package packed earlier with the same version is never taken instead.
            File.WriteAllText(Path.Combine(app, "nuget.config"), $"""
                <?xml version="1.0" encoding="utf-8"?>
                <configuration>
                  <packageSources><add key="packed" value="{folder}" /></packageSources>
                  <config><add key="globalPackagesFolder" value="{Path.Combine(dir.FullName, "packages")}" /></config>
                </configuration>
                """);
            var install = DocsFiles.Blocks("README.md").Single(b => b.Marker == "install").Text;
            foreach (var line in install.Split('\n').Where(l => l.StartsWith("dotnet add package ", StringComparison.Ordinal)))
            {
                var words = line.Split('#')[0].Split(' ', StringSplitOptions.RemoveEmptyEntries);
                await DotnetAsync(app, [.. words[1..]]);
            }
            var quickStart = DocsFiles.Blocks("README.md").Single(b => b.Marker == "snippet: " + QuickStartTests.SampleSource).Text;
            File.WriteAllText(Path.Combine(app, "Program.cs"), quickStart);

            var output = await DotnetAsync(app, "run");
            var shown = DocsFiles.Blocks("README.md").Single(b => b.Marker == "output: samples/Referrals.QuickStart").Text;
            Assert.Equal(QuickStartTests.Normalise(shown), QuickStartTests.Normalise(output));
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static string PackageFolder()
    {
        var folder = Environment.GetEnvironmentVariable("REFERRALS_PACKAGES");
        if (string.IsNullOrEmpty(folder))
        {
            Assert.Skip("REFERRALS_PACKAGES is not set: pack the packages (dotnet pack -c Release -o <folder>) and set it to that folder; .ci/run does.");
        }
        Assert.True(Directory.Exists(folder), $"REFERRALS_PACKAGES={folder} does not exist");
        return Path.GetFullPath(folder);
    }

    private static string Single(string folder, string id, string extension)
    {
        var files = Directory.GetFiles(folder, id + ".*" + extension)
            .Where(f => char.IsDigit(Path.GetFileName(f)[(id.Length + 1)..][0])).ToArray();
        Assert.True(files.Length == 1, $"{folder}: expected one {id} {extension}, found {files.Length}");
        return files[0];
    }

    private static async Task<string> DotnetAsync(string workingDirectory, params string[] arguments)
    {
        var start = new ProcessStartInfo("dotnet", arguments)
        {
            WorkingDirectory = workingDirectory,
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["DOTNET_NOLOGO"] = "1";
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        using var process = Process.Start(start)!;
        var stdout = process.StandardOutput.ReadToEndAsync();
        var stderr = process.StandardError.ReadToEndAsync();
        using var timeout = new CancellationTokenSource(TimeSpan.FromMinutes(5));
        await process.WaitForExitAsync(timeout.Token);
        Assert.True(process.ExitCode == 0, $"dotnet {string.Join(' ', arguments)} exited with {process.ExitCode}:\n{await stdout}\n{await stderr}");
        return await stdout;
    }
}
