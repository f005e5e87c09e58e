namespace Referrals.Links;

/// <summary>How share links are built, signed and read.</summary>
public sealed class LinkOptions
{
    /// <summary>
    /// The link template: an absolute http(s) URL with <c>{code}</c> in its path (<c>https://shop.example/r/{code}</c>),
    /// or without it, in which case the code goes in the <see cref="CodeParameter"/> query parameter.
    /// Default <c>https://example.com/r/{code}</c>: set your shop's own.
    /// </summary>
    public string Template { get; set; } = "https://example.com/r/{code}";

    /// <summary>Other host names that links are read from (a short-link domain, a mobile site). Compared case-insensitively.</summary>
    public IList<string> AdditionalHosts { get; set; } = new List<string>();

    /// <summary>Query parameter that carries the code when the template has no <c>{code}</c>; always accepted when reading. Default <c>ref</c>.</summary>
    public string CodeParameter { get; set; } = "ref";

    /// <summary>Query parameter that carries the share medium. Default <c>m</c>.</summary>
    public string MediumParameter { get; set; } = "m";

    /// <summary>Query parameter that carries the id of the key that signed the link. Default <c>kid</c>.</summary>
    public string KeyIdParameter { get; set; } = "kid";

    /// <summary>Query parameter that carries the signature. Default <c>sig</c>.</summary>
    public string SignatureParameter { get; set; } = "sig";

    /// <summary>
    /// Keys that verify signatures; the one named by <see cref="ActiveSigningKeyId"/> also signs new links.
    /// Rotate by adding a new key, making it active, and removing the old one once its links have aged out.
    /// Empty (the default): links are not signed.
    /// </summary>
    public IList<LinkSigningKey> SigningKeys { get; set; } = new List<LinkSigningKey>();

    /// <summary>The id of the key in <see cref="SigningKeys"/> that signs new links; <see langword="null"/> signs none.</summary>
    public string? ActiveSigningKeyId { get; set; }

    /// <summary>
    /// Whether a link captured as a touch must carry a valid signature. <see langword="null"/> (the default): required
    /// when <see cref="SigningKeys"/> are configured. Required, a link without <c>kid</c> and <c>sig</c> is refused
    /// (<c>CaptureRejection.LinkSignatureMissing</c>), so stripping the signature off a link (one signed
    /// with a removed key, or one whose medium was altered) gains nothing; a code typed or scanned on its own carries no
    /// signature and is not affected. A link with a signature that does not verify is refused either way
    /// (<c>CaptureRejection.LinkSignatureInvalid</c>).
    /// </summary>
    /// <remarks>
    /// Set <see langword="false"/> while unsigned links are still in circulation after you start signing. Whenever an
    /// unsigned link is accepted, its medium parameter is not believed (anyone can edit it): the touch gets the medium the
    /// code was issued for. Only a signed link's medium is recorded. With keys configured and this left unset,
    /// <see cref="ActiveSigningKeyId"/> is required (otherwise the links built would be unsigned and refused).
    /// </remarks>
    public bool? RequireSignature { get; set; }

    /// <summary>Whether captured links must be signed: <see cref="RequireSignature"/>, or by default whether keys are configured.</summary>
    internal bool SignatureRequired => RequireSignature ?? SigningKeys is { Count: > 0 };

    /// <summary>Longest input the parser reads, in characters; longer input is rejected unread. 64 to 8192; default 2048.</summary>
    public int MaxLength { get; set; } = 2048;

    /// <summary>Build QR payloads as the share link (<see langword="true"/>, the default) or as the bare printed code.</summary>
    public bool QrPayloadAsLink { get; set; } = true;
}

/// <summary>One HMAC-SHA256 key for share-link signatures.</summary>
public sealed class LinkSigningKey
{
    /// <summary>Short id written into signed links (<c>k1</c>, <c>2026-11</c>): letters, digits, <c>-</c> and <c>_</c>, 1 to 16.</summary>
    public string Id { get; set; } = string.Empty;

    /// <summary>The secret, base64-encoded, at least 32 bytes. Keep it in a secret store, not in appsettings.json.</summary>
    public string Secret { get; set; } = string.Empty;
}
