using System.Runtime.CompilerServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NodaTime;
using Referrals.Codes;
using Referrals.Internal;
using Referrals.Links;
using Referrals.Programs;
using Referrals.Storage;

namespace Referrals.Services;

/// <summary>
/// Issues referral codes (generated, vanity, bulk), manages their lifecycle and resolves raw input from a till, a form,
/// a QR scan or a URL to the code record. Thread-safe; register once per process (a singleton).
/// </summary>
/// <remarks>
/// Resolving reads an in-memory index that this service keeps current on its own writes at once. With a durable store,
/// call <see cref="InitializeAsync"/> once at start so the index holds the codes written before (the SQLite store's
/// registration does it in a hosted service). Codes that other processes issue or change reach this index when
/// <see cref="RefreshAsync"/> runs (on a timer with that registration), read from the store's change feed
/// (<see cref="IReferralStoreReader.ListCodeChangesAsync"/>); until then a code issued elsewhere resolves as not found and a code paused
/// elsewhere still resolves as active.
/// </remarks>
public sealed partial class ReferralCodeService
{
    private const int MaxLifecycleRetries = 8;
    // Bulk generation commits its first chunk of 1,024 codes (the first codes come back soon), then chunks twice as large
    // up to 65,536: a commit writes every page the chunk dirtied, and random codes dirty a page of the store's key index
    // each, so larger chunks write fewer pages a code (on SQLite at 100,000 codes, 2.7 KB a code at 1,024, 0.34 KB at
    // 16,384, 0.19 KB at 65,536). A chunk's records are held until it is committed: ~20 MB at 65,536.
    private const int BulkChunkSize = 1024;
    private const int MaxBulkChunkSize = 64 * 1024;

    private readonly ContractCodeStore _store;
    private readonly IClock _clock;
    private readonly ShareLinkService _links;
    private readonly ILogger _logger;
    private readonly CodeOptions _codeOptions;
    private readonly VanityCodeOptions _vanityOptions;
    private readonly CodeBlocklist _blocklist;
    private readonly CodeGenerator _generator;
    private readonly CodeResolver _resolver;
    // The change feed's position the index has caught up to; read and written under _refreshGate.
    private readonly SemaphoreSlim _refreshGate = new(1, 1);
    private long _feedPosition;
    private bool _initialized;
    private readonly HashSet<string> _allowedPrefixes;
    private readonly HashSet<string> _programs;
    private readonly string[] _foldedPrefixes;
    private readonly HashSet<string> _reservedWords;

    /// <summary>
    /// Creates the service on the store, from options (validated here as in dependency injection, which uses this
    /// constructor with the registered store).
    /// </summary>
    /// <param name="store">The store the codes are kept in.</param>
    /// <param name="options">The settings.</param>
    /// <param name="clock">The library's clock.</param>
    /// <param name="random">The source of random codes (<see cref="CryptoRandomSource.Instance"/> unless testing).</param>
    /// <param name="links">The share link service that builds a code's links.</param>
    /// <param name="logger">Optional.</param>
    /// <exception cref="OptionsValidationException">A setting is bad; the message names every one.</exception>
    public ReferralCodeService(
        IReferralStore store,
        IOptions<ReferralsOptions> options,
        IClock clock,
        IRandomSource random,
        ShareLinkService links,
        ILogger<ReferralCodeService>? logger = null)
    {
        _clock = Preconditions.CheckNotNull(clock);
        _store = new ContractCodeStore(Preconditions.CheckNotNull(store), clock);
        _links = Preconditions.CheckNotNull(links);
        Preconditions.CheckNotNull(random);
        var o = Preconditions.CheckNotNull(options).Value;
        ReferralsOptionsValidator.ThrowIfInvalid(o);
        _logger = logger ?? (ILogger)NullLogger.Instance;
        _codeOptions = o.Codes;
        _vanityOptions = o.Vanity;
        _blocklist = o.Codes.BlockedWords.Count == 0 ? CodeBlocklist.Default : CodeBlocklist.Default.With(o.Codes.BlockedWords);
        _generator = new CodeGenerator(o.Codes, _blocklist, random);
        _allowedPrefixes = new HashSet<string>(o.Codes.AllPrefixes(), StringComparer.OrdinalIgnoreCase);
        _programs = new HashSet<string>(o.Programs.Keys, StringComparer.Ordinal);
        var foldedPrefixes = _allowedPrefixes.Select(p => CodeText.FoldToString(p)!).Distinct(StringComparer.Ordinal)
            .OrderByDescending(p => p.Length).ToArray();
        _foldedPrefixes = foldedPrefixes;
        _reservedWords = new HashSet<string>(
            VanityCodeOptions.DefaultReservedWords.Concat(o.Vanity.ReservedWords).Select(CodeBlocklist.Skeleton),
            StringComparer.Ordinal);
        _resolver = new CodeResolver(
            clock,
            _links,
            foldedPrefixes,
            minLength: Math.Min(o.Vanity.MinLength, o.Codes.Length),
            checkedKeyLength: _generator.UsesCheckCharacter ? _generator.KeyLength : 0,
            CodeLookupGuard.From(o.CodeGuessing));
    }

