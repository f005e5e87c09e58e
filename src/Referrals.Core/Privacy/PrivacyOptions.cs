namespace Referrals.Privacy;

/// <summary>How contact details (e-mail addresses, phone numbers) are turned into keyed hashes; the raw values are never stored.</summary>
public sealed class PrivacyOptions
{
    /// <summary>
    /// The HMAC-SHA256 key that <see cref="ContactHasher"/> hashes contact details with: base64 of at least 32 random bytes.
    /// Keep it in a secret store, not in appsettings.json. Optional (default <see langword="null"/>) for hosts that never look
    /// participants up by contact details; <see cref="ContactHasher"/> cannot be created without it.
    /// </summary>
    /// <remarks>
    /// Hashes made with one key never match hashes made with another, and the raw values are not kept, so changing the key
    /// makes every stored hash unmatchable: there is no rotation. Choose it once per deployment.
    /// </remarks>
    public string? ContactHashKey { get; set; }

    /// <summary>
    /// The country calling code assumed for phone numbers given without <c>+</c> or <c>00</c>: 1 to 3 digits without a
    /// leading 0 or <c>+</c> (<c>1</c> for the US and Canada, <c>49</c> for Germany, <c>44</c> for the UK).
    /// Default <see langword="null"/>: every number must be international.
    /// </summary>
    public string? DefaultCountryCallingCode { get; set; }
}
