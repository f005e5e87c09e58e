using Microsoft.Extensions.DependencyInjection;
using Referrals.Services;

namespace Referrals.Cli.Tests;

/// <summary><c>referrals import pos</c>: the summary, the refused rows' CSV, and importing the same file again.</summary>
public sealed class ImportTests
{
    // The example upload of docs/pos-batch-csv.md, lines 2 to 10.
    internal const string Upload = """
        capture_id,store_id,register_id,event_time,code,referrer_email,customer_id,customer_email,order_id,amount,currency,new_customer
        BM-1001,berlin-mitte,2,2026-11-22T10:15:00+01:00,EMIL-7,,cust-fay,,pos-55001,64.90,EUR,yes
        BM-1002,berlin-mitte,2,2026-11-22 11:02+01:00,emil 7,,cust-gus,,,,,
        BM-1003,berlin-mitte,1,2026-11-22T12:30:00Z,,Anna.Berg@Example.com,cust-hal,,pos-55003,31.50,EUR,
        BM-1004,berlin-mitte,"1, upstairs",2026-11-22T13:05:00.250+01:00,EMIL7,,,ida.k@example.org,,,,
        BM-1005,berlin-mitte,1,2026-11-22T14:40:00,EMIL7,,cust-jo,,pos-55005,20.00,EUR,yes
        BM-1006,berlin-mitte,3,2026-11-22T15:10:00+01:00,BOB-99,,cust-kim,,pos-55006,12.00,EUR,yes
        BM-1001,berlin-mitte,3,2026-11-22T15:30:00+01:00,EMIL7,,cust-lea,,pos-55007,19.99,EUR,yes
        BM-1008,berlin-mitte,3,2026-11-22T16:00:00+01:00,EMIL7,,cust-max,,pos-55008,"1,299.00",EUR,yes
        BM-1009,berlin-mitte,3,2026-11-22T16:20:00+01:00,EMIL7,,cust-ned,,pos-55009,45.00,eur,no
        """;

    /// <summary>
    /// The refused rows are never lost to their file's path (found by fuzzing: the rows were stored, then the refused file
    /// could not be written): a folder is refused before anything is imported, and a folder that does not exist is made.
    /// </summary>
    [Fact]
    public async Task TheRefusedRowsFindTheirFile()
    {
        using var shop = new Shop();
        File.WriteAllText(shop.PathOf("upload.csv"), Upload);

        var folder = await shop.RunAsync("import", "pos", "upload.csv", "--program", "customers", "--refused", ".");
        Assert.Equal(2, folder.Exit);
        Assert.Contains("--refused", folder.Error, StringComparison.Ordinal);

        var missing = await shop.RunAsync("import", "pos", "upload.csv", "--program", "customers", "--refused", "missing-dir/r.csv", "--json");
        Assert.True(missing.Exit == 1, missing.ToString());
        Assert.Equal(0, System.Text.Json.JsonDocument.Parse(missing.Out).RootElement.GetProperty("duplicates").GetInt32());
        Assert.Equal(10, File.ReadAllLines(shop.PathOf("missing-dir/r.csv")).Length); // the header and the nine rows (no code EMIL-7 here)
    }

