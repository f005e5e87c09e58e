using NodaTime;
using Referrals.Internal;
using Referrals.Links;

namespace Referrals.Codes;

/// <summary>
/// The read side of the codes: resolves raw input against the in-memory <see cref="CodeIndex"/> (and share links with the
/// link service), under the code-guessing limit when asked, and finds near codes for suggestions. The code service (which
/// writes the codes and keeps this index current) and the conversion pipeline share one per process. Thread-safe; the
/// resolution path allocates nothing for typed or scanned codes.
/// </summary>
internal sealed class CodeResolver
{
    private readonly IClock _clock;
    private readonly ShareLinkService _links;
    private readonly string[] _foldedPrefixes;
    private readonly int _minLength;
    // Symbols of a generated code with its check symbol, or 0 when generated codes carry none.
    private readonly int _checkedKeyLength;
    private readonly CodeLookupGuard? _guard;
    // No prefix configured: input is resolved as the code it folds to, without stripping.
    private readonly bool _plain;

    /// <param name="clock">The library's clock, for a found code's state and the guessing limit's windows.</param>
    /// <param name="links">Reads input that is a share link.</param>
    /// <param name="foldedPrefixes">The configured code prefixes, folded, longest first: stripped when the whole input is no code.</param>
    /// <param name="minLength">The fewest symbols a code has (the shorter of generated and vanity codes).</param>
    /// <param name="checkedKeyLength">Symbols of a generated code with its check symbol, or 0 when generated codes carry none.</param>
    /// <param name="guard">The code-guessing limit, or <see langword="null"/> when it is off.</param>
    /// <param name="fastPath">Whether typed codes are resolved from their packed key alone when they can be (tests compare both paths).</param>
    public CodeResolver(IClock clock, ShareLinkService links, string[] foldedPrefixes, int minLength, int checkedKeyLength, CodeLookupGuard? guard, bool fastPath = true)
    {
        _clock = clock;
        _links = links;
        _foldedPrefixes = foldedPrefixes;
        _minLength = minLength;
        _checkedKeyLength = checkedKeyLength;
        _guard = guard;
        _plain = fastPath && foldedPrefixes.Length == 0;
    }

    /// <summary>The codes by normalised code; the code service writes it, on its own writes and from the store's change feed.</summary>
    internal CodeIndex Index { get; } = new();

    /// <summary>The status histories read for the index's records (judging a changed code at an event time).</summary>
    /// <remarks>
    /// Kept beside the resolver, not in a field of it: read only when a conversion judges a code that changed since it was
    /// issued, and a field here moved the fields <see cref="Resolve(string)"/> reads every time (CodeLookupBenchmarks'
    /// ResolveRaw_Hit measured 1.1x to 1.3x slower with the field than without, same runs, builds alternating).
    /// </remarks>
    internal CodeStatusHistories Histories => HistoriesOf.GetValue(this, static _ => new CodeStatusHistories());

    private static readonly System.Runtime.CompilerServices.ConditionalWeakTable<CodeResolver, CodeStatusHistories> HistoriesOf = new();

    /// <summary>
    /// The code-guessing limit the code service and the conversion pipeline share (<see langword="null"/> when
    /// <c>Referrals:Fraud:CodeGuessing:Enabled</c> is off).
    /// </summary>
    internal CodeLookupGuard? Guard => _guard;

    /// <summary>Resolves input under the code-guessing limit of a program and source (the public contract is the code service's).</summary>
    public CodeResolution Resolve(string? raw, ProgramId program, string? source)
    {
        Preconditions.CheckArgument(program.Value is not null, nameof(program), "The program is the default (empty) ProgramId.");
        var resolution = Resolve(raw);
        if (_guard is null)
        {
            return resolution;
        }
        // Resolved first so that a hit reuses the instant it was resolved at: while nobody is limited (MayBeLimited) a hit
        // pays two volatile reads for the limit. A refused look-up returns nothing of what was resolved, found or not.
        var lookup = LookupSource.Host(source);
        var now = resolution.ResolvedAt ?? _clock.GetCurrentInstant();
        if (_guard.IsRefused(program, lookup, now))
        {
            return new CodeResolution(CodeResolutionOutcome.Limited);
        }
        if (resolution.Outcome is CodeResolutionOutcome.NotFound or CodeResolutionOutcome.CheckFailed)
        {
            _guard.CountFailures(program, lookup, now);
            return resolution.CountedAgainst(program, source);
        }
        return resolution;
    }


