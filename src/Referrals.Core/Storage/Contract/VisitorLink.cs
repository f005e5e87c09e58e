namespace Referrals.Storage;

/// <summary>That an anonymous visitor or device id belongs to a customer (identity stitching). Keyed by both.</summary>
public sealed class VisitorLink
{
    /// <summary>A link of <paramref name="visitor"/> to <paramref name="customer"/>.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="visitor"/> is <see langword="null"/>.</exception>
    public VisitorLink(string visitor, ParticipantId customer)
    {
        ArgumentNullException.ThrowIfNull(visitor);
        Visitor = visitor;
        Customer = customer;
    }

    /// <summary>The visitor or device id: personal data, removed by an erasure of the customer.</summary>
    public string Visitor { get; }

    /// <summary>The customer.</summary>
    public ParticipantId Customer { get; }
}
