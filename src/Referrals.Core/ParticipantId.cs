namespace Referrals;

/// <summary>
/// Identifies a participant (referrer or referee) by the host's own id for them, such as a customer number,
/// employee number or partner id. Compared ordinally; 1 to 128 characters, no leading or trailing white space.
/// Never put an e-mail address or phone number here: contact details are kept only as keyed hashes.
/// </summary>
public readonly record struct ParticipantId
{
    /// <summary>The longest identifier accepted.</summary>
    public const int MaxLength = 128;

    /// <summary>Creates a participant id.</summary>
    /// <exception cref="ArgumentException"><paramref name="value"/> is empty, too long or padded with white space.</exception>
    public ParticipantId(string value)
    {
        IdentifierRules.Check(value, MaxLength, nameof(value));
        Value = value;
    }

    /// <summary>The identifier as the host gave it.</summary>
    public string Value { get; }

    /// <inheritdoc />
    public override string ToString() => Value ?? string.Empty;
}
