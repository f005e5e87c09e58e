using System.Collections.Concurrent;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Privacy;
using Referrals.Storage;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Contracts;

/// <summary>What every <see cref="ITouchStore"/> must do; a store's test class derives from this.</summary>
public abstract class TouchStoreContract
{
    /// <summary>A new, empty store.</summary>
    protected abstract ITouchStore CreateStore();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    private static readonly ParticipantId Jane = new("jane");

    [Fact]
    public async Task TryAdd_then_Find_returns_every_field()
    {
        var store = CreateStore();
        var full = new Touch
        {
            Id = "pos-17-0042",
            Program = Program,
            Kind = TouchKind.PosCodeScan,
            Referrer = new ParticipantId("ana"),
            Code = Code("ANA-2026"),
            Medium = ShareMedium.Receipt,
            VisitorId = "v-1",
            Customer = Jane,
            Contact = Email(1),
            StoreId = "store-7",
            RegisterId = "till-3",
            OrderId = "o-1",
            EventTime = Start + Duration.FromTicks(123_456_789),
            RecordedAt = Start + Duration.FromDays(2),
        };
        // Only what is required: every optional field null.
        var bare = NewTouch("click-1", Start) with { Medium = ShareMedium.Unknown };

        Assert.True(await store.TryAddTouchAsync(full, Ct));
        Assert.True(await store.TryAddTouchAsync(bare with { VisitorId = "v-2" }, Ct));

        Assert.Equal([full], await store.FindTouchesAsync(Program, Jane, [], [], Ct));
        Assert.Equal([bare with { VisitorId = "v-2" }], await store.FindTouchesAsync(Program, new ParticipantId("nobody"), ["v-2"], [], Ct));
        Assert.Equal([full], await store.FindTouchesAsync(Program, new ParticipantId("nobody"), [], [Email(1)], Ct));
    }

    [Fact]
    public async Task A_touch_is_found_by_its_id_in_its_program_only()
    {
        var store = CreateStore();
        var touch = NewTouch("2::order:o-ü", Start + Duration.FromTicks(7)) with { Customer = Jane, StoreId = "s-1", Code = Code("ANA-2026") };
        Assert.True(await store.TryAddTouchAsync(touch, Ct));
        Assert.True(await store.TryAddTouchAsync(NewTouch("t-other", Start, OtherProgram), Ct));

        Assert.Equal(touch, await store.FindTouchAsync(Program, "2::order:o-ü", Ct));
        Assert.Null(await store.FindTouchAsync(OtherProgram, "2::order:o-ü", Ct));
        Assert.Null(await store.FindTouchAsync(Program, "t-other", Ct));
        Assert.Null(await store.FindTouchAsync(Program, "2::order:o-u", Ct));
    }

    [Fact]
    public async Task The_same_touch_id_is_stored_once_and_the_first_record_is_kept()
    {
        var store = CreateStore();
        var first = NewTouch("t-1", Start) with { Customer = Jane, Referrer = new ParticipantId("ana") };

        Assert.True(await store.TryAddTouchAsync(first, Ct));
        Assert.False(await store.TryAddTouchAsync(first, Ct));
        // Another content under the same id, even in another program: refused, nothing changed.
        Assert.False(await store.TryAddTouchAsync(first with { Referrer = new ParticipantId("bob"), EventTime = Start + Duration.FromHours(1) }, Ct));
        Assert.False(await store.TryAddTouchAsync(first with { Program = OtherProgram }, Ct));

        Assert.Equal([first], await store.FindTouchesAsync(Program, Jane, [], [], Ct));
        Assert.Empty(await store.FindTouchesAsync(OtherProgram, Jane, [], [], Ct));
    }

