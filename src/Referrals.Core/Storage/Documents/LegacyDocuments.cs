using System.Globalization;
using System.Text.Json;
using NodaTime;
using Referrals.Attribution;
using Referrals.Fraud;
using Referrals.Internal;
using Referrals.Rewards;

namespace Referrals.Storage;

/// <summary>
/// Reads the documents a store carried over from a file written before the narrow contract: format 0, marked
/// <c>"legacy": "sqlite-v6"</c>, which wrap the stored values of SQLite schema 6 verbatim (a store never writes Core's own
/// formats, so it wraps instead of converting). The wrapped values are the old columns (instants as Unix ticks, amounts as
/// invariant decimal text with their currency, enumerations as numbers) and the old JSON details in snake case.
/// </summary>
/// <remarks>
/// Only what the wrapper holds is read back: a legacy order's refund total was never in the order's row, so it reads as
/// none. An order stored undecided (its writer stopped before deciding) has no attribution to read: a
/// <see cref="FormatException"/>, as for any document this library cannot read.
/// </remarks>
internal static class LegacyDocuments
{
    public const string Marker = "sqlite-v6";

    /// <summary>Whether <paramref name="root"/> is a format-0 wrapper this class reads.</summary>
    public static bool IsLegacy(JsonElement root) =>
        root.TryGetProperty("legacy", out var l) && l.ValueKind == JsonValueKind.String && l.ValueEquals(Marker);

    /// <summary>An order's attribution and reward decision from the wrapper of its v6 columns.</summary>
    public static OrderDocument ReadOrder(Conversion c, JsonElement root)
    {
        RequireLegacy(root, "order");
        if (!root.TryGetProperty("reason", out var reason) || reason.ValueKind != JsonValueKind.Number
            || !root.TryGetProperty("attribution", out var detail) || detail.ValueKind != JsonValueKind.Object)
        {
            throw new FormatException($"Order '{c.OrderId}' was stored undecided by an earlier version; there is no attribution to read.");
        }
        var touches = new List<ConsideredTouch>();
        foreach (var t in Array(detail, "touches"))
        {
            touches.Add(new ConsideredTouch(
                JsonText.RequireText(t, "id"),
                (TouchKind)t.GetProperty("kind").GetInt32(),
                new ParticipantId(JsonText.RequireText(t, "referrer")),
                Ticks(t, "event_time"),
                (TouchVerdict)t.GetProperty("verdict").GetInt32()));
        }
        FraudAssessment? fraud = null;
        if (detail.TryGetProperty("fraud", out var f) && f.ValueKind == JsonValueKind.Object)
        {
            var signals = new List<FraudSignal>();
            foreach (var s in Array(f, "signals"))
            {
                signals.Add(new FraudSignal(JsonText.RequireText(s, "name"), s.GetProperty("score").GetInt32(), JsonText.ReadText(s, "evidence") ?? ""));
            }
            fraud = new FraudAssessment
            {
                Verdict = (FraudVerdict)f.GetProperty("verdict").GetInt32(),
                Score = f.GetProperty("score").GetInt32(),
                ReviewAt = f.GetProperty("review_at").GetInt32(),
                BlockAt = f.GetProperty("block_at").GetInt32(),
                AssessedAt = Ticks(f, "assessed_at"),
                Signals = signals,
            };
        }
        var attribution = new AttributionResult
        {
            Program = c.Program,
            OrderId = c.OrderId,
            Customer = JsonText.ReadText(root, "attribution_customer") is { } customer ? new ParticipantId(customer) : c.Customer,
            // v6 kept the conversion time in a column the wrapper leaves out; it was always the conversion's event time.
            ConversionTime = c.EventTime,
            Amount = Money(detail, "amount", "currency"),
            ConversionChannel = (Channel)JsonText.ReadInt(detail, "channel"),
            StoreId = JsonText.ReadText(detail, "store_id"),
            Reason = OrderDocument.ReasonOf(reason.GetInt32()),
            IsRepeat = Number(root, "is_repeat") != 0,
            Referrer = JsonText.ReadText(root, "referrer") is { } r ? new ParticipantId(r) : null,
            Code = JsonText.ReadText(root, "code") is { } code ? ReferralCode.FromNormalized(code) : null,
            DecidedAt = Ticks(root, "decided_at"),
            Medium = (ShareMedium)JsonText.ReadInt(detail, "medium"),
            CaptureMethod = OptionalInt(detail, "capture_method") is { } m ? (TouchKind)m : null,
            TouchId = JsonText.ReadText(detail, "touch_id"),
            Combination = OptionalInt(detail, "combination") is { } cb ? (ChannelCombination)cb : null,
            Chain = Ids(detail, "chain"),
            Touches = touches,
            Fraud = fraud,
        };
        RewardDecision? decision = null;
        if (root.TryGetProperty("decision", out var d) && d.ValueKind == JsonValueKind.Object)
        {
            var dd = d.TryGetProperty("detail", out var x) && x.ValueKind == JsonValueKind.Object ? x : default;
            var skipped = new List<SkippedReward>();
            var ids = new List<string>();
            if (dd.ValueKind == JsonValueKind.Object)
            {
                foreach (var s in Array(dd, "skipped"))
                {
                    skipped.Add(new SkippedReward(JsonText.RequireText(s, "rule"), new ParticipantId(JsonText.RequireText(s, "beneficiary")),
                        (RewardSkipReason)s.GetProperty("reason").GetInt32(), JsonText.ReadText(s, "detail") ?? ""));
                }
                foreach (var id in Array(dd, "reward_ids"))
                {
                    ids.Add(id.GetString() ?? throw new FormatException("A legacy reward decision lists a null reward id."));
                }
            }
            decision = new RewardDecision
            {
                Program = c.Program,
                OrderId = c.OrderId,
                Revision = d.GetProperty("revision").GetInt32(),
                Referrer = JsonText.ReadText(d, "referrer") is { } dr ? new ParticipantId(dr) : null,
                DecidedAt = Ticks(d, "decided_at"),
                Chain = dd.ValueKind == JsonValueKind.Object ? Ids(dd, "chain") : [],
                ReferralNumber = dd.ValueKind == JsonValueKind.Object ? JsonText.ReadInt(dd, "referral_number") : 0,
                Counted = dd.ValueKind == JsonValueKind.Object && JsonText.ReadBool(dd, "counted"),
                RewardIds = ids,
                Skipped = skipped,
            };
        }
        return new OrderDocument(attribution, decision, null);
    }

