using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Storage;

namespace Referrals.Sqlite.Hosting;

/// <summary>
/// Participants, touches, conversions and attributions kept in SQLite, with each write that succeeded there also given to
/// the <see cref="InMemoryReferralStore"/> that still serves <see cref="IFraudStore"/> and <see cref="IRewardStore"/>. That
/// store keeps its fraud history (fingerprints participants registered with, referrals per referrer, sightings of
/// fingerprints on orders, credited orders per referrer) and its refund bookkeeping current only from its own writes of
/// these interfaces; without the mirror the fraud checks would see none of it. Reads come from SQLite only.
/// Transitional: registration by
/// <see cref="Microsoft.Extensions.DependencyInjection.SqliteReferralsBuilderExtensions.UseSqlite"/> uses it only while
/// <see cref="IFraudStore"/> is the in-memory store.
/// </summary>
/// <remarks>
/// <para>
/// Durable first: when the SQLite write throws, nothing is mirrored, so the index never holds what the database does
/// not. The mirror runs with <see cref="CancellationToken.None"/>: once the database has the write, the index gets it too.
/// </para>
/// <para>
/// Touches and conversions are mirrored only by the caller whose insert won (first record wins in both stores, so the
/// index holds the stored copy). Replacing writes (participant upserts, attributions) take one gate around the database
/// write and its mirror, so that two concurrent replacements of the same key reach both stores in the same order.
/// </para>
/// <para>
/// What the index still lacks: anything written before this process started (it is in the file, not in memory), so
/// after a restart the fraud checks see only the history since. An attribution saved for such an older conversion first
/// copies that conversion from SQLite into the index, so its credit is still counted.
/// </para>
/// </remarks>
internal sealed class FraudIndexedStore(SqliteReferralStore durable, InMemoryReferralStore fraudIndex)
    : IParticipantStore, ITouchStore, IConversionStore
{
    private readonly SemaphoreSlim _replaceGate = new(1, 1);

    public async ValueTask UpsertParticipantAsync(Participant participant, CancellationToken cancellationToken = default)
    {
        await _replaceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            await durable.UpsertParticipantAsync(participant, cancellationToken).ConfigureAwait(false);
            await fraudIndex.UpsertParticipantAsync(participant, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _replaceGate.Release();
        }
    }

    public ValueTask<Participant?> FindParticipantAsync(ParticipantId id, CancellationToken cancellationToken = default) =>
        durable.FindParticipantAsync(id, cancellationToken);

    public ValueTask<IReadOnlyList<Participant>> FindParticipantsByContactAsync(ContactHash contact, CancellationToken cancellationToken = default) =>
        durable.FindParticipantsByContactAsync(contact, cancellationToken);

    // The fraud history does not read visitor links: not mirrored.
    public ValueTask LinkVisitorAsync(string visitorId, ParticipantId customer, CancellationToken cancellationToken = default) =>
        durable.LinkVisitorAsync(visitorId, customer, cancellationToken);

    public ValueTask<IReadOnlyList<string>> FindVisitorsAsync(ParticipantId customer, CancellationToken cancellationToken = default) =>
        durable.FindVisitorsAsync(customer, cancellationToken);

    public async ValueTask<bool> TryAddTouchAsync(Touch touch, CancellationToken cancellationToken = default)
    {
        if (!await durable.TryAddTouchAsync(touch, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        await fraudIndex.TryAddTouchAsync(touch, CancellationToken.None).ConfigureAwait(false);
        return true;
    }

    public ValueTask<IReadOnlyList<Touch>> FindTouchesAsync(
        ProgramId program,
        ParticipantId customer,
        IReadOnlyList<string> visitorIds,
        IReadOnlyList<ContactHash> contacts,
        CancellationToken cancellationToken = default) =>
        durable.FindTouchesAsync(program, customer, visitorIds, contacts, cancellationToken);

    public async ValueTask<bool> TryAddConversionAsync(Conversion conversion, CancellationToken cancellationToken = default)
    {
        if (!await durable.TryAddConversionAsync(conversion, cancellationToken).ConfigureAwait(false))
        {
            return false;
        }
        // False only when a concurrent attribution of this order copied it in first (see SaveAttributionAsync): the same row.
        await fraudIndex.TryAddConversionAsync(conversion, CancellationToken.None).ConfigureAwait(false);
        return true;
    }

    public ValueTask<Conversion?> FindConversionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default) =>
        durable.FindConversionAsync(program, orderId, cancellationToken);

    public ValueTask<IReadOnlyList<Conversion>> ListConversionsAsync(ProgramId program, ParticipantId customer, CancellationToken cancellationToken = default) =>
        durable.ListConversionsAsync(program, customer, cancellationToken);

    public ValueTask<IReadOnlyList<Conversion>> ListAllConversionsAsync(ProgramId program, CancellationToken cancellationToken = default) =>
        durable.ListAllConversionsAsync(program, cancellationToken);

    public async ValueTask SaveAttributionAsync(AttributionResult attribution, CancellationToken cancellationToken = default)
    {
        await _replaceGate.WaitAsync(cancellationToken).ConfigureAwait(false);
        try
        {
            // Throws InvalidOperationException, before anything is mirrored, when SQLite holds no such conversion.
            await durable.SaveAttributionAsync(attribution, cancellationToken).ConfigureAwait(false);
            if (await fraudIndex.FindConversionAsync(attribution.Program, attribution.OrderId, CancellationToken.None).ConfigureAwait(false) is null)
            {
                // A conversion recorded before this process started (or whose mirror has not run yet): the index needs it
                // to hold the attribution, and counts its fingerprints from now on.
                var stored = await durable.FindConversionAsync(attribution.Program, attribution.OrderId, CancellationToken.None).ConfigureAwait(false);
                await fraudIndex.TryAddConversionAsync(stored!, CancellationToken.None).ConfigureAwait(false);
            }
            await fraudIndex.SaveAttributionAsync(attribution, CancellationToken.None).ConfigureAwait(false);
        }
        finally
        {
            _replaceGate.Release();
        }
    }

    public ValueTask<AttributionResult?> FindAttributionAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default) =>
        durable.FindAttributionAsync(program, orderId, cancellationToken);

    public ValueTask<AttributionResult?> FindFirstAttributionAsync(ProgramId program, ParticipantId customer, CancellationToken cancellationToken = default) =>
        durable.FindFirstAttributionAsync(program, customer, cancellationToken);

    public ValueTask<int> CountCodeUsesBeforeAsync(ReferralCode code, Instant conversionTime, string orderId, CancellationToken cancellationToken = default) =>
        durable.CountCodeUsesBeforeAsync(code, conversionTime, orderId, cancellationToken);
}
