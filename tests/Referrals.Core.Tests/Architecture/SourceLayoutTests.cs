using System.Text.RegularExpressions;

namespace Referrals.Tests.Architecture;

/// <summary>
/// A reader finds a public type by its file: every source file of the library's packages that declares a public type is
/// named after one of the public types it declares (<c>Reward.cs</c> holds <c>Reward</c> and its <c>RewardStatus</c>;
/// a partial class's parts are <c>Name.Part.cs</c>). Internal families may share a file named after their concept
/// (<c>BatchReads.cs</c>).
/// </summary>
public sealed partial class SourceLayoutTests
{
    [Fact]
    public void Every_file_that_declares_public_types_is_named_after_one_of_them()
    {
        var files = SourceFiles().ToList();
        Assert.True(files.Count > 100, $"Only {files.Count} source files found under src: the scan looks in the wrong place.");
        var misnamed = new List<string>();
        foreach (var file in files)
        {
            var declared = PublicType().Matches(File.ReadAllText(file)).Select(m => m.Groups["name"].Value).ToList();
            string name = Path.GetFileName(file).Split('.')[0];
            if (declared.Count > 0 && !declared.Contains(name, StringComparer.Ordinal))
            {
                misnamed.Add($"{Path.GetRelativePath(PublicApiBudgetTests.RepositoryRoot(), file)}: {string.Join(", ", declared)}");
            }
        }
        Assert.True(misnamed.Count == 0, "Files named after none of the public types they declare:\n" + string.Join("\n", misnamed));
    }

    [Fact]
    public void The_scan_sees_a_public_type_in_a_file_named_otherwise()
    {
        const string text = """
            namespace Referrals.Rewards;

            /// <summary>A status.</summary>
            public enum RewardStatus
            {
                Pending = 1,
            }

            public sealed class Reward
            {
            }

            public readonly record struct ProgramId
            {
            }

            internal sealed class RewardFold
            {
            }
            """;
        Assert.Equal(["RewardStatus", "Reward", "ProgramId"], PublicType().Matches(text).Select(m => m.Groups["name"].Value));
    }

    private static IEnumerable<string> SourceFiles() =>
        Directory.EnumerateFiles(Path.Combine(PublicApiBudgetTests.RepositoryRoot(), "src"), "*.cs", SearchOption.AllDirectories)
            .Where(f => !f.Split(Path.DirectorySeparatorChar).Any(part => part is "obj" or "bin"));

    // A top-level public type: declared at the start of a line (nested types are indented).
    [GeneratedRegex(@"^public(?: (?:sealed|static|abstract|readonly|partial|unsafe))* (?:record struct|record class|class|record|struct|enum|interface) (?<name>\w+)", RegexOptions.Multiline)]
    private static partial Regex PublicType();
}
