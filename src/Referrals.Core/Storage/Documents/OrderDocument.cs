using System.Text.Json;
using Referrals.Attribution;
using Referrals.Fraud;
using Referrals.Rewards;
using Referrals.Internal;

namespace Referrals.Storage;

/// <summary>
/// The document of an <see cref="OrderRow"/>: what Core decided about a conversion — its attribution (touches considered,
/// fraud assessment), the reward decision and what was refunded — without anything the row's conversion carries already
/// and without personal data (no contact hash, fingerprint or visitor id: those live in the conversion's typed fields,
/// which an erasure clears).
/// </summary>
internal sealed record OrderDocument(AttributionResult Attribution, RewardDecision? Decision, Money? Refunded)
{
    /// <summary>
    /// A person (or the review deadline) rejected the order's referral in review: it stays uncounted and earns nothing
    /// when it is decided again (a late event changing its chain or referral number does not undo a review).
    /// </summary>
    public bool Rejected { get; init; }

    public const int FormatVersion = 1;

    public string ToJson() => JsonText.Write(FormatVersion, this, static (w, d) => d.WriteBody(w));

    // An attributed decision has no reason; documents store it as 0, the value the enum's former None member had.
    private const int NoReason = 0;

    /// <summary>A stored reason: 0 (attributed) is none.</summary>
    internal static NotAttributedReason? ReasonOf(int stored) => stored == NoReason ? null : (NotAttributedReason)stored;