    [Fact]
    public async Task Find_returns_the_touches_naming_the_customer_any_visitor_or_any_contact_each_once()
    {
        var store = CreateStore();
        Touch[] mine =
        [
            NewTouch("by-customer", Start) with { Customer = Jane },
            NewTouch("by-visitor-1", Start + Duration.FromMinutes(1)) with { VisitorId = "v-1" },
            NewTouch("by-visitor-2", Start + Duration.FromMinutes(2)) with { VisitorId = "v-2" },
            NewTouch("by-email", Start + Duration.FromMinutes(3)) with { Contact = Email(1) },
            NewTouch("by-phone", Start + Duration.FromMinutes(4)) with { Contact = Phone(1) },
            // Names the customer, a visitor and a contact: found three times, returned once.
            NewTouch("by-all", Start + Duration.FromMinutes(5)) with { Customer = Jane, VisitorId = "v-1", Contact = Email(1) },
            // A visitor and a contact, both looked for.
            NewTouch("by-two", Start + Duration.FromMinutes(6)) with { VisitorId = "v-2", Contact = Phone(1) },
        ];
        Touch[] others =
        [
            NewTouch("other-customer", Start) with { Customer = new ParticipantId("john"), VisitorId = "v-9" },
            NewTouch("other-program", Start) with { Program = OtherProgram, Customer = Jane, VisitorId = "v-1", Contact = Email(1) },
            // The e-mail hash's value as a phone hash is another contact.
            NewTouch("same-value-as-phone", Start) with { Contact = Phone(2) },
            NewTouch("same-value-as-email", Start) with { Contact = Email(2) },
        ];
        foreach (var t in others.Concat(mine).Reverse())
        {
            Assert.True(await store.TryAddTouchAsync(t, Ct));
        }

        var found = await store.FindTouchesAsync(Program, Jane, ["v-1", "v-2", "v-404"], [Email(1), Phone(1), Email(404)], Ct);

        Assert.Equal(mine.Select(t => t.Id), found.Select(t => t.Id));
        Assert.Equal(mine, found);
        Assert.Equal(["by-customer", "by-all"], (await store.FindTouchesAsync(Program, Jane, [], [], Ct)).Select(t => t.Id));
        Assert.Equal(["by-visitor-2", "by-two"], (await store.FindTouchesAsync(Program, new ParticipantId("nobody"), ["v-2", "v-2"], [], Ct)).Select(t => t.Id));
        Assert.Equal(["same-value-as-email"], (await store.FindTouchesAsync(Program, new ParticipantId("nobody"), [], [Email(2)], Ct)).Select(t => t.Id));
        Assert.Empty(await store.FindTouchesAsync(Program, new ParticipantId("nobody"), ["v-404"], [Phone(404)], Ct));
    }

    [Fact]
    public async Task Find_orders_by_event_time_then_id_in_ordinal_order()
    {
        var store = CreateStore();
        var later = Start + Duration.FromHours(1);
        // At one instant, ordinal (UTF-16) order is "a", "b", astral, high BMP; SQLite's BINARY order would swap the last two.
        string[] idsAtLater = [HighBmpText, "b", AstralText, "a"];
        foreach (var id in idsAtLater)
        {
            Assert.True(await store.TryAddTouchAsync(NewTouch(id, later) with { VisitorId = "v-" + id }, Ct));
        }
        Assert.True(await store.TryAddTouchAsync(NewTouch("z-earliest", Start) with { Customer = Jane }, Ct));
        Assert.True(await store.TryAddTouchAsync(NewTouch("0-latest", later + Duration.FromTicks(1)) with { Contact = Email(1) }, Ct));

        var found = await store.FindTouchesAsync(Program, Jane, idsAtLater.Select(id => "v-" + id).ToList(), [Email(1)], Ct);

        Assert.Equal(["z-earliest", "a", "b", AstralText, HighBmpText, "0-latest"], found.Select(t => t.Id));
    }

    [Fact]
    public async Task Concurrent_adds_with_duplicate_ids_store_each_touch_once_and_report_one_winner()
    {
        var store = CreateStore();
        const int Tasks = 8, PerTask = 200, Stride = 100;
        // Task t adds touches [100t, 100t + 200): each overlaps its neighbours by 100, 900 distinct in all.
        var winners = new ConcurrentDictionary<string, ConcurrentBag<int>>(StringComparer.Ordinal);
        using var start = new Barrier(Tasks);
        await Task.WhenAll(Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            start.SignalAndWait(Ct);
            for (int n = t * Stride; n < t * Stride + PerTask; n++)
            {
                var touch = NewTouch($"t-{n:D4}", Start + Duration.FromSeconds(n % 37), referrer: $"task-{t}") with { Customer = Jane };
                if (await store.TryAddTouchAsync(touch, Ct))
                {
                    winners.GetOrAdd(touch.Id, _ => []).Add(t);
                }
            }
        }, Ct)));

        const int Distinct = (Tasks - 1) * Stride + PerTask;
        Assert.Equal(Distinct, winners.Count);
        Assert.All(winners, w => Assert.Single(w.Value));
        var found = await store.FindTouchesAsync(Program, Jane, [], [], Ct);
        Assert.Equal(Distinct, found.Count);
        Assert.Equal(Distinct, found.Select(t => t.Id).Distinct(StringComparer.Ordinal).Count());
        // The stored touch is the one whose insert reported success.
        Assert.All(found, t => Assert.Equal($"task-{winners[t.Id].Single()}", t.Referrer.Value));
        Assert.Equal(found.OrderBy(t => t.EventTime).ThenBy(t => t.Id, StringComparer.Ordinal), found);
    }

    [Fact]
    public async Task An_empty_store_finds_nothing()
    {
        var store = CreateStore();
        Assert.Empty(await store.FindTouchesAsync(Program, Jane, ["v-1"], [Email(1)], Ct));
        Assert.Empty(await store.FindTouchesAsync(Program, Jane, [], new List<ContactHash>(), Ct));
    }
}
