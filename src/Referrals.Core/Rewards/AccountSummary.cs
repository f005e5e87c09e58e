using System.Buffers;
using System.Collections.Immutable;
using System.Text;
using System.Text.Json;
using NodaTime;
using NodaTime.Text;
using Referrals.Internal;

namespace Referrals.Rewards;

/// <summary>
/// What Core keeps per (program, participant) instead of reading the participant's whole history: the document of the
/// account summary row (summary key empty). Each field is maintained by Core when the event it depends on is written,
/// in the same unit of work, under the row's version; a store stores the JSON (<see cref="ToJson"/>) verbatim.
/// </summary>
/// <remarks>
/// <list type="bullet">
/// <item><see cref="FirstConversion"/>: the customer's earliest conversion (new-customer check).</item>
/// <item><see cref="FirstReferral"/>: the customer's earliest credited conversion and its referrer (sticky referee,
/// chains, ring check).</item>
/// <item><see cref="CountedReferrals"/>, <see cref="LastReferral"/>: the referrer's successful referrals and the latest
/// by (event time, order id): a conversion after it is referral <c>CountedReferrals + 1</c> without reading any other.</item>
/// <item><see cref="CreditedOrders"/>, <see cref="RefundedOrders"/>: the refund-abuse check.</item>
/// <item><see cref="Totals"/>: the beneficiary's rewards by status and currency (<see cref="WithReward"/>), from which
/// <see cref="Balance"/> and <see cref="OpenRewards"/> follow.</item>
/// <item><see cref="ErasedAt"/>: the participant's personal data was erased; Core decides nothing of theirs again.</item>
/// </list>
/// </remarks>
internal sealed record AccountSummary
{
    /// <summary>The document format written by <see cref="ToJson"/>; <see cref="FromJson"/> reads every format up to it.</summary>
    public const int FormatVersion = 1;

    public static readonly AccountSummary Empty = new();

    /// <summary>A conversion's place in event-time order: (event time, order id), ids ordinal.</summary>
    internal readonly record struct Point(Instant Time, string OrderId) : IComparable<Point>
    {
        public int CompareTo(Point other)
        {
            int c = Time.CompareTo(other.Time);
            return c != 0 ? c : string.CompareOrdinal(OrderId, other.OrderId);
        }
    }

    /// <summary>The rewards of one status in one currency: how many, what is left of them (net) and what they earned.</summary>
    internal readonly record struct Total(RewardStatus Status, string Currency, int Count, decimal Net, decimal Earned);

    public Point? FirstConversion { get; init; }

    public Point? FirstReferral { get; init; }

    public ParticipantId? FirstReferrer { get; init; }

    public int CountedReferrals { get; init; }

    public Point? LastReferral { get; init; }

    public int CreditedOrders { get; init; }

    public int RefundedOrders { get; init; }

    /// <summary>By status, then currency (ordinal); no entry with a count of 0.</summary>
    public ImmutableArray<Total> Totals { get; init; } = [];

    public Instant? ErasedAt { get; init; }

    /// <summary>Rewards pending or approved (open: not yet fulfilled, rejected or revoked).</summary>
    public int OpenRewards
    {
        get
        {
            int n = 0;
            foreach (var t in Totals)
            {
                if (t.Status is RewardStatus.Pending or RewardStatus.Approved)
                {
                    n += t.Count;
                }
            }
            return n;
        }
    }

    /// <summary>The sum of the beneficiary's ledger entries per currency (ordinal): the net of every reward.</summary>
    public IReadOnlyList<Money> Balance
    {
        get
        {
            var sums = new SortedDictionary<string, decimal>(StringComparer.Ordinal);
            foreach (var t in Totals)
            {
                sums[t.Currency] = sums.GetValueOrDefault(t.Currency) + t.Net;
            }
            return [.. sums.Select(s => new Money(s.Value, s.Key))];
        }
    }

    /// <summary>
    /// The summary after one of the beneficiary's rewards moved from <paramref name="before"/> (<see langword="null"/>:
    /// it was just earned) to <paramref name="after"/>: its count, net and earned amount leave the old status's total
    /// and join the new one's. Applying every state change of every reward gives the totals of the rewards' final states.
    /// </summary>
    /// <exception cref="ArgumentException">The states are not of one reward of this summary's currency bookkeeping (ids differ).</exception>
    public AccountSummary WithReward(RewardFold.State? before, RewardFold.State after)
    {
        if (before is { } b && !string.Equals(b.Id, after.Id, StringComparison.Ordinal))
        {
            throw new ArgumentException($"Reward '{after.Id}' cannot follow reward '{b.Id}'.", nameof(after));
        }
        var totals = Totals.ToBuilder();
        if (before is { } old)
        {
            Add(totals, old.Status, old.Net.Currency, -1, -old.Net.Amount, -old.Earned.Amount);
        }
        Add(totals, after.Status, after.Net.Currency, 1, after.Net.Amount, after.Earned.Amount);
        return this with { Totals = totals.ToImmutable() };
    }

    private static void Add(ImmutableArray<Total>.Builder totals, RewardStatus status, string currency, int count, decimal net, decimal earned)
    {
        for (int i = 0; i < totals.Count; i++)
        {
            var t = totals[i];
            if (t.Status == status && string.Equals(t.Currency, currency, StringComparison.Ordinal))
            {
                var sum = t with { Count = t.Count + count, Net = t.Net + net, Earned = t.Earned + earned };
                if (sum.Count == 0)
                {
                    totals.RemoveAt(i);
                }
                else
                {
                    totals[i] = sum;
                }
                return;
            }
            if (t.Status > status || (t.Status == status && string.CompareOrdinal(t.Currency, currency) > 0))
            {
                totals.Insert(i, new Total(status, currency, count, net, earned));
                return;
            }
        }
        totals.Add(new Total(status, currency, count, net, earned));
    }