    [Fact]
    public async Task TheSummaryCountsEveryRowAndTheRefusedRowsGoToACsvWithLineAndReason()
    {
        using var shop = new Shop();
        Assert.Equal(0, (await shop.RunAsync("codes", "vanity", "EMIL-7", "-p", "customers", "--owner", "emil", "-m", "employee")).Exit);
        File.WriteAllText(shop.PathOf("upload.csv"), Upload);

        var first = await shop.RunAsync("import", "pos", "upload.csv", "--program", "customers", "--json");
        // Rows refused: exit code 1, the import itself done.
        Assert.True(first.Exit == 1, first.ToString());
        var json = System.Text.Json.JsonDocument.Parse(first.Out).RootElement;
        Assert.Equal(9, json.GetProperty("rows").GetInt32());
        // Lines 2, 3 and 10 are captured (2 and 10 with an order); 4 and 5 need the contact hash key, not configured here.
        Assert.Equal(3, json.GetProperty("captured").GetInt32());
        Assert.Equal(2, json.GetProperty("conversions").GetInt32());
        Assert.Equal(0, json.GetProperty("duplicates").GetInt32());
        Assert.Equal(6, json.GetProperty("refused").GetInt32());
        Assert.Equal(shop.PathOf("upload.refused.csv"), json.GetProperty("refusedFile").GetString());

        var refused = File.ReadAllLines(shop.PathOf("upload.refused.csv"));
        Assert.Equal(
        [
            "line,column,reason,detail,message",
            "4,,ContactHashKeyMissing,,Line 4: e-mail or phone columns need Referrals:Privacy:ContactHashKey to be configured.",
            "5,,ContactHashKeyMissing,,Line 5: e-mail or phone columns need Referrals:Privacy:ContactHashKey to be configured.",
            "6,event_time,Unreadable,InvalidValue,Line 6: event_time '2026-11-22T14:40:00' has no UTC offset; write it like 2026-11-20T17:45:00+01:00 or 2026-11-20T16:45:00Z.",
            "7,code,CaptureRefused,CodeNotFound,Line 7: the capture was refused: no such code.",
            "8,capture_id,Unreadable,DuplicateCaptureId,Line 8: capture_id 'BM-1001' was already read from line 2; the earlier row stands.",
            "9,amount,Unreadable,InvalidValue,\"Line 9: amount '1,299.00' is not a decimal number of zero or more, written with digits and a '.' (like 19.99).\"",
        ], refused);

        await using (var library = await shop.LibraryAsync())
        {
            var attribution = library.GetRequiredService<AttributionService>();
            var fay = await attribution.FindAttributionAsync(new ProgramId("customers"), "pos-55001", TestContext.Current.CancellationToken);
            Assert.Equal(new ParticipantId("emil"), fay!.Referrer);
        }

        // The same file again: nothing recorded twice.
        var again = await shop.RunAsync("import", "pos", "upload.csv", "--program", "customers");
        Assert.Equal(1, again.Exit);
        var text = again.Out.ReplaceLineEndings("\n");
        Assert.Contains("  rows                  9\n", text, StringComparison.Ordinal);
        Assert.Contains("  captured              0\n", text, StringComparison.Ordinal);
        Assert.Contains("  conversions           0\n", text, StringComparison.Ordinal);
        Assert.Contains("  duplicates            3  (imported before)\n", text, StringComparison.Ordinal);
        Assert.Contains("  re-decided            0", text, StringComparison.Ordinal);
        Assert.Contains("  refused               6  -> " + shop.PathOf("upload.refused.csv"), text, StringComparison.Ordinal);
        Assert.Equal(refused, File.ReadAllLines(shop.PathOf("upload.refused.csv")));
    }

    [Fact]
    public async Task ACleanFileExitsZeroAndWritesNoRefusedFile()
    {
        using var shop = new Shop();
        Assert.Equal(0, (await shop.RunAsync("codes", "vanity", "EMIL-7", "-p", "customers", "--owner", "emil", "-m", "employee")).Exit);
        File.WriteAllText(shop.PathOf("clean.csv"), "capture_id,store_id,event_time,code,customer_id\nC-1,s1,2026-11-22T10:15:00Z,EMIL7,cust-1\n");
        var result = await shop.RunAsync("import", "pos", "clean.csv", "-p", "customers", "--refused", "out/refused.csv");
        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains("  captured              1\n", result.Out.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.False(File.Exists(shop.PathOf("out/refused.csv")));
    }

    [Fact]
    public async Task AMissingFileIsAUsageError()
    {
        using var shop = new Shop();
        var result = await shop.RunAsync("import", "pos", "nightly.csv", "-p", "customers");
        Assert.Equal(2, result.Exit);
        Assert.StartsWith($"error: 'nightly.csv': no such file ({shop.PathOf("nightly.csv")}). Name the POS upload to import.", result.Error, StringComparison.Ordinal);
    }
}
