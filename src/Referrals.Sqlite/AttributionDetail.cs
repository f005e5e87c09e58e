using System.Text.Json.Serialization;

namespace Referrals.Sqlite;

/// <summary>
/// The stored form of the parts of an <see cref="Attribution.AttributionResult"/> that have no column of their own: JSON
/// in the <c>conversions.attribution_detail</c> column (an attribution is the rest of its conversion's row). Nothing filters
/// on them, so a column each would only widen the table.
/// </summary>
/// <remarks>
/// The JSON names (snake case of the property names) are a stored format: never rename or renumber one. A later version
/// adds properties as optional, so that rows written before still read. Amounts are exact decimal text in the invariant
/// culture, instants Unix ticks, enumerations their numeric values — as in the columns.
/// </remarks>
internal sealed record AttributionDetail
{
    public required string Amount { get; init; }

    public required string Currency { get; init; }

    public int Channel { get; init; }

    public string? StoreId { get; init; }

    public int Medium { get; init; }

    public int? CaptureMethod { get; init; }

    public string? TouchId { get; init; }

    public int? Combination { get; init; }

    public IReadOnlyList<string> Chain { get; init; } = [];

    public IReadOnlyList<ConsideredTouchDetail> Touches { get; init; } = [];

    public FraudDetail? Fraud { get; init; }
}

/// <summary>One <see cref="Attribution.ConsideredTouch"/>.</summary>
internal sealed record ConsideredTouchDetail(string Id, int Kind, string Referrer, long EventTime, int Verdict);

/// <summary>A <see cref="Fraud.FraudAssessment"/>.</summary>
internal sealed record FraudDetail(int Verdict, int Score, int ReviewAt, int BlockAt, long AssessedAt, IReadOnlyList<FraudSignalDetail> Signals);

/// <summary>One <see cref="Fraud.FraudSignal"/>.</summary>
internal sealed record FraudSignalDetail(string Name, int Score, string Evidence);

/// <summary>Source-generated serialisation of the detail column: no reflection, and the stored names are fixed at build time.</summary>
[JsonSourceGenerationOptions(
    PropertyNamingPolicy = JsonKnownNamingPolicy.SnakeCaseLower,
    DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
    RespectNullableAnnotations = true,
    RespectRequiredConstructorParameters = true)]
[JsonSerializable(typeof(AttributionDetail))]
internal sealed partial class AttributionDetailJsonContext : JsonSerializerContext;
