namespace Referrals.Privacy;

/// <summary>What a <see cref="ContactHash"/> was made from. The kind is part of the hashed text, so an e-mail and a phone hash never collide.</summary>
public enum ContactKind
{
    /// <summary>An e-mail address, normalised by <see cref="ContactHasher"/> (see its remarks).</summary>
    Email = 1,

    /// <summary>A phone number in E.164 form, normalised by <see cref="ContactHasher"/> (see its remarks).</summary>
    Phone = 2,
}