    /// <summary>Resolves raw input to a code, a share link to its code; never throws, not limited.</summary>
    public CodeResolution Resolve(string? raw)
    {
        if (raw is null)
        {
            return Malformed(CodeMalformedReason.Empty, -1);
        }
        if (_plain && CodeText.TryFoldPacked(raw, out ulong fast, out int length, out int checkSum) && length >= _minLength)
        {
            // A code typed or scanned, without a prefix to strip (none configured) and no code held beside the table under
            // a packed key: the whole resolution from the packed key, nothing written.
            bool shapedGenerated = length == _checkedKeyLength;
            if (shapedGenerated && checkSum != 0 && Index.NoneFailsCheck(length))
            {
                return CheckFailed(raw, null);
            }
            if (Index.TryGetPacked(fast, out var hit))
            {
                return Found(hit, null);
            }
            if (!Index.MayHoldBeside)
            {
                return shapedGenerated && checkSum != 0 ? CheckFailed(raw, null) : NotFound(raw, null);
            }
        }
        Span<char> buffer = stackalloc char[CodeText.MaxKeyLength];
        var reason = CodeText.Fold(raw, buffer, out int n, out int bad, out ulong packed);
        // A link is recognised before the code's length limit applies: a share link may be far longer than a code
        // (tracking parameters), and its host alone may hold more letters than a code has symbols.
        if (reason is CodeMalformedReason.InvalidCharacter or CodeMalformedReason.TooLong && LooksLikeLink(raw))
        {
            return ResolveLink(raw);
        }
        if (reason != CodeText.WellFormed)
        {
            return Malformed(reason, bad);
        }
        if (n < _minLength)
        {
            return Malformed(CodeMalformedReason.TooShort, -1);
        }
        return ResolveKey(buffer[..n], packed, raw, link: null);
    }


    /// <summary>
    /// The codes input that resolved as <see cref="CodeResolutionOutcome.NotFound"/> could name if the index has not yet
    /// caught up with another process (the normalised input, and without a configured prefix; a link's code), for a look-up
    /// in the store. Empty for any other outcome.
    /// </summary>
    internal IReadOnlyList<ReferralCode> MissedKeys(string raw, in CodeResolution resolution)
    {
        if (resolution.Outcome != CodeResolutionOutcome.NotFound)
        {
            return [];
        }
        if (resolution.Link is { } link)
        {
            return link.Code is { } linked ? [linked] : [];
        }
        if (CodeText.FoldToString(raw) is not { } key)
        {
            return [];
        }
        var keys = new List<ReferralCode> { ReferralCode.FromNormalized(key) };
        foreach (var p in _foldedPrefixes)
        {
            if (key.Length > p.Length && key.StartsWith(p, StringComparison.Ordinal))
            {
                keys.Add(ReferralCode.FromNormalized(key[p.Length..]));
                break;
            }
        }
        return keys;
    }

    /// <summary>The indexed record of a normalised code, or <see langword="null"/>; no allocation.</summary>
    internal IndexedCode? FindIndexed(ReferralCode code) => Index.TryGet(code.Value, out var r) ? r : null;

    /// <summary>
    /// What a conversion keeps of a presented code: the normalised code when the input was a code that resolved, the
    /// canonical link (<see cref="ShareLinkService.Canonical"/>: code, medium and signature only) when it was a link to a
    /// code with a signature that is valid or absent, and nothing otherwise — the input may be an e-mail address, a phone
    /// number or a name typed into the code box. Resolving the kept form gives the same capture as the input did.
    /// </summary>
    internal string? PresentedForm(in CodeResolution resolution)
    {
        if (resolution.Outcome != CodeResolutionOutcome.Found)
        {
            return null;
        }
        if (resolution.Link is not { } link)
        {
            return resolution.Found.Code.Value;
        }
        return link.Signature == LinkSignatureStatus.Invalid ? null : _links.Canonical(link);
    }

    /// <summary>Suggestions counted against, and refused by, the guessing limit of a program and source.</summary>
    internal IReadOnlyList<CodeResolution> SuggestLimited(string raw, ReferralCode? linkCode, int max, ProgramId program, string? source)
    {
        if (_guard is null)
        {
            return SuggestFor(raw, linkCode, max);
        }
        var lookup = LookupSource.Host(source);
        var now = _clock.GetCurrentInstant();
        if (_guard.IsRefused(program, lookup, now))
        {
            return [];
        }
        // No more codes than the failures the source and program have left: a list never reveals more than guessing could.
        int budget = _guard.Budget(program, lookup, now);
        var found = budget == 0 ? [] : SuggestFor(raw, linkCode, Math.Min(max, budget));
        _guard.CountFailures(program, lookup, now, Math.Max(1, found.Count));
        return found;
    }

    internal IReadOnlyList<CodeResolution> SuggestFor(string raw, ReferralCode? linkCode, int max)
    {
        Span<char> buffer = stackalloc char[CodeText.MaxKeyLength];
        int n;
        if (linkCode is { } lc)
        {
            lc.Value.AsSpan().CopyTo(buffer);
            n = lc.Value.Length;
        }
        else if (CodeText.Fold(raw, buffer, out n, out _) != CodeText.WellFormed)
        {
            return [];
        }
        var found = new SortedDictionary<string, IndexedCode>(StringComparer.Ordinal);
        CollectNeighbours(buffer[..n], found);
        foreach (var p in _foldedPrefixes)
        {
            if (n > p.Length && buffer[..n].StartsWith(p))
            {
                CollectNeighbours(buffer[p.Length..n], found);
            }
        }
        var now = _clock.GetCurrentInstant();
        return found.Values.Take(max).Select(c => new CodeResolution(CodeResolutionOutcome.Found, c, c.GetState(now), resolvedAt: now.ToUnixTimeTicks())).ToList();
    }