    /// <summary>A ledger entry from the wrapper of its v6 columns.</summary>
    public static RewardEntry ReadEntry(EntryRow row, JsonElement root)
    {
        RequireLegacy(root, "ledger entry");
        return ReadEntryColumns(row, root);
    }

    private static void RequireLegacy(JsonElement root, string what)
    {
        if (!IsLegacy(root))
        {
            throw new FormatException($"A {what} document of format 0 that no store of this library carried over (no \"legacy\": \"{Marker}\").");
        }
    }

    private static RewardEntry ReadEntryColumns(EntryRow row, JsonElement root) => new()
    {
        EntryId = row.EntryId,
        RewardId = row.RewardId,
        Program = row.Program,
        RecordedAt = row.RecordedAt,
        Beneficiary = new ParticipantId(JsonText.RequireText(root, "beneficiary")),
        OrderId = JsonText.RequireText(root, "order_id"),
        Type = (RewardEntryType)root.GetProperty("type").GetInt32(),
        Amount = Money(root, "amount", "currency"),
        Actor = JsonText.ReadText(root, "actor"),
        Reason = JsonText.ReadText(root, "reason"),
        Reference = JsonText.ReadText(root, "reference"),
        Terms = root.TryGetProperty("terms", out var t) && t.ValueKind == JsonValueKind.Object ? ReadTerms(t) : null,
    };

    private static RewardTerms ReadTerms(JsonElement t) => new()
    {
        Role = (RewardRole)JsonText.ReadInt(t, "role"),
        Level = JsonText.ReadInt(t, "level"),
        Kind = (RewardKind)JsonText.ReadInt(t, "kind"),
        Item = JsonText.ReadText(t, "item"),
        Rule = JsonText.RequireText(t, "rule"),
        Tier = JsonText.RequireText(t, "tier"),
        ReferralNumber = JsonText.ReadInt(t, "referral_number"),
        PercentOfOrder = JsonText.ReadBool(t, "percent_of_order"),
        OrderAmount = Money(t, "order_amount", "order_currency"),
        Boosts = [.. Array(t, "boosts").Select(b => b.GetString() ?? throw new FormatException("A legacy reward lists a null boost."))],
        CappedBy = JsonText.ReadText(t, "capped_by"),
        BeforeCap = Money(t, "before_cap", "before_cap_currency"),
        ConversionTime = Ticks(t, "conversion_time"),
        HoldUntil = Ticks(t, "hold_until"),
        HeldForReview = JsonText.ReadBool(t, "held_for_review"),
    };

    private static IEnumerable<JsonElement> Array(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var a) && a.ValueKind == JsonValueKind.Array ? a.EnumerateArray() : [];

    private static List<ParticipantId> Ids(JsonElement parent, string name) =>
        [.. Array(parent, name).Select(e => new ParticipantId(e.GetString() ?? throw new FormatException($"A legacy '{name}' lists a null participant id.")))];

    private static long Number(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.Number ? e.GetInt64() : 0;

    private static int? OptionalInt(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.Number ? e.GetInt32() : null;

    private static Instant Ticks(JsonElement parent, string name) =>
        parent.TryGetProperty(name, out var e) && e.ValueKind == JsonValueKind.Number
            ? Instant.FromUnixTimeTicks(e.GetInt64())
            : throw new FormatException($"The legacy document has no '{name}'.");

    private static Money Money(JsonElement parent, string amount, string currency)
    {
        string text = JsonText.RequireText(parent, amount);
        if (!decimal.TryParse(text, NumberStyles.AllowLeadingSign | NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal value))
        {
            throw new FormatException($"The legacy document's '{amount}' is not an amount.");
        }
        return new Money(value, JsonText.RequireText(parent, currency));
    }
}
