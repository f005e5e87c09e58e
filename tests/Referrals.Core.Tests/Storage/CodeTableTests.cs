using System.Globalization;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Codes;
using Referrals.Storage;

namespace Referrals.Tests.Storage;

/// <summary>
/// The in-memory store's <see cref="CodeTable"/> against a plain model: versions, their instants, change feed positions
/// (a sequence that a rollback leaves gaps in), the session's own view and everyone else's, through stopped units,
/// rollbacks, commits, and feeds long enough to drop their stale entries.
/// </summary>
public sealed class CodeTableTests
{
    private static readonly ProgramId Program = new("codes");
    private static readonly Instant T0 = Instant.FromUtc(2026, 11, 2, 9, 0);

    /// <summary>
    /// A write of a code: the next version the session sees, or (Bad) one that does not follow it and stops the unit; Bulk:
    /// a new code written as bulk generation writes it (its key and a shared shape, <see cref="CodeTable.TryAppendBulk"/>),
    /// or, with Bad, a bulk write of a code the session sees, refused.
    /// </summary>
    public sealed record Write(int Code, bool Bad, bool Bulk = false);

    /// <summary>A session: its units, each of writes, and whether it commits or rolls back all it wrote.</summary>
    public sealed record Session(Write[][] Units, bool Commits);

    private static Arbitrary<Session[]> Sessions(int codes, int maxWrites)
    {
        var write = from code in Gen.Choose(0, codes - 1)
                    from bad in Gen.Frequency((30, Gen.Constant(false)), (1, Gen.Constant(true)))
                    from bulk in Gen.Frequency((2, Gen.Constant(false)), (1, Gen.Constant(true)))
                    select new Write(code, bad, bulk);
        var session = from units in Gen.Choose(1, 4).SelectMany(n => Gen.Choose(1, maxWrites).SelectMany(w => Gen.ArrayOf(write, w)).ArrayOf(n))
                      from commits in Gen.Frequency((3, Gen.Constant(true)), (1, Gen.Constant(false)))
                      select new Session(units, commits);
        return Gen.Choose(1, 16).SelectMany(n => Gen.ArrayOf(session, n)).ToArbitrary();
    }

    // Few codes, so that most writes are new versions; many writes, so that the feed drops its stale entries at commits.
    [Property(MaxTest = 150)]
    public Property Reads_match_a_model_through_stopped_units_rollbacks_and_commits_with_many_versions() =>
        Prop.ForAll(Sessions(codes: 12, maxWrites: 80), sessions => Run(sessions));

    // Many codes, so that most writes add one (and a rollback removes it from the table).
    [Property(MaxTest = 150)]
    public Property Reads_match_a_model_through_stopped_units_rollbacks_and_commits_with_many_codes() =>
        Prop.ForAll(Sessions(codes: 400, maxWrites: 60), sessions => Run(sessions));

    [Fact]
    public void A_long_feed_of_few_codes_drops_its_stale_entries_and_keeps_every_code_once_at_its_latest_position()
    {
        // 3,000 commits of one new version each of three codes: the feed passes 2 × codes + 1,024 entries many times.
        var sessions = Enumerable.Range(0, 3000).Select(i => new Session([[new Write(i % 3, false)]], Commits: true)).ToArray();
        var (table, committed) = Run(sessions);
        Assert.Equal(3, committed.Count);
        var changes = new List<(long Position, ReferralCodeRecord Record)>();
        table.ListChanges(0, 10, own: false, changes);
        Assert.Equal([(2998L, "C0000", 1000L), (2999L, "C0001", 1000L), (3000L, "C0002", 1000L)], changes.Select(c => (c.Position, c.Record.Code.Value, c.Record.Version)));
    }

    [Fact]
    public void A_code_given_twice_in_a_rolled_back_unit_leaves_no_trace_but_its_feed_positions()
    {
        var table = new CodeTable();
        var first = Row("JANE20", 1, 1);
        Assert.True(table.TryAppend(first, out var previous));
        Assert.Null(previous);
        Assert.True(table.TryAppend(Row("JANE20", 2, 2), out previous));
        Assert.Same(first.Record, previous);
        Assert.False(table.TryAppend(Row("JANE20", 1, 3), out previous));
        Assert.Equal(2, previous!.Version);
        table.RollbackTo(0);
        Assert.Null(table.Latest("JANE20", own: true));
        Assert.Empty(table.History("JANE20", own: true));
        Assert.True(table.TryAppend(Row("JANE20", 1, 4), out _));
        table.Commit();
        var changes = new List<(long Position, ReferralCodeRecord Record)>();
        table.ListChanges(0, 10, own: false, changes);
        Assert.Equal([3L], changes.Select(c => c.Position)); // positions 1 and 2 were taken by the rolled-back writes
    }

    private static CodeRow Row(string code, long version, int tick) =>
        new(new ReferralCodeRecord(
            code: ReferralCode.FromNormalized(code),
            display: code,
            program: Program,
            owner: null,
            medium: ShareMedium.Unknown,
            kind: CodeKind.Bulk,
            status: CodeStatus.Active,
            createdAt: T0,
            expiresAt: null,
            maxUses: null,
            uses: 0,
            version: version), T0 + Duration.FromSeconds(tick));

