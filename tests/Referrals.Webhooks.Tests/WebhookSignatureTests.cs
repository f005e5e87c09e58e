using System.Security.Cryptography;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;

namespace Referrals.Webhooks.Tests;

/// <summary>
/// <see cref="WebhookSignature"/>: the header's format (against a vector computed outside .NET), every reason a check
/// fails, and that no header or body, however hostile, makes it throw.
/// </summary>
public sealed class WebhookSignatureTests
{
    private const string Secret = "whsec_0123456789abcdef";
    private static readonly Instant SignedAt = Instant.FromUnixTimeSeconds(1_700_000_000);
    private static readonly byte[] Body = "{\"id\":\"evt_1\"}"u8.ToArray();

    // Python: hmac.new(b'whsec_0123456789abcdef', b'1700000000.{"id":"evt_1"}', hashlib.sha256).hexdigest()
    private const string Vector = "t=1700000000,v1=dea1657bd5053cb0f8a75ebf0bd3d22e0cdeb79563b44db6b88864e522fb8bc4";

    [Fact]
    public void Sign_gives_the_HMAC_SHA256_of_the_timestamp_a_full_stop_and_the_body() =>
        Assert.Equal(Vector, WebhookSignature.Sign(Body, Secret, SignedAt + Duration.FromMilliseconds(999)));

    [Fact]
    public void A_signature_verifies_within_the_tolerance_either_side()
    {
        Assert.Equal(WebhookVerificationStatus.Verified, WebhookSignature.Verify(Body, Vector, Secret, SignedAt).Status);
        Assert.Equal(WebhookVerificationStatus.Verified, WebhookSignature.Verify(Body, Vector, Secret, SignedAt + Duration.FromMinutes(5)).Status);
        Assert.Equal(WebhookVerificationStatus.Verified, WebhookSignature.Verify(Body, Vector, Secret, SignedAt - Duration.FromMinutes(5)).Status);
        var verified = WebhookSignature.Verify(Encoding.UTF8.GetString(Body), Vector, Secret, SignedAt, Duration.FromSeconds(1));
        Assert.True(verified.IsVerified);
        Assert.Equal(SignedAt, verified.Timestamp);
    }

    [Fact]
    public void Outside_the_tolerance_a_signature_is_too_old_or_too_new()
    {
        var old = WebhookSignature.Verify(Body, Vector, Secret, SignedAt + Duration.FromMinutes(5) + Duration.FromSeconds(1));
        Assert.Equal((WebhookVerificationStatus.TooOld, (Instant?)SignedAt), (old.Status, old.Timestamp));
        Assert.Equal(WebhookVerificationStatus.TooNew, WebhookSignature.Verify(Body, Vector, Secret, SignedAt - Duration.FromMinutes(6)).Status);
        Assert.Equal(WebhookVerificationStatus.TooOld, WebhookSignature.Verify(Body, Vector, Secret, SignedAt + Duration.FromSeconds(2), Duration.FromSeconds(1)).Status);
    }

    [Fact]
    public void Another_body_or_secret_is_a_bad_signature()
    {
        Assert.Equal(WebhookVerificationStatus.BadSignature, WebhookSignature.Verify("{\"id\":\"evt_2\"}"u8, Vector, Secret, SignedAt).Status);
        Assert.Equal(WebhookVerificationStatus.BadSignature, WebhookSignature.Verify(Body, Vector, Secret + "x", SignedAt).Status);
        // The timestamp is signed too: moving it breaks the signature.
        Assert.Equal(WebhookVerificationStatus.BadSignature, WebhookSignature.Verify(Body, Vector.Replace("t=1700000000", "t=1700000001", StringComparison.Ordinal), Secret, SignedAt).Status);
    }

    [Fact]
    public void Any_of_several_v1_signatures_may_match_and_other_keys_are_ignored()
    {
        string other = new('0', 64);
        string header = $"t=1700000000,v1={other},v0=abc,v1={Vector[16..]}";
        Assert.Equal(WebhookVerificationStatus.Verified, WebhookSignature.Verify(Body, header, Secret, SignedAt).Status);
        Assert.Equal(WebhookVerificationStatus.BadSignature, WebhookSignature.Verify(Body, $"t=1700000000,v1={other}", Secret, SignedAt).Status);
    }

    [Theory]
    [InlineData(null, WebhookVerificationStatus.MissingHeader)]
    [InlineData("", WebhookVerificationStatus.MissingHeader)]
    [InlineData("v1=dea1657bd5053cb0f8a75ebf0bd3d22e0cdeb79563b44db6b88864e522fb8bc4", WebhookVerificationStatus.Malformed)]
    [InlineData("t=1700000000", WebhookVerificationStatus.Malformed)]
    [InlineData("t=1700000000,v1=dea1", WebhookVerificationStatus.Malformed)]
    [InlineData("t=1700000000,v1=zea1657bd5053cb0f8a75ebf0bd3d22e0cdeb79563b44db6b88864e522fb8bc4", WebhookVerificationStatus.Malformed)]
    [InlineData("t=-1,v1=dea1657bd5053cb0f8a75ebf0bd3d22e0cdeb79563b44db6b88864e522fb8bc4", WebhookVerificationStatus.Malformed)]
    [InlineData("t=99999999999999999999,v1=dea1657bd5053cb0f8a75ebf0bd3d22e0cdeb79563b44db6b88864e522fb8bc4", WebhookVerificationStatus.Malformed)]
    [InlineData("t=1700000000,t=1700000000,v1=dea1657bd5053cb0f8a75ebf0bd3d22e0cdeb79563b44db6b88864e522fb8bc4", WebhookVerificationStatus.Malformed)]
    [InlineData("t=١٧٠٠٠٠٠٠٠٠,v1=dea1657bd5053cb0f8a75ebf0bd3d22e0cdeb79563b44db6b88864e522fb8bc4", WebhookVerificationStatus.Malformed)]
    [InlineData("garbage", WebhookVerificationStatus.Malformed)]
    [InlineData(",,,", WebhookVerificationStatus.Malformed)]
    [InlineData("=1", WebhookVerificationStatus.Malformed)]
    public void A_header_that_is_absent_or_not_in_the_format_says_so(string? header, WebhookVerificationStatus expected) =>
        Assert.Equal(expected, WebhookSignature.Verify(Body, header, Secret, SignedAt).Status);

