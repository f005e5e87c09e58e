using System.Globalization;
using System.Text;
using NodaTime;
using NodaTime.Testing;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Programs;
using Referrals.Sqlite;
using Referrals.Store.Tests.Support;
using Referrals.Services;
using static Referrals.Store.Tests.Support.TestData;

namespace Referrals.Store.Tests.Sqlite;

/// <summary>
/// A POS upload with hostile text in every column, imported into a real SQLite file: every good row is imported and
/// read back after reopening, every bad row is reported with its line, and no two different captures are stored as one
/// (issue 16).
/// </summary>
public sealed class SqlitePosImportHostileInputTests : IDisposable
{
    private const string Header = "capture_id,store_id,register_id,event_time,code,customer_id,order_id,amount,currency,new_customer";

    // Text that SQLite's UTF-8 cannot carry as written (unpaired surrogates, which UTF-8 replaces with U+FFFD), and other traps.
    private static readonly string[] Pieces =
    [
        "\uD800", "\uDBFF", "\uDC00", "\uDFFF", "\uDFFF\uD800", "\uD83D\uDE00", "\uFFFF", "\uFFFE", "\uFFFD", "\u0378", "\u2028", "\u2029",
        "\u0000", "\u202E", "\u200D", "\u0301", "\uFF21", "%FF", "%ED%A0%80", "shop.exampl\u0378/r/ABCD", "https://x.y\uFFFF/r/ABCD",
    ];

    private readonly TempDirectory _directory = new();

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    public void Dispose() => _directory.Dispose();

    [Fact]
    public async Task Every_good_row_is_imported_every_bad_row_reported_and_no_two_captures_stored_as_one()
    {
        string path = _directory.NewDatabasePath();
        var clock = new FakeClock(Start + Duration.FromDays(1));
        var csv = new StringBuilder(Header).Append('\n');
        var good = new List<string>();
        int line = 1;
        string code;
        await using (var store = SqliteReferralStore.OpenFile(path))
        {
            var (codes, attribution, participants) = Services(store, clock);
            var emil = new ParticipantId("emil");
            await participants.RegisterAsync(new Participant { Id = emil }, Ct);
            code = (await codes.IssueAsync(new CodeRequest { Program = Program, Owner = emil, Medium = ShareMedium.Employee }, Ct)).Display;

            string[] Row(int n) => [$"C-{n}", "store-7", "R2", "2026-11-23T08:45:00+01:00", code, $"friend-{n}", $"pos-{n}", "10.00", "EUR", "yes"];
            int n = 0;
            foreach (string piece in Pieces)
            {
                for (int column = 0; column < 7; column++)
                {
                    n++;
                    var cells = Row(n);
                    cells[column] = "\"" + cells[column] + piece.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
                    csv.AppendJoin(',', cells).Append('\n');
                    line++;
                }
                n++;
                csv.AppendJoin(',', Row(n)).Append('\n');
                line++;
                good.Add($"pos-{n}");
            }

            // Two captures whose ids differ only in an unpaired surrogate half: UTF-8 would store both as "twin\uFFFD".
            csv.AppendJoin(',', ["twin\uD800", .. Row(++n)[1..]]).Append('\n');
            csv.AppendJoin(',', ["twin\uDC00", .. Row(++n)[1..]]).Append('\n');
            line += 2;

            var import = await attribution.ImportPosBatchAsync(Program, new StringReader(csv.ToString()), Ct);

            Assert.Equal(line - 1, import.Captured + import.Duplicates + import.Errors.Count);
            Assert.Equal(0, import.Duplicates);
            Assert.All(import.Errors, e => Assert.StartsWith($"Line {e.LineNumber.ToString(CultureInfo.InvariantCulture)}: ", e.Message, StringComparison.Ordinal));
        }

        await using (var reopened = SqliteReferralStore.OpenFile(path))
        {
            var (_, attribution, _) = Services(reopened, clock);
            foreach (string order in good)
            {
                var decided = await attribution.FindAttributionAsync(Program, order, Ct);
                Assert.NotNull(decided);
                Assert.True(decided.IsAttributed, decided.Explain());
            }
        }
    }

    private static (ReferralCodeService Codes, AttributionService Attribution, ParticipantService Participants) Services(SqliteReferralStore store, IClock clock)
    {
        var options = new ReferralsOptions();
        options.Links.Template = "https://shop.example/r/{code}";
        options.Programs[Program.Value] = new ProgramOptions { TimeZone = "Europe/Berlin" };
        var codes = new ReferralCodeService(store, options, clock);
        var attribution = new AttributionService(Microsoft.Extensions.Options.Options.Create(options), clock, codes, store, []);
        return (codes, attribution, new ParticipantService(store, clock, Microsoft.Extensions.Options.Options.Create(options)));
    }
}
