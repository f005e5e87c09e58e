using System.Buffers;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using NodaTime;

namespace Referrals.Webhooks;

/// <summary>Why <see cref="WebhookSignature.Verify(ReadOnlySpan{byte}, string?, string, Instant, Duration)"/> accepted or refused a delivery.</summary>
public enum WebhookVerificationStatus
{
    /// <summary>A <c>v1</c> signature matches the body and the timestamp is within the tolerance: the delivery is genuine.</summary>
    Verified = 1,

    /// <summary>No <c>Referrals-Signature</c> header, or an empty one.</summary>
    MissingHeader = 2,

    /// <summary>
    /// The header is not <c>t=&lt;unix seconds&gt;,v1=&lt;64 hex digits&gt;</c> (more <c>v1</c> entries allowed): no
    /// timestamp, no <c>v1</c>, a value that is not digits or hexadecimal, or longer than
    /// <see cref="WebhookSignature.MaxHeaderLength"/> characters.
    /// </summary>
    Malformed = 3,

    /// <summary>The timestamp is older than the tolerance allows: a replay, or a delivery that took too long to arrive.</summary>
    TooOld = 4,

    /// <summary>The timestamp is later than now by more than the tolerance: the sender's or the receiver's clock is wrong.</summary>
    TooNew = 5,

    /// <summary>No <c>v1</c> signature matches the body with the secret: altered, or signed with another secret.</summary>
    BadSignature = 6,
}

/// <summary>The outcome of checking a webhook delivery's signature.</summary>
public readonly struct WebhookVerification
{
    internal WebhookVerification(WebhookVerificationStatus status, Instant? timestamp)
    {
        Status = status;
        Timestamp = timestamp;
    }

    /// <summary>Why it was accepted or refused.</summary>
    public WebhookVerificationStatus Status { get; }

    /// <summary>
    /// The signed timestamp, when the header could be read; <see langword="null"/> for
    /// <see cref="WebhookVerificationStatus.MissingHeader"/> and <see cref="WebhookVerificationStatus.Malformed"/>.
    /// </summary>
    public Instant? Timestamp { get; }

    /// <summary>Whether the delivery is genuine (<see cref="WebhookVerificationStatus.Verified"/>).</summary>
    public bool IsVerified => Status == WebhookVerificationStatus.Verified;

    /// <summary>The status, and the timestamp when there is one.</summary>
    public override string ToString() => Timestamp is { } t ? $"{Status} (signed at {t})" : Status.ToString();
}

/// <summary>
/// The signature of a webhook delivery, in the <c>Referrals-Signature</c> header: <c>t=&lt;unix seconds&gt;,v1=&lt;hex&gt;</c>,
/// where the hex is the lower-case HMAC-SHA256, keyed with the endpoint's secret (its UTF-8 bytes), of the timestamp's
/// digits, a full stop and the request body's bytes exactly as received. Receivers call <see cref="Verify(ReadOnlySpan{byte}, string?, string, Instant, Duration)"/>
/// on the raw body before parsing it. Thread-safe; allocation is bounded by <see cref="MaxHeaderLength"/>.
/// </summary>
public static class WebhookSignature
{
    /// <summary>The header that carries the signature, <c>Referrals-Signature</c>.</summary>
    public const string HeaderName = "Referrals-Signature";

    /// <summary>The longest header <see cref="Verify(ReadOnlySpan{byte}, string?, string, Instant, Duration)"/> reads, in characters; a longer one is <see cref="WebhookVerificationStatus.Malformed"/>.</summary>
    public const int MaxHeaderLength = 4096;

    /// <summary>The tolerance <see cref="Verify(ReadOnlySpan{byte}, string?, string, Instant)"/> uses: 5 minutes either side of now.</summary>
    public static readonly Duration DefaultTolerance = Duration.FromMinutes(5);

    // Unix seconds of Instant.MinValue and Instant.MaxValue's years (-9998 to 9999): any digits beyond are malformed.
    private const long MaxUnixSeconds = 253_402_300_799;
    private const int HashHexLength = 64;

