using System.Xml.Linq;
using Referrals.Services;

namespace Referrals.Tests.Architecture;

/// <summary>
/// The folders of Referrals.Core (namespace = folder) depend in one direction: a type may reference its own namespace and
/// the namespaces of lower layers only. Checked on the IL of Referrals.Core.dll, so a reference through a lambda, an
/// async state machine, an attribute or a method body counts like one in a signature.
/// </summary>
public sealed class LayeringTests
{
    /// <summary>
    /// Bottom to top. Namespaces in one layer are siblings and do not reference each other — except in the first and the
    /// last layer, each one unit split in two namespaces: the kernel (public value types in <c>Referrals</c>, helpers in
    /// <c>Referrals.Internal</c>) and hosting (<c>AddReferrals</c> lives in <c>Microsoft.Extensions.DependencyInjection</c>
    /// by convention, the hosted services it registers in <c>Referrals.Hosting</c>).
    /// </summary>
    internal static readonly string[][] Layers =
    [
        ["Referrals", "Referrals.Internal"],       // kernel: Money, ids, ReferralCode, CodeText, ShareMedium, exception, preconditions, secrets, local dates
        ["Referrals.Links", "Referrals.Privacy"],  // parsing and hashing of what people share and type
        ["Referrals.Codes"],                       // code generation, index, resolution, guessing limits
        ["Referrals.Participants"],
        ["Referrals.Fraud"],
        ["Referrals.Attribution"],
        ["Referrals.Rewards"],
        ["Referrals.Notifications"],
        ["Referrals.Programs"],                    // the per-program options aggregate (attribution, rewards, fraud policy) and the root ReferralsOptions over every section
        ["Referrals.Storage"],
        ["Referrals.Pipeline"],
        ["Referrals.Reporting"],                   // program reports and the what-if replay, read through the store contract
        ["Referrals.Services"],
        ["Referrals.Hosting", "Microsoft.Extensions.DependencyInjection"], // DI, hosted services, strict binder
    ];

    /// <summary>What the compiler and source generators emit into the assembly: not ours to layer, and below everything.</summary>
    private static readonly HashSet<string> Generated = new(StringComparer.Ordinal)
    {
        "", "System.Runtime.CompilerServices", "Microsoft.CodeAnalysis", "System.Text.RegularExpressions.Generated",
    };

    /// <summary>
    /// Today's back-references, as "source type -> namespace it must not reference". This list may only shrink: a new
    /// back-reference fails <see cref="No_type_references_a_higher_layer"/>, and an entry that no longer occurs fails
    /// <see cref="Every_allowed_back_reference_still_occurs"/> (delete the line).
    /// </summary>
    private static readonly string[] Allowed = [];

    /// <summary>
    /// Today's upward <c>cref</c>s in the XML documentation, as "documented type -> namespace it points to". A reader of
    /// a lower folder's docs should not be sent up the layers either; this list may only shrink too.
    /// </summary>
    private static readonly string[] AllowedInDocs = [];

    private static readonly string CorePath = typeof(ReferralException).Assembly.Location;

    [Fact]
    public void Every_namespace_of_Referrals_Core_has_a_layer()
    {
        var unmapped = LayerScanner.Namespaces(CorePath).Where(n => !Generated.Contains(n) && RankOf(n) is null).ToList();
        Assert.True(unmapped.Count == 0, "Namespaces with no layer (add each to LayeringTests.Layers, where it belongs): " + string.Join(", ", unmapped));
    }

    [Fact]
    public void No_type_references_a_higher_layer()
    {
        var allowed = new HashSet<string>(Allowed, StringComparer.Ordinal);
        var violations = BackReferences(LayerScanner.Scan(CorePath), Layers)
            .Where(v => !allowed.Contains(v.Key))
            .Select(v => v.ToString())
            .Distinct()
            .Order(StringComparer.Ordinal)
            .ToList();
        Assert.True(violations.Count == 0, $"{violations.Count} references point up the layers (move the type to the folder it belongs to):\n" + string.Join("\n", violations));
    }

