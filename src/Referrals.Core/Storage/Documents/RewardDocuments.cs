using System.Text.Json;
using Referrals.Rewards;
using Referrals.Internal;

namespace Referrals.Storage;

/// <summary>
/// The documents of the reward ledger: a ledger entry (<see cref="EntryRow"/>) and a reward's folded state
/// (<see cref="RewardRow"/>), both carrying the reward's terms. Ids that the rows carry as keys (program, reward id,
/// entry id, beneficiary, order id) are written into the documents too where the row lacks them, so a document read
/// alone is the whole value.
/// </summary>
internal static class RewardDocuments
{
    public const int FormatVersion = 1;

    /// <summary>The row of a ledger entry.</summary>
    public static EntryRow ToRow(RewardEntry e) =>
        new(e.Program, e.RewardId, e.EntryId, e.RecordedAt, new LazyDocument(e, static o => JsonText.Write(FormatVersion, (RewardEntry)o, static (w, e) => WriteEntry(w, e))));

    /// <summary>The entry of a row.</summary>
    /// <exception cref="FormatException">The document is not an entry document this library reads.</exception>
    public static RewardEntry FromRow(EntryRow row) => row.Parsed as RewardEntry ??
        JsonText.Read(row.Document, FormatVersion, "ledger entry", row, static (root, row) => new RewardEntry
        {
            EntryId = row.EntryId,
            RewardId = row.RewardId,
            Program = row.Program,
            RecordedAt = row.RecordedAt,
            Beneficiary = new ParticipantId(JsonText.RequireText(root, "beneficiary")),
            OrderId = JsonText.RequireText(root, "order"),
            Type = (RewardEntryType)root.GetProperty("type").GetInt32(),
            Amount = JsonText.ReadMoney(root, "amount"),
            Actor = JsonText.ReadText(root, "actor"),
            Reason = JsonText.ReadText(root, "reason"),
            Reference = JsonText.ReadText(root, "reference"),
            Terms = root.TryGetProperty("terms", out var t) ? ReadTerms(t) : null,
        }, static (root, row) => LegacyDocuments.ReadEntry(row, root));

    private static void WriteEntry(Utf8JsonWriter w, RewardEntry e)
    {
        JsonText.WriteText(w, "beneficiary", e.Beneficiary.Value);
        JsonText.WriteText(w, "order", e.OrderId);
        w.WriteNumber("type", (int)e.Type);
        JsonText.WriteMoney(w, "amount", e.Amount);
        JsonText.WriteText(w, "actor", e.Actor);
        JsonText.WriteText(w, "reason", e.Reason);
        JsonText.WriteText(w, "reference", e.Reference);
        if (e.Terms is { } terms)
        {
            w.WriteStartObject("terms");
            WriteTerms(w, terms);
            w.WriteEndObject();
        }
    }

    /// <summary>The row of a reward's state, with its due-index values (<see cref="RewardFold.Due"/>).</summary>
    public static RewardRow ToRow(in RewardFold.State s, long version)
    {
        var (due, at) = RewardFold.Due(s);
        return new RewardRow(s.Program, s.Id, s.Beneficiary, s.OrderId, s.Terms.ConversionTime, version, due, at,
            new LazyDocument(s, static o => JsonText.Write(FormatVersion, (RewardFold.State)o, static (w, s) => WriteState(w, s))));
    }

    /// <summary>The state of a reward row.</summary>
    /// <exception cref="FormatException">The document is not a reward document this library reads.</exception>
    public static RewardFold.State FromRow(RewardRow row) => row.Parsed is RewardFold.State state ? state :
        JsonText.Read(row.Document, FormatVersion, "reward", root => new RewardFold.State
        {
            Id = row.RewardId,
            Program = row.Program,
            OrderId = row.OrderId,
            Beneficiary = row.Beneficiary,
            Terms = ReadTerms(root.GetProperty("terms")),
            Earned = JsonText.ReadMoney(root, "earned"),
            Entitled = JsonText.ReadMoney(root, root.TryGetProperty("entitled", out _) ? "entitled" : "earned"),
            Net = JsonText.ReadMoney(root, "net"),
            Status = (RewardStatus)root.GetProperty("status").GetInt32(),
            CreatedAt = JsonText.RequireInstant(root, "createdAt"),
            ApprovedAt = JsonText.ReadInstant(root, "approvedAt"),
            FulfilledAt = JsonText.ReadInstant(root, "fulfilledAt"),
            FulfilmentReference = JsonText.ReadText(root, "reference"),
            Reason = JsonText.ReadText(root, "reason"),
            Released = JsonText.ReadBool(root, "released"),
        });

