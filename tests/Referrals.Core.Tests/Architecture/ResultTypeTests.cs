using System.Reflection;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Links;
using Referrals.Rewards;
using Referrals.Services;

namespace Referrals.Tests.Architecture;

/// <summary>
/// The results only Core creates: a host reads them, and never builds, copies or compares one. So they are not records
/// (no generated value equality, <c>with</c>, <c>Deconstruct</c> or <c>PrintMembers</c>, which cost the public surface
/// six to ten lines each and would make every new field a change of equality), and a host can neither construct one nor
/// set a property, so Core may add a field without breaking anyone.
/// </summary>
public sealed class ResultTypeTests
{
    private static readonly Type[] Results =
    [
        typeof(AttributionResult), typeof(ConsideredTouch), typeof(CaptureResult), typeof(ReferrerMatch),
        typeof(BatchImportResult), typeof(BatchImportError), typeof(FraudAssessment), typeof(ReviewItem),
        typeof(ReferrerSummary), typeof(RewardTotals), typeof(RewardTierProgress), typeof(Reward), typeof(RewardTerms),
        typeof(RewardEntry), typeof(RewardDecision), typeof(SkippedReward), typeof(RefundResult),
        typeof(RewardProcessingResult), typeof(CodeResolution), typeof(VanityCodeResult), typeof(ShareLinkParseResult),
    ];

    // What the compiler generates for a record (class or struct) besides its properties.
    private static readonly string[] RecordMembers =
        ["<Clone>$", "PrintMembers", "Equals", "GetHashCode", "Deconstruct", "op_Equality", "op_Inequality", "get_EqualityContract"];

    [Fact]
    public void Results_are_sealed_not_records_and_cannot_be_built_or_changed_by_a_host()
    {
        var problems = new List<string>();
        foreach (var type in Results)
        {
            if (!type.IsSealed)
            {
                problems.Add($"{type.Name} is not sealed");
            }
            var declared = type.GetMethods(BindingFlags.Public | BindingFlags.NonPublic | BindingFlags.Instance | BindingFlags.Static | BindingFlags.DeclaredOnly);
            problems.AddRange(declared.Where(m => RecordMembers.Contains(m.Name)).Select(m => $"{type.Name} declares {m.Name}"));
            problems.AddRange(type.GetConstructors(BindingFlags.Public | BindingFlags.Instance)
                .Select(c => $"{type.Name} has a public constructor ({c.GetParameters().Length} parameters)"));
            problems.AddRange(type.GetProperties(BindingFlags.Public | BindingFlags.Instance)
                .Where(p => p.SetMethod is { IsPublic: true } or { IsFamily: true } or { IsFamilyOrAssembly: true })
                .Select(p => $"{type.Name}.{p.Name} has a public setter or init"));
        }
        Assert.True(problems.Count == 0, "Results hosts only read:\n  " + string.Join("\n  ", problems));
    }
}
