using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Fraud;
using Referrals.Internal;
using Referrals.Notifications;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Pipeline;
using Referrals.Storage;

namespace Referrals.Services;

/// <summary>
/// Records touches of referrals and conversions, and decides for every conversion which referral, if any, earns the
/// credit and why — across the four channel combinations. Thread-safe; register once per process.
/// </summary>
/// <remarks>
/// <para>
/// The decision is deterministic: the same touches and conversions, recorded in any order and any number of times, give
/// the same attribution once every conversion has been decided after the last touch arrived. A touch that arrives after
/// its conversion (a POS batch uploaded the next day) is taken into account by <see cref="ReevaluateAsync"/>,
/// <see cref="ReevaluateCustomerAsync"/> or <see cref="ReevaluateProgramAsync"/>; <see cref="ImportPosBatchAsync"/>
/// re-evaluates the customers it touched by itself.
/// </para>
/// <para>
/// Code status (paused, revoked) is the code's status at the touch's and the conversion's event time (the store keeps
/// every version of a code); expiry and use limits are judged at the conversion's event time. Use limits count the earlier attributed conversions of the code (by event time, then order id).
/// </para>
/// <para>
/// A conversion runs through the one conversion pipeline: decide, assess (fraud), plan rewards, commit, notify. Each
/// operation is one session of the store (<see cref="IReferralStore"/>): the touch, the attribution, its rewards and the
/// pending notifications of a conversion commit together, and the notifiers are told after the commit.
/// </para>
/// <para>
/// Notifications (captures and decisions) are kept in the store's outbox until every notifier took it (see
/// <see cref="Notifications.PendingNotification"/>); <see cref="RewardService.ProcessDueAsync"/> delivers again what a
/// notifier failed to take.
/// </para>
/// </remarks>
public sealed class AttributionService
{
    private readonly IReferralStore _store;
    private readonly SessionConversionPipeline _contract;
    private readonly PosBatchImport _import;
    private readonly Reevaluation _reevaluation;
    private readonly Dictionary<ProgramId, ProgramRules> _programs;

    /// <summary>Creates the service on the store; options are validated here as in dependency injection.</summary>
    /// <param name="options">The settings.</param>
    /// <param name="clock">The library's clock.</param>
    /// <param name="codes">The code service whose index resolves presented codes and links.</param>
    /// <param name="store">The store: participants, touches, orders and their rewards, and the notification outbox.</param>
    /// <param name="notifiers">The notifiers, told of captures and decisions through the store's outbox.</param>
    /// <param name="logger">Optional.</param>
    /// <exception cref="OptionsValidationException">A setting is bad; the message names every one.</exception>
    public AttributionService(
        IOptions<ReferralsOptions> options,
        IClock clock,
        ReferralCodeService codes,
        IReferralStore store,
        IEnumerable<IReferralNotifier> notifiers,
        ILogger<AttributionService>? logger = null)
        : this(options, clock, codes, store, notifiers, logger, fraud: null)
    {
    }

    /// <summary>
    /// The constructor dependency injection uses: with the fraud assessment of credited conversions. Every operation is
    /// one session of the store, passed through the pipeline.
    /// </summary>
    internal AttributionService(
        IOptions<ReferralsOptions> options,
        IClock clock,
        ReferralCodeService codes,
        IReferralStore store,
        IEnumerable<IReferralNotifier> notifiers,
        ILogger<AttributionService>? logger,
        FraudAssessor? fraud)
    {
        var o = Preconditions.CheckNotNull(options).Value;
        ReferralsOptionsValidator.ThrowIfInvalid(o);
        Preconditions.CheckNotNull(clock);
        Preconditions.CheckNotNull(codes);
        Preconditions.CheckNotNull(store);
        var log = logger ?? (ILogger)NullLogger.Instance;
        _programs = ProgramRules.Compile(o);
        _contract = SessionConversionPipeline.Create(o, store, codes.Resolver, clock, fraud, notifiers, log);
        var hasher = new Lazy<ContactHasher?>(() => string.IsNullOrEmpty(o.Privacy.ContactHashKey) ? null : new ContactHasher(o.Privacy));
        var flow = new ConversionFlow(store, _contract);
        _reevaluation = new Reevaluation(flow, _programs);
        _import = new PosBatchImport(flow, _reevaluation, hasher);
        _store = store;
    }