    [Fact]
    public void A_header_longer_than_the_limit_is_malformed_even_when_it_would_verify()
    {
        string header = Vector + "," + string.Join(",", Enumerable.Repeat("x=" + new string('a', 100), 40));
        Assert.True(header.Length > WebhookSignature.MaxHeaderLength);
        Assert.Equal(WebhookVerificationStatus.Malformed, WebhookSignature.Verify(Body, header, Secret, SignedAt).Status);
        Assert.Equal(WebhookVerificationStatus.Verified, WebhookSignature.Verify(Body, header[..WebhookSignature.MaxHeaderLength].TrimEnd('a').TrimEnd('=').TrimEnd('x').TrimEnd(','), Secret, SignedAt).Status);
    }

    [Fact]
    public void Misuse_by_the_caller_throws()
    {
        Assert.Throws<ArgumentException>(() => WebhookSignature.Verify(Body, Vector, "", SignedAt));
        Assert.Throws<ArgumentException>(() => WebhookSignature.Verify(Body, Vector, Secret, SignedAt, Duration.FromSeconds(-1)));
        Assert.Throws<ArgumentException>(() => WebhookSignature.Sign(Body, Secret, Instant.FromUnixTimeSeconds(-1)));
    }

    private static readonly string[] Pieces =
    [
        "t=", "v1=", "v0=", "=", ",", " ", "t=1700000000", "v1=" + Vector[16..], "\uD800", "\uDC00", "\uDBFF\uDFFF", "\u2028",
        "\u2029", "\u0000", "\uFEFF", "\uFFFF", "٣", "０", "😀", "-", "+", "9", "0", "f", "F", "g", new string('a', 64),
        new string('9', 30), "\r\n", ";",
    ];

    private static Arbitrary<string> HostileHeader() =>
        Gen.OneOf(
                Gen.Elements(Pieces).ListOf().Select(p => string.Concat(p)),
                // Huge headers, around the limit and far beyond it.
                Gen.Choose(1, 3_000).SelectMany(n => Gen.Elements(Pieces).ListOf().Select(p => string.Concat(Enumerable.Repeat(string.Concat(p) + ",", n)).PadRight(WebhookSignature.MaxHeaderLength, 'a'))),
                ArbMap.Default.GeneratorFor<string>())
            .ToArbitrary();

    [Property(MaxTest = 500)]
    public Property No_header_or_body_makes_Verify_throw_and_only_a_true_signature_verifies() =>
        Prop.ForAll(HostileHeader(), ArbMap.Default.ArbFor<byte[]>(), (header, body) =>
        {
            body ??= [];
            var result = WebhookSignature.Verify(body, header, Secret, SignedAt);
            // Only the pieces carry a genuine signature, and only of Body: nothing else can verify.
            return Enum.IsDefined(result.Status) && (!result.IsVerified || body.AsSpan().SequenceEqual(Body))
                && WebhookSignature.Verify(body, WebhookSignature.Sign(body, Secret, SignedAt), Secret, SignedAt).IsVerified;
        });

    [Property(MaxTest = 300)]
    public Property A_hostile_text_body_or_secret_round_trips_and_any_changed_byte_is_a_bad_signature() =>
        Prop.ForAll(HostileHeader(), HostileHeader(), Gen.Choose(0, int.MaxValue).ToArbitrary(), (text, secret, flip) =>
        {
            string key = string.IsNullOrEmpty(secret) ? "k" : secret;
            byte[] body = Encoding.UTF8.GetBytes(text ?? "");
            var at = SignedAt + Duration.FromSeconds(flip % 100_000);
            string header = WebhookSignature.Sign(body, key, at);
            bool verifies = WebhookSignature.Verify(body, header, key, at).IsVerified
                && WebhookSignature.Verify(text ?? "", header, key, at, WebhookSignature.DefaultTolerance).IsVerified;
            if (body.Length == 0)
            {
                return verifies;
            }
            body[flip % body.Length] ^= (byte)(1 << (flip % 8));
            return verifies && WebhookSignature.Verify(body, header, key, at).Status == WebhookVerificationStatus.BadSignature;
        });

    [Fact]
    public void The_signature_is_an_HMAC_any_implementation_computes()
    {
        byte[] body = RandomNumberGenerator.GetBytes(1000);
        string header = WebhookSignature.Sign(body, Secret, SignedAt);
        byte[] signed = [.. "1700000000."u8, .. body];
        byte[] expected = HMACSHA256.HashData(Encoding.UTF8.GetBytes(Secret), signed);
        Assert.Equal("t=1700000000,v1=" + Convert.ToHexStringLower(expected), header);
    }
}