    /// <summary>Creates the service without dependency injection, with the cryptographic random source.</summary>
    /// <exception cref="OptionsValidationException">A setting is bad; the message names every one.</exception>
    public ReferralCodeService(IReferralStore store, ReferralsOptions options, IClock clock)
        : this(store, Options.Create(Validated(options)), clock, CryptoRandomSource.Instance, new ShareLinkService(options.Links, validated: true))
    {
    }

    // Every setting checked first, so the links section is built only when valid and a bad setting anywhere is reported
    // with all the others, in one message.
    private static ReferralsOptions Validated(ReferralsOptions options)
    {
        ReferralsOptionsValidator.ThrowIfInvalid(Preconditions.CheckNotNull(options));
        return options;
    }

    /// <summary>Whether the host's start leaves loading the index to the background (<see cref="CodeOptions.LoadIndexInBackground"/>).</summary>
    internal bool LoadsIndexInBackground => _codeOptions.LoadIndexInBackground;

    /// <summary>How many codes the in-memory index holds.</summary>
    public int IndexedCount => _resolver.Index.Count;

    /// <summary>
    /// Loads every code of the store into the in-memory index. Call once at start with a durable store; a later call only
    /// catches up as <see cref="RefreshAsync"/> does.
    /// </summary>
    public async Task InitializeAsync(CancellationToken cancellationToken = default)
    {
        await _refreshGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            if (_initialized)
            {
                await CatchUpAsync(cancellationToken).ConfigureAwait(false);
                return;
            }
            // A store with a fast start hands over every code from one snapshot and its feed position; otherwise the change
            // feed from position 0 is every code once, at its latest version. Either way the position reached is the last
            // one read, so a change committed meanwhile is read by the catch-up or the next refresh, never missed.
            if (_store.IndexSource is { } source)
            {
                try
                {
                    _feedPosition = await source.ReadCodeIndexAsync(new IndexLoader(_resolver.Index), cancellationToken).ConfigureAwait(false);
                }
                finally
                {
                    _resolver.Index.EndLoad();
                }
            }
            await CatchUpAsync(cancellationToken).ConfigureAwait(false);
            _initialized = true;
        }
        finally
        {
            _refreshGate.Release();
        }
    }

    /// <summary>
    /// Brings the in-memory index up to date with codes issued or changed by other processes since the last call (or
    /// since <see cref="InitializeAsync"/>), read from the store's change feed. This process's own writes are in the index at once and need no refresh.
    /// </summary>
    /// <returns>How many changed records were read (0 when the index was current).</returns>
    public async Task<int> RefreshAsync(CancellationToken cancellationToken = default)
    {
        await _refreshGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            return await CatchUpAsync(cancellationToken).ConfigureAwait(false);
        }
        finally
        {
            _refreshGate.Release();
        }
    }

    // Under _refreshGate.
    private async Task<int> CatchUpAsync(CancellationToken cancellationToken)
    {
        const int Page = 1024;
        int read = 0;
        while (true)
        {
            var changes = await _store.ListChangesAsync(_feedPosition, Page, cancellationToken).ConfigureAwait(false);
            if (changes.Count > 0)
            {
                _resolver.Index.SetMany(changes.Select(static c => c.Record));
                _feedPosition = changes[^1].Position;
            }
            read += changes.Count;
            if (changes.Count < Page)
            {
                return read;
            }
        }
    }

    /// <summary>Puts a store's rows in the index as they are read.</summary>
    private sealed class IndexLoader(CodeIndex index) : ICodeIndexSink
    {
        public void Expect(long rows) => index.Reserve(rows);

        public void Add(in CodeIndexRow row) => index.Load(row);
    }

    /// <summary>Issues a new random code for a referrer (or an unassigned one), unique in the store.</summary>
    /// <exception cref="ArgumentException">The request names a program or a prefix that is not configured, or a use limit below 1.</exception>
    /// <exception cref="ReferralException"><see cref="ReferralErrorCode.CodeSpaceExhausted"/> or <see cref="ReferralErrorCode.BlocklistExhausted"/>.</exception>
    public async Task<ReferralCodeRecord> IssueAsync(CodeRequest request, CancellationToken cancellationToken = default)
    {
        string? prefix = CheckRequest(request);
        for (int attempt = 0; attempt < _codeOptions.MaxUniquenessAttempts; attempt++)
        {
            var record = NewRecord(request, prefix, CodeKind.Generated);
            if (await _store.TryAddAsync(record, cancellationToken).ConfigureAwait(false))
            {
                _resolver.Index.Set(record);
                ReferralsTelemetry.CodesIssued.Add(1, new KeyValuePair<string, object?>(ReferralsTelemetry.Tags.Kind, "generated"));
                LogCodeIssued(_logger, request.Program.Value, CodeKind.Generated, request.Medium);
                return record;
            }
            ReferralsTelemetry.CodeCollisions.Add(1);
        }
        throw SpaceExhausted();
    }

    /// <summary>
    /// Issues a vanity code chosen by a person (<c>JANE20</c>) if it is valid and free. Expected refusals (too short, reserved,
    /// blocked, taken) come back in the result, not as exceptions.
    /// </summary>
    /// <param name="vanity">
    /// The code as the person wants it shown; letters, digits, spaces and dashes. One that starts with a configured
    /// prefix (<see cref="CodeOptions.Prefix"/>, <see cref="CodeOptions.AdditionalPrefixes"/>, compared as codes are) is
    /// <see cref="VanityCodeRejection.Reserved"/>: typed with its prefix, another code would read as it.
    /// </param>
    /// <param name="request">Program, owner, medium and limits; <see cref="CodeRequest.Prefix"/> is ignored.</param>
    /// <param name="cancellationToken">Cancels the store call.</param>
    public async Task<VanityCodeResult> IssueVanityAsync(string vanity, CodeRequest request, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(vanity);
        CheckRequest(request with { Prefix = null });
        var (key, rejection, message) = ValidateVanity(vanity);
        if (rejection is not null)
        {
            return new VanityCodeResult(null, rejection, message);
        }
        // Shown as typed, every kind of space (U+3000, U+00A0) as a plain one.
        string trimmed = vanity.Trim();
        string display = string.Create(trimmed.Length, trimmed, static (span, text) =>
        {
            for (int i = 0; i < text.Length; i++)
            {
                span[i] = char.IsWhiteSpace(text[i]) ? ' ' : text[i];
            }
        });
        var record = NewRecord(request, ReferralCode.FromNormalized(key!), display, CodeKind.Vanity, _clock.GetCurrentInstant());
        if (!await _store.TryAddAsync(record, cancellationToken).ConfigureAwait(false))
        {
            return new VanityCodeResult(null, VanityCodeRejection.Taken, $"The code {Echo(trimmed)} is taken (codes are compared ignoring case, and O/0 and I/L/1 count as the same).");
        }
        _resolver.Index.Set(record);
        ReferralsTelemetry.CodesIssued.Add(1, new KeyValuePair<string, object?>(ReferralsTelemetry.Tags.Kind, "vanity"));
        LogCodeIssued(_logger, request.Program.Value, CodeKind.Vanity, request.Medium);
        return new VanityCodeResult(record, null, null);
    }

    /// <summary>
    /// Generates <paramref name="count"/> codes for printing (receipt rolls, cards, signs), each unique in the batch and the
    /// store, streamed in chunks as they are committed: a million codes never sit in memory at once. The first chunk is
    /// 1,024 codes, each next one twice as large up to 65,536. Stopping the enumeration early keeps the codes already
    /// yielded, and at most one chunk more, in the store.
    /// </summary>
    /// <exception cref="ArgumentException">The request is invalid or <paramref name="count"/> is below 1.</exception>
    /// <exception cref="ReferralException"><see cref="ReferralErrorCode.CodeSpaceExhausted"/> or <see cref="ReferralErrorCode.BlocklistExhausted"/>.</exception>
    public IAsyncEnumerable<ReferralCodeRecord> GenerateBulkAsync(CodeRequest request, int count, CancellationToken cancellationToken = default) =>
        GenerateBulkAsync(request, count, index: true, cancellationToken);

    /// <summary>
    /// The same, with <paramref name="index"/> false for a process that only prints the codes (the <c>referrals</c>
    /// tool): they are stored, not held in this process's code index, so its memory does not grow with the batch. Its
    /// look-ups of them go to the store's change feed as any other process's do.
    /// </summary>
    internal IAsyncEnumerable<ReferralCodeRecord> GenerateBulkAsync(CodeRequest request, int count, bool index, CancellationToken cancellationToken) =>
        new BulkCodes(GenerateBulkChunksAsync(request, count, index, cancellationToken));

    // The chunks of a bulk generation, each committed before it is yielded. The records are made as the reader takes them
    // (BulkCodes), a chunk at a time: an async iterator yielding each record cost more a code than storing and indexing it.
    private async IAsyncEnumerable<BulkChunk> GenerateBulkChunksAsync(
        CodeRequest request,
        int count,
        bool index,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        string? prefix = CheckRequest(request);
        ArgumentOutOfRangeException.ThrowIfLessThan(count, 1);
        int keyLength = _generator.KeyLength;
        if (index)
        {
            // Room in the index for the whole batch at once: grown a chunk at a time, it would copy its table again and again.
            _resolver.Index.Reserve(count);
        }
        int chunk = BulkChunkSize;
        var keys = new char[Math.Min(count, chunk) * keyLength];
        var accepted = new char[Math.Min(count, chunk) * keyLength];
        int remaining = count;
        while (remaining > 0)
        {
            int size = Math.Min(remaining, chunk);
            if (keys.Length < size * keyLength)
            {
                keys = new char[size * keyLength];
                accepted = new char[size * keyLength];
            }
            // The chunk's codes are kept as keys, not records: a record is made for each reader (the store, the index, the
            // caller) and dropped by it (see BulkCodeRows), so no record of the chunk outlives its use.
            var createdAt = _clock.GetCurrentInstant();
            ReferralCodeRecord? prototype = null;
            BulkCodeShape? shape = null;
            int held = 0;
            for (int attempt = 0; held < size; attempt++)
            {
                if (attempt >= _codeOptions.MaxUniquenessAttempts)
                {
                    throw SpaceExhausted();
                }
                int n = size - held;
                _generator.DrawMany(keys, n); // the random bytes of the whole chunk at once
                if (shape is null)
                {
                    prototype = NewRecord(request, ReferralCode.FromNormalized(new string(keys.AsSpan(0, keyLength))), string.Empty, CodeKind.Bulk, createdAt);
                    shape = new BulkCodeShape(prototype, _generator, prefix);
                }
                var rows = new BulkCodeRows(keys, keyLength, n, shape, createdAt);
                // One unit for the chunk; the store adapter takes out the rows it left out (a code drawn twice in the chunk, or
                // one the store holds already, this batch's earlier chunks included), and those are drawn again.
                var rejected = await _store.AddManyAsync(rows, cancellationToken).ConfigureAwait(false);
                if (rejected.Count > 0)
                {
                    ReferralsTelemetry.CodeCollisions.Add(rejected.Count);
                }
                int from = held;
                for (int i = 0; i < rows.Count; i++)
                {
                    rows.Key(i).CopyTo(accepted.AsSpan(held * keyLength, keyLength));
                    held++;
                }
                if (index)
                {
                    _resolver.Index.SetBulk(prototype!, accepted.AsSpan(from * keyLength, (held - from) * keyLength), keyLength, _generator, prefix);
                }
            }
            ReferralsTelemetry.CodesIssued.Add(held, new KeyValuePair<string, object?>(ReferralsTelemetry.Tags.Kind, "bulk"));
            // The reader is done with the chunk (BulkCodes asks for the next one only then) before its keys are drawn over.
            yield return new BulkChunk(shape!, accepted, keyLength, held);
            remaining -= size;
            chunk = Math.Min(chunk * 2, MaxBulkChunkSize);
        }
        LogBulkIssued(_logger, request.Program.Value, count, request.Medium);
    }

    /// <summary>The read side of the codes (the index and resolution), shared with the conversion pipeline.</summary>
    internal CodeResolver Resolver => _resolver;

    /// <summary>
    /// Resolves input a person typed, scanned or opened — at a checkout form, a kiosk, a till — as
    /// <see cref="Resolve(string?)"/> does, under the code-guessing limit (<see cref="Codes.CodeGuessingOptions"/>): a look-up
    /// that finds no code, or fails its check symbol, counts against <paramref name="source"/> and against
    /// <paramref name="program"/>, and while either is limited the outcome is <see cref="CodeResolutionOutcome.Limited"/>,
    /// found code or not, and nothing more is counted. <see cref="CodeResolution.GetSuggestions"/> on the result counts too.
    /// Never throws for any input; allocates nothing for typed or scanned codes, found or not.
    /// </summary>
    /// <remarks>
    /// A found code is returned whatever its program: compare <see cref="ReferralCodeRecord.Program"/> yourself. The counts
    /// are per process; see <see cref="Codes.CodeGuessingOptions"/> for hosts with several instances. With the limit
    /// turned off this is <see cref="Resolve(string?)"/>.
    /// </remarks>
    /// <param name="raw">The input, or <see langword="null"/> (which resolves as <see cref="CodeMalformedReason.Empty"/>).</param>
    /// <param name="program">The program the look-up is for (the checkout's, the till's); its failures are counted together.</param>
    /// <param name="source">
    /// Who is looking up: the client's IP address, a device or kiosk id, a till. Compared exactly; never stored (only a
    /// seeded hash is held in memory while it is active). <see langword="null"/> or empty counts against the program's
    /// one shared unknown source, which is limited like a single source: pass one.
    /// </param>
    /// <exception cref="ArgumentException"><paramref name="program"/> is the default (empty) <see cref="ProgramId"/>.</exception>
    public CodeResolution Resolve(string? raw, ProgramId program, string? source)
        => _resolver.Resolve(raw, program, source); // the resolver checks the program

    /// <summary>
    /// Resolves raw input (typed at a till, entered in a form, scanned from a QR code, or a share link) to a code.
    /// Trims, drops spaces and dashes, ignores case, reads O as 0 and I/L as 1, strips a configured prefix and checks the
    /// check symbol. Never throws for any input; allocates nothing for typed or scanned codes, found or not. Input with a
    /// <c>/</c> that is no code is read as a share link (<see cref="ShareLinkService.Parse"/>), whatever its length: a link
    /// that cannot be read is <see cref="CodeMalformedReason.InvalidLink"/>, with the parser's reason in <see cref="CodeResolution.Link"/>.
    /// </summary>
    /// <remarks>
    /// Not rate-limited, and neither are its suggestions: for input from your own systems (an import, the back office).
    /// For input people type or scan, use <see cref="Resolve(string?, ProgramId, string?)"/>, so nobody can try codes (or
    /// harvest "did you mean" suggestions) until one hits.
    /// </remarks>
    /// <param name="raw">The input, or <see langword="null"/> (which resolves as <see cref="CodeMalformedReason.Empty"/>).</param>
    public CodeResolution Resolve(string? raw) => _resolver.Resolve(raw);

    /// <summary>Reads a code record from the store (not the index), or <see langword="null"/>.</summary>
    public ValueTask<ReferralCodeRecord?> FindAsync(ReferralCode code, CancellationToken cancellationToken = default) =>
        _store.FindAsync(code, cancellationToken);

    /// <summary>
    /// Pauses an active code; resolving it then reports <see cref="CodeState.Paused"/>. Takes effect now (the library's
    /// clock) and is kept in the code's history: a sale made before now still earns its credit when it arrives later (a
    /// POS batch), and a touch or sale made from now until the code is resumed earns nothing, whenever it arrives.
    /// Orders already recorded are not decided again.
    /// </summary>
    /// <exception cref="ReferralException"><see cref="ReferralErrorCode.CodeNotFound"/>, <see cref="ReferralErrorCode.InvalidCodeTransition"/> (revoked) or <see cref="ReferralErrorCode.ConcurrencyConflict"/>.</exception>
    public Task<ReferralCodeRecord> PauseAsync(ReferralCode code, CancellationToken cancellationToken = default) =>
        ChangeAsync(code, r => r.Status == CodeStatus.Revoked ? null : r with { Status = CodeStatus.Paused }, "pause", cancellationToken);

    /// <summary>
    /// Resumes a paused code, from now (the library's clock): touches and sales made during the pause still earn nothing.
    /// </summary>
    /// <exception cref="ReferralException"><see cref="ReferralErrorCode.CodeNotFound"/>, <see cref="ReferralErrorCode.InvalidCodeTransition"/> (revoked) or <see cref="ReferralErrorCode.ConcurrencyConflict"/>.</exception>
    public Task<ReferralCodeRecord> ResumeAsync(ReferralCode code, CancellationToken cancellationToken = default) =>
        ChangeAsync(code, r => r.Status == CodeStatus.Revoked ? null : r with { Status = CodeStatus.Active }, "resume", cancellationToken);

    /// <summary>
    /// Revokes a code for good, from now (the library's clock). Revoking a revoked code changes nothing. A sale made before
    /// now keeps its credit, or earns it when it arrives later; orders already recorded are not decided again.
    /// </summary>
    /// <exception cref="ReferralException"><see cref="ReferralErrorCode.CodeNotFound"/> or <see cref="ReferralErrorCode.ConcurrencyConflict"/>.</exception>
    public Task<ReferralCodeRecord> RevokeAsync(ReferralCode code, CancellationToken cancellationToken = default) =>
        ChangeAsync(code, r => r with { Status = CodeStatus.Revoked }, "revoke", cancellationToken);

    /// <summary>
    /// Hands an unassigned code (a printed receipt or card code) to a referrer. Assigning it again to the same referrer
    /// changes nothing.
    /// </summary>
    /// <exception cref="ReferralException"><see cref="ReferralErrorCode.InvalidCodeTransition"/> when another referrer owns it; <see cref="ReferralErrorCode.CodeNotFound"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="owner"/> is a default id.</exception>
    public Task<ReferralCodeRecord> AssignAsync(ReferralCode code, ParticipantId owner, CancellationToken cancellationToken = default)
    {
        IdentifierRules.CheckSet(owner, nameof(owner));
        return ChangeAsync(code, r => r.Owner is null || r.Owner == owner ? r with { Owner = owner } : null, "assign", cancellationToken);
    }

    private (string? Key, VanityCodeRejection? Rejection, string? Message) ValidateVanity(string vanity)
    {
        Span<char> buffer = stackalloc char[CodeText.MaxKeyLength];
        var reason = CodeText.Fold(vanity, buffer, out int n, out int bad);
        switch (reason)
        {
            case CodeMalformedReason.InvalidCharacter:
                return (null, VanityCodeRejection.InvalidCharacter, $"{Echo(vanity)} has the character {UntrustedText.CharacterAt(vanity, bad)} at position {bad + 1}; use letters, digits, spaces and dashes.");
            case CodeMalformedReason.TooLong:
                return (null, VanityCodeRejection.TooLong, $"{Echo(vanity)} is longer than {_vanityOptions.MaxLength} characters.");
            case CodeMalformedReason.Empty:
                return (null, VanityCodeRejection.TooShort, $"A vanity code needs at least {_vanityOptions.MinLength} characters.");
        }
        // Folding skips separators a person cannot see (U+2028, U+200B); the display keeps what was typed, so it would
        // print them on a receipt.
        for (int i = 0; i < vanity.Length; i++)
        {
            if (UntrustedText.IsHidden(vanity[i]))
            {
                return (null, VanityCodeRejection.InvalidCharacter, $"{Echo(vanity)} has the character {UntrustedText.CharacterAt(vanity, i)} at position {i + 1}; use letters, digits, spaces and dashes.");
            }
        }
        if (n < _vanityOptions.MinLength)
        {
            return (null, VanityCodeRejection.TooShort, $"{Echo(vanity)} is shorter than {_vanityOptions.MinLength} characters.");
        }
        if (n > _vanityOptions.MaxLength)
        {
            return (null, VanityCodeRejection.TooLong, $"{Echo(vanity)} is longer than {_vanityOptions.MaxLength} characters.");
        }
        string key = new(buffer[..n]);
        if (_reservedWords.Contains(CodeBlocklist.Skeleton(vanity)))
        {
            return (null, VanityCodeRejection.Reserved, $"{Echo(vanity)} is a reserved word.");
        }
        // A code printed with a prefix (SHOP-7Q2M-9KXRB) is typed with it, and the resolver looks the whole text up
        // before it strips the prefix: a vanity code spelled as a prefix and another code would take that code's sales.
        foreach (string prefix in _foldedPrefixes)
        {
            if (key.StartsWith(prefix, StringComparison.Ordinal))
            {
                return (null, VanityCodeRejection.Reserved,
                    $"{Echo(vanity)} starts with {prefix}, a prefix printed before codes: typed with it, another code would read as this one.");
            }
        }
        if (_blocklist.ContainsBlockedWord(vanity))
        {
            return (null, VanityCodeRejection.Blocked, $"{Echo(vanity)} contains a blocked word.");
        }
        return (key, null, null);
    }

    /// <summary>Quotes a person's input for a message: shortened, invisible characters replaced.</summary>
    private static string Echo(string value) => UntrustedText.Echo(value, 40);

    private ReferralCodeRecord NewRecord(CodeRequest request, string? prefix, CodeKind kind)
    {
        var (code, display) = _generator.Draw(prefix);
        return NewRecord(request, code, display, kind, _clock.GetCurrentInstant());
    }

    private static ReferralCodeRecord NewRecord(CodeRequest request, ReferralCode code, string display, CodeKind kind, Instant createdAt) => new(
        code: code,
        display: display,
        program: request.Program,
        owner: request.Owner,
        medium: request.Medium,
        kind: kind,
        status: CodeStatus.Active,
        createdAt: createdAt,
        expiresAt: request.ExpiresAt,
        maxUses: request.MaxUses,
        uses: 0,
        version: 1);

    private string? CheckRequest(CodeRequest request)
    {
        Preconditions.CheckNotNull(request);
        Preconditions.CheckArgument(request.Program.Value is not null, nameof(request), "The request names no program.");
        // A code of a program that is not configured could be handed out, and every order made with it would then earn
        // nothing (ProgramNotConfigured): refused here, where the typo is still in front of the caller.
        Preconditions.CheckArgument(
            _programs.Contains(request.Program.Value),
            nameof(request),
            $"The program '{request.Program.Value}' is not configured (program ids are compared exactly, case included); configured: {(_programs.Count == 0 ? "none" : string.Join(", ", _programs.Order(StringComparer.Ordinal).Select(p => $"'{p}'")))}.");
        if (request.Owner is { } owner)
        {
            IdentifierRules.CheckSet(owner, nameof(request));
        }
        Preconditions.CheckArgument(request.MaxUses is null or >= 1, nameof(request), $"MaxUses must be at least 1; got {request.MaxUses}.");
        Preconditions.CheckArgument(Enum.IsDefined(request.Medium), nameof(request), $"Unknown share medium {(int)request.Medium}.");
        if (request.Prefix is null)
        {
            return _codeOptions.Prefix;
        }
        Preconditions.CheckArgument(
            _allowedPrefixes.Contains(request.Prefix),
            nameof(request),
            $"The prefix '{request.Prefix}' is not configured; add it to Referrals:Codes:AdditionalPrefixes so the parser strips it.");
        // Printed as configured (NYC5), whatever the case the request gave it in.
        _allowedPrefixes.TryGetValue(request.Prefix, out string? configured);
        return configured ?? request.Prefix;
    }

    private ReferralException SpaceExhausted() => new(
        ReferralErrorCode.CodeSpaceExhausted,
        $"{_codeOptions.MaxUniquenessAttempts} drawn codes of {_codeOptions.Length} symbols all exist already; raise Referrals:Codes:Length.");

    private async Task<ReferralCodeRecord> ChangeAsync(
        ReferralCode code,
        Func<ReferralCodeRecord, ReferralCodeRecord?> change,
        string action,
        CancellationToken cancellationToken)
    {
        for (int attempt = 0; attempt < MaxLifecycleRetries; attempt++)
        {
            var current = await _store.FindAsync(code, cancellationToken).ConfigureAwait(false)
                ?? throw new ReferralException(ReferralErrorCode.CodeNotFound, $"Cannot {action} the code '{code}': no such code.");
            var next = change(current)
                ?? throw new ReferralException(ReferralErrorCode.InvalidCodeTransition, $"Cannot {action} the code '{code}': it is {current.Status}{(current.Owner is { } o ? $" and owned by {o}" : string.Empty)}.");
            if (next == current)
            {
                _resolver.Index.Set(current);
                return current;
            }
            next = next with { Version = current.Version + 1 };
            if (await _store.TryUpdateAsync(next, current.Version, cancellationToken).ConfigureAwait(false))
            {
                _resolver.Index.Set(next);
                return next;
            }
        }
        throw new ReferralException(ReferralErrorCode.ConcurrencyConflict, $"Cannot {action} the code '{code}': it kept changing under {MaxLifecycleRetries} attempts.");
    }

    [LoggerMessage(EventId = 1001, Level = LogLevel.Debug, Message = "Issued a {Kind} code in program {Program} for medium {Medium}")]
    private static partial void LogCodeIssued(ILogger logger, string program, CodeKind kind, ShareMedium medium);

    [LoggerMessage(EventId = 1002, Level = LogLevel.Information, Message = "Issued {Count} bulk codes in program {Program} for medium {Medium}")]
    private static partial void LogBulkIssued(ILogger logger, string program, int count, ShareMedium medium);

    // A committed chunk of bulk generation: its keys, one after the other, and the shape their records are made from.
    private readonly record struct BulkChunk(BulkCodeShape Shape, char[] Keys, int KeyLength, int Count);

    /// <summary>
    /// Bulk generation's records, made from its chunks as they are read: a record that is ready is returned at once, and
    /// only the next chunk (drawn, stored and indexed by <see cref="GenerateBulkChunksAsync"/>) is awaited. Each enumeration
    /// generates anew, as the iterator's does.
    /// </summary>
    private sealed class BulkCodes(IAsyncEnumerable<BulkChunk> chunks) : IAsyncEnumerable<ReferralCodeRecord>
    {
        public IAsyncEnumerator<ReferralCodeRecord> GetAsyncEnumerator(CancellationToken cancellationToken = default) =>
            new Enumerator(chunks.GetAsyncEnumerator(cancellationToken));

        private sealed class Enumerator(IAsyncEnumerator<BulkChunk> chunks) : IAsyncEnumerator<ReferralCodeRecord>
        {
            private BulkChunk _chunk;
            private int _next;

            public ReferralCodeRecord Current { get; private set; } = null!;

            [MethodImpl(MethodImplOptions.AggressiveOptimization)]
            public ValueTask<bool> MoveNextAsync()
            {
                if (_next < _chunk.Count)
                {
                    Current = _chunk.Shape.Record(_chunk.Keys.AsSpan(_next++ * _chunk.KeyLength, _chunk.KeyLength));
                    return new ValueTask<bool>(true);
                }
                return NextChunkAsync();
            }

            public ValueTask DisposeAsync() => chunks.DisposeAsync();

            private async ValueTask<bool> NextChunkAsync()
            {
                while (await chunks.MoveNextAsync().ConfigureAwait(false))
                {
                    _chunk = chunks.Current;
                    _next = 0;
                    if (_chunk.Count > 0)
                    {
                        Current = _chunk.Shape.Record(_chunk.Keys.AsSpan(0, _chunk.KeyLength));
                        _next = 1;
                        return true;
                    }
                }
                _chunk = default;
                Current = null!;
                return false;
            }
        }
    }
}
