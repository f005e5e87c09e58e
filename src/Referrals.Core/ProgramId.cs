namespace Referrals;

/// <summary>
/// Identifies one referral program (for example <c>customers</c>, <c>employees</c>, <c>influencers</c>).
/// Compared ordinally; 1 to 64 characters, no leading or trailing white space.
/// </summary>
public readonly record struct ProgramId
{
    /// <summary>The longest identifier accepted.</summary>
    public const int MaxLength = 64;

    /// <summary>Creates a program id.</summary>
    /// <exception cref="ArgumentException"><paramref name="value"/> is empty, too long or padded with white space.</exception>
    public ProgramId(string value)
    {
        IdentifierRules.Check(value, MaxLength, nameof(value));
        Value = value;
    }

    /// <summary>The identifier as the host gave it.</summary>
    public string Value { get; }

    /// <inheritdoc />
    public override string ToString() => Value ?? string.Empty;
}
