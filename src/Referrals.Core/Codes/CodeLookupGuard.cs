using System.Buffers;
using NodaTime;
using Referrals.Internal;

namespace Referrals.Codes;

/// <summary>
/// The code-guessing limit (<see cref="CodeGuessingOptions"/>) as look-ups meet it: every failed look-up (no such code, a
/// failed check symbol, a "did you mean" list) counts against its source and against its program, and a look-up is
/// refused, before its input is read, while either is limited. A look-up with no source counts against one shared
/// "unknown source" of its program, limited like a single source. Thread-safe; allocates nothing for sources up to 256
/// characters.
/// </summary>
/// <remarks>
/// The counts live in this process only (<see cref="CodeGuessingLimiter"/>): <c>n</c> instances behind a load balancer
/// together allow <c>n</c> times the failures. See <see cref="CodeGuessingOptions"/> for what a multi-instance host does.
/// </remarks>
internal sealed class CodeLookupGuard
{
    /// <summary>Programs tracked at once: a host runs a handful, so this never evicts in practice (32 KiB).</summary>
    private const int ProgramSlots = 1024;

    private const int StackKeyLength = 256;

    private readonly CodeGuessingLimiter _sources;
    private readonly CodeGuessingLimiter _programs;

    public CodeLookupGuard(int maxFailures, int maxFailuresPerProgram, Duration window, int maxSources)
    {
        _sources = new CodeGuessingLimiter(maxFailures, window, maxSources);
        _programs = new CodeGuessingLimiter(maxFailuresPerProgram, window, ProgramSlots);
    }

    /// <summary>The guard the options ask for, or <see langword="null"/> when the limit is off.</summary>
    public static CodeLookupGuard? From(CodeGuessingOptions options) =>
        options.Enabled
            ? new CodeLookupGuard(options.MaxFailures, options.MaxFailuresPerProgram, Duration.FromTimeSpan(options.Window), options.MaxSources)
            : null;

    /// <summary>
    /// Whether a look-up from <paramref name="source"/> in <paramref name="program"/> is refused at <paramref name="now"/>;
    /// counts the refusal. While nobody is limited (the common case) this is two volatile reads.
    /// </summary>
    public bool IsRefused(ProgramId program, in LookupSource source, Instant now)
    {
        if (!_sources.MayBeLimited(now) && !_programs.MayBeLimited(now))
        {
            return false;
        }
        if (_programs.IsLimited(program.Value, now))
        {
            ReferralsTelemetry.CodeGuessesRefused.Add(1, ReferralsTelemetry.ProgramLimit);
            return true;
        }
        if (IsSourceLimited(program, source, now))
        {
            ReferralsTelemetry.CodeGuessesRefused.Add(1, ReferralsTelemetry.SourceLimit);
            return true;
        }
        return false;
    }

    /// <summary>
    /// How many more failures <paramref name="source"/> in <paramref name="program"/> may have before either is limited
    /// (0 when one is): how many codes a "did you mean" list may still reveal to it.
    /// </summary>
    public int Budget(ProgramId program, in LookupSource source, Instant now)
    {
        int budget = _programs.Budget(program.Value, now);
        if (budget == 0)
        {
            return 0;
        }
        char[]? rented = null;
        int length = source.KeyLength(program);
        Span<char> key = length <= StackKeyLength ? stackalloc char[StackKeyLength] : (rented = ArrayPool<char>.Shared.Rent(length));
        key = key[..length];
        source.WriteKey(program, key);
        budget = Math.Min(budget, _sources.Budget(key, now));
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }
        return budget;
    }

    /// <summary>Counts <paramref name="count"/> failed look-ups from <paramref name="source"/> in <paramref name="program"/>.</summary>
    public void CountFailures(ProgramId program, in LookupSource source, Instant now, int count = 1)
    {
        _programs.RecordFailures(program.Value, now, count);
        char[]? rented = null;
        int length = source.KeyLength(program);
        Span<char> key = length <= StackKeyLength ? stackalloc char[StackKeyLength] : (rented = ArrayPool<char>.Shared.Rent(length));
        key = key[..length];
        source.WriteKey(program, key);
        _sources.RecordFailures(key, now, count);
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }
    }

    private bool IsSourceLimited(ProgramId program, in LookupSource source, Instant now)
    {
        char[]? rented = null;
        int length = source.KeyLength(program);
        Span<char> key = length <= StackKeyLength ? stackalloc char[StackKeyLength] : (rented = ArrayPool<char>.Shared.Rent(length));
        key = key[..length];
        source.WriteKey(program, key);
        bool limited = _sources.IsLimited(key, now);
        if (rented is not null)
        {
            ArrayPool<char>.Shared.Return(rented);
        }
        return limited;
    }
}

/// <summary>
/// Who is looking a code up, for the guessing limit: the host's own source (an IP address, a kiosk), a till, a visitor, a
/// customer, a contact hash, or nobody known. Each kind is its own key space, so a visitor id never shares a count with an
/// equal IP address. Never stored: only a seeded hash of the key is held, in memory.
/// </summary>
internal readonly struct LookupSource
{
    private const char Separator = '\u001F';

    private readonly char _kind;
    private readonly string? _first;
    private readonly string? _second;

    private LookupSource(char kind, string? first, string? second)
    {
        _kind = kind;
        _first = first;
        _second = second;
    }

    /// <summary>Nobody known: the program's one shared "unknown source".</summary>
    public static LookupSource Unknown => new('u', null, null);

    /// <summary>The host's own source (<c>CaptureRequest.Source</c>, the <c>source</c> of a limited resolve); empty is unknown.</summary>
    public static LookupSource Host(string? source) => string.IsNullOrEmpty(source) ? Unknown : new('s', source, null);

    /// <summary>A till: its store and register.</summary>
    public static LookupSource Till(string? store, string? register) => new('r', store, register);

    /// <summary>A visitor or device id.</summary>
    public static LookupSource Visitor(string visitor) => new('v', visitor, null);

    /// <summary>A customer id.</summary>
    public static LookupSource Customer(string customer) => new('c', customer, null);

    /// <summary>A contact hash, as text.</summary>
    public static LookupSource Contact(string hash) => new('h', hash, null);

    /// <summary>Whether this is the program's shared unknown source.</summary>
    public bool IsUnknown => _kind is 'u' or '\0';

    public int KeyLength(ProgramId program) =>
        IsUnknown ? 2 + program.Value.Length : 3 + (_first?.Length ?? 0) + (_second?.Length ?? 0);

    /// <summary>Writes the key: kind, separator, then the program (unknown) or the source's one or two parts.</summary>
    public void WriteKey(ProgramId program, Span<char> key)
    {
        key[0] = IsUnknown ? 'u' : _kind;
        key[1] = Separator;
        if (IsUnknown)
        {
            program.Value.AsSpan().CopyTo(key[2..]);
            return;
        }
        int at = 2;
        _first.AsSpan().CopyTo(key[at..]);
        at += _first?.Length ?? 0;
        key[at++] = Separator;
        _second.AsSpan().CopyTo(key[at..]);
    }
}
