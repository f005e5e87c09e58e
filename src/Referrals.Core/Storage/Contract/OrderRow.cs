using Referrals.Attribution;
using Referrals.Codes;

namespace Referrals.Storage;

/// <summary>
/// A conversion with everything Core decided about it: the conversion as recorded, a version, one opaque document and
/// the plain index values Core derived. Keyed by (<see cref="Conversion.Program"/>, <see cref="Conversion.OrderId"/>).
/// </summary>
/// <remarks>
/// A store indexes the index values exactly as given, by (program, value, conversion event time, order id), and filters
/// on them only by equality and by range of (event time, order id); it never derives them from the document or from
/// other rows. The conversion's <see cref="Conversion.Fingerprints"/> are indexed for
/// <see cref="IReferralStoreReader.FindSightingsAsync"/>.
/// </remarks>
public sealed class OrderRow
{
    private readonly string? _text;
    private readonly LazyDocument? _lazy;

    /// <summary>An order row.</summary>
    /// <param name="conversion">The conversion as recorded.</param>
    /// <param name="version">1 for a new order; every replacement carries the stored version + 1.</param>
    /// <param name="document">Core's JSON: attribution, reward decision, refund totals. Opaque to the store.</param>
    /// <param name="creditedReferrer">The level-1 referrer credited with the order, or <see langword="null"/>.</param>
    /// <param name="creditedCode">The code credited with the order (a use of it), or <see langword="null"/>.</param>
    /// <param name="countedReferrer">The referrer for whom the order counts as a successful referral (ranked by event time), or <see langword="null"/>.</param>
    /// <exception cref="ArgumentNullException"><paramref name="conversion"/> or <paramref name="document"/> is <see langword="null"/>.</exception>
    public OrderRow(Conversion conversion, long version, string document, ParticipantId? creditedReferrer, ReferralCode? creditedCode, ParticipantId? countedReferrer)
        : this(conversion, version, (object)document, creditedReferrer, creditedCode, countedReferrer)
    {
    }

    /// <summary>A row whose document Core writes as text only when a store reads it (see <see cref="LazyDocument"/>).</summary>
    internal OrderRow(Conversion conversion, long version, LazyDocument document, ParticipantId? creditedReferrer, ReferralCode? creditedCode, ParticipantId? countedReferrer)
        : this(conversion, version, (object)document, creditedReferrer, creditedCode, countedReferrer)
    {
    }

    private OrderRow(Conversion conversion, long version, object document, ParticipantId? creditedReferrer, ReferralCode? creditedCode, ParticipantId? countedReferrer)
    {
        ArgumentNullException.ThrowIfNull(conversion);
        ArgumentNullException.ThrowIfNull(document);
        Conversion = conversion;
        Version = version;
        _text = document as string;
        _lazy = document as LazyDocument;
        CreditedReferrer = creditedReferrer;
        CreditedCode = creditedCode;
        CountedReferrer = countedReferrer;
    }

    /// <summary>
    /// The conversion. Core writes the same conversion in every version; only an erasure changes it, by clearing its
    /// <see cref="Conversion.VisitorId"/>, <see cref="Conversion.Contacts"/> and <see cref="Conversion.Fingerprints"/>.
    /// </summary>
    public Conversion Conversion { get; }

    /// <summary>The row's version: a write with version n replaces the stored n - 1 (n = 1 inserts).</summary>
    public long Version { get; }

    /// <summary>Core's JSON document (with a <c>"v"</c> format field), stored and returned verbatim, never parsed by a store.</summary>
    public string Document => _text ?? _lazy!.Text;

    /// <summary>The value the document was written from, when Core made this row (a store that keeps rows as given returns it to Core unparsed).</summary>
    internal object? Parsed => _lazy?.Value;

    /// <summary>Index value: who is credited (found by <see cref="IReferralStoreReader.CountCreditedOrdersAsync"/>).</summary>
    public ParticipantId? CreditedReferrer { get; }

    /// <summary>Index value: the code used (found by <see cref="IReferralStoreReader.CountCodeUsesAsync"/>).</summary>
    public ReferralCode? CreditedCode { get; }

    /// <summary>Index value: whose referral this counts as (found by <see cref="IReferralStoreReader.ListReferralsAsync"/>).</summary>
    public ParticipantId? CountedReferrer { get; }
}
