using System.Globalization;
using System.Text;
using NodaTime;
using Referrals.Attribution;
using Referrals.Fraud;
using Referrals.Internal;
using Referrals.Rewards;
using Referrals.Storage;

namespace Referrals.Services;

/// <summary>One referral waiting for a person: the conversion, why the checks sent it to review, and its held rewards.</summary>
public sealed class ReviewItem
{
    // Only Core builds it (a host reads it): constructor and init are internal, so `required` cannot stay; Core's
    // object initialisers set every non-nullable reference that starts as null! below.
    internal ReviewItem()
    {
    }

    /// <summary>The program.</summary>
    public ProgramId Program { get; internal init; }

    /// <summary>The order.</summary>
    public string OrderId { get; internal init; } = null!;

    /// <summary>The friend who converted.</summary>
    public ParticipantId Customer { get; internal init; }

    /// <summary>The referrer credited.</summary>
    public ParticipantId Referrer { get; internal init; }

    /// <summary>The order value.</summary>
    public Money Amount { get; internal init; }

    /// <summary>When the order was placed.</summary>
    public Instant ConversionTime { get; internal init; }

    /// <summary>When the first of its rewards was held (the oldest item waits longest).</summary>
    public Instant HeldSince { get; internal init; }

    /// <summary>
    /// The fraud assessment of the order's current attribution: verdict, score and every signal with its evidence;
    /// <see langword="null"/> if a re-evaluation since stored none.
    /// </summary>
    public FraudAssessment? Assessment { get; internal init; }

    /// <summary>The rewards held, for referrer and friend.</summary>
    public IReadOnlyList<Reward> Rewards { get; internal init; } = [];

    /// <summary>A few lines for the reviewer: the order, the signals, the rewards at stake.</summary>
    public string Explain()
    {
        var inv = CultureInfo.InvariantCulture;
        var sb = new StringBuilder();
        sb.Append(inv, $"Order {OrderId} of {Customer} ({Amount}) at {ConversionTime}, referred by {Referrer}, held since {HeldSince}.");
        if (Assessment is { } a)
        {
            sb.AppendLine().Append(a.Explain());
        }
        foreach (var r in Rewards)
        {
            sb.AppendLine().Append("  ").Append(r.Explain());
        }
        return sb.ToString();
    }
}

/// <summary>
/// The fraud review queue: referrals whose fraud verdict was <see cref="FraudVerdict.Review"/> and whose rewards are held.
/// A person approves (releases the rewards into their normal lifecycle) or rejects them, always saying who and why; both
/// are entries of the reward ledger. Nothing in the queue pays out on its own unless the program sets a
/// <see cref="FraudPolicyOptions.ReviewDeadline"/> with <see cref="ReviewDeadlineAction.Release"/>. Thread-safe.
/// </summary>
public sealed class ReviewQueue
{
    private readonly RewardService _rewards;

    /// <summary>Creates the queue over the reward service, whose store it reads the attributions from.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="rewards"/> is <see langword="null"/>.</exception>
    public ReviewQueue(RewardService rewards) => _rewards = Preconditions.CheckNotNull(rewards);

    /// <summary>The items waiting in a program, longest-waiting first.</summary>
    public async ValueTask<IReadOnlyList<ReviewItem>> ListAsync(ProgramId program, CancellationToken cancellationToken = default)
    {
        var held = await _rewards.ListUnderReviewAsync(program, cancellationToken).ConfigureAwait(false);
        var items = new List<ReviewItem>();
        foreach (var order in held.GroupBy(r => r.OrderId, StringComparer.Ordinal))
        {
            var attribution = await FindAttributionAsync(program, order.Key, cancellationToken).ConfigureAwait(false);
            if (Item(attribution, order.ToList()) is { } item)
            {
                items.Add(item);
            }
        }
        return items.OrderBy(i => i.HeldSince).ThenBy(i => i.OrderId, StringComparer.Ordinal).ToList();
    }

    /// <summary>The item of one order, or <see langword="null"/> when nothing of it is held for review.</summary>
    public async ValueTask<ReviewItem?> FindAsync(ProgramId program, string orderId, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(orderId);
        var held = (await _rewards.ListOrderRewardsAsync(program, orderId, cancellationToken).ConfigureAwait(false)).Where(r => r.UnderReview).ToList();
        if (held.Count == 0)
        {
            return null;
        }
        return Item(await FindAttributionAsync(program, orderId, cancellationToken).ConfigureAwait(false), held);
    }

    /// <summary>
    /// Approves a referral under review: its held rewards are released and continue as pending rewards, approved when
    /// their hold period ends. Idempotent: approving again changes nothing.
    /// </summary>
    /// <param name="program">The program.</param>
    /// <param name="orderId">The order under review.</param>
    /// <param name="actor">Who decided (a user name or id of the host's back office).</param>
    /// <param name="reason">Why, in words.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The rewards released; empty when nothing of the order was under review.</returns>
    /// <exception cref="ArgumentException">
    /// <paramref name="actor"/> or <paramref name="reason"/> is empty, <paramref name="program"/> is a default id, or
    /// <paramref name="orderId"/> is no order id (see <see cref="Conversion.OrderId"/>).
    /// </exception>
    public ValueTask<IReadOnlyList<Reward>> ApproveAsync(ProgramId program, string orderId, string actor, string reason, CancellationToken cancellationToken = default) =>
        _rewards.DecideReviewAsync(program, Preconditions.CheckNotNull(orderId), release: true, actor, reason, cancellationToken);

    /// <summary>Rejects a referral under review: its held rewards are rejected (never paid). Idempotent.</summary>
    /// <param name="program">The program.</param>
    /// <param name="orderId">The order under review.</param>
    /// <param name="actor">Who decided.</param>
    /// <param name="reason">Why, in words.</param>
    /// <param name="cancellationToken">Cancels the operation.</param>
    /// <returns>The rewards rejected; empty when nothing of the order was under review.</returns>
    /// <exception cref="ArgumentException">
    /// <paramref name="actor"/> or <paramref name="reason"/> is empty, <paramref name="program"/> is a default id, or
    /// <paramref name="orderId"/> is no order id (see <see cref="Conversion.OrderId"/>).
    /// </exception>
    public ValueTask<IReadOnlyList<Reward>> RejectAsync(ProgramId program, string orderId, string actor, string reason, CancellationToken cancellationToken = default) =>
        _rewards.DecideReviewAsync(program, Preconditions.CheckNotNull(orderId), release: false, actor, reason, cancellationToken);

    private ValueTask<AttributionResult?> FindAttributionAsync(ProgramId program, string orderId, CancellationToken cancellationToken) =>
        _rewards.Contract.FindAttributionAsync(program, orderId, cancellationToken);

    private static ReviewItem? Item(AttributionResult? attribution, List<Reward> held)
    {
        if (attribution is null)
        {
            return null; // rewards exist only for recorded conversions; a store that lost it has nothing to show
        }
        return new ReviewItem
        {
            Program = attribution.Program,
            OrderId = attribution.OrderId,
            Customer = attribution.Customer,
            Referrer = attribution.Referrer ?? held[0].Beneficiary,
            Amount = attribution.Amount,
            ConversionTime = attribution.ConversionTime,
            HeldSince = held.Min(r => r.CreatedAt),
            Assessment = attribution.Fraud,
            Rewards = held,
        };
    }
}
