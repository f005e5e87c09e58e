using System.Collections.Concurrent;
using NodaTime;
using Referrals.Codes;
using Referrals.Storage;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Contracts;

/// <summary>
/// What every <see cref="IReferralCodeStore"/> must do. A store's test class derives from this and says how to make a
/// fresh, empty store; every fact here then runs against it.
/// </summary>
public abstract class ReferralCodeStoreContract
{
    /// <summary>A new, empty store. Called once per test (or more, each call giving another empty store).</summary>
    protected abstract IReferralCodeStore CreateStore();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Fact]
    public async Task TryAdd_then_Find_returns_every_field()
    {
        var store = CreateStore();
        var full = new ReferralCodeRecord
        {
            Code = Code("SHOP-ABCD-EFGH"),
            Display = "SHOP-ABCD-EFGH",
            Program = Program,
            Owner = new ParticipantId("c-42"),
            Medium = ShareMedium.Sms,
            Kind = CodeKind.Vanity,
            Status = CodeStatus.Paused,
            CreatedAt = Start + Duration.FromTicks(123_456_789),
            ExpiresAt = Start + Duration.FromDays(30),
            MaxUses = 5,
            Uses = 2,
            Version = 7,
        };
        var bulk = Record(Code("BULK0001"), owner: null) with { Kind = CodeKind.Bulk, Medium = ShareMedium.Card };

        Assert.True(await store.TryAddAsync(full, Ct));
        Assert.True(await store.TryAddAsync(bulk, Ct));

        Assert.Equal(full, await store.FindAsync(full.Code, Ct));
        Assert.Equal(bulk, await store.FindAsync(bulk.Code, Ct));
        Assert.Null(await store.FindAsync(Code("NOSUCH1"), Ct));
    }

    [Fact]
    public async Task The_same_normalised_code_is_stored_once()
    {
        var store = CreateStore();
        // Typed differently, folded alike: lower case, a dash, O for 0.
        var first = Record(Code("jane-2o"), owner: "jane", display: "Jane20");
        var second = Record(Code("JANE20"), owner: "john", display: "JANE20");
        Assert.Equal(first.Code, second.Code);

        Assert.True(await store.TryAddAsync(first, Ct));
        Assert.False(await store.TryAddAsync(second, Ct));
        Assert.False(await store.TryAddAsync(first, Ct));

        var stored = await store.FindAsync(Code("JANE-20"), Ct);
        Assert.Equal(first, stored);
        Assert.Equal(1, await CountAllAsync(store));
    }

    [Fact]
    public async Task AddMany_skips_codes_that_exist_in_the_store_or_earlier_in_the_batch()
    {
        var store = CreateStore();
        Assert.True(await store.TryAddAsync(Record(Code("AAAA1"), owner: "old"), Ct));

        var rejected = await store.AddManyAsync(
        [
            Record(Code("AAAA1"), owner: "new"),
            Record(Code("BBBB2"), owner: "first"),
            Record(Code("CCCC3"), owner: "first"),
            Record(Code("bbbb-2"), owner: "second"),
        ], Ct);

        Assert.Equal([Code("AAAA1"), Code("BBBB2")], rejected.OrderBy(c => c.Value, StringComparer.Ordinal));
        Assert.Equal("old", (await store.FindAsync(Code("AAAA1"), Ct))!.Owner!.Value.Value);
        Assert.Equal("first", (await store.FindAsync(Code("BBBB2"), Ct))!.Owner!.Value.Value);
        Assert.NotNull(await store.FindAsync(Code("CCCC3"), Ct));
        Assert.Equal(3, await CountAllAsync(store));
        Assert.Empty(await store.AddManyAsync([], Ct));
    }

    [Fact]
    public async Task Concurrent_adds_with_collisions_store_each_code_once_and_report_one_winner()
    {
        var store = CreateStore();
        const int Tasks = 8, PerTask = 200, Stride = 100;
        // Task t tries codes [100t, 100t + 200): each overlaps its neighbours by 100 codes, 900 distinct in all.
        var winners = new ConcurrentDictionary<string, ConcurrentBag<string>>(StringComparer.Ordinal);
        using var start = new Barrier(Tasks);
        var work = Enumerable.Range(0, Tasks).Select(t => Task.Run(async () =>
        {
            string owner = $"task-{t}";
            var records = Enumerable.Range(t * Stride, PerTask).Select(n => Record(Code(n), owner)).ToList();
            start.SignalAndWait(Ct);
            if (t % 2 == 0)
            {
                foreach (var r in records)
                {
                    if (await store.TryAddAsync(r, Ct))
                    {
                        winners.GetOrAdd(r.Code.Value, _ => []).Add(owner);
                    }
                }
            }
            else
            {
                foreach (var chunk in records.Chunk(50))
                {
                    var rejected = (await store.AddManyAsync(chunk, Ct)).ToHashSet();
                    foreach (var r in chunk.Where(r => !rejected.Contains(r.Code)))
                    {
                        winners.GetOrAdd(r.Code.Value, _ => []).Add(owner);
                    }
                }
            }
        }, Ct)).ToArray();
        await Task.WhenAll(work);

        const int Distinct = (Tasks - 1) * Stride + PerTask;
        Assert.Equal(Distinct, winners.Count);
        Assert.All(winners, w => Assert.Single(w.Value));

        var all = new List<ReferralCodeRecord>();
        await foreach (var r in store.ListAllAsync(Ct))
        {
            all.Add(r);
        }
        Assert.Equal(Distinct, all.Count);
        Assert.Equal(Distinct, all.Select(r => r.Code.Value).Distinct(StringComparer.Ordinal).Count());
        // The stored record is the one whose insert reported success.
        Assert.All(all, r => Assert.Equal(winners[r.Code.Value].Single(), r.Owner!.Value.Value));
    }

    [Fact]
    public async Task TryUpdate_succeeds_on_the_current_version_and_fails_on_a_stale_one()
    {
        var store = CreateStore();
        var v1 = Record(Code("UPD8TE1"));
        Assert.True(await store.TryAddAsync(v1, Ct));

        var paused = v1 with { Status = CodeStatus.Paused, Uses = 3, ExpiresAt = Start + Duration.FromDays(1), Version = 2 };
        Assert.True(await store.TryUpdateAsync(paused, expectedVersion: 1, Ct));

        // A second writer that also read version 1.
        var revoked = v1 with { Status = CodeStatus.Revoked, Version = 2 };
        Assert.False(await store.TryUpdateAsync(revoked, expectedVersion: 1, Ct));
        Assert.Equal(paused, await store.FindAsync(v1.Code, Ct));

        // It re-reads and retries on version 2.
        var revoked3 = paused with { Status = CodeStatus.Revoked, Version = 3 };
        Assert.True(await store.TryUpdateAsync(revoked3, expectedVersion: 2, Ct));
        Assert.Equal(revoked3, await store.FindAsync(v1.Code, Ct));
    }

    [Fact]
    public async Task TryUpdate_of_a_missing_code_fails_and_writes_nothing()
    {
        var store = CreateStore();
        Assert.False(await store.TryUpdateAsync(Record(Code("GH0ST1")) with { Version = 2 }, expectedVersion: 1, Ct));
        Assert.Null(await store.FindAsync(Code("GH0ST1"), Ct));
    }

    [Fact]
    public async Task TryUpdate_refuses_a_record_that_does_not_carry_the_next_version()
    {
        var store = CreateStore();
        var v1 = Record(Code("VERS10N"));
        Assert.True(await store.TryAddAsync(v1, Ct));
        await Assert.ThrowsAsync<ArgumentException>(async () => await store.TryUpdateAsync(v1 with { Version = 5 }, expectedVersion: 1, Ct));
        Assert.Equal(v1, await store.FindAsync(v1.Code, Ct));
    }

    [Fact]
    public async Task Of_concurrent_updates_from_one_version_exactly_one_wins()
    {
        var store = CreateStore();
        var v1 = Record(Code("RACE1"));
        Assert.True(await store.TryAddAsync(v1, Ct));

        using var start = new Barrier(8);
        var results = await Task.WhenAll(Enumerable.Range(0, 8).Select(i => Task.Run(async () =>
        {
            start.SignalAndWait(Ct);
            return (i, ok: await store.TryUpdateAsync(v1 with { Uses = i + 1, Version = 2 }, expectedVersion: 1, Ct));
        }, Ct)));

        var winner = Assert.Single(results, r => r.ok);
        var stored = await store.FindAsync(v1.Code, Ct);
        Assert.Equal(2, stored!.Version);
        Assert.Equal(winner.i + 1, stored.Uses);
    }

    [Fact]
    public async Task ListByOwner_returns_the_owners_codes_in_the_program_ordered_by_code()
    {
        var store = CreateStore();
        string[] mine = ["ZZ9", "AA1", "MM5", "BB2"];
        foreach (var c in mine)
        {
            Assert.True(await store.TryAddAsync(Record(Code(c), owner: "jane"), Ct));
        }
        Assert.True(await store.TryAddAsync(Record(Code("CC3"), owner: "john"), Ct));
        Assert.True(await store.TryAddAsync(Record(Code("DD4"), owner: "jane", program: OtherProgram), Ct));
        Assert.True(await store.TryAddAsync(Record(Code("EE5"), owner: null), Ct));

        var listed = await store.ListByOwnerAsync(Program, new ParticipantId("jane"), Ct);

        Assert.Equal(["AA1", "BB2", "MM5", "ZZ9"], listed.Select(r => r.Code.Value));
        Assert.All(listed, r => Assert.Equal("jane", r.Owner!.Value.Value));
        Assert.Empty(await store.ListByOwnerAsync(Program, new ParticipantId("nobody"), Ct));
        Assert.Equal(["DD4"], (await store.ListByOwnerAsync(OtherProgram, new ParticipantId("jane"), Ct)).Select(r => r.Code.Value));
    }

    [Fact]
    public async Task ListAll_streams_every_code_once()
    {
        var store = CreateStore();
        var added = Enumerable.Range(0, 300).Select(n => Record(Code(n), owner: n % 3 == 0 ? null : $"c-{n % 7}")).ToList();
        Assert.Empty(await store.AddManyAsync(added, Ct));

        var listed = new Dictionary<string, ReferralCodeRecord>(StringComparer.Ordinal);
        await foreach (var r in store.ListAllAsync(Ct))
        {
            listed.Add(r.Code.Value, r);
        }

        Assert.Equal(added.Count, listed.Count);
        Assert.All(added, r => Assert.Equal(r, listed[r.Code.Value]));
    }

    [Fact]
    public async Task ListAll_observes_cancellation()
    {
        var store = CreateStore();
        Assert.Empty(await store.AddManyAsync(Enumerable.Range(0, 10).Select(n => Record(Code(n))).ToList(), Ct));
        using var cancelled = new CancellationTokenSource();
        await cancelled.CancelAsync();

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in store.ListAllAsync(cancelled.Token))
            {
            }
        });
    }

    private static async Task<int> CountAllAsync(IReferralCodeStore store)
    {
        int n = 0;
        await foreach (var _ in store.ListAllAsync(Ct))
        {
            n++;
        }
        return n;
    }
}
