using Referrals.Attribution;
using Referrals.Internal;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Storage;

namespace Referrals.Services;

/// <summary>
/// Participants and their identity: registrations (kind, contact hashes, masked contacts, fingerprints), the visitor or
/// device ids that belong to a customer, and the look-up of referrers by a contact given at the till. Thread-safe;
/// register once per process (dependency injection does).
/// </summary>
/// <remarks>
/// Attribution reads what is recorded here when it decides a conversion: a visitor id linked after a click lets the click
/// count for the customer's later order, a registered contact hash lets a touch made by e-mail or phone count.
/// </remarks>
public sealed class ParticipantService
{
    private readonly IParticipantStore _participants;

    /// <summary>Creates the service over the store of participants.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="participants"/> is <see langword="null"/>.</exception>
    public ParticipantService(IParticipantStore participants) => _participants = Preconditions.CheckNotNull(participants);

    /// <summary>Records or replaces a participant (kind, contact hashes, masked contacts, fingerprints).</summary>
    /// <exception cref="ArgumentNullException"><paramref name="participant"/> is <see langword="null"/>.</exception>
    public ValueTask RegisterAsync(Participant participant, CancellationToken cancellationToken = default) =>
        _participants.UpsertParticipantAsync(Preconditions.CheckNotNull(participant), cancellationToken);

    /// <summary>Tells the library that a visitor or device id belongs to a customer (after sign-up or log-in).</summary>
    /// <exception cref="ArgumentException"><paramref name="visitorId"/> is <see langword="null"/>, empty or white space.</exception>
    public ValueTask LinkVisitorAsync(string visitorId, ParticipantId customer, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckArgument(!string.IsNullOrWhiteSpace(visitorId), nameof(visitorId), "A visitor id cannot be empty.");
        return _participants.LinkVisitorAsync(visitorId, customer, cancellationToken);
    }

    /// <summary>
    /// Finds the referrers holding a contact hash (the e-mail or phone a friend gave at the till, hashed with
    /// <see cref="ContactHasher"/>), masked for the cashier to confirm; <c>***</c> where no masked form was registered.
    /// </summary>
    public async ValueTask<IReadOnlyList<ReferrerMatch>> LookupReferrersAsync(ContactHash contact, CancellationToken cancellationToken = default)
    {
        var found = await _participants.FindParticipantsByContactAsync(contact, cancellationToken).ConfigureAwait(false);
        var matches = new ReferrerMatch[found.Count];
        for (int i = 0; i < matches.Length; i++)
        {
            var p = found[i];
            matches[i] = new ReferrerMatch(p.Id, p.Kind, (contact.Kind == ContactKind.Email ? p.MaskedEmail : p.MaskedPhone) ?? "***");
        }
        return matches;
    }
}
