using System.Text;
using Microsoft.Extensions.Logging;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Links;
using Referrals.Participants;
using Referrals.Programs;
using Referrals.Sqlite;
using Referrals.Store.Tests.Support;
using Referrals.Services;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// What customers type into a code box — e-mail addresses, phone numbers, names, links with tracking values — never
/// reaches the database file, its write-ahead log or the logs: a conversion keeps only what the input resolved to.
/// </summary>
public sealed class SqlitePresentedCodePrivacyTests : IDisposable
{
    private static readonly string Secret = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray());

    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Personal_data_typed_into_the_code_box_is_in_neither_the_file_nor_the_log_and_real_codes_are_kept_normalised()
    {
        string path = _directory.NewDatabasePath();
        var clock = new FakeClock(Start);
        var log = new ListLogger<AttributionService>();
        string[] personal =
        [
            "jane.doe@example.com",
            "+49 170 1234567",
            "0170 9876543",   // digits only once spaces are dropped: it has the shape of a code
            "Janet Doughnut", // letters only: it has the shape of a code too
        ];
        // The bare forms a parser might reduce the inputs to: none of those may be stored either.
        string[] reduced = ["JANE.DOE", "example.com", "1701234567", "01709876543", "JANETD0UGHNUT", "JANETDOUGHNUT", "Doughnut"];

        await using (var store = SqliteReferralStore.OpenFile(path))
        {
            var (codes, links, attribution) = Services(store, clock, log);
            var ana = new ParticipantId("ana");
            await new ParticipantService(store, clock, Microsoft.Extensions.Options.Options.Create(new ReferralsOptions())).RegisterAsync(new Participant { Id = ana }, Ct);
            var code = await codes.IssueAsync(new CodeRequest { Program = Program, Owner = ana, Medium = ShareMedium.Link }, Ct);
            // A signed link whose tracking values, added by some mail tool, carry the friend's e-mail address.
            string link = links.Build(code.Code, ShareMedium.Email, new UtmParameters(Source: "newsletter", Content: "jane.doe@example.com")).Url
                + "&email=jane.doe%40example.com";

            for (int i = 0; i < personal.Length; i++)
            {
                var result = await attribution.RecordConversionAsync(NewOrder($"o-{i}", $"friend-{i}", Start) with { PresentedCode = personal[i] }, Ct);
                Assert.Equal(NotAttributedReason.NoTouch, result.Reason);
            }
            var typed = await attribution.RecordConversionAsync(
                NewOrder("o-typed", "friend-typed", Start) with { PresentedCode = " " + code.Display.ToLowerInvariant().Replace('-', ' ') + " " }, Ct);
            var linked = await attribution.RecordConversionAsync(NewOrder("o-link", "friend-link", Start) with { PresentedCode = link }, Ct);
            Assert.True(typed.IsAttributed, typed.Explain());
            Assert.True(linked.IsAttributed, linked.Explain());
            Assert.Equal(ShareMedium.Email, linked.Medium);

            for (int i = 0; i < personal.Length; i++)
            {
                Assert.Null((await store.FindConversionAsync(Program, $"o-{i}", Ct))!.PresentedCode);
            }
            Assert.Equal(code.Code.Value, (await store.FindConversionAsync(Program, "o-typed", Ct))!.PresentedCode);
            string keptLink = (await store.FindConversionAsync(Program, "o-link", Ct))!.PresentedCode!;
            Assert.Equal(links.Build(code.Code, ShareMedium.Email).Url, keptLink);

            // While the store is open the newest pages are in the write-ahead log.
            Assert.True(File.Exists(path + "-wal"));
            AssertAbsent(path + "-wal", [.. personal, .. reduced]);
            AssertAbsent(path, [.. personal, .. reduced]);
        }

        AssertAbsent(path, [.. personal, .. reduced]);
        if (File.Exists(path + "-wal"))
        {
            AssertAbsent(path + "-wal", [.. personal, .. reduced]);
        }
        Assert.NotEmpty(log.Lines);
        Assert.All(log.Lines, line => Assert.All(personal.Concat(reduced), p => Assert.DoesNotContain(p, line, StringComparison.OrdinalIgnoreCase)));
    }

    [Fact]
    public async Task Opening_a_file_of_schema_version_5_removes_the_personal_data_earlier_versions_kept_as_presented_codes()
    {
        string path = _directory.NewDatabasePath();
        long t = Start.ToUnixTimeTicks();
        const string Detail = """{"amount":"50","currency":"EUR","channel":1,"medium":1,"chain":[],"touches":[]}""";
        // Version 5 as earlier versions wrote it: two decided orders whose customers typed an e-mail address and a phone
        // number into the code box, one decided order with a real code, and one order whose writer stopped before
        // deciding it (it still has to be decided from what was presented).
        SqliteFiles.Write(path, 5, $"""
                INSERT INTO codes (code, display, program, owner, medium, kind, status, created_at, uses, version)
                VALUES ('ABCD2345X', 'ABCD-2345X', 'customers', 'ana', 1, 1, 1, {t}, 0, 1);
                INSERT INTO conversions (program, order_id, customer, amount, currency, event_time, channel, presented_code,
                                         attribution_customer, conversion_time, reason, is_repeat, referrer, code, decided_at, attribution_detail)
                VALUES ('customers', 'o-mail', 'bob', '50', 'EUR', {t}, 1, 'jane.doe@example.com', 'bob', {t}, 1, 0, NULL, NULL, {t}, '{Detail}'),
                       ('customers', 'o-phone', 'cy', '50', 'EUR', {t}, 1, '+49 170 1234567', 'cy', {t}, 1, 0, NULL, NULL, {t}, '{Detail}'),
                       ('customers', 'o-code', 'dee', '50', 'EUR', {t}, 1, 'ABCD2345X', 'dee', {t}, 1, 0, NULL, NULL, {t}, '{Detail}');
                INSERT INTO conversions (program, order_id, customer, amount, currency, event_time, channel, presented_code)
                VALUES ('customers', 'o-open', 'eve', '50', 'EUR', {t}, 1, 'abcd 2345x');
                """);

        await using (var store = SqliteReferralStore.OpenFile(path))
        {
            Assert.Null((await store.FindConversionAsync(Program, "o-mail", Ct))!.PresentedCode);
            Assert.Null((await store.FindConversionAsync(Program, "o-phone", Ct))!.PresentedCode);
            Assert.Equal("ABCD2345X", (await store.FindConversionAsync(Program, "o-code", Ct))!.PresentedCode);
            Assert.Equal("abcd 2345x", (await store.FindConversionAsync(Program, "o-open", Ct))!.PresentedCode);
        }
        Microsoft.Data.Sqlite.SqliteConnection.ClearAllPools();

        AssertAbsent(path, ["jane.doe@example.com", "+49 170 1234567"]);
        if (File.Exists(path + "-wal"))
        {
            AssertAbsent(path + "-wal", ["jane.doe@example.com", "+49 170 1234567"]);
        }
    }

    private static void AssertAbsent(string file, string[] values)
    {
        byte[] bytes;
        using (var stream = new FileStream(file, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete))
        {
            bytes = new byte[stream.Length];
            stream.ReadExactly(bytes);
        }
        foreach (string value in values)
        {
            foreach (var encoding in new Encoding[] { Encoding.UTF8, Encoding.Unicode })
            {
                foreach (string form in new[] { value, value.ToUpperInvariant(), value.ToLowerInvariant() })
                {
                    Assert.True(
                        bytes.AsSpan().IndexOf(encoding.GetBytes(form)) < 0,
                        $"'{form}' ({encoding.WebName}) is in {Path.GetFileName(file)}.");
                }
            }
        }
    }

    private static (ReferralCodeService Codes, ShareLinkService Links, AttributionService Attribution) Services(
        SqliteReferralStore store, FakeClock clock, ILogger<AttributionService> logger)
    {
        var options = new ReferralsOptions();
        options.Links.Template = "https://shop.example/r/{code}";
        options.Links.SigningKeys.Add(new LinkSigningKey { Id = "k1", Secret = Secret });
        options.Links.ActiveSigningKeyId = "k1";
        options.Programs[Program.Value] = new ProgramOptions { TimeZone = "Europe/Berlin" };
        var links = new ShareLinkService(options.Links);
        var codes = new ReferralCodeService(store, options, clock);
        var attribution = new AttributionService(Microsoft.Extensions.Options.Options.Create(options), clock, codes, store, [], logger);
        return (codes, links, attribution);
    }

    /// <summary>Keeps every message logged, with the values of its template's placeholders, at every level.</summary>
    private sealed class ListLogger<T> : ILogger<T>
    {
        public List<string> Lines { get; } = [];

        public IDisposable? BeginScope<TState>(TState state)
            where TState : notnull => null;

        public bool IsEnabled(LogLevel logLevel) => true;

        public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
        {
            var values = state is IEnumerable<KeyValuePair<string, object?>> pairs ? string.Join(" ", pairs.Select(p => $"{p.Key}={p.Value}")) : string.Empty;
            lock (Lines)
            {
                Lines.Add($"{eventId.Id} {formatter(state, exception)} {values} {exception}");
            }
        }
    }
}
