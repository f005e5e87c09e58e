using System.Text.RegularExpressions;

namespace Referrals.Docs;

/// <summary>A fenced block of a markdown page, with the marker comment on the line before it, if any.</summary>
internal sealed record CodeBlock(string Page, int Line, string Language, string? Marker, string Text)
{
    public override string ToString() => $"{Page}:{Line} ({Language}{(Marker is null ? "" : ", " + Marker)})";
}

/// <summary>Finds the repository's README, docs pages and snippet sources, and reads fenced blocks and regions.</summary>
internal static partial class DocsFiles
{
    public static string Root { get; } = FindRoot();

    /// <summary>README.md, the packages' READMEs and every page under docs/, as paths relative to the repository root.</summary>
    public static IReadOnlyList<string> Pages { get; } =
        new[] { "README.md" }
            .Concat(Directory.GetDirectories(Path.Combine(Root, "src")).Select(d => Path.Combine(d, "README.md")).Where(File.Exists)
                .Select(p => Path.GetRelativePath(Root, p).Replace('\\', '/')).Order(StringComparer.Ordinal))
            .Concat(Directory.Exists(Path.Combine(Root, "docs"))
                ? Directory.GetFiles(Path.Combine(Root, "docs"), "*.md", SearchOption.AllDirectories)
                    .Select(p => Path.GetRelativePath(Root, p).Replace('\\', '/')).Order(StringComparer.Ordinal)
                : [])
            .ToArray();

    public static string Read(string relativePath) => File.ReadAllText(Path.Combine(Root, relativePath)).ReplaceLineEndings("\n");

    /// <summary>Every fenced block of a page; the marker is an HTML comment such as <c>&lt;!-- snippet: Rewards.Ledger --&gt;</c>,
    /// <c>&lt;!-- output: samples/Referrals.QuickStart --&gt;</c> or <c>&lt;!-- install --&gt;</c> on the line before it.</summary>
    public static IReadOnlyList<CodeBlock> Blocks(string page)
    {
        var lines = Read(page).Split('\n');
        var blocks = new List<CodeBlock>();
        for (int i = 0; i < lines.Length; i++)
        {
            var open = lines[i].TrimStart();
            if (!open.StartsWith("```", StringComparison.Ordinal))
            {
                continue;
            }
            var language = open[3..].Trim();
            int start = i + 1;
            int end = start;
            while (end < lines.Length && lines[end].TrimStart() != "```")
            {
                end++;
            }
            if (end == lines.Length)
            {
                throw new InvalidOperationException($"{page}:{i + 1}: a code block is never closed.");
            }
            string? marker = null;
            for (int j = i - 1; j >= 0; j--)
            {
                if (lines[j].Trim().Length == 0)
                {
                    continue;
                }
                var m = MarkerPattern().Match(lines[j].Trim());
                marker = !m.Success ? null : m.Groups[2].Value.Length == 0 ? m.Groups[1].Value : m.Groups[1].Value + ": " + m.Groups[2].Value;
                break;
            }
            blocks.Add(new CodeBlock(page, i + 1, language, marker, Dedent(lines[start..end])));
            i = end;
        }
        return blocks;
    }

    /// <summary>The source a snippet marker names: a file (a path with a slash) or a <c>#region</c> of a file under Snippets/.</summary>
    public static string Snippet(string name)
    {
        if (name.Contains('/', StringComparison.Ordinal))
        {
            var path = Path.Combine(Root, name);
            return File.Exists(path) ? Dedent(Read(name).Split('\n')) : throw new FileNotFoundException($"The snippet file '{name}' does not exist.");
        }
        return Regions().TryGetValue(name, out var text) ? text : throw new KeyNotFoundException($"No '#region {name}' under tests/Referrals.Docs.Tests/Snippets.");
    }

    /// <summary>Every <c>#region name</c> of the snippet sources, dedented. A name used twice is an error.</summary>
    public static IReadOnlyDictionary<string, string> Regions()
    {
        var regions = new Dictionary<string, string>(StringComparer.Ordinal);
        var dir = Path.Combine(Root, "tests", "Referrals.Docs.Tests", "Snippets");
        foreach (var file in Directory.GetFiles(dir, "*.cs", SearchOption.AllDirectories).Order(StringComparer.Ordinal))
        {
            var lines = File.ReadAllText(file).ReplaceLineEndings("\n").Split('\n');
            for (int i = 0; i < lines.Length; i++)
            {
                var open = RegionPattern().Match(lines[i]);
                if (!open.Success)
                {
                    continue;
                }
                var name = open.Groups[1].Value.Trim();
                int end = i + 1;
                int depth = 1;
                for (; end < lines.Length; end++)
                {
                    var t = lines[end].Trim();
                    if (t.StartsWith("#region", StringComparison.Ordinal)) depth++;
                    else if (t.StartsWith("#endregion", StringComparison.Ordinal) && --depth == 0) break;
                }
                if (end == lines.Length)
                {
                    throw new InvalidOperationException($"{file}:{i + 1}: '#region {name}' has no #endregion.");
                }
                var body = lines[(i + 1)..end].Where(l => !l.TrimStart().StartsWith("#region", StringComparison.Ordinal)
                    && !l.TrimStart().StartsWith("#endregion", StringComparison.Ordinal)).ToArray();
                if (!regions.TryAdd(name, Dedent(body)))
                {
                    throw new InvalidOperationException($"{file}:{i + 1}: '#region {name}' is defined twice.");
                }
            }
        }
        return regions;
    }

    /// <summary>The lines without the indentation they share, without blank lines at either end and trailing spaces.</summary>
    public static string Dedent(IReadOnlyList<string> lines)
    {
        var trimmed = lines.Select(l => l.TrimEnd()).ToList();
        while (trimmed.Count > 0 && trimmed[0].Length == 0) trimmed.RemoveAt(0);
        while (trimmed.Count > 0 && trimmed[^1].Length == 0) trimmed.RemoveAt(trimmed.Count - 1);
        int indent = trimmed.Where(l => l.Length > 0).Select(l => l.Length - l.TrimStart().Length).DefaultIfEmpty(0).Min();
        return string.Join('\n', trimmed.Select(l => l.Length == 0 ? l : l[indent..]));
    }

    private static string FindRoot()
    {
        for (var dir = new DirectoryInfo(AppContext.BaseDirectory); dir is not null; dir = dir.Parent)
        {
            if (File.Exists(Path.Combine(dir.FullName, "Referrals.Core.sln")))
            {
                return dir.FullName;
            }
        }
        throw new InvalidOperationException("The repository root (with Referrals.Core.sln) is not above " + AppContext.BaseDirectory);
    }

    [GeneratedRegex(@"^<!--\s*(snippet|output|install)\s*:?\s*(.*?)\s*-->$")]
    private static partial Regex MarkerPattern();

    [GeneratedRegex(@"^\s*#region\s+(\S.*)$")]
    private static partial Regex RegionPattern();
}