    [Fact]
    public void Every_allowed_back_reference_still_occurs()
    {
        var occurring = BackReferences(LayerScanner.Scan(CorePath), Layers).Select(v => v.Key).ToHashSet(StringComparer.Ordinal);
        var gone = Allowed.Where(a => !occurring.Contains(a)).ToList();
        Assert.True(gone.Count == 0, "These allowed back-references no longer occur; delete them from LayeringTests.Allowed:\n" + string.Join("\n", gone));
        Assert.Equal(Allowed.Length, Allowed.Distinct(StringComparer.Ordinal).Count());
    }

    [Fact]
    public void No_documentation_points_up_the_layers_beyond_the_allowed()
    {
        var found = DocumentationBackReferences();
        var allowed = new HashSet<string>(AllowedInDocs, StringComparer.Ordinal);
        var added = found.Where(f => !allowed.Contains(f.Key)).Select(f => f.Text).Distinct().Order(StringComparer.Ordinal).ToList();
        Assert.True(added.Count == 0, $"{added.Count} documentation references point up the layers (say it in words, or link a lower type):\n" + string.Join("\n", added));
        var keys = found.Select(f => f.Key).ToHashSet(StringComparer.Ordinal);
        var gone = AllowedInDocs.Where(a => !keys.Contains(a)).ToList();
        Assert.True(gone.Count == 0, "These allowed documentation references no longer occur; delete them from LayeringTests.AllowedInDocs:\n" + string.Join("\n", gone));
    }

    /// <summary>The upward <c>cref</c>s in Referrals.Core.xml (the compiler's documentation file, beside the assembly).</summary>
    private static List<(string Key, string Text)> DocumentationBackReferences()
    {
        string xml = Path.ChangeExtension(CorePath, ".xml");
        Assert.True(File.Exists(xml), $"No documentation file at {xml}.");
        var result = new List<(string, string)>();
        foreach (var member in XDocument.Load(xml).Descendants("member"))
        {
            string id = (string?)member.Attribute("name") ?? "";
            var (fromType, from) = NamespaceOf(id);
            if (from is null)
            {
                continue;
            }
            foreach (var cref in member.Descendants().Select(e => (string?)e.Attribute("cref")).OfType<string>())
            {
                var (_, to) = NamespaceOf(cref);
                if (to is not null && !MayReference(from, to, Layers))
                {
                    result.Add(($"{fromType} -> {to}", $"{id.Split('(')[0]} refers to {cref.Split('(')[0]} ({from} -> {to})"));
                }
            }
        }
        return result;
    }

    /// <summary>The documented type and its namespace, from an id such as <c>M:Referrals.Codes.ReferralCodeService.Resolve(System.String)</c>.</summary>
    private static (string Type, string? Namespace) NamespaceOf(string id)
    {
        if (id.Length < 3 || id[1] != ':')
        {
            return ("", null);
        }
        string[] parts = id[2..].Split('(')[0].Split('.');
        int typeEnd = id[0] == 'T' ? parts.Length : parts.Length - 1;
        for (int k = typeEnd - 1; k > 0; k--)
        {
            string ns = string.Join('.', parts[..k]);
            if (RankOf(ns) is not null)
            {
                return (string.Join('.', parts[..(k + 1)]), ns);
            }
        }
        return ("", null);
    }

    internal static IEnumerable<LayerReference> BackReferences(IEnumerable<LayerReference> references, string[][] layers) =>
        references.Where(r => !MayReference(r.SourceNamespace, r.TargetNamespace, layers));

    private static bool MayReference(string from, string to, string[][] layers)
    {
        if (from == to || Generated.Contains(to) || Generated.Contains(from))
        {
            return true;
        }
        int? a = RankOf(from, layers), b = RankOf(to, layers);
        if (a is null || b is null)
        {
            return false; // an unmapped namespace is reported by its own test; here it may reference and be referenced by nothing
        }
        return b < a || (a == b && (a == 0 || a == layers.Length - 1));
    }

    private static int? RankOf(string ns) => RankOf(ns, Layers);

    private static int? RankOf(string ns, string[][] layers)
    {
        for (int i = 0; i < layers.Length; i++)
        {
            if (layers[i].Contains(ns, StringComparer.Ordinal))
            {
                return i;
            }
        }
        return null;
    }
}
