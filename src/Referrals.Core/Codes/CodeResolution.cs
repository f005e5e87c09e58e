using Referrals.Links;

namespace Referrals.Codes;

/// <summary>What became of raw input given to <see cref="ReferralCodeService.Resolve(string?)"/>.</summary>
public enum CodeResolutionOutcome
{
    /// <summary>The input is a known code; see <see cref="CodeResolution.Record"/> and <see cref="CodeResolution.State"/>.</summary>
    Found = 1,

    /// <summary>Well-formed, but no such code exists. <see cref="CodeResolution.GetSuggestions"/> may offer near codes.</summary>
    NotFound = 2,

    /// <summary>The input cannot be a code; <see cref="CodeResolution.MalformedReason"/> says why.</summary>
    Malformed = 3,

    /// <summary>
    /// The input has the shape of a generated code but its check symbol does not match: a typo.
    /// <see cref="CodeResolution.GetSuggestions"/> offers the existing codes one typo away.
    /// </summary>
    CheckFailed = 4,
}

/// <summary>
/// The result of resolving raw input to a code. A value type that holds references only, so resolving allocates nothing.
/// </summary>
public readonly struct CodeResolution
{
    private readonly ReferralCodeService? _service;
    private readonly string? _raw;

    internal CodeResolution(
        CodeResolutionOutcome outcome,
        ReferralCodeRecord? record = null,
        CodeState state = default,
        CodeMalformedReason malformedReason = CodeMalformedReason.None,
        int invalidCharacterIndex = -1,
        ShareLinkParseResult? link = null,
        ReferralCodeService? service = null,
        string? raw = null)
    {
        Outcome = outcome;
        Record = record;
        State = state;
        MalformedReason = malformedReason;
        InvalidCharacterIndex = invalidCharacterIndex;
        Link = link;
        _service = service;
        _raw = raw;
    }

    /// <summary>What became of the input.</summary>
    public CodeResolutionOutcome Outcome { get; }

    /// <summary>The code found, or <see langword="null"/>.</summary>
    public ReferralCodeRecord? Record { get; }

    /// <summary>For <see cref="CodeResolutionOutcome.Found"/>: whether the code can be used at the instant it was resolved (the clock's).</summary>
    public CodeState State { get; }

    /// <summary>For <see cref="CodeResolutionOutcome.Malformed"/>: why.</summary>
    public CodeMalformedReason MalformedReason { get; }

    /// <summary>For <see cref="CodeMalformedReason.InvalidCharacter"/>: the index of the first bad character in the input; otherwise -1.</summary>
    public int InvalidCharacterIndex { get; }

    /// <summary>
    /// When the input was a URL: what the link parser read (medium, signature). <see langword="null"/> for typed codes.
    /// A found code with an invalid signature is still found: deciding what an altered link earns is the caller's.
    /// </summary>
    public ShareLinkParseResult? Link { get; }

    /// <summary>True when the code was found and is usable now.</summary>
    public bool IsUsable => Outcome == CodeResolutionOutcome.Found && State == CodeState.Active;

    /// <summary>
    /// For <see cref="CodeResolutionOutcome.NotFound"/> and <see cref="CodeResolutionOutcome.CheckFailed"/>: the existing
    /// codes one typo away from the input (one symbol substituted or two neighbours swapped), for a "did you mean" prompt.
    /// Ordered by code; empty for other outcomes. Allocates; call it only when you show the prompt.
    /// </summary>
    /// <param name="max">Most suggestions to return, 1 to 50.</param>
    public IReadOnlyList<ReferralCodeRecord> GetSuggestions(int max = 5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(max, 50);
        if (_service is null || _raw is null || Outcome is not (CodeResolutionOutcome.NotFound or CodeResolutionOutcome.CheckFailed))
        {
            return [];
        }
        return _service.SuggestFor(_raw, Link?.Code, max);
    }

    /// <inheritdoc />
    public override string ToString() => Outcome switch
    {
        CodeResolutionOutcome.Found => $"Found {Record!.Display} ({State})",
        CodeResolutionOutcome.Malformed => InvalidCharacterIndex >= 0 ? $"Malformed ({MalformedReason} at index {InvalidCharacterIndex})" : $"Malformed ({MalformedReason})",
        _ => Outcome.ToString(),
    };
}