    private static void WriteState(Utf8JsonWriter w, RewardFold.State s)
    {
        w.WriteStartObject("terms");
        WriteTerms(w, s.Terms);
        w.WriteEndObject();
        JsonText.WriteMoney(w, "earned", s.Earned);
        if (s.Entitled != s.Earned)
        {
            JsonText.WriteMoney(w, "entitled", s.Entitled);
        }
        JsonText.WriteMoney(w, "net", s.Net);
        w.WriteNumber("status", (int)s.Status);
        JsonText.WriteInstant(w, "createdAt", s.CreatedAt);
        JsonText.WriteInstant(w, "approvedAt", s.ApprovedAt);
        JsonText.WriteInstant(w, "fulfilledAt", s.FulfilledAt);
        JsonText.WriteText(w, "reference", s.FulfilmentReference);
        JsonText.WriteText(w, "reason", s.Reason);
        if (s.Released)
        {
            w.WriteBoolean("released", true);
        }
    }

    private static void WriteTerms(Utf8JsonWriter w, RewardTerms t)
    {
        w.WriteNumber("role", (int)t.Role);
        w.WriteNumber("level", t.Level);
        w.WriteNumber("kind", (int)t.Kind);
        JsonText.WriteText(w, "item", t.Item);
        JsonText.WriteText(w, "rule", t.Rule);
        JsonText.WriteText(w, "tier", t.Tier);
        w.WriteNumber("number", t.ReferralNumber);
        w.WriteBoolean("percent", t.PercentOfOrder);
        JsonText.WriteMoney(w, "orderAmount", t.OrderAmount);
        w.WriteStartArray("boosts");
        foreach (var b in t.Boosts)
        {
            JsonText.WriteTextValue(w, b);
        }
        w.WriteEndArray();
        JsonText.WriteText(w, "cappedBy", t.CappedBy);
        JsonText.WriteMoney(w, "beforeCap", t.BeforeCap);
        JsonText.WriteInstant(w, "conversionTime", t.ConversionTime);
        JsonText.WriteInstant(w, "holdUntil", t.HoldUntil);
        if (t.HeldForReview)
        {
            w.WriteBoolean("review", true);
        }
    }

    private static RewardTerms ReadTerms(JsonElement t)
    {
        var boosts = new List<string>();
        if (t.TryGetProperty("boosts", out var array))
        {
            foreach (var b in array.EnumerateArray())
            {
                boosts.Add(JsonText.ReadTextValue(b));
            }
        }
        return new RewardTerms
        {
            Role = (RewardRole)t.GetProperty("role").GetInt32(),
            Level = t.GetProperty("level").GetInt32(),
            Kind = (RewardKind)t.GetProperty("kind").GetInt32(),
            Item = JsonText.ReadText(t, "item"),
            Rule = JsonText.RequireText(t, "rule"),
            Tier = JsonText.RequireText(t, "tier"),
            ReferralNumber = t.GetProperty("number").GetInt32(),
            PercentOfOrder = JsonText.ReadBool(t, "percent"),
            OrderAmount = JsonText.ReadMoney(t, "orderAmount"),
            Boosts = boosts,
            CappedBy = JsonText.ReadText(t, "cappedBy"),
            BeforeCap = JsonText.ReadMoney(t, "beforeCap"),
            ConversionTime = JsonText.RequireInstant(t, "conversionTime"),
            HoldUntil = JsonText.RequireInstant(t, "holdUntil"),
            HeldForReview = JsonText.ReadBool(t, "review"),
        };
    }
}