    private static string Key(int code) => "C" + code.ToString("D4", CultureInfo.InvariantCulture);

    /// <summary>A code in the model: its versions, oldest first, and its feed position.</summary>
    private sealed record Versions(List<CodeRow> Rows, long Position);

    private static (CodeTable Table, Dictionary<string, Versions> Committed) Run(Session[] sessions)
    {
        var table = new CodeTable();
        var committed = new Dictionary<string, Versions>(StringComparer.Ordinal);
        long lastPosition = 0;
        int tick = 0;
        foreach (var plan in sessions)
        {
            var own = Copy(committed);
            foreach (var unit in plan.Units)
            {
                var next = Copy(own);
                int mark = table.Mark;
                bool stopped = false;
                foreach (var w in unit)
                {
                    string key = Key(w.Code);
                    var seen = next.GetValueOrDefault(key);
                    long following = (seen?.Rows.Count ?? 0) + 1;
                    CodeRow row;
                    bool written;
                    if (w.Bulk && (following == 1) != w.Bad)
                    {
                        var at = T0 + Duration.FromSeconds(++tick);
                        row = new CodeRow(Shape.Record(key), at);
                        written = table.TryAppendBulk(Shape, key, at);
                        Assert.Equal(!w.Bad, written);
                    }
                    else
                    {
                        row = Row(key, w.Bad ? (following == 1 ? 2 : following - 1) : following, ++tick);
                        written = table.TryAppend(row, out var previous);
                        Assert.Equal(!w.Bad, written);
                        AssertSameOrEqual(seen?.Rows[^1].Record, previous);
                    }
                    if (!written)
                    {
                        stopped = true;
                        break;
                    }
                    next[key] = new Versions([.. seen?.Rows ?? [], row], ++lastPosition);
                }
                if (stopped)
                {
                    table.RollbackTo(mark);
                }
                else
                {
                    own = next;
                }
                Check(table, own, own: true);
                Check(table, committed, own: false);
            }
            if (plan.Commits)
            {
                table.Commit();
                committed = own;
            }
            else
            {
                table.RollbackTo(0);
            }
            Check(table, committed, own: true);
            Check(table, committed, own: false);
        }
        return (table, committed);
    }

    // Bulk generation's shape: a code of 4 symbols and its check symbol, printed with a prefix, shared by the bulk writes.
    private static readonly BulkCodeShape Shape = new(
        new ReferralCodeRecord(
            code: ReferralCode.FromNormalized("C0000"),
            display: "-",
            program: Program,
            owner: null,
            medium: ShareMedium.Card,
            kind: CodeKind.Bulk,
            status: CodeStatus.Active,
            createdAt: T0,
            expiresAt: null,
            maxUses: 2,
            uses: 0,
            version: 1),
        new CodeGenerator(new CodeOptions { Length = 4 }, CodeBlocklist.Default, CryptoRandomSource.Instance),
        "SHOP");

    // A record the table was given is given back as such; one it made from a bulk write's key and shape, equal to it.
    private static void AssertSameOrEqual(ReferralCodeRecord? expected, ReferralCodeRecord? actual)
    {
        Assert.Equal(expected, actual);
        if (expected is not null && expected.Display.StartsWith("SHOP", StringComparison.Ordinal))
        {
            Assert.NotSame(expected, actual);
        }
        else
        {
            Assert.Same(expected, actual);
        }
    }

    private static Dictionary<string, Versions> Copy(Dictionary<string, Versions> model) => new(model, StringComparer.Ordinal);

    private static void Check(CodeTable table, Dictionary<string, Versions> model, bool own)
    {
        foreach (var (key, versions) in model)
        {
            AssertSameOrEqual(versions.Rows[^1].Record, table.Latest(key, own));
            // The versions as written: the very records, at their instants (a code's only version keeps no row).
            var history = table.History(key, own);
            Assert.Equal(versions.Rows.Count, history.Count);
            for (int i = 0; i < history.Count; i++)
            {
                AssertSameOrEqual(versions.Rows[i].Record, history[i].Record);
                Assert.Equal(versions.Rows[i].ChangedAt, history[i].ChangedAt);
            }
        }
        Assert.Null(table.Latest("NONE", own));
        Assert.Empty(table.History("NONE", own));
        var expected = model.OrderBy(kv => kv.Value.Position).Select(kv => (kv.Value.Position, kv.Value.Rows[^1].Record)).ToList();
        var all = new List<(long Position, ReferralCodeRecord Record)>();
        table.ListChanges(0, int.MaxValue, own, all);
        Assert.Equal(expected, all);
        // Paged from the middle: what follows a position, up to a limit.
        if (expected.Count > 2)
        {
            var page = new List<(long Position, ReferralCodeRecord Record)>();
            long after = expected[expected.Count / 2].Position;
            table.ListChanges(after, 3, own, page);
            Assert.Equal(expected.Where(e => e.Position > after).Take(3), page);
        }
    }
}
