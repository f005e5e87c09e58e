using System.Text.Json.Serialization;

namespace Referrals.Sqlite;

/// <summary>
/// The stored form of a <see cref="Rewards.RewardTerms"/>: JSON in the <c>reward_entries.terms</c> column. Nothing filters
/// on the terms, and they never change once written.
/// </summary>
/// <remarks>
/// A stored format, like <see cref="AttributionDetail"/>: the JSON names (snake case of the property names) are never
/// renamed; a later version adds properties as optional. Amounts are exact decimal text in the invariant culture with
/// their currency, instants Unix ticks, enumerations their numeric values. The lists are nullable here because the
/// source-generated reader sets a property missing from the JSON to <see langword="null"/>, not to its initial value;
/// readers take a missing list as empty.
/// </remarks>
internal sealed record RewardTermsDetail
{
    public int Role { get; init; }

    public int Level { get; init; }

    public int Kind { get; init; }

    public string? Item { get; init; }

    public required string Rule { get; init; }

    public required string Tier { get; init; }

    public int ReferralNumber { get; init; }

    public bool PercentOfOrder { get; init; }

    public required string OrderAmount { get; init; }

    public required string OrderCurrency { get; init; }

    public IReadOnlyList<string>? Boosts { get; init; }

    public string? CappedBy { get; init; }

    public required string BeforeCap { get; init; }

    public required string BeforeCapCurrency { get; init; }

    public long ConversionTime { get; init; }

    public long HoldUntil { get; init; }

    public bool HeldForReview { get; init; }
}

/// <summary>
/// The parts of a <see cref="Rewards.RewardDecision"/> without a column of their own: JSON in the
/// <c>reward_decisions.detail</c> column. Same rules as <see cref="RewardTermsDetail"/>.
/// </summary>
internal sealed record RewardDecisionDetail
{
    public IReadOnlyList<string>? Chain { get; init; }

    public int ReferralNumber { get; init; }

    public bool Counted { get; init; }

    public IReadOnlyList<string>? RewardIds { get; init; }

    public IReadOnlyList<SkippedRewardDetail>? Skipped { get; init; }
}

/// <summary>One <see cref="Rewards.SkippedReward"/>.</summary>
internal sealed record SkippedRewardDetail(string Rule, string Beneficiary, int Reason, string Detail);

/// <summary>Source-generated serialisation of the reward JSON columns (see <see cref="AttributionDetailJsonContext"/>).</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(RewardTermsDetail))]
[JsonSerializable(typeof(RewardDecisionDetail))]
internal sealed partial class RewardDetailJsonContext : JsonSerializerContext;
