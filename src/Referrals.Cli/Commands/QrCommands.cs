using System.CommandLine;
using System.Globalization;
using System.Text;
using System.Xml;
using Referrals.Codes;
using Referrals.Links;
using Referrals.QrCodes;
using Referrals.Services;

namespace Referrals.Cli.Commands;

/// <summary><c>referrals qr</c> (one QR image) and <c>referrals sheet</c> (printable A4 pages of cards).</summary>
internal static class QrCommands
{
    public static Command BuildQr(CliApp app)
    {
        var input = new Argument<string>("code-or-link") { Description = "A code in the store (as printed or typed), or a share link to one." };
        var png = new Option<bool>("--png") { Description = "Write a PNG image (the default for a .png --out)." };
        var svg = new Option<bool>("--svg") { Description = "Write an SVG image (the default for a .svg --out)." };
        var output = CliOptions.Out("The image file to write.");
        var moduleSize = new Option<int>("--module-size") { Description = "Pixels per module (1 to 100).", HelpName = "px", DefaultValueFactory = _ => 8, CustomParser = r => CliOptions.ParseWholeNumber(r, "--module-size", 1, 100) };
        var quietZone = new Option<int>("--quiet-zone") { Description = "Blank modules around the code (0 to 40; scanners want 4).", HelpName = "modules", DefaultValueFactory = _ => 4, CustomParser = r => CliOptions.ParseWholeNumber(r, "--quiet-zone", 0, 40) };
        var level = new Option<QrErrorCorrection>("--error-correction") { Description = "Error-correction level: Low, Medium, Quartile (default: survives a crease or smudge on paper) or High.", HelpName = "level", DefaultValueFactory = _ => QrErrorCorrection.Quartile, CustomParser = r => CliOptions.ParseName<QrErrorCorrection>(r, "--error-correction") };
        var noCaption = new Option<bool>("--no-caption") { Description = "Leave out the printed code under the image." };
        var force = CliOptions.Force("Replace an existing file.");
        var command = new Command("qr", "Renders the QR code of a code's payload (its share link with the medium, signed when keys are configured, or the bare code) or of a share link, as PNG or SVG, with the printed code as caption.")
        {
            input, png, svg, output, moduleSize, quietZone, level, noCaption, force,
        };
        app.Example(command, "referrals qr 2H72-ZTS5S --png --out sign.png", "referrals qr \"https://shop.example/r/2H72ZTS5S?m=sign\" --svg --out sign.svg --module-size 12");
        app.Action(command, async (r, ct) =>
        {
            var console = app.Console;
            string target = console.Resolve(r.GetRequiredValue(output));
            bool asSvg = Format(r.GetValue(png), r.GetValue(svg), target);
            if (File.Exists(target) && !r.GetValue(force))
            {
                throw CliException.Refused($"{target} exists; name another --out, or add --force to replace it.");
            }
            await using var host = await app.StartAsync(r, ct);
            var codes = host.Get<ReferralCodeService>();
            string raw = r.GetRequiredValue(input);
            var code = CodesCommands.FindCode(codes, raw);
            var record = await codes.FindAsync(code, ct) ?? throw CliException.Refused($"{Text.Echo(raw)}: no such code in the store.");
            var options = new QrRenderOptions
            {
                ModuleSize = r.GetValue(moduleSize),
                QuietZone = r.GetValue(quietZone),
                ErrorCorrection = r.GetValue(level),
                Caption = r.GetValue(noCaption) ? null : record.Display,
            };
            var qr = host.Get<QrCodeRenderer>();
            bool isLink = raw.Contains("://", StringComparison.Ordinal);
            string payload = isLink ? raw.Trim() : host.Get<ShareLinkService>().BuildQrPayload(record.Code, record.Medium, record.Display);
            try
            {
                if (asSvg)
                {
                    await File.WriteAllTextAsync(target, isLink ? qr.RenderSvg(payload, options) : qr.RenderCodeSvg(record.Code, record.Medium, record.Display, options), ct);
                }
                else
                {
                    await File.WriteAllBytesAsync(target, isLink ? qr.RenderPng(payload, options) : qr.RenderCodePng(record.Code, record.Medium, record.Display, options), ct);
                }
            }
            catch (ArgumentException e)
            {
                throw CliException.Usage($"The image cannot be drawn with these options: {e.Message}");
            }
            if (r.GetValue(app.Json))
            {
                CliOptions.WriteJson(console, new { file = target, format = asSvg ? "svg" : "png", code = record.Code.Value, display = record.Display, medium = record.Medium.ToToken(), payload });
            }
            else
            {
                console.Out.WriteLine($"Wrote {target}: QR code of {record.Display} ({record.Medium.ToToken()}), payload {payload}");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static bool Format(bool png, bool svg, string target)
    {
        if (png && svg)
        {
            throw CliException.Usage("--png and --svg: choose one.");
        }
        if (png || svg)
        {
            return svg;
        }
        return Path.GetExtension(target).ToUpperInvariant() switch
        {
            ".PNG" => false,
            ".SVG" => true,
            _ => throw CliException.Usage("Say --png or --svg (or end --out in .png or .svg)."),
        };
    }

    public static Command BuildSheet(CliApp app)
    {
        var program = CliOptions.Program();
        var count = new Option<int?>("--count", "-n") { Description = "How many cards: new codes generated for them (1 to 100,000); with --from, the first N codes of the file.", HelpName = "n", CustomParser = r => CliOptions.ParseWholeNumber(r, "--count", 1, 100_000) };
        var medium = CliOptions.Medium(ShareMedium.Card);
        var from = new Option<string?>("--from") { Description = "Take the codes from a CSV written by 'codes bulk' instead of generating new ones.", HelpName = "codes.csv" };
        var caption = new Option<string?>("--caption") { Description = "A line printed on every card (at most 60 characters), such as 'Give 10 EUR, get 10 EUR'.", HelpName = "text" };
        var output = CliOptions.Out("The SVG file; with more than one page, FILE-1.svg, FILE-2.svg, ... (10 cards a page).");
        var force = CliOptions.Force("Replace existing page files.");
        var command = new Command("sheet", "Lays out printable A4 pages (SVG) of cards, 10 a page (85 x 55 mm): the QR code, the code as printed, and a caption.")
        {
            program, count, medium, from, caption, output, force,
        };
        app.Example(command,
            "referrals sheet --program customers --count 40 --out cards.svg --caption \"Give 10 EUR, get 10 EUR\"",
            "referrals sheet --program customers --from codes.csv --out cards.svg");
        app.Action(command, async (r, ct) =>
        {
            var console = app.Console;
            string target = console.Resolve(r.GetRequiredValue(output));
            int? n = r.GetValue(count);
            string? fromFile = r.GetValue(from) is { } f ? console.Resolve(f) : null;
            string? text = r.GetValue(caption);
            if (fromFile is null && n is null)
            {
                throw CliException.Usage("Say how many cards with --count, or take the codes of a file with --from codes.csv.");
            }
            if (n is < 1 or > 100_000)
            {
                throw CliException.Usage($"--count {n} is not from 1 to 100,000.");
            }
            if (fromFile is not null && !File.Exists(fromFile))
            {
                throw CliException.Usage($"--from {Text.Echo(r.GetValue(from))}: no such file ({fromFile}). Name a CSV written by 'referrals codes bulk'.");
            }
            if (text is { Length: > 60 })
            {
                throw CliException.Usage($"--caption has {text.Length} characters; at most 60 fit on a card.");
            }
            // Checked before any code is issued: a caption the SVG cannot carry (U+FFFE, U+FFFF) failed after the cards'
            // codes were saved, and every retry saved more.
            if (text is not null && text.FirstOrDefault(c => c is '\uFFFE' or '\uFFFF') is var bad and not '\0')
            {
                throw CliException.Usage($"--caption has {Text.Echo(text)}, with U+{(int)bad:X4}, a character no SVG file can hold; use printable text.");
            }
            if (!Path.GetExtension(target).Equals(".svg", StringComparison.OrdinalIgnoreCase))
            {
                throw CliException.Usage($"--out {Text.Echo(r.GetValue(output))}: a sheet is SVG; end the name in .svg.");
            }

            await using var host = await app.StartAsync(r, ct);
            var programId = host.Program(r.GetRequiredValue(program));
            var codes = host.Get<ReferralCodeService>();
            var links = host.Get<ShareLinkService>();
            var qr = host.Get<QrCodeRenderer>();
            var shareMedium = r.GetValue(medium);
            IAsyncEnumerable<ReferralCodeRecord> cards = fromFile is null
                ? codes.GenerateBulkAsync(new CodeRequest { Program = programId, Medium = shareMedium }, n!.Value, ct)
                : FromCsv(codes, programId, fromFile, n ?? int.MaxValue, ct);

            if (fromFile is not null)
            {
                // Every row checked before a page is written (at most 100,000 cards): a bad row further down stopped the
                // run after its first pages were written, and a rerun was then refused for those pages.
                var listed = new List<ReferralCodeRecord>();
                await foreach (var card in cards)
                {
                    listed.Add(card);
                }
                if (listed.Count == 0)
                {
                    throw CliException.Refused($"--from {Text.Echo(r.GetValue(from))}: the file lists no codes.");
                }
                cards = listed.ToAsyncEnumerable();
            }
            var pages = new List<string>();
            var page = new List<ReferralCodeRecord>(Sheet.CardsPerPage);
            int total = 0;
            string PagePath(int number) => Path.Combine(Path.GetDirectoryName(target)!, $"{Path.GetFileNameWithoutExtension(target)}-{number}.svg");
            void Flush(bool last)
            {
                // One page: the name asked for; several: numbered from the first.
                string path = last && pages.Count == 0 ? target : PagePath(pages.Count + 1);
                if (File.Exists(path) && !r.GetValue(force))
                {
                    throw CliException.Refused($"{path} exists; name another --out, or add --force to replace it.");
                }
                File.WriteAllText(path, Sheet.Page(page, c => links.BuildQrPayload(c.Code, c.Medium, c.Display), qr, text), new UTF8Encoding(false));
                pages.Add(path);
                page.Clear();
            }
            await foreach (var card in cards)
            {
                if (page.Count == Sheet.CardsPerPage)
                {
                    Flush(last: false);
                }
                page.Add(card);
                total++;
            }
            if (page.Count > 0)
            {
                Flush(last: true);
            }
            if (r.GetValue(app.Json))
            {
                CliOptions.WriteJson(console, new { cards = total, pages });
            }
            else
            {
                // A long run names its first and last pages, not each of a hundred (--json lists them all).
                string where = pages.Count switch
                {
                    1 => pages[0],
                    <= 3 => string.Join(", ", pages),
                    _ => $"{pages[0]} ... {pages[^1]}",
                };
                console.Out.WriteLine($"Wrote {CliApp.N(total)} cards on {pages.Count} A4 page(s): {where}");
            }
            return total == 0 ? ExitCodes.Refused : ExitCodes.Ok;
        });
        return command;
    }

    /// <summary>The codes of a <c>codes bulk</c> CSV, each checked against the store (it must exist, in the program).</summary>
    private static async IAsyncEnumerable<ReferralCodeRecord> FromCsv(ReferralCodeService codes, ProgramId program, string path, int max, [System.Runtime.CompilerServices.EnumeratorCancellation] CancellationToken ct)
    {
        using var reader = new StreamReader(path, Encoding.UTF8);
        string? header = await reader.ReadLineAsync(ct);
        if (header is null || !header.StartsWith("code,", StringComparison.Ordinal))
        {
            throw CliException.Usage($"{path} is no codes file: its first line must be the header '{BulkCommand.Header}' that 'referrals codes bulk' writes.");
        }
        int line = 1;
        int taken = 0;
        string? text;
        while (taken < max && (text = await reader.ReadLineAsync(ct)) is not null)
        {
            line++;
            if (text.Length == 0)
            {
                continue;
            }
            string raw = Text.SplitCsvLine(text)[0];
            var record = ReferralCode.TryParse(raw, out var code) ? await codes.FindAsync(code, ct) : null;
            if (record is null || record.Program != program)
            {
                throw CliException.Refused($"{path} line {line}: {Text.Echo(raw)} is no code of program {program.Value} in the store; no card printed for it. Check the file and --program.");
            }
            taken++;
            yield return record;
        }
    }

    /// <summary>An A4 page of business-card-sized cards in millimetres, as SVG.</summary>
    private static class Sheet
    {
        public const int CardsPerPage = 10;
        private const double PageWidth = 210;
        private const double PageHeight = 297;
        private const double CardWidth = 85;
        private const double CardHeight = 55;
        private const int Columns = 2;
        private const double MarginX = (PageWidth - (Columns * CardWidth)) / 2;
        private const double MarginY = (PageHeight - (5 * CardHeight)) / 2;
        private const double QrSide = 45;

        public static string Page(IReadOnlyList<ReferralCodeRecord> cards, Func<ReferralCodeRecord, string> payload, QrCodeRenderer qr, string? caption)
        {
            const string ns = "http://www.w3.org/2000/svg";
            var sb = new StringBuilder();
            using (var w = XmlWriter.Create(sb, new XmlWriterSettings { OmitXmlDeclaration = true, Indent = true }))
            {
                w.WriteStartElement("svg", ns);
                w.WriteAttributeString("width", "210mm");
                w.WriteAttributeString("height", "297mm");
                w.WriteAttributeString("viewBox", $"0 0 {N(PageWidth)} {N(PageHeight)}");
                for (int i = 0; i < cards.Count; i++)
                {
                    var card = cards[i];
                    double x = MarginX + (i % Columns * CardWidth);
                    double y = MarginY + (i / Columns * CardHeight);
                    // The cutting outline, light grey.
                    Element(w, "rect", ("x", N(x)), ("y", N(y)), ("width", N(CardWidth)), ("height", N(CardHeight)), ("fill", "none"), ("stroke", "#bbbbbb"), ("stroke-width", "0.2"));
                    var matrix = qr.Encode(payload(card));
                    double module = QrSide / (matrix.Size + 8); // a 4-module quiet zone each side
                    double qx = x + 3;
                    double qy = y + ((CardHeight - QrSide) / 2);
                    var path = new StringBuilder();
                    for (int row = 0; row < matrix.Size; row++)
                    {
                        for (int col = 0; col < matrix.Size; col++)
                        {
                            if (matrix.IsDark(row, col))
                            {
                                path.Append(CultureInfo.InvariantCulture, $"M{N(qx + ((col + 4) * module))},{N(qy + ((row + 4) * module))}h{N(module)}v{N(module)}h{N(-module)}z");
                            }
                        }
                    }
                    Element(w, "path", ("d", path.ToString()), ("fill", "#000000"), ("shape-rendering", "crispEdges"));
                    double tx = x + QrSide + 4;
                    double width = CardWidth - QrSide - 7;
                    TextElement(w, card.Display, tx, y + 24, 5.2, width, "bold");
                    if (!string.IsNullOrEmpty(caption))
                    {
                        TextElement(w, caption, tx, y + 32, 3, width, "normal");
                    }
                }
                w.WriteEndElement();
            }
            return sb.ToString();
        }

        private static void TextElement(XmlWriter w, string text, double x, double y, double size, double width, string weight)
        {
            w.WriteStartElement("text", "http://www.w3.org/2000/svg");
            w.WriteAttributeString("x", N(x));
            w.WriteAttributeString("y", N(y));
            w.WriteAttributeString("font-family", "monospace");
            w.WriteAttributeString("font-size", N(size));
            w.WriteAttributeString("font-weight", weight);
            if (text.Length * 0.6 * size > width)
            {
                w.WriteAttributeString("textLength", N(width));
                w.WriteAttributeString("lengthAdjust", "spacingAndGlyphs");
            }
            w.WriteString(Printable(text));
            w.WriteEndElement();
        }

        /// <summary>XML cannot hold control characters; a caption is one line.</summary>
        private static string Printable(string text) => string.Concat(text.Select(c => char.IsControl(c) || char.IsSurrogate(c) || c is '\uFFFE' or '\uFFFF' ? '?' : c));

        private static void Element(XmlWriter w, string name, params (string Name, string Value)[] attributes)
        {
            w.WriteStartElement(name, "http://www.w3.org/2000/svg");
            foreach (var (attribute, value) in attributes)
            {
                w.WriteAttributeString(attribute, value);
            }
            w.WriteEndElement();
        }

        private static string N(double value) => Math.Round(value, 3).ToString(CultureInfo.InvariantCulture);
    }
}
