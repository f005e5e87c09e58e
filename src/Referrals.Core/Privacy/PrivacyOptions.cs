using Referrals.Internal;

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

    /// <summary>Adds a message naming the setting by its path (<c>Referrals:Privacy:ContactHashKey</c>) for every bad one.</summary>
    internal void Validate(string path, List<string> f)
    {
        // The key is optional here (hosts that never look contacts up need none); ContactHasher requires it.
        if (!string.IsNullOrEmpty(ContactHashKey) && !Secrets.TryDecodeSecret(ContactHashKey, out _))
        {
            f.Add($"{path}:ContactHashKey must be base64 of at least {Secrets.MinSecretBytes} bytes (the key itself is not shown).");
        }
        if (DefaultCountryCallingCode is not null && !ContactNormalizer.IsCountryCallingCode(DefaultCountryCallingCode))
        {
            f.Add($"{path}:DefaultCountryCallingCode must be 1 to 3 digits without a leading 0 or '+' (such as 1 or 49), or unset; got '{DefaultCountryCallingCode}'.");
        }
    }
}
