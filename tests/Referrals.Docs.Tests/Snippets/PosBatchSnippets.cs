using System.Text;
using Microsoft.Extensions.DependencyInjection;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Participants;
using Referrals.Privacy;
using Referrals.Programs;
using Referrals.Services;

namespace Referrals.Docs;

/// <summary>
/// The code of docs/pos-batch-csv.md. The example file is read from the page itself, imported, and checked row by row
/// against what the page says of each row, and the report the page shows is the one the import gives.
/// </summary>
public sealed class PosBatchSnippets
{
    private const string Page = "docs/pos-batch-csv.md";
    private static readonly ProgramId Customers = new("customers");

    /// <summary>The example upload on the page: the csv block that starts with the header.</summary>
    private static string ExampleFile() =>
        DocsFiles.Blocks(Page).Single(b => b.Language == "csv" && b.Text.StartsWith("capture_id,", StringComparison.Ordinal)).Text + "\n";

    /// <summary>The library as the page's example needs it: Emil's code EMIL-7, Anna registered with her e-mail address, and Gus's web order of the evening before the upload.</summary>
    private static async Task<DocsServices> StartAsync()
    {
        var app = await DocsServices.StartAsync(o =>
        {
            o.Privacy.ContactHashKey = AttributionSnippets.ContactKey;
            o.Programs["customers"] = new ProgramOptions { TimeZone = "Europe/Berlin" };
        });
        var ct = TestContext.Current.CancellationToken;
        var emil = await app.Get<ReferralCodeService>().IssueVanityAsync(
            "EMIL-7", new CodeRequest { Program = Customers, Owner = new ParticipantId("emp-emil"), Medium = ShareMedium.Employee }, ct);
        Assert.True(emil.IsIssued, emil.Message);
        Assert.True(app.Get<ContactHasher>().TryHashEmail("anna.berg@example.com", out var anna));
        await app.Get<ParticipantService>().RegisterAsync(new Participant { Id = new ParticipantId("cust-anna"), Contacts = [anna] }, ct);
        var web = await app.Get<AttributionService>().RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = "web-9001", Customer = new ParticipantId("cust-gus"), Amount = new Money(39.00m, "EUR"),
            EventTime = Instant.FromUtc(2026, 11, 22, 18, 0),
        }, ct);
        Assert.Equal(NotAttributedReason.NoTouch, web.Reason);
        return app;
    }

    [Fact]
    public async Task TheExampleFileImportsRowByRowAsThePageSays()
    {
        await using var app = await StartAsync();
        IServiceProvider provider = app.Services;
        var ct = TestContext.Current.CancellationToken;
        string path = Path.Combine(app.Folder!.FullName, "berlin-mitte-2026-11-22.csv");
        await File.WriteAllTextAsync(path, ExampleFile(), ct);

        #region PosBatch.Import
        var attribution = provider.GetRequiredService<AttributionService>();
        var report = new StringBuilder();   // to send back to the store
        using var upload = new StreamReader(path, Encoding.UTF8);   // or the body of the store's upload request
        var import = await attribution.ImportPosBatchAsync(new ProgramId("customers"), upload);
        report.AppendLine($"captured {import.Captured}, orders {import.Conversions}, duplicates {import.Duplicates}, "
            + $"decided again {import.Reevaluated}, refused {import.Errors.Count}");
        foreach (var error in import.Errors)
        {
            report.AppendLine(error.Message);   // names line, column and problem; never an e-mail address or phone number
        }
        #endregion

        var shown = DocsFiles.Blocks(Page).Single(b => b.Marker == "output: PosBatch.Import").Text;
        Assert.Equal(shown, report.ToString().ReplaceLineEndings("\n").TrimEnd());

        Assert.Equal(5, import.Captured);
        Assert.Equal(3, import.Conversions);
        Assert.Equal(0, import.Duplicates);
        Assert.Equal(1, import.Reevaluated);
        Assert.Equal(new[] { 6, 7, 8, 9 }, import.Errors.Select(e => e.LineNumber));

        async Task<AttributionResult> Order(string id) => (await attribution.FindAttributionAsync(Customers, id, ct))!;

        // Line 2: Emil's code, typed with a dash; Fay's order is his referral, made in the store and shared in person.
        var fay = await Order("pos-55001");
        Assert.Equal(new ParticipantId("emp-emil"), fay.Referrer);
        Assert.Equal(TouchKind.PosBatchCapture, fay.CaptureMethod);
        Assert.Equal(ChannelCombination.OfflineToOffline, fay.Combination);
        Assert.Equal(new Money(64.90m, "EUR"), fay.Amount);
        Assert.Equal(Instant.FromUtc(2026, 11, 22, 9, 15), fay.ConversionTime);
        Assert.Equal(Channel.Offline, fay.ConversionChannel);
        Assert.Equal("berlin-mitte", fay.StoreId);

        // Line 3: a capture without an order (a space for the T, no seconds); Gus's web order of that evening, recorded
        // before the upload, is decided again and credited to Emil.
        var gus = await Order("web-9001");
        Assert.Equal(new ParticipantId("emp-emil"), gus.Referrer);
        Assert.Equal(ChannelCombination.OfflineToOnline, gus.Combination);

        // Line 4: the referrer found by the e-mail address she registered; new_customer empty: the library decides.
        var hal = await Order("pos-55003");
        Assert.Equal(new ParticipantId("cust-anna"), hal.Referrer);
        Assert.Null(hal.Code);
        Assert.Equal(Instant.FromUtc(2026, 11, 22, 12, 30), hal.ConversionTime);
        Assert.Equal(ChannelCombination.OfflineToOffline, hal.Combination);

        // Line 5: a quoted register id with a comma, a fraction of a second, and only the friend's e-mail address: a
        // touch that counts for an order that carries the same address's hash.
        Assert.True(app.Get<ContactHasher>().TryHashEmail("Ida.K@example.org", out var ida));
        var idaOrder = await attribution.RecordConversionAsync(new Conversion
        {
            Program = Customers, OrderId = "web-9002", Customer = new ParticipantId("cust-ida"), Amount = new Money(22m, "EUR"),
            EventTime = Instant.FromUtc(2026, 11, 23, 8, 0), Contacts = [ida],
        }, ct);
        Assert.Equal(new ParticipantId("emp-emil"), idaOrder.Referrer);

        // Lines 6 to 9: refused, each with its reason; line 6's order was not recorded.
        Assert.Collection(
            import.Errors,
            e => Check(e, BatchImportErrorReason.Unreadable, "event_time", PosBatchErrorReason.InvalidValue, null),
            e => Check(e, BatchImportErrorReason.CaptureRefused, "code", null, CaptureRejection.CodeNotFound),
            e => Check(e, BatchImportErrorReason.Unreadable, "capture_id", PosBatchErrorReason.DuplicateCaptureId, null),
            e => Check(e, BatchImportErrorReason.Unreadable, "amount", PosBatchErrorReason.InvalidValue, null));
        Assert.Null(await attribution.FindAttributionAsync(Customers, "pos-55005", ct));
        Assert.Null(await attribution.FindAttributionAsync(Customers, "pos-55007", ct));
        Assert.Null(await attribution.FindAttributionAsync(Customers, "pos-55008", ct));

        // Line 10: the till says Ned is no new customer; the currency is read upper case.
        var ned = await Order("pos-55009");
        Assert.Equal(NotAttributedReason.NotNewCustomer, ned.Reason);
        Assert.Equal("EUR", ned.Amount.Currency);
    }

    [Fact]
    public async Task UploadingTheSameFileAgainChangesNothing()
    {
        await using var app = await StartAsync();
        var attribution = app.Get<AttributionService>();
        var ct = TestContext.Current.CancellationToken;
        var first = await attribution.ImportPosBatchAsync(Customers, new StringReader(ExampleFile()), ct);
        var fay = await attribution.FindAttributionAsync(Customers, "pos-55001", ct);

        var again = await attribution.ImportPosBatchAsync(Customers, new StringReader(ExampleFile()), ct);

        Assert.Equal(0, again.Captured);
        Assert.Equal(first.Captured, again.Duplicates);
        Assert.Equal(0, again.Conversions);
        Assert.Equal(0, again.Reevaluated);
        Assert.Equal(first.Errors.Select(e => e.Message), again.Errors.Select(e => e.Message));
        Assert.Equal(fay!.DecidedAt, (await attribution.FindAttributionAsync(Customers, "pos-55001", ct))!.DecidedAt);
    }

    [Fact]
    public async Task AHeaderProblemEndsTheFileAndOtherColumnsAreIgnored()
    {
        await using var app = await StartAsync();
        var attribution = app.Get<AttributionService>();
        var ct = TestContext.Current.CancellationToken;

        var noHeader = await attribution.ImportPosBatchAsync(Customers, new StringReader("BM-1,berlin-mitte,2026-11-22T10:00:00Z,EMIL-7\n"), ct);
        Assert.Equal(PosBatchErrorReason.MissingHeader, Assert.Single(noHeader.Errors).ReadReason);

        var noAmount = await attribution.ImportPosBatchAsync(Customers, new StringReader("capture_id,store_id,event_time,code,customer_id,order_id\nBM-1,berlin-mitte,2026-11-22T10:00:00Z,EMIL-7,cust-x,pos-1\n"), ct);
        var missing = Assert.Single(noAmount.Errors);
        Assert.Equal(PosBatchErrorReason.MissingColumn, missing.ReadReason);
        Assert.Equal(1, missing.LineNumber);
        Assert.Equal("amount", missing.Column);

        // Any order and case of the columns, other columns ignored, a byte order mark and blank lines skipped, CRLF.
        var loose = await attribution.ImportPosBatchAsync(Customers, new StringReader(
            "\uFEFFCashier,Event_Time,CODE,Store_Id,Capture_Id,Customer_Id\r\n\r\nMia,2026-11-22T10:00:00Z,emil7,berlin-mitte,BM-1,cust-x\r\n"), ct);
        Assert.Equal(1, loose.Captured);
        Assert.Empty(loose.Errors);

        // A stray quote does not swallow the rows after it.
        var stray = await attribution.ImportPosBatchAsync(Customers, new StringReader(
            "capture_id,store_id,event_time,code,customer_id\nBM-2,\"berlin-mitte,2026-11-22T10:00:00Z,EMIL-7,cust-y\nBM-3,berlin-mitte,2026-11-22T10:05:00Z,EMIL-7,cust-z\n"), ct);
        Assert.Equal(1, stray.Captured);
        Assert.Equal(PosBatchErrorReason.MalformedCsv, Assert.Single(stray.Errors).ReadReason);

        // Rows that name no customer, an order without customer_id, a referrer nobody registered with.
        var unusable = await attribution.ImportPosBatchAsync(Customers, new StringReader(
            "capture_id,store_id,event_time,code,referrer_email,customer_id,customer_email,order_id,amount,currency\n"
            + "BM-4,berlin-mitte,2026-11-22T10:00:00Z,EMIL-7,,,,,,\n"
            + "BM-5,berlin-mitte,2026-11-22T10:00:00Z,EMIL-7,,,ida.k@example.org,pos-5,10,EUR\n"
            + "BM-6,berlin-mitte,2026-11-22T10:00:00Z,,nobody@example.org,cust-q,,,,\n"), ct);
        Assert.Equal(
            new[] { BatchImportErrorReason.NoCustomer, BatchImportErrorReason.OrderWithoutCustomerId, BatchImportErrorReason.ReferrerNotFound },
            unusable.Errors.Select(e => e.Reason));
        Assert.Equal(new[] { 2, 3, 4 }, unusable.Errors.Select(e => e.LineNumber));

        // The same capture id in another store is another capture.
        var otherStore = await attribution.ImportPosBatchAsync(Customers, new StringReader(
            "capture_id,store_id,event_time,code,customer_id\nBM-1,hamburg,2026-11-22T10:00:00Z,EMIL-7,cust-x\n"), ct);
        Assert.Equal(1, otherStore.Captured);

        // E-mail and phone columns need the contact hash key.
        await using var keyless = await DocsServices.StartAsync(o => o.Programs["customers"] = new ProgramOptions());
        await keyless.Get<ReferralCodeService>().IssueVanityAsync("EMIL-7", new CodeRequest { Program = Customers, Owner = new ParticipantId("emp-emil"), Medium = ShareMedium.Employee }, ct);
        var hashless = await keyless.Get<AttributionService>().ImportPosBatchAsync(Customers, new StringReader(
            "capture_id,store_id,event_time,code,customer_email\nBM-1,berlin-mitte,2026-11-22T10:00:00Z,EMIL-7,ida.k@example.org\n"), ct);
        Assert.Equal(BatchImportErrorReason.ContactHashKeyMissing, Assert.Single(hashless.Errors).Reason);
    }

    private static void Check(BatchImportError e, BatchImportErrorReason reason, string column, PosBatchErrorReason? read, CaptureRejection? rejection)
    {
        Assert.Equal(reason, e.Reason);
        Assert.Equal(column, e.Column);
        Assert.Equal(read, e.ReadReason);
        Assert.Equal(rejection, e.Rejection);
        Assert.StartsWith($"Line {e.LineNumber}: ", e.Message, StringComparison.Ordinal);
    }
}
