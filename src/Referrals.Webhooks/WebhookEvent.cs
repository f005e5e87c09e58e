using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using NodaTime;
using NodaTime.Text;
using Referrals.Attribution;
using Referrals.Rewards;

namespace Referrals.Webhooks;

/// <summary>
/// One event as delivered: its id, type and JSON body. The body carries ids, amounts, kinds and instants only — no contact
/// hashes, visitor or device ids, actors' names, free-text reasons or fulfilment references (a coupon code is a bearer
/// secret): a receiver that needs more reads it from the library by the ids.
/// </summary>
internal sealed class WebhookEvent
{
    private WebhookEvent(string id, string type, byte[] body)
    {
        Id = id;
        Type = type;
        Body = body;
    }

    /// <summary><c>evt_</c> and 32 hexadecimal digits of a hash of what identifies the change: the same on every re-delivery.</summary>
    public string Id { get; }

    /// <summary>One of <see cref="WebhookEventTypes"/>.</summary>
    public string Type { get; }

    /// <summary>The UTF-8 JSON body, signed as is.</summary>
    public byte[] Body { get; }

    /// <summary>A touch was recorded; identified by program and touch id.</summary>
    public static WebhookEvent Captured(Touch touch) =>
        Write(WebhookEventTypes.ReferralCaptured, IdOf(WebhookEventTypes.ReferralCaptured, touch.Program.Value, touch.Id), touch.Program, touch.RecordedAt, w =>
        {
            w.WriteString("touchId", touch.Id);
            w.WriteString("kind", touch.Kind.ToString());
            w.WriteString("referrer", touch.Referrer.Value);
            WriteOptional(w, "code", touch.Code?.Value);
            w.WriteString("medium", touch.Medium.ToString());
            w.WriteString("captureChannel", touch.CaptureChannel.ToString());
            WriteOptional(w, "customer", touch.Customer?.Value);
            WriteOptional(w, "storeId", touch.StoreId);
            WriteOptional(w, "registerId", touch.RegisterId);
            WriteOptional(w, "orderId", touch.OrderId);
            w.WriteString("eventTime", Format(touch.EventTime));
            w.WriteString("recordedAt", Format(touch.RecordedAt));
        });

    /// <summary>
    /// A conversion was decided; identified by program, order id and the decision's instant to the millisecond (what
    /// every store keeps), so a decision anew after a late touch is another event.
    /// </summary>
    public static WebhookEvent Decided(AttributionResult a) =>
        Write(
            WebhookEventTypes.ConversionDecided,
            IdOf(WebhookEventTypes.ConversionDecided, a.Program.Value, a.OrderId, a.DecidedAt.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture)),
            a.Program,
            a.DecidedAt,
            w =>
            {
                w.WriteString("orderId", a.OrderId);
                w.WriteString("customer", a.Customer.Value);
                WriteMoney(w, "amount", a.Amount);
                w.WriteString("conversionTime", Format(a.ConversionTime));
                w.WriteString("conversionChannel", a.ConversionChannel.ToString());
                WriteOptional(w, "storeId", a.StoreId);
                w.WriteBoolean("attributed", a.IsAttributed);
                WriteOptional(w, "reason", a.Reason?.ToString());
                WriteOptional(w, "referrer", a.Referrer?.Value);
                WriteOptional(w, "code", a.Code?.Value);
                if (a.IsAttributed)
                {
                    w.WriteString("medium", a.Medium.ToString());
                }
                WriteOptional(w, "captureMethod", a.CaptureMethod?.ToString());
                WriteOptional(w, "touchId", a.TouchId);
                WriteOptional(w, "combination", a.Combination?.ToString());
                w.WriteStartArray("chain");
                foreach (var p in a.Chain)
                {
                    w.WriteStringValue(p.Value);
                }
                w.WriteEndArray();
                w.WriteBoolean("repeat", a.IsRepeat);
                WriteOptional(w, "fraudVerdict", a.Fraud?.Verdict.ToString());
                w.WriteString("decidedAt", Format(a.DecidedAt));
            });

    /// <summary>A reward ledger entry was written; identified by program, reward id and entry id (unique per reward).</summary>
    public static WebhookEvent RewardChanged(RewardEntry e) =>
        Write(WebhookEventTypes.RewardChanged, IdOf(WebhookEventTypes.RewardChanged, e.Program.Value, e.RewardId, e.EntryId), e.Program, e.RecordedAt, w =>
        {
            w.WriteString("rewardId", e.RewardId);
            w.WriteString("entryId", e.EntryId);
            w.WriteString("entryType", e.Type.ToString());
            w.WriteString("beneficiary", e.Beneficiary.Value);
            w.WriteString("orderId", e.OrderId);
            WriteMoney(w, "amount", e.Amount);
            w.WriteString("recordedAt", Format(e.RecordedAt));
        });

    private static WebhookEvent Write(string type, string id, ProgramId program, Instant occurredAt, Action<Utf8JsonWriter> data)
    {
        var buffer = new System.Buffers.ArrayBufferWriter<byte>(512);
        // The default encoder escapes everything outside ASCII and HTML-sensitive characters: the body is plain ASCII,
        // whatever script a host's ids are in.
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteString("id", id);
            w.WriteString("type", type);
            w.WriteString("program", program.Value);
            w.WriteString("occurredAt", Format(occurredAt));
            w.WriteStartObject("data");
            data(w);
            w.WriteEndObject();
            w.WriteEndObject();
        }
        return new WebhookEvent(id, type, buffer.WrittenSpan.ToArray());
    }

    /// <summary>A hash of the parts, each length-prefixed so that no two lists of parts give the same input.</summary>
    internal static string IdOf(string type, params ReadOnlySpan<string> parts)
    {
        var text = new StringBuilder(type);
        foreach (var part in parts)
        {
            text.Append('|').Append(part.Length.ToString(CultureInfo.InvariantCulture)).Append(':').Append(part);
        }
        Span<byte> hash = stackalloc byte[SHA256.HashSizeInBytes];
        SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString()), hash);
        return "evt_" + Convert.ToHexStringLower(hash[..16]);
    }

    private static string Format(Instant instant) => InstantPattern.ExtendedIso.Format(instant);

    private static void WriteOptional(Utf8JsonWriter w, string name, string? value)
    {
        if (value is not null)
        {
            w.WriteString(name, value);
        }
    }

    private static void WriteMoney(Utf8JsonWriter w, string name, Money money)
    {
        w.WriteStartObject(name);
        w.WriteNumber("value", money.Amount);
        w.WriteString("currency", money.Currency);
        w.WriteEndObject();
    }
}