    /// <summary>
    /// Records a touch: the input is resolved as a code or link (or, for a contact look-up, the confirmed referrer is
    /// used), and the touch is stored once by its natural id. Expected refusals come back in the result, for any text in the
    /// request: input that is no code or link of ours is <see cref="CaptureRejection.CodeMalformed"/>.
    /// </summary>
    /// <remarks>
    /// Look-ups are under the code-guessing limit (<see cref="Codes.CodeGuessingOptions"/>), per
    /// <see cref="CaptureRequest.Source"/> and per program. A link must be signed when
    /// <see cref="Links.LinkOptions.RequireSignature"/> says so; an unsigned link's medium is never believed.
    /// </remarks>
    /// <exception cref="ArgumentNullException"><paramref name="request"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// <see cref="CaptureRequest.Kind"/> is not a defined value, the program, referrer or customer is a default id, or a
    /// visitor, store, register or capture id breaks the id rules (too long, blank, an unpaired surrogate or a control
    /// character).
    /// </exception>
    public async ValueTask<CaptureResult> CaptureAsync(CaptureRequest request, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(request);
        Preconditions.CheckArgument(Enum.IsDefined(request.Kind), nameof(request), $"Unknown touch kind {(int)request.Kind}.");
        CheckIds(request);
        if (request.VisitorId is null && request.Customer is null && request.Contact is null)
        {
            return new CaptureResult(CaptureOutcome.Rejected, CaptureRejection.NoProspect, null, null);
        }
        // Building reads only the referrer's registration (a contact look-up), committed state is enough.
        var facts = new SessionFacts(_store, _contract.Touches.Codes);
        var made = await _contract.Touches.BuildAsync(facts, request, orderId: null, cancellationToken).ConfigureAwait(false);
        return made.Touch is null
            ? new CaptureResult(CaptureOutcome.Rejected, made.Rejection, null, made.CodeOutcome)
            : await _contract.CaptureAsync(made.Touch, made.CodeOutcome, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Records a conversion and decides its attribution. Idempotent by program and order id: recording an order again
    /// returns the decision already made and changes nothing. A <see cref="Conversion.PresentedCode"/> is recorded as a
    /// touch at the conversion itself, as <see cref="CaptureAsync"/> would (the source for the guessing limit is the
    /// till, the visitor, else the customer); the conversion keeps only its normalised form (see
    /// <see cref="Conversion.PresentedCode"/>). The decision's rewards are recorded with it, by the program's rules. A presented code that cannot be used (any
    /// text: malformed, unknown, a link to another host) is not recorded and does not stop the order being recorded and decided.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="conversion"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">
    /// The program or customer is a default id; the order id is blank or longer than 128 characters; the order, store,
    /// register or visitor id holds an unpaired surrogate or a control character (see <see cref="Conversion.OrderId"/>);
    /// the amount is below 0 or above 1,000,000,000,000 (10^12, in major units) or has no currency; the channel is not
    /// defined; or the event time is outside 0001-01-01T00:00:00Z to 9997-12-31T23:59:59Z.
    /// </exception>
    public ValueTask<AttributionResult> RecordConversionAsync(Conversion conversion, CancellationToken cancellationToken = default)
    {
        CheckConversion(conversion);
        return _contract.RecordAsync(conversion, cancellationToken);
    }

    /// <summary>
    /// Records many conversions — a till's end-of-day upload, an import — and decides them in the order given, each as
    /// <see cref="RecordConversionAsync"/> would (idempotent by order id; a conversion sees the ones before it in the
    /// list). They are one session of the store: committed together, or none of them when one fails, and the notifiers
    /// are told afterwards. That is much cheaper per conversion than one session each, but holds the store's write lock
    /// for the whole list (the SQLite store's): keep lists to a few hundred or thousand.
    /// </summary>
    /// <returns>The decisions, in the order of <paramref name="conversions"/>.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="conversions"/> or one of them is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">A conversion is invalid (as for <see cref="RecordConversionAsync"/>); nothing is recorded.</exception>
    public async ValueTask<IReadOnlyList<AttributionResult>> RecordConversionsAsync(IReadOnlyList<Conversion> conversions, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(conversions);
        for (int i = 0; i < conversions.Count; i++)
        {
            CheckConversion(conversions[i]);
        }
        return await _contract.RecordManyAsync(conversions, cancellationToken).ConfigureAwait(false);
    }

    /// <summary>
    /// Imports a POS batch upload (CSV, see <see cref="PosBatchReader"/>) of captures made offline hours or days before:
    /// each row becomes a touch at its own event time (idempotent by the POS's capture id), a row with an order also becomes
    /// a conversion, and conversions recorded earlier for the customers the rows name are decided again. A bad row is
    /// reported in <see cref="BatchImportResult.Errors"/> with its line, column and reason (the reader's own reason for a
    /// line it could not read) and does not stop the others. Streams: the file is never held in memory.
    /// </summary>
    /// <param name="program">The program the captures belong to.</param>
    /// <param name="csv">The upload.</param>
    /// <param name="cancellationToken">Stops the import between rows; rows already imported stay.</param>
    /// <returns>What was imported and every row that was not; the file's content never makes the import throw.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="csv"/> is <see langword="null"/>.</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled; the rows imported before stay.</exception>
    /// <remarks>E-mail and phone columns are hashed on arrival with <see cref="ContactHasher"/> (it needs <c>Referrals:Privacy:ContactHashKey</c>) and never stored.</remarks>
    /// <exception cref="ArgumentException"><paramref name="program"/> is a default id.</exception>
    public Task<BatchImportResult> ImportPosBatchAsync(ProgramId program, TextReader csv, CancellationToken cancellationToken = default)
    {
        IdentifierRules.CheckSet(program, nameof(program));
        return _import.ImportAsync(program, csv, cancellationToken);
    }

    /// <summary>Decides one recorded conversion again (after late touches or identity links) and stores the new decision.</summary>
    /// <returns>The decision, or <see langword="null"/> when no such order was recorded.</returns>
    /// <exception cref="ArgumentNullException"><paramref name="orderId"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="program"/> is a default id, or <paramref name="orderId"/> no order id (see <see cref="Conversion.OrderId"/>).</exception>
    public ValueTask<AttributionResult?> ReevaluateAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        IdentifierRules.CheckOrder(program, orderId);
        return _reevaluation.OrderAsync(program, orderId, cancellationToken);
    }

    /// <summary>Decides all of a customer's conversions again, in event order.</summary>
    /// <returns>How many decisions changed.</returns>
    /// <exception cref="ArgumentException"><paramref name="program"/> or <paramref name="customer"/> is a default id.</exception>
    public ValueTask<int> ReevaluateCustomerAsync(ProgramId program, ParticipantId customer, CancellationToken cancellationToken = default)
    {
        IdentifierRules.CheckSet(program, nameof(program));
        IdentifierRules.CheckSet(customer, nameof(customer));
        return _reevaluation.CustomerAsync(program, customer, except: null, cancellationToken);
    }

    /// <summary>
    /// Decides every conversion of a program again, in event order, repeating until nothing changes (chains depend on
    /// other customers' decisions). For repair jobs and after restoring data; costs a pass over the program's conversions.
    /// The notifiers are not told of the decisions (a repair, not news); reward changes are told.
    /// </summary>
    /// <returns>How many decisions changed in all.</returns>
    /// <exception cref="ArgumentException"><paramref name="program"/> is a default id.</exception>
    public ValueTask<int> ReevaluateProgramAsync(ProgramId program, CancellationToken cancellationToken = default)
    {
        IdentifierRules.CheckSet(program, nameof(program));
        return _reevaluation.ProgramAsync(program, cancellationToken);
    }

    /// <summary>Reads the decision of an order, or <see langword="null"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="orderId"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="program"/> is a default id, or <paramref name="orderId"/> no order id (see <see cref="Conversion.OrderId"/>).</exception>
    public async ValueTask<AttributionResult?> FindAttributionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        IdentifierRules.CheckOrder(program, orderId);
        var order = await _store.FindOrderAsync(program, orderId, cancellationToken).ConfigureAwait(false);
        return order is null ? null : OrderDocument.FromRow(order).Attribution;
    }