    /// <summary>The header value signing <paramref name="body"/> with <paramref name="secret"/> at <paramref name="timestamp"/> (whole seconds; the fraction is dropped).</summary>
    /// <exception cref="ArgumentException"><paramref name="secret"/> is null or empty, or <paramref name="timestamp"/> is before 1970.</exception>
    public static string Sign(ReadOnlySpan<byte> body, string secret, Instant timestamp)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        long seconds = timestamp.ToUnixTimeSeconds();
        if (seconds < 0)
        {
            throw new ArgumentException($"A webhook timestamp must not be before 1970; got {timestamp}.", nameof(timestamp));
        }
        Span<byte> mac = stackalloc byte[HMACSHA256.HashSizeInBytes];
        Compute(secret, seconds, body, mac);
        return "t=" + seconds.ToString(CultureInfo.InvariantCulture) + ",v1=" + Convert.ToHexStringLower(mac);
    }

    /// <summary>Checks a delivery with the <see cref="DefaultTolerance"/> of 5 minutes; see <see cref="Verify(ReadOnlySpan{byte}, string?, string, Instant, Duration)"/>.</summary>
    public static WebhookVerification Verify(ReadOnlySpan<byte> body, string? header, string secret, Instant now) =>
        Verify(body, header, secret, now, DefaultTolerance);

    /// <summary>
    /// Checks that <paramref name="header"/> (the <c>Referrals-Signature</c> header as received, or <see langword="null"/>
    /// when absent) signs <paramref name="body"/> (the raw request body) with <paramref name="secret"/>, at a timestamp at
    /// most <paramref name="tolerance"/> from <paramref name="now"/>. Signatures are compared in constant time; every
    /// <c>v1</c> entry is tried (a sender rotating secrets may send several); keys other than <c>t</c> and <c>v1</c> are
    /// ignored. Never throws for any header or body: hostile input comes back as a status.
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="secret"/> is null or empty, or <paramref name="tolerance"/> is negative.</exception>
    public static WebhookVerification Verify(ReadOnlySpan<byte> body, string? header, string secret, Instant now, Duration tolerance)
    {
        ArgumentException.ThrowIfNullOrEmpty(secret);
        if (tolerance < Duration.Zero)
        {
            throw new ArgumentException($"The tolerance must not be negative; got {tolerance}.", nameof(tolerance));
        }
        if (string.IsNullOrEmpty(header))
        {
            return new(WebhookVerificationStatus.MissingHeader, null);
        }
        if (header.Length > MaxHeaderLength)
        {
            return new(WebhookVerificationStatus.Malformed, null);
        }

        long? seconds = null;
        int signatures = 0;
        Span<byte> candidates = stackalloc byte[0];
        byte[]? rented = null;
        try
        {
            // At most one signature per 67 characters ("v1=" and 64 digits), so the header's length bounds the buffer.
            int capacity = (header.Length / (HashHexLength + 3) + 1) * HMACSHA256.HashSizeInBytes;
            rented = ArrayPool<byte>.Shared.Rent(capacity);
            candidates = rented.AsSpan(0, capacity);
            foreach (var range in header.AsSpan().Split(','))
            {
                var item = header.AsSpan()[range].Trim(' ');
                int eq = item.IndexOf('=');
                if (eq <= 0)
                {
                    return new(WebhookVerificationStatus.Malformed, null);
                }
                var key = item[..eq];
                var value = item[(eq + 1)..];
                if (key.SequenceEqual("t"))
                {
                    if (seconds is not null || !TryParseSeconds(value, out long t))
                    {
                        return new(WebhookVerificationStatus.Malformed, null);
                    }
                    seconds = t;
                }
                else if (key.SequenceEqual("v1"))
                {
                    if (value.Length != HashHexLength
                        || Convert.FromHexString(value, candidates.Slice(signatures * HMACSHA256.HashSizeInBytes, HMACSHA256.HashSizeInBytes), out _, out int written) != OperationStatus.Done
                        || written != HMACSHA256.HashSizeInBytes)
                    {
                        return new(WebhookVerificationStatus.Malformed, null);
                    }
                    signatures++;
                }
            }
            if (seconds is not { } signedAt || signatures == 0)
            {
                return new(WebhookVerificationStatus.Malformed, null);
            }

            var timestamp = Instant.FromUnixTimeSeconds(signedAt);
            // Both within Instant's range, so the difference cannot overflow.
            long age = now.ToUnixTimeSeconds() - signedAt;
            long allowed = (long)tolerance.TotalSeconds;
            if (age > allowed)
            {
                return new(WebhookVerificationStatus.TooOld, timestamp);
            }
            if (-age > allowed)
            {
                return new(WebhookVerificationStatus.TooNew, timestamp);
            }

            Span<byte> expected = stackalloc byte[HMACSHA256.HashSizeInBytes];
            Compute(secret, signedAt, body, expected);
            bool match = false;
            for (int i = 0; i < signatures; i++)
            {
                // Every candidate is compared, so the time taken does not tell which one matched.
                match |= CryptographicOperations.FixedTimeEquals(expected, candidates.Slice(i * HMACSHA256.HashSizeInBytes, HMACSHA256.HashSizeInBytes));
            }
            return new(match ? WebhookVerificationStatus.Verified : WebhookVerificationStatus.BadSignature, timestamp);
        }
        finally
        {
            if (rented is not null)
            {
                ArrayPool<byte>.Shared.Return(rented);
            }
        }
    }

    /// <summary>Checks a delivery whose body was read as text (UTF-8, as sent); prefer the bytes when the receiver has them.</summary>
    /// <exception cref="ArgumentNullException"><paramref name="body"/> is <see langword="null"/>.</exception>
    /// <exception cref="ArgumentException"><paramref name="secret"/> is null or empty, or <paramref name="tolerance"/> is negative.</exception>
    public static WebhookVerification Verify(string body, string? header, string secret, Instant now, Duration tolerance)
    {
        ArgumentNullException.ThrowIfNull(body);
        return Verify(Encoding.UTF8.GetBytes(body), header, secret, now, tolerance);
    }

    private static bool TryParseSeconds(ReadOnlySpan<char> digits, out long seconds)
    {
        seconds = 0;
        if (digits.Length is 0 or > 12)
        {
            return false;
        }
        foreach (char c in digits)
        {
            if (!char.IsAsciiDigit(c))
            {
                return false;
            }
            seconds = seconds * 10 + (c - '0');
        }
        return seconds <= MaxUnixSeconds;
    }

    private static void Compute(string secret, long seconds, ReadOnlySpan<byte> body, Span<byte> mac)
    {
        byte[] key = Encoding.UTF8.GetBytes(secret);
        try
        {
            using var hmac = IncrementalHash.CreateHMAC(HashAlgorithmName.SHA256, key);
            Span<byte> prefix = stackalloc byte[21];
            seconds.TryFormat(prefix, out int n, provider: CultureInfo.InvariantCulture);
            prefix[n++] = (byte)'.';
            hmac.AppendData(prefix[..n]);
            hmac.AppendData(body);
            hmac.GetHashAndReset(mac);
        }
        finally
        {
            CryptographicOperations.ZeroMemory(key);
        }
    }
}
