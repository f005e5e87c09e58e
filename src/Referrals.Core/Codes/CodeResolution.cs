using NodaTime;
using Referrals.Links;

namespace Referrals.Codes;

/// <summary>What became of raw input given to <c>ReferralCodeService.Resolve(raw)</c>.</summary>
public enum CodeResolutionOutcome
{
    /// <summary>
    /// The input is a known code; see <see cref="CodeResolution.Code"/>, <see cref="CodeResolution.Owner"/> and
    /// <see cref="CodeResolution.State"/>.
    /// </summary>
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

    /// <summary>
    /// The look-up was refused: its source, or its program as a whole, had too many failed look-ups in the window of
    /// <see cref="Codes.CodeGuessingOptions"/>, and the result says nothing about the input (found or not, it counts
    /// nothing). Only <c>ReferralCodeService.Resolve(raw, program, source)</c> gives it. Ask the person to try
    /// again later.
    /// </summary>
    Limited = 5,
}

/// <summary>
/// The result of resolving raw input to a code: for a found code, what the in-memory index holds of it (program, owner,
/// medium, state). A value type, so resolving allocates nothing; reading <see cref="Code"/> or <see cref="Display"/> builds
/// the string. The whole record (issue time, version) is the store's: <c>ReferralCodeService.FindAsync(resolution.Code)</c>.
/// </summary>
public readonly struct CodeResolution
{
    private readonly CodeResolver? _resolver;
    private readonly string? _raw;
    // Set when the look-up was limited (ReferralCodeService.Resolve(raw, program, source)): suggestions count against it.
    private readonly string? _program;
    private readonly string? _source;
    // For Found: the clock's instant the state was judged at, in Unix ticks, or NotJudged when no state depended on it.
    private readonly long _resolvedAt;

    private readonly IndexedCode _found;

    internal CodeResolution(
        CodeResolutionOutcome outcome,
        IndexedCode found = default,
        CodeState state = default,
        CodeMalformedReason malformedReason = CodeText.WellFormed,
        int invalidCharacterIndex = -1,
        ShareLinkParseResult? link = null,
        CodeResolver? resolver = null,
        string? raw = null,
        ProgramId? program = null,
        string? source = null,
        long resolvedAt = NotJudged)
    {
        Outcome = outcome;
        _found = found;
        State = state;
        _malformedReason = malformedReason;
        InvalidCharacterIndex = invalidCharacterIndex;
        Link = link;
        _resolver = resolver;
        _raw = raw;
        _program = program?.Value;
        _source = source;
        _resolvedAt = resolvedAt;
    }

    /// <summary>What became of the input.</summary>
    public CodeResolutionOutcome Outcome { get; }

    /// <summary>For <see cref="CodeResolutionOutcome.Found"/>: the normalised code (built on each read); otherwise <see langword="null"/>.</summary>
    public ReferralCode? Code => _found.HasValue ? _found.Code : null;

    /// <summary>For <see cref="CodeResolutionOutcome.Found"/>: the code as printed or shown (<c>SHOP-ABCD-EFGHK</c>, <c>Jane20</c>); otherwise <see langword="null"/>.</summary>
    public string? Display => _found.HasValue ? _found.Display : null;

    /// <summary>
    /// For <see cref="CodeResolutionOutcome.Found"/>: the program the code belongs to; otherwise <see langword="null"/>.
    /// A code is found whatever its program: compare it with the program of the checkout.
    /// </summary>
    public ProgramId? Program => _found.HasValue ? _found.Program : null;

    /// <summary>For <see cref="CodeResolutionOutcome.Found"/>: the referrer who owns the code; <see langword="null"/> for an unassigned bulk code or when not found.</summary>
    public ParticipantId? Owner => _found.HasValue ? _found.Owner : null;

    /// <summary>For <see cref="CodeResolutionOutcome.Found"/>: the medium the code was issued for; otherwise <see cref="ShareMedium.Unknown"/>.</summary>
    public ShareMedium Medium => _found.HasValue ? _found.Medium : ShareMedium.Unknown;

    /// <summary>What the index holds of the found code (default when not found).</summary>
    internal IndexedCode Found => _found;

    /// <summary>For <see cref="CodeResolutionOutcome.Found"/>: whether the code can be used at the instant it was resolved (the clock's).</summary>
    public CodeState State { get; }

    /// <summary>For <see cref="CodeResolutionOutcome.Malformed"/>: why; otherwise <see langword="null"/>.</summary>
    public CodeMalformedReason? MalformedReason => _malformedReason == CodeText.WellFormed ? null : _malformedReason;

    private readonly CodeMalformedReason _malformedReason;

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
    /// Each is a <see cref="CodeResolutionOutcome.Found"/> resolution of that code, its <see cref="State"/> judged now.
    /// Ordered by code; empty for other outcomes. Allocates; call it only when you show the prompt.
    /// </summary>
    /// <remarks>
    /// Every suggestion is a real code, so suggestions are guesses too. After
    /// <c>ReferralCodeService.Resolve(raw, program, source)</c> each call counts against the same source and
    /// program as failed look-ups, one for each code it returns (at least one); it returns no more codes than the failures
    /// they have left, and nothing while they are limited.
    /// After <c>ReferralCodeService.Resolve(raw)</c> nothing is counted or limited: do not show those to people.
    /// </remarks>
    /// <param name="max">Most suggestions to return, 1 to 50.</param>
    public IReadOnlyList<CodeResolution> GetSuggestions(int max = 5)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(max, 1);
        ArgumentOutOfRangeException.ThrowIfGreaterThan(max, 50);
        if (_resolver is null || _raw is null || Outcome is not (CodeResolutionOutcome.NotFound or CodeResolutionOutcome.CheckFailed))
        {
            return [];
        }
        return _program is { } program
            ? _resolver.SuggestLimited(_raw, Link?.Code, max, new ProgramId(program), _source)
            : _resolver.SuggestFor(_raw, Link?.Code, max);
    }

    /// <summary>The value of a resolution's judging instant when the clock was not read (no state depended on it).</summary>
    internal const long NotJudged = long.MinValue;

    /// <summary>For <see cref="CodeResolutionOutcome.Found"/> with an expiry: the clock's instant <see cref="State"/> was judged at; otherwise <see langword="null"/>.</summary>
    internal Instant? ResolvedAt => _resolvedAt == NotJudged || Outcome != CodeResolutionOutcome.Found ? null : Instant.FromUnixTimeTicks(_resolvedAt);

    /// <summary>This resolution, its suggestions counted against <paramref name="program"/> and <paramref name="source"/>.</summary>
    internal CodeResolution CountedAgainst(ProgramId program, string? source) =>
        new(Outcome, _found, State, _malformedReason, InvalidCharacterIndex, Link, _resolver, _raw, program, source);

    /// <inheritdoc />
    public override string ToString() => Outcome switch
    {
        CodeResolutionOutcome.Found => $"Found {Display} ({State})",
        CodeResolutionOutcome.Malformed => InvalidCharacterIndex >= 0 ? $"Malformed ({MalformedReason} at index {InvalidCharacterIndex})" : $"Malformed ({MalformedReason})",
        _ => Outcome.ToString(),
    };
}