    /// <summary>The totals of one status, as a count and an amount per currency (net, or earned for rejected and revoked).</summary>
    public RewardTotals TotalsOf(RewardStatus status, bool net)
    {
        int count = 0;
        var amounts = new List<Money>();
        foreach (var t in Totals)
        {
            if (t.Status == status)
            {
                count += t.Count;
                amounts.Add(new Money(net ? t.Net : t.Earned, t.Currency));
            }
        }
        return new RewardTotals(count, amounts);
    }

    // ---------------------------------------------------------------- JSON

    private static readonly InstantPattern Time = InstantPattern.ExtendedIso;

    /// <summary>The summary as the document of its <c>SummaryRow</c>: compact JSON with a <c>"v"</c> format field.</summary>
    public string ToJson()
    {
        var buffer = new ArrayBufferWriter<byte>(256);
        using (var w = new Utf8JsonWriter(buffer))
        {
            w.WriteStartObject();
            w.WriteNumber("v", FormatVersion);
            WritePoint(w, "firstConversion", FirstConversion);
            WritePoint(w, "firstReferral", FirstReferral);
            if (FirstReferrer is { } referrer)
            {
                JsonText.WriteText(w, "firstReferrer", referrer.Value);
            }
            w.WriteNumber("counted", CountedReferrals);
            WritePoint(w, "lastReferral", LastReferral);
            w.WriteNumber("credited", CreditedOrders);
            w.WriteNumber("refunded", RefundedOrders);
            w.WriteStartArray("totals");
            foreach (var t in Totals)
            {
                w.WriteStartObject();
                w.WriteNumber("status", (int)t.Status);
                w.WriteString("currency", t.Currency);
                w.WriteNumber("count", t.Count);
                w.WriteNumber("net", t.Net);
                w.WriteNumber("earned", t.Earned);
                w.WriteEndObject();
            }
            w.WriteEndArray();
            if (ErasedAt is { } erased)
            {
                w.WriteString("erasedAt", Time.Format(erased));
            }
            w.WriteEndObject();
        }
        return Encoding.UTF8.GetString(buffer.WrittenSpan);
    }

    private static void WritePoint(Utf8JsonWriter w, string name, Point? point)
    {
        if (point is { } p)
        {
            w.WriteStartObject(name);
            w.WriteString("time", Time.Format(p.Time));
            JsonText.WriteText(w, "order", p.OrderId);
            w.WriteEndObject();
        }
    }

    /// <summary>Reads a document written by <see cref="ToJson"/> of this or an earlier format; unknown properties are skipped.</summary>
    /// <exception cref="FormatException">The text is not such a document, or is of a newer format than this library reads.</exception>
    public static AccountSummary FromJson(string json)
    {
        ArgumentNullException.ThrowIfNull(json);
        try
        {
            using var doc = JsonDocument.Parse(json);
            var root = doc.RootElement;
            int version = root.GetProperty("v").GetInt32();
            if (version is < 1 or > FormatVersion)
            {
                throw new FormatException($"An account summary of format {version} cannot be read by this library (formats 1 to {FormatVersion}).");
            }
            var totals = ImmutableArray.CreateBuilder<Total>();
            if (root.TryGetProperty("totals", out var array))
            {
                foreach (var t in array.EnumerateArray())
                {
                    totals.Add(new Total((RewardStatus)t.GetProperty("status").GetInt32(), t.GetProperty("currency").GetString()!,
                        t.GetProperty("count").GetInt32(), t.GetProperty("net").GetDecimal(), t.GetProperty("earned").GetDecimal()));
                }
            }
            return new AccountSummary
            {
                FirstConversion = ReadPoint(root, "firstConversion"),
                FirstReferral = ReadPoint(root, "firstReferral"),
                FirstReferrer = JsonText.ReadText(root, "firstReferrer") is { } referrer ? new ParticipantId(referrer) : null,
                CountedReferrals = root.TryGetProperty("counted", out var c) ? c.GetInt32() : 0,
                LastReferral = ReadPoint(root, "lastReferral"),
                CreditedOrders = root.TryGetProperty("credited", out var cr) ? cr.GetInt32() : 0,
                RefundedOrders = root.TryGetProperty("refunded", out var rf) ? rf.GetInt32() : 0,
                Totals = totals.ToImmutable(),
                ErasedAt = root.TryGetProperty("erasedAt", out var e) ? Time.Parse(e.GetString()!).GetValueOrThrow() : null,
            };
        }
        catch (Exception ex) when (ex is JsonException or KeyNotFoundException or InvalidOperationException or UnparsableValueException or ArgumentException)
        {
            throw new FormatException($"Not an account summary document: {ex.Message}", ex);
        }
    }

    private static Point? ReadPoint(JsonElement root, string name) =>
        root.TryGetProperty(name, out var p)
            ? new Point(Time.Parse(p.GetProperty("time").GetString()!).GetValueOrThrow(), JsonText.ReadText(p, "order") ?? throw new FormatException($"'{name}' has no order id."))
            : null;

    public bool Equals(AccountSummary? other) =>
        other is not null
        && FirstConversion == other.FirstConversion && FirstReferral == other.FirstReferral && FirstReferrer == other.FirstReferrer
        && CountedReferrals == other.CountedReferrals && LastReferral == other.LastReferral && CreditedOrders == other.CreditedOrders
        && RefundedOrders == other.RefundedOrders && ErasedAt == other.ErasedAt && Totals.SequenceEqual(other.Totals);

    public override int GetHashCode() => HashCode.Combine(CountedReferrals, CreditedOrders, Totals.Length);
}
