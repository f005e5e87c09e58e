using Referrals.Links;

namespace Referrals.QrCodes.Tests.Support;

/// <summary>Link services for the tests: signing with one key, short and long templates, links or bare codes as payloads.</summary>
internal static class TestLinks
{
    public const string ShortTemplate = "https://shop.example/r/{code}";

    // A shop's real-world long landing path: with the medium and signature the links are well over 200 characters.
    public const string LongTemplate =
        "https://referrals.a-rather-long-shop-name-for-testing.example/en-gb/refer-a-friend/welcome-offer-for-new-customers/spring-campaign-2026/in-store/receipts-and-printed-cards/r/{code}";

    public static ShareLinkService Service(string template = ShortTemplate, bool qrPayloadAsLink = true) => new(new LinkOptions
    {
        Template = template,
        SigningKeys = { new LinkSigningKey { Id = "k1", Secret = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)(i * 7)).ToArray()) } },
        ActiveSigningKeyId = "k1",
        QrPayloadAsLink = qrPayloadAsLink,
    });
}
