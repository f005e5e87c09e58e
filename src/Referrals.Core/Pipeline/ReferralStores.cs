using Referrals.Storage;

namespace Referrals.Pipeline;

/// <summary>
/// The stores one conversion is read from and written to, and the one explicit answer to "is this one unit of work": the
/// pipeline receives this object and never compares its stores itself.
/// </summary>
/// <remarks>
/// <para>
/// The rule, decided once when the services are composed (<see cref="Compose"/>): touches, conversions and rewards form
/// one transaction boundary when they are one store object that implements <see cref="ITransactionalStore"/> (the SQLite
/// store; dependency injection registers one object for every store interface). Then every write of a conversion —
/// touch, attribution, rewards, notifications — runs in <see cref="Transaction"/>, and the attribution is saved in the
/// reward commit (<see cref="AttributionWithRewards"/>). A host that registers separate objects gets the steps documented
/// on <see cref="IConversionStore"/>: the attribution saved first, then the rewards.
/// </para>
/// <para>
/// This is the only place the store objects are compared, because today's contract registers six interfaces. With the
/// narrow store contract (one registered store that begins a session), <see cref="Compose"/> goes away and the pipeline
/// receives the session.
/// </para>
/// </remarks>
internal sealed class ReferralStores
{
    private ReferralStores(ITouchStore touches, IConversionStore conversions, IParticipantStore participants, ITransactionalStore? transaction, bool attributionWithRewards)
    {
        Touches = touches;
        Conversions = conversions;
        Participants = participants;
        Transaction = transaction;
        AttributionWithRewards = attributionWithRewards;
    }

    public ITouchStore Touches { get; }

    public IConversionStore Conversions { get; }

    public IParticipantStore Participants { get; }

    /// <summary>The transaction every unit of work runs in, or <see langword="null"/>: each write commits on its own.</summary>
    public ITransactionalStore? Transaction { get; }

    /// <summary>True when the reward commit saves the attribution with the rewards (one store keeps both).</summary>
    public bool AttributionWithRewards { get; }

    /// <summary>Composes the stores the services were given; see the remarks for the rule.</summary>
    public static ReferralStores Compose(ITouchStore touches, IConversionStore conversions, IParticipantStore participants, IRewardStore? rewards)
    {
        bool oneStore = ReferenceEquals(conversions, touches) && (rewards is null || ReferenceEquals(conversions, rewards));
        return new ReferralStores(
            touches,
            conversions,
            participants,
            oneStore ? conversions as ITransactionalStore : null,
            rewards is not null && ReferenceEquals(conversions, rewards));
    }
}