    private void WriteBody(Utf8JsonWriter w)
    {
        var a = Attribution;
        w.WriteNumber("reason", (int?)a.Reason ?? NoReason);
        JsonText.WriteText(w, "referrer", a.Referrer?.Value);
        JsonText.WriteText(w, "code", a.Code?.Value);
        w.WriteNumber("medium", (int)a.Medium);
        if (a.CaptureMethod is { } method)
        {
            w.WriteNumber("method", (int)method);
        }
        JsonText.WriteText(w, "touch", a.TouchId);
        if (a.Combination is { } combination)
        {
            w.WriteNumber("combination", (int)combination);
        }
        WriteIds(w, "chain", a.Chain);
        if (a.IsRepeat)
        {
            w.WriteBoolean("repeat", true);
        }
        w.WriteStartArray("touches");
        foreach (var t in a.Touches)
        {
            w.WriteStartObject();
            JsonText.WriteText(w, "id", t.TouchId);
            w.WriteNumber("kind", (int)t.Kind);
            JsonText.WriteText(w, "referrer", t.Referrer.Value);
            JsonText.WriteInstant(w, "at", t.EventTime);
            w.WriteNumber("verdict", (int)t.Verdict);
            w.WriteEndObject();
        }
        w.WriteEndArray();
        JsonText.WriteInstant(w, "decidedAt", a.DecidedAt);
        if (a.Fraud is { } f)
        {
            w.WriteStartObject("fraud");
            w.WriteNumber("verdict", (int)f.Verdict);
            w.WriteNumber("score", f.Score);
            w.WriteNumber("reviewAt", f.ReviewAt);
            w.WriteNumber("blockAt", f.BlockAt);
            JsonText.WriteInstant(w, "at", f.AssessedAt);
            w.WriteStartArray("signals");
            foreach (var s in f.Signals)
            {
                w.WriteStartObject();
                JsonText.WriteText(w, "name", s.Name);
                w.WriteNumber("score", s.Score);
                JsonText.WriteText(w, "evidence", s.Evidence);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            w.WriteEndObject();
        }
        if (Decision is { } d)
        {
            w.WriteStartObject("decision");
            w.WriteNumber("revision", d.Revision);
            JsonText.WriteText(w, "referrer", d.Referrer?.Value);
            WriteIds(w, "chain", d.Chain);
            w.WriteNumber("number", d.ReferralNumber);
            w.WriteBoolean("counted", d.Counted);
            w.WriteStartArray("rewards");
            foreach (var id in d.RewardIds)
            {
                JsonText.WriteTextValue(w, id);
            }
            w.WriteEndArray();
            w.WriteStartArray("skipped");
            foreach (var s in d.Skipped)
            {
                w.WriteStartObject();
                JsonText.WriteText(w, "rule", s.Rule);
                JsonText.WriteText(w, "beneficiary", s.Beneficiary.Value);
                w.WriteNumber("reason", (int)s.Reason);
                JsonText.WriteText(w, "detail", s.Detail);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            JsonText.WriteInstant(w, "decidedAt", d.DecidedAt);
            w.WriteEndObject();
        }
        if (Refunded is { } refunded)
        {
            JsonText.WriteMoney(w, "refunded", refunded);
        }
        if (Rejected)
        {
            w.WriteBoolean("rejected", true);
        }
    }

    private static void WriteIds(Utf8JsonWriter w, string name, IReadOnlyList<ParticipantId> ids)
    {
        w.WriteStartArray(name);
        foreach (var id in ids)
        {
            JsonText.WriteTextValue(w, id.Value);
        }
        w.WriteEndArray();
    }

    private static List<ParticipantId> ReadIds(JsonElement parent, string name)
    {
        var list = new List<ParticipantId>();
        if (parent.TryGetProperty(name, out var array))
        {
            foreach (var e in array.EnumerateArray())
            {
                list.Add(new ParticipantId(JsonText.ReadTextValue(e)));
            }
        }
        return list;
    }

    /// <summary>Reads the document of <paramref name="row"/>; the conversion's own fields come from the row.</summary>
    /// <exception cref="FormatException">The document is not an order document this library reads.</exception>
    public static OrderDocument FromRow(OrderRow row) => row.Parsed as OrderDocument ?? FromJson(row.Conversion, row.Document);

    /// <summary>
    /// Whether refunds of <paramref name="refunded"/> in total take back the whole of an order of <paramref name="amount"/>:
    /// what the refund-abuse check counts against the order's credited referrer (an order of nothing is never refunded in full).
    /// </summary>
    public static bool IsRefundedInFull(Money amount, Money? refunded) => refunded is { } r && amount.Amount > 0 && r.Amount >= amount.Amount;

    /// <summary>This document for a row Core writes: its JSON is written only if a store reads it.</summary>
    public LazyDocument ToDocument() => new(this, static o => ((OrderDocument)o).ToJson());

    /// <inheritdoc cref="FromRow"/>
    public static OrderDocument FromJson(Conversion conversion, string json) =>
        JsonText.Read(json, FormatVersion, "order", conversion, static (root, c) => Read(c, root), static (root, c) => LegacyDocuments.ReadOrder(c, root));

    private static OrderDocument Read(Conversion c, JsonElement root)
    {
        var touches = new List<ConsideredTouch>();
        if (root.TryGetProperty("touches", out var array))
        {
            foreach (var t in array.EnumerateArray())
            {
                touches.Add(new ConsideredTouch(
                    JsonText.RequireText(t, "id"),
                    (TouchKind)t.GetProperty("kind").GetInt32(),
                    new ParticipantId(JsonText.RequireText(t, "referrer")),
                    JsonText.RequireInstant(t, "at"),
                    (TouchVerdict)t.GetProperty("verdict").GetInt32()));
            }
        }
        FraudAssessment? fraud = null;
        if (root.TryGetProperty("fraud", out var f))
        {
            var signals = new List<FraudSignal>();
            foreach (var s in f.GetProperty("signals").EnumerateArray())
            {
                signals.Add(new FraudSignal(JsonText.RequireText(s, "name"), s.GetProperty("score").GetInt32(), JsonText.ReadText(s, "evidence") ?? ""));
            }
            fraud = new FraudAssessment
            {
                Verdict = (FraudVerdict)f.GetProperty("verdict").GetInt32(),
                Score = f.GetProperty("score").GetInt32(),
                ReviewAt = f.GetProperty("reviewAt").GetInt32(),
                BlockAt = f.GetProperty("blockAt").GetInt32(),
                AssessedAt = JsonText.RequireInstant(f, "at"),
                Signals = signals,
            };
        }
        var attribution = new AttributionResult
        {
            Program = c.Program,
            OrderId = c.OrderId,
            Customer = c.Customer,
            Amount = c.Amount,
            ConversionTime = c.EventTime,
            ConversionChannel = c.Channel,
            StoreId = c.StoreId,
            Reason = ReasonOf(root.GetProperty("reason").GetInt32()),
            Referrer = JsonText.ReadText(root, "referrer") is { } r ? new ParticipantId(r) : null,
            Code = JsonText.ReadText(root, "code") is { } code ? Referrals.ReferralCode.FromNormalized(code) : null,
            Medium = (ShareMedium)JsonText.ReadInt(root, "medium"),
            CaptureMethod = root.TryGetProperty("method", out var m) ? (TouchKind)m.GetInt32() : null,
            TouchId = JsonText.ReadText(root, "touch"),
            Combination = root.TryGetProperty("combination", out var cb) ? (ChannelCombination)cb.GetInt32() : null,
            Chain = ReadIds(root, "chain"),
            IsRepeat = JsonText.ReadBool(root, "repeat"),
            Touches = touches,
            DecidedAt = JsonText.RequireInstant(root, "decidedAt"),
            Fraud = fraud,
        };
        RewardDecision? decision = null;
        if (root.TryGetProperty("decision", out var d))
        {
            var ids = new List<string>();
            foreach (var e in d.GetProperty("rewards").EnumerateArray())
            {
                ids.Add(JsonText.ReadTextValue(e));
            }
            var skipped = new List<SkippedReward>();
            foreach (var s in d.GetProperty("skipped").EnumerateArray())
            {
                skipped.Add(new SkippedReward(JsonText.RequireText(s, "rule"), new ParticipantId(JsonText.RequireText(s, "beneficiary")),
                    (RewardSkipReason)s.GetProperty("reason").GetInt32(), JsonText.ReadText(s, "detail") ?? ""));
            }
            decision = new RewardDecision
            {
                Program = c.Program,
                OrderId = c.OrderId,
                Revision = d.GetProperty("revision").GetInt32(),
                Referrer = JsonText.ReadText(d, "referrer") is { } dr ? new ParticipantId(dr) : null,
                Chain = ReadIds(d, "chain"),
                ReferralNumber = JsonText.ReadInt(d, "number"),
                Counted = JsonText.ReadBool(d, "counted"),
                RewardIds = ids,
                Skipped = skipped,
                DecidedAt = JsonText.RequireInstant(d, "decidedAt"),
            };
        }
        Money? refunded = root.TryGetProperty("refunded", out _) ? JsonText.ReadMoney(root, "refunded") : null;
        return new OrderDocument(attribution, decision, refunded) { Rejected = root.TryGetProperty("rejected", out var rejected) && rejected.GetBoolean() };
    }
}
