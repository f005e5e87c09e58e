using NodaTime;
using Referrals.Attribution;
using Referrals.Internal;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Services;

/// <summary>
/// Participants and their identity: registrations (kind, contact hashes, masked contacts, fingerprints), the visitor or
/// device ids that belong to a customer, the look-up of referrers by a contact given at the till, and the erasure of a
/// participant's personal data. Thread-safe; register once per process (dependency injection does).
/// </summary>
/// <remarks>
/// Attribution reads what is recorded here when it decides a conversion: a visitor id linked after a click lets the click
/// count for the customer's later order, a registered contact hash lets a touch made by e-mail or phone count.
/// </remarks>
public sealed class ParticipantService
{
    private readonly IReferralStore _store;
    private readonly IClock _clock;
    private readonly IReadOnlyCollection<ProgramId> _programs;

    /// <summary>Creates the service over the store; dependency injection uses it with the registered store.</summary>
    /// <param name="store">The store of participants and visitor links.</param>
    /// <param name="clock">The library's clock (the time of an erasure).</param>
    /// <param name="options">The settings; the programs of <see cref="ReferralsOptions.Programs"/> are the ones an erasure marks the participant erased in.</param>
    /// <exception cref="ArgumentNullException">An argument is <see langword="null"/>.</exception>
    public ParticipantService(IReferralStore store, IClock clock, Microsoft.Extensions.Options.IOptions<ReferralsOptions> options)
        : this(store, clock, [.. Preconditions.CheckNotNull(options).Value.Programs.Keys.Select(k => new ProgramId(k))])
    {
    }

    /// <summary>The service for the given programs.</summary>
    internal ParticipantService(IReferralStore store, IClock clock, IReadOnlyCollection<ProgramId> programs)
    {
        _store = Preconditions.CheckNotNull(store);
        _clock = Preconditions.CheckNotNull(clock);
        _programs = Preconditions.CheckNotNull(programs);
    }

    /// <summary>Records or replaces a participant (kind, contact hashes, masked contacts, fingerprints).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="participant"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException">The participant's id is a default id.</exception>
    public ValueTask RegisterAsync(Participant participant, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(participant);
        IdentifierRules.CheckSet(participant.Id, nameof(participant));
        return WriteAsync(new UnitOfWork { Participants = [participant] }, cancellationToken);
    }

    /// <summary>Links a visitor or device id (seen on a link click) to a customer, so the click counts for the customer's orders.</summary>
    /// <exception cref="ArgumentException">
    /// <paramref name="visitorId"/> is blank, longer than 256 characters or holds an unpaired surrogate or a control
    /// character; or <paramref name="customer"/> is a default id.
    /// </exception>
    public ValueTask LinkVisitorAsync(string visitorId, ParticipantId customer, CancellationToken cancellationToken = default)
    {
        IdentifierRules.CheckText(visitorId, IdentifierRules.MaxVisitorIdLength, nameof(visitorId), "A visitor id");
        IdentifierRules.CheckSet(customer, nameof(customer));
        return WriteAsync(new UnitOfWork { VisitorLinks = [new VisitorLink(visitorId, customer)] }, cancellationToken);
    }

    /// <summary>
    /// Finds the referrers registered with a contact hash (an e-mail or phone given at the till), each with the masked
    /// contact to show the cashier; never the contact itself.
    /// </summary>
    public async ValueTask<IReadOnlyList<ReferrerMatch>> LookupReferrersAsync(ContactHash contact, CancellationToken cancellationToken = default)
    {
        var found = await _store.FindParticipantsByContactAsync(contact, cancellationToken).ConfigureAwait(false);
        var matches = new ReferrerMatch[found.Count];
        for (int i = 0; i < matches.Length; i++)
        {
            var p = found[i];
            matches[i] = new ReferrerMatch(p.Id, p.Kind, (contact.Kind == ContactKind.Email ? p.MaskedEmail : p.MaskedPhone) ?? "***");
        }
        return matches;
    }

    /// <summary>
    /// Erases a participant's personal data (GDPR art. 17): their registration with its contact hashes, fingerprints and
    /// masked contacts, their visitor links, and the visitor ids, contact hashes and fingerprints on their touches and
    /// orders, so that no look-up finds them again by any of these. The ledger, orders, rewards and codes keep the
    /// pseudonymous participant id (financial records). Each call is written as an audit record (who, when, why: no
    /// personal data); calling it again finds nothing left to erase and is audited again. Codes the participant owns
    /// keep working; revoke a vanity code that spells their name yourself.
    /// </summary>
    /// <param name="participant">Whose data to erase.</param>
    /// <param name="actor">Who asked for it: an operator or system name, not the participant's contact data.</param>
    /// <param name="reason">Why: a ticket reference or words, without personal data.</param>
    /// <param name="cancellationToken">Cancels the erasure; nothing is erased then.</param>
    /// <exception cref="ArgumentException"><paramref name="actor"/> or <paramref name="reason"/> is empty or white space, or longer than 256 characters; or <paramref name="participant"/> is a default id.</exception>
    public async ValueTask ForgetAsync(ParticipantId participant, string actor, string reason, CancellationToken cancellationToken = default)
    {
        IdentifierRules.CheckSet(participant, nameof(participant));
        Preconditions.CheckArgument(!string.IsNullOrWhiteSpace(actor) && actor.Length <= 256, nameof(actor), "Say who asked for the erasure (1 to 256 characters).");
        Preconditions.CheckArgument(!string.IsNullOrWhiteSpace(reason) && reason.Length <= 256, nameof(reason), "Say why (1 to 256 characters).");
        var now = _clock.GetCurrentInstant();
        await using var session = await _store.BeginAsync(cancellationToken).ConfigureAwait(false);
        // Core decides nothing of an erased participant again: their account summaries in every program say so.
        var summaries = new List<SummaryRow>();
        foreach (var program in _programs)
        {
            var rows = await session.GetSummariesAsync(program, participant, SummaryDocuments.AccountKey, cancellationToken).ConfigureAwait(false);
            var account = rows.Count == 0 ? AccountSummary.Empty : SummaryDocuments.Account(rows[0]);
            if (rows.Count > 0)
            {
                summaries.Add(new SummaryRow(program, participant, "", (rows.Count == 0 ? 0 : rows[0].Version) + 1, SummaryDocuments.ToDocument(account with { ErasedAt = now })));
            }
        }
        var erasure = new ParticipantErasure(participant, Pipeline.NotificationDispatcher.NewId(), now, actor, reason);
        var outcome = await session.WriteAsync(new UnitOfWork { Summaries = summaries, Erasures = [erasure] }, cancellationToken).ConfigureAwait(false);
        if (outcome.Status != WriteStatus.Written)
        {
            // One session writes the summaries it read: a serialising store cannot conflict, a concurrent one may.
            throw new ReferralException(ReferralErrorCode.ConcurrencyConflict, $"The erasure of a participant could not be written ({outcome.Status} {outcome.Kind}); try again.");
        }
        await session.CommitAsync(cancellationToken).ConfigureAwait(false);
    }

    private async ValueTask WriteAsync(UnitOfWork unit, CancellationToken cancellationToken)
    {
        await using var session = await _store.BeginAsync(cancellationToken).ConfigureAwait(false);
        var outcome = await session.WriteAsync(unit, cancellationToken).ConfigureAwait(false);
        if (outcome.Status != WriteStatus.Written)
        {
            throw new InvalidOperationException($"The store refused a participant write ({outcome}); participants and visitor links are upserts.");
        }
        await session.CommitAsync(cancellationToken).ConfigureAwait(false);
    }
}