    private static void CheckIds(CaptureRequest request)
    {
        IdentifierRules.CheckSet(request.Program, nameof(request));
        if (request.Referrer is { } referrer)
        {
            IdentifierRules.CheckSet(referrer, nameof(request));
        }
        if (request.Customer is { } customer)
        {
            IdentifierRules.CheckSet(customer, nameof(request));
        }
        IdentifierRules.CheckOptionalText(request.VisitorId, IdentifierRules.MaxVisitorIdLength, nameof(request), "A visitor id");
        IdentifierRules.CheckOptionalText(request.StoreId, IdentifierRules.MaxStoreIdLength, nameof(request), "A store id");
        IdentifierRules.CheckOptionalText(request.RegisterId, IdentifierRules.MaxRegisterIdLength, nameof(request), "A register id");
        IdentifierRules.CheckOptionalText(request.CaptureId, IdentifierRules.MaxCaptureIdLength, nameof(request), "A capture id");
    }

    private static void CheckConversion(Conversion conversion)
    {
        Preconditions.CheckNotNull(conversion);
        IdentifierRules.CheckSet(conversion.Program, nameof(conversion));
        IdentifierRules.CheckSet(conversion.Customer, nameof(conversion));
        IdentifierRules.CheckText(conversion.OrderId, IdentifierRules.MaxOrderIdLength, nameof(conversion), "An order id");
        IdentifierRules.CheckOptionalText(conversion.VisitorId, IdentifierRules.MaxVisitorIdLength, nameof(conversion), "A visitor id");
        IdentifierRules.CheckOptionalText(conversion.StoreId, IdentifierRules.MaxStoreIdLength, nameof(conversion), "A store id");
        IdentifierRules.CheckOptionalText(conversion.RegisterId, IdentifierRules.MaxRegisterIdLength, nameof(conversion), "A register id");
        // The upper bound keeps every reward computation inside decimal's range (see AmountLimits).
        Preconditions.CheckArgument(
            conversion.Amount.Amount is >= 0 and <= AmountLimits.MaxAmount,
            nameof(conversion),
            $"An order amount is 0 to {AmountLimits.MaxAmountText}; got {conversion.Amount}.");
        Preconditions.CheckArgument(conversion.Amount.Currency.Length == 3, nameof(conversion), "The order amount needs a currency.");
        Preconditions.CheckArgument(Enum.IsDefined(conversion.Channel), nameof(conversion), $"Unknown channel {(int)conversion.Channel}.");
        Preconditions.CheckArgument(
            EventTimes.IsSupported(conversion.EventTime),
            nameof(conversion),
            $"An order's event time must be {EventTimes.RangeText}; got {conversion.EventTime}.");
    }

}