    private void CollectNeighbours(ReadOnlySpan<char> key, SortedDictionary<string, IndexedCode> found)
    {
        Span<char> probe = stackalloc char[key.Length];
        key.CopyTo(probe);
        for (int i = 0; i < probe.Length; i++)
        {
            char original = probe[i];
            foreach (char s in CodeAlphabet.Symbols)
            {
                if (s == original)
                {
                    continue;
                }
                probe[i] = s;
                if (Index.TryGet(probe, out var r))
                {
                    found.TryAdd(new string(probe), r);
                }
            }
            probe[i] = original;
        }
        for (int i = 0; i + 1 < probe.Length; i++)
        {
            if (probe[i] == probe[i + 1])
            {
                continue;
            }
            (probe[i], probe[i + 1]) = (probe[i + 1], probe[i]);
            if (Index.TryGet(probe, out var r))
            {
                found.TryAdd(new string(probe), r);
            }
            (probe[i], probe[i + 1]) = (probe[i + 1], probe[i]);
        }
    }

    private CodeResolution ResolveKey(ReadOnlySpan<char> key, ulong packed, string raw, ShareLinkParseResult? link)
    {
        if (key.Length == _checkedKeyLength && packed != 0 && Index.NoneFailsCheck(key.Length) && !CheckCharacter.IsValid(key) && !StartsWithPrefix(key))
        {
            // Shaped as a generated code, its check symbol wrong, and no code of its length fails its check (no vanity code
            // of that length) nor does it start with a prefix: no code, and no look-up needed to know it.
            return CheckFailed(raw, link);
        }
        if (Index.TryGet(packed, key, out var record))
        {
            return Found(record, link);
        }
        ReadOnlySpan<char> stripped = key;
        foreach (var p in _foldedPrefixes)
        {
            if (key.Length > p.Length && key.StartsWith(p))
            {
                stripped = key[p.Length..];
                if (Index.TryGet(stripped, out record))
                {
                    return Found(record, link);
                }
                break;
            }
        }
        if (_checkedKeyLength > 0 && LooksGenerated(stripped) && !CheckCharacter.IsValid(stripped))
        {
            return CheckFailed(raw, link);
        }
        return NotFound(raw, link);
    }

    private CodeResolution NotFound(string raw, ShareLinkParseResult? link)
    {
        Count(ReferralsTelemetry.NotFound);
        return new CodeResolution(CodeResolutionOutcome.NotFound, link: link, resolver: this, raw: raw);
    }

    private CodeResolution CheckFailed(string raw, ShareLinkParseResult? link)
    {
        Count(ReferralsTelemetry.CheckFailed);
        return new CodeResolution(CodeResolutionOutcome.CheckFailed, link: link, resolver: this, raw: raw);
    }

    private bool StartsWithPrefix(ReadOnlySpan<char> key)
    {
        foreach (var p in _foldedPrefixes)
        {
            if (key.Length > p.Length && key.StartsWith(p))
            {
                return true;
            }
        }
        return false;
    }

    private bool LooksGenerated(ReadOnlySpan<char> key) => key.Length == _checkedKeyLength && CodeAlphabet.AllSymbols(key);

    private CodeResolution Found(in IndexedCode record, ShareLinkParseResult? link)
    {
        Count(ReferralsTelemetry.Found);
        var state = record.GetState(_clock, out var judgedAt);
        return new CodeResolution(CodeResolutionOutcome.Found, record, state, link: link, resolvedAt: judgedAt is { } at ? at.ToUnixTimeTicks() : CodeResolution.NotJudged);
    }

    // The outcome counted when someone listens (an OpenTelemetry exporter): nothing but a read of the flag otherwise.
    private static void Count(in KeyValuePair<string, object?> outcome)
    {
        if (ReferralsTelemetry.CodesResolved.Enabled)
        {
            ReferralsTelemetry.CodesResolved.Add(1, outcome);
        }
    }

    private static CodeResolution Malformed(CodeMalformedReason reason, int index)
    {
        Count(ReferralsTelemetry.Malformed);
        return new CodeResolution(CodeResolutionOutcome.Malformed, malformedReason: reason, invalidCharacterIndex: index);
    }

    private static bool LooksLikeLink(string raw) =>
        raw.Contains("://", StringComparison.Ordinal) || raw.Contains('/', StringComparison.Ordinal);

    private CodeResolution ResolveLink(string raw)
    {
        var link = _links.Parse(raw);
        if (!link.IsSuccess || link.Code is not { } code)
        {
            Count(ReferralsTelemetry.Malformed);
            return new CodeResolution(CodeResolutionOutcome.Malformed, malformedReason: CodeMalformedReason.InvalidLink, link: link);
        }
        CodeIndex.TryPack(code.Value, out ulong packed);
        return ResolveKey(code.Value, packed, raw, link);
    }
}
