using Microsoft.Extensions.DependencyInjection;
using Referrals.Codes;
using Referrals.Services;

namespace Referrals.Cli.Tests;

/// <summary><c>referrals qr</c> and <c>referrals sheet</c>.</summary>
public sealed class QrTests
{
    [Fact]
    public async Task AQrPngReadsBackAsTheCodesPayload()
    {
        using var shop = new Shop();
        var issued = await shop.RunAsync("codes", "issue", "-p", "customers", "--owner", "anna", "-m", "sign", "--json");
        var json = System.Text.Json.JsonDocument.Parse(issued.Out).RootElement;
        string display = json.GetProperty("display").GetString()!;
        string payload = json.GetProperty("qrPayload").GetString()!;

        var result = await shop.RunAsync("qr", display, "--png", "--out", "sign.png");
        Assert.True(result.Exit == 0, result.ToString());
        var read = await Shop.ProcessAsync(shop.Directory, "zbarimg", ["--quiet", "--raw", "sign.png"]);
        Assert.True(read.Exit == 0, "zbarimg (zbar-tools; scripts/zbar.sh installs it) could not read the image: " + read);
        Assert.Equal(payload, read.Out.Trim());

        var again = await shop.RunAsync("qr", display, "--png", "--out", "sign.png");
        Assert.Equal(1, again.Exit);
        Assert.Contains("--force", again.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownCodeOrFormatIsRefused()
    {
        using var shop = new Shop();
        var unknown = await shop.RunAsync("qr", "ABCD-EFGH", "--svg", "--out", "x.svg");
        Assert.Equal(1, unknown.Exit);
        Assert.False(File.Exists(shop.PathOf("x.svg")));
        var format = await shop.RunAsync("qr", "ABCD-EFGH", "--out", "x.gif");
        Assert.Equal(2, format.Exit);
        Assert.Equal("error: Say --png or --svg (or end --out in .png or .svg).\n", format.Error.ReplaceLineEndings("\n"));
    }

    [Fact]
    public async Task ASheetOfManyPagesNamesItsFirstAndLastPageAndJsonListsThemAll()
    {
        using var shop = new Shop();
        var result = await shop.RunAsync("sheet", "-p", "customers", "-n", "45", "-o", "cards.svg");
        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains($"Wrote 45 cards on 5 A4 page(s): {shop.PathOf("cards-1.svg")} ... {shop.PathOf("cards-5.svg")}", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain("cards-3.svg", result.Out, StringComparison.Ordinal);
        Assert.All(Enumerable.Range(1, 5), i => Assert.True(File.Exists(shop.PathOf($"cards-{i}.svg"))));
        var json = await shop.RunAsync("sheet", "-p", "customers", "-n", "25", "-o", "more.svg", "--json");
        Assert.True(json.Exit == 0, json.ToString());
        Assert.Contains("more-3.svg", json.Out, StringComparison.Ordinal);
    }

    /// <summary>A caption no SVG can hold is refused before any code is issued (found by fuzzing: each try saved 25 codes and wrote no sheet).</summary>
    [Theory]
    [InlineData("Give 10\uFFFE")]
    [InlineData("\uFFFF")]
    public async Task ACaptionNoSvgCanHoldIsRefusedBeforeAnyCodeIsIssued(string caption)
    {
        using var shop = new Shop();
        var result = await shop.RunAsync("sheet", "-p", "customers", "-n", "25", "-o", "cards.svg", "--caption", caption);
        Assert.Equal(2, result.Exit);
        Assert.Contains("--caption", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(shop.PathOf("cards-1.svg")));
        await using var library = await shop.LibraryAsync();
        Assert.Equal(0, library.GetRequiredService<ReferralCodeService>().IndexedCount);
    }

    [Fact]
    public async Task ASheetOfNewCodesHasTenCardsAPageEachAStoredCode()
    {
        using var shop = new Shop();
        var result = await shop.RunAsync("sheet", "-p", "customers", "-n", "12", "-o", "cards.svg", "--caption", "Give 10 EUR, get 10 EUR", "--json");
        Assert.True(result.Exit == 0, result.ToString());
        Assert.False(File.Exists(shop.PathOf("cards.svg")));
        var pages = new[] { shop.PathOf("cards-1.svg"), shop.PathOf("cards-2.svg") };
        await using var library = await shop.LibraryAsync();
        var codes = library.GetRequiredService<ReferralCodeService>();
        int cards = 0;
        foreach (var (page, expected) in pages.Zip([10, 2]))
        {
            var svg = System.Xml.Linq.XDocument.Load(page);
            var ns = svg.Root!.Name.Namespace;
            Assert.Equal("210mm", svg.Root.Attribute("width")?.Value);
            var texts = svg.Descendants(ns + "text").Select(t => t.Value).ToList();
            var displays = texts.Where(t => t != "Give 10 EUR, get 10 EUR").ToList();
            Assert.Equal(expected, displays.Count);
            Assert.Equal(expected, texts.Count(t => t == "Give 10 EUR, get 10 EUR"));
            foreach (var display in displays)
            {
                var found = codes.Resolve(display);
                Assert.Equal(CodeResolutionOutcome.Found, found.Outcome);
                Assert.Equal(ShareMedium.Card, found.Medium);
                cards++;
            }
        }
        Assert.Equal(12, cards);
    }

    [Fact]
    public async Task ASheetFromACodesFileUsesThoseCodes()
    {
        using var shop = new Shop();
        Assert.Equal(0, (await shop.RunAsync("codes", "bulk", "-p", "customers", "-n", "4", "-m", "card", "-o", "codes.csv")).Exit);
        var result = await shop.RunAsync("sheet", "-p", "customers", "--from", "codes.csv", "-o", "cards.svg");
        Assert.True(result.Exit == 0, result.ToString());
        var displays = File.ReadAllLines(shop.PathOf("codes.csv")).Skip(1).Select(l => l.Split(',')[1]);
        var svg = System.Xml.Linq.XDocument.Load(shop.PathOf("cards.svg"));
        Assert.Equal(displays, svg.Descendants(svg.Root!.Name.Namespace + "text").Select(t => t.Value));

        var wrongProgram = await shop.RunAsync("sheet", "-p", "employees", "--from", "codes.csv", "-o", "staff.svg");
        Assert.Equal(1, wrongProgram.Exit);
        Assert.Contains("is no code of program employees", wrongProgram.Error, StringComparison.Ordinal);
    }

    /// <summary>
    /// A bad row anywhere in the file stops the run before any page is written, and a file of no codes says so (found by
    /// fuzzing: the first page was left behind, and a rerun refused because it existed).
    /// </summary>
    [Fact]
    public async Task ASheetFromAFileWithABadRowWritesNoPageAndAnEmptyFileSaysSo()
    {
        using var shop = new Shop();
        Assert.Equal(0, (await shop.RunAsync("codes", "bulk", "-p", "customers", "-n", "12", "-m", "card", "-o", "codes.csv")).Exit);
        var lines = File.ReadAllLines(shop.PathOf("codes.csv")).ToList();
        lines.Add("TYPO-CODE,TYPO-CODE,customers,card,x");
        File.WriteAllLines(shop.PathOf("bad.csv"), lines);
        File.WriteAllLines(shop.PathOf("empty.csv"), lines.Take(1));

        var bad = await shop.RunAsync("sheet", "-p", "customers", "--from", "bad.csv", "-o", "cards.svg");
        var empty = await shop.RunAsync("sheet", "-p", "customers", "--from", "empty.csv", "-o", "none.svg");

        Assert.Equal(1, bad.Exit);
        Assert.False(File.Exists(shop.PathOf("cards-1.svg")));
        Assert.Equal(1, empty.Exit);
        Assert.Contains("lists no codes", empty.Error, StringComparison.Ordinal);
    }
}
