using Microsoft.Extensions.Options;
using Referrals.Internal;

namespace Referrals.Privacy;

/// <summary>
/// Turns e-mail addresses and phone numbers into <see cref="ContactHash"/> values keyed by
/// <see cref="PrivacyOptions.ContactHashKey"/>, so a till can look a referrer up by contact details that are never stored.
/// Also masks contact details for display (<c>j***@example.com</c>).
/// </summary>
/// <remarks>
/// <para>
/// Values are normalised first, so that the ways one person writes the same contact detail hash equal
/// (<c>Jane.Doe+shop@googlemail.com</c> and <c>janedoe@gmail.com</c>); normalising is idempotent.
/// </para>
/// <para>
/// E-mail: format characters (zero-width spaces and joiners, soft hyphens, bidi marks) removed, then trimmed; exactly one
/// <c>@</c> with a non-empty local part and a domain of at least two dot-separated labels; no white space or control
/// characters inside; at most 254 characters; beyond ASCII in Unicode normalisation form KC (fullwidth letters are
/// letters), lower-cased (invariant culture) and in normalisation form C. Internationalised domains stay in Unicode; punycode labels (<c>xn--</c>) are decoded, so both
/// spellings of one domain match. Provider rules: for <c>gmail.com</c> and <c>googlemail.com</c> dots are removed from
/// the local part, everything from the first <c>+</c> is dropped, and the domain becomes <c>gmail.com</c>; for
/// <c>outlook.com</c>, <c>hotmail.com</c>, <c>live.com</c>, <c>icloud.com</c>, <c>me.com</c>, <c>fastmail.com</c>,
/// <c>protonmail.com</c> and <c>proton.me</c> the <c>+tag</c> is dropped; other local parts are kept as written (lower-cased),
/// since for other domains a dot or a plus may name a different mailbox.
/// </para>
/// <para>
/// Phone: E.164, <c>+</c> and 8 to 15 digits, the first not 0. Digits, spaces, <c>- . ( ) /</c> and one leading <c>+</c> are
/// accepted; <c>00</c> in front is read as <c>+</c>, and <c>(0)</c> after an international prefix (<c>+49 (0)151 ...</c>) is the
/// national trunk prefix and is dropped. A number without either is national: it needs a default country calling code,
/// and loses one leading trunk <c>0</c> (except for Italy, 39, whose numbers keep it). With country code 1, an 11-digit
/// national number starting with 1 already carries the country code. Nothing checks that the number is assigned.
/// </para>
/// <para>
/// The key is copied when the hasher is created; the hasher is immutable and safe to share between threads. Neither the
/// key nor the raw values appear in any message or exception.
/// </para>
/// </remarks>
public sealed class ContactHasher
{
    private const string EmailTag = "email";
    private const string PhoneTag = "phone";
    private const string Masked = "***";

    private readonly byte[] key;
    private readonly string? defaultCountryCallingCode;

    /// <summary>
    /// Creates the hasher from the privacy settings (<c>ReferralsOptions.Privacy</c>, the <c>Referrals:Privacy</c>
    /// section), validated here. <c>AddReferrals</c> registers one made from the validated settings.
    /// </summary>
    /// <exception cref="ArgumentNullException"><paramref name="options"/> is <see langword="null"/>.</exception>
    /// <exception cref="OptionsValidationException">
    /// The privacy settings are invalid (every bad setting is listed), or <see cref="PrivacyOptions.ContactHashKey"/> is not set.
    /// </exception>
    public ContactHasher(PrivacyOptions options)
    {
        key = KeyedHash.LoadKey(options, "contact details");
        defaultCountryCallingCode = options.DefaultCountryCallingCode;
    }

    /// <summary>Normalises an e-mail address (by the rules in the remarks) and hashes it. Never throws.</summary>
    /// <param name="email">The address as typed; <see langword="null"/> is invalid.</param>
    /// <param name="hash">The hash when the address is valid; otherwise <see langword="default"/>.</param>
    /// <returns><see langword="true"/> when the address is valid and was hashed.</returns>
    public bool TryHashEmail(string? email, out ContactHash hash)
    {
        if (!ContactNormalizer.TryNormalizeEmail(email, out string normalized))
        {
            hash = default;
            return false;
        }
        hash = Hash(ContactKind.Email, EmailTag, normalized);
        return true;
    }

    /// <summary>
    /// Normalises a phone number to E.164 (by the rules in the remarks, with
    /// <see cref="PrivacyOptions.DefaultCountryCallingCode"/> for national numbers) and hashes it. Never throws.
    /// </summary>
    /// <param name="phone">The number as typed; <see langword="null"/> is invalid.</param>
    /// <param name="hash">The hash when the number is valid; otherwise <see langword="default"/>.</param>
    /// <returns><see langword="true"/> when the number is valid and was hashed.</returns>
    public bool TryHashPhone(string? phone, out ContactHash hash)
    {
        if (!ContactNormalizer.TryNormalizePhone(phone, defaultCountryCallingCode, out string e164))
        {
            hash = default;
            return false;
        }
        hash = Hash(ContactKind.Phone, PhoneTag, e164);
        return true;
    }

    /// <summary>
    /// Masks an e-mail address for display to a cashier: the first character of the normalised local part, <c>***</c>, and
    /// the domain (<c>jane.doe@example.com</c> becomes <c>j***@example.com</c>). The input is normalised first, so the mask
    /// shows the address that is hashed. Invalid input (<see langword="null"/> included) gives <c>***</c>. Never throws.
    /// </summary>
    public static string MaskEmail(string? normalizedOrRawEmail)
    {
        if (!ContactNormalizer.TryNormalizeEmail(normalizedOrRawEmail, out string normalized))
        {
            return Masked;
        }
        int at = normalized.IndexOf('@', StringComparison.Ordinal);
        // The first character may lie outside the Basic Multilingual Plane; never cut a surrogate pair.
        int first = char.IsHighSurrogate(normalized[0]) ? 2 : 1;
        return string.Concat(normalized.AsSpan(0, first), Masked, normalized.AsSpan(at));
    }

    /// <summary>
    /// Masks a phone number for display: <c>+</c>, the first two digits and the last two of its E.164 form, the rest masked
    /// in a fixed shape that does not reveal the length (<c>+4915112345678</c> becomes <c>+49 *** *** 78</c>). The input must
    /// be international (<c>+</c> or <c>00</c>); anything else, <see langword="null"/> included, gives <c>***</c>. Never throws.
    /// </summary>
    public static string MaskPhone(string? e164OrRaw)
    {
        if (!ContactNormalizer.TryNormalizePhone(e164OrRaw, null, out string e164))
        {
            return Masked;
        }
        return string.Concat(e164.AsSpan(0, 3), " *** *** ", e164.AsSpan(e164.Length - 2));
    }

    private ContactHash Hash(ContactKind kind, string tag, string normalized) => new(kind, KeyedHash.Compute(key, tag, normalized));
}
