using System.Collections.Immutable;
using Referrals.Internal;

namespace Referrals.Storage;

/// <summary>
/// A referrer's use of the program's caps in one calendar period (the summary row keyed <c>cap:</c> + period): how many
/// orders earned a live referrer reward in the period, and the net value of those rewards per currency. Core adds to it
/// when a reward is earned and subtracts when one is rejected, revoked or reduced, so a reversed reward gives its room back.
/// Rewards use the room in event-time order (issue 18): <see cref="Last"/> is the latest position (conversion time, order
/// id) that ever used room in the period — an order after it is in order and its usage before is the row's total — and
/// <see cref="Capped"/> says a reward in the period was ever reduced or skipped by a cap, so a change of room at one
/// position can change the rewards after it (when it is false, every reward in the period fitted, and a change of room
/// changes no other reward).
/// </summary>
internal sealed record CapUsageDocument(int Orders, ImmutableSortedDictionary<string, decimal> Value)
{
    public const int FormatVersion = 2;

    public static readonly CapUsageDocument Empty = new(0, ImmutableSortedDictionary.Create<string, decimal>(StringComparer.Ordinal));

    /// <summary>The latest position that used room in the period (never moves back), or <see langword="null"/>.</summary>
    public Rewards.AccountSummary.Point? Last { get; init; }

    /// <summary>Whether a reward in the period was ever reduced or skipped by a cap (never reset).</summary>
    public bool Capped { get; init; }

    /// <summary>Whether <paramref name="point"/> comes after every position that used room in the period.</summary>
    public bool IsAfterAll(Rewards.AccountSummary.Point point) => Last is not { } last || last.CompareTo(point) < 0;

    /// <summary>The row with <paramref name="point"/> as its latest position if it is later.</summary>
    public CapUsageDocument Reaching(Rewards.AccountSummary.Point point) => IsAfterAll(point) ? this with { Last = point } : this;

    /// <summary>The summary key of a period (<see cref="Rewards.RewardRuleSet.PeriodKey"/>).</summary>
    public static string Key(string period) => "cap:" + period;

    public decimal ValueIn(string currency) => Value.GetValueOrDefault(currency);

    public CapUsageDocument Add(int orders, string currency, decimal value) =>
        this with { Orders = Orders + orders, Value = value == 0 ? Value : Value.SetItem(currency, Value.GetValueOrDefault(currency) + value) };

    public string ToJson() => JsonText.Write(FormatVersion, this, static (w, d) =>
    {
        w.WriteNumber("orders", d.Orders);
        w.WriteStartObject("value");
        foreach (var (currency, value) in d.Value)
        {
            w.WriteNumber(currency, value);
        }
        w.WriteEndObject();
        if (d.Last is { } last)
        {
            w.WriteString("lastTime", NodaTime.Text.InstantPattern.ExtendedIso.Format(last.Time));
            JsonText.WriteText(w, "lastOrder", last.OrderId);
        }
        if (d.Capped)
        {
            w.WriteBoolean("capped", true);
        }
    });

    /// <exception cref="FormatException">Not a cap usage document this library reads.</exception>
    public static CapUsageDocument FromJson(string json) => JsonText.Read(json, FormatVersion, "cap usage", root =>
    {
        var value = ImmutableSortedDictionary.CreateBuilder<string, decimal>(StringComparer.Ordinal);
        foreach (var p in root.GetProperty("value").EnumerateObject())
        {
            value[p.Name] = p.Value.GetDecimal();
        }
        // Format 1 had neither: a period of an older file counts as capped with its latest position unknown (the
        // conservative reading: a change of room there re-decides the rewards after it).
        bool v1 = root.GetProperty("v").GetInt32() == 1;
        Rewards.AccountSummary.Point? last = root.TryGetProperty("lastTime", out var t)
            ? new(NodaTime.Text.InstantPattern.ExtendedIso.Parse(t.GetString()!).GetValueOrThrow(), JsonText.RequireText(root, "lastOrder"))
            : v1 ? new(NodaTime.Instant.FromUtc(9999, 1, 1, 0, 0), string.Empty) : null;
        return new CapUsageDocument(root.GetProperty("orders").GetInt32(), value.ToImmutable())
        {
            Last = last,
            Capped = v1 || (root.TryGetProperty("capped", out var c) && c.GetBoolean()),
        };
    });
}
