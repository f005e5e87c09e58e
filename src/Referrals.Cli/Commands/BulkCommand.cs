using System.CommandLine;
using System.Text;
using Referrals.Codes;
using Referrals.Links;
using Referrals.QrCodes;
using Referrals.Services;

namespace Referrals.Cli.Commands;

/// <summary>
/// <c>referrals codes bulk</c>: codes for printing, streamed from <c>ReferralCodeService.GenerateBulkAsync</c> into a
/// CSV file, with an optional QR image per code.
/// </summary>
/// <remarks>
/// <para>Safe to interrupt and to run again. Rows go to <c>FILE.partial</c> beside the target, and only after the
/// library has committed their chunk to the store (it yields a code only once it is stored), so every row in the file is a
/// code the store holds. Only a complete file is renamed to <c>FILE</c>: a file under the name asked for is always
/// complete.</para>
/// <para>Run again with the same options after an interruption, and the command resumes: it keeps the rows of the
/// <c>.partial</c> file (a line cut off by a crash is dropped), generates the rest and renames. Codes committed but not yet
/// written when the run stopped (at most one chunk, 65,536) stay in the store unprinted and unassigned: harmless, they
/// are never handed out. A target that exists already is refused: it holds codes that may be printed already;
/// <c>--force</c> replaces it (and a <c>.partial</c> file) with new codes, whose old codes stay in the store.</para>
/// </remarks>
internal static class BulkCommand
{
    public const string Header = "code,display,program,medium,qr_payload";
    public const int MaxCount = 100_000_000;

    public static Command Build(CliApp app)
    {
        var program = CliOptions.Program();
        var count = CliOptions.Count("codes", MaxCount);
        var medium = CliOptions.Medium(ShareMedium.Receipt);
        var output = CliOptions.Out("The CSV file to write (code, display, program, medium, qr_payload); written as FILE.partial and renamed when complete.");
        var qrDir = new Option<string?>("--qr-dir") { Description = "Also write one QR image per code into this folder, named CODE.png (or .svg).", HelpName = "dir" };
        var svg = new Option<bool>("--svg") { Description = "With --qr-dir: SVG images instead of PNG." };
        var force = CliOptions.Force("Replace an existing FILE (and start a FILE.partial over) instead of refusing.");
        var command = new Command("bulk", "Generates codes for printing (receipt rolls, cards) into a CSV file, with progress, safely resumable: "
            + "an interrupted run leaves FILE.partial holding only stored codes, and the same command again finishes it.")
        {
            program, count, medium, output, qrDir, svg, force,
        };
        app.Example(command,
            "referrals codes bulk --program customers --count 50000 --medium receipt --out codes.csv",
            "referrals codes bulk -p customers -n 500 -m card -o cards.csv --qr-dir qr");
        app.Action(command, async (r, ct) =>
        {
            var console = app.Console;
            string target = console.Resolve(r.GetRequiredValue(output));
            string partial = target + ".partial";
            string? images = r.GetValue(qrDir) is { } dir ? console.Resolve(dir) : null;
            bool replace = r.GetValue(force);
            int total = r.GetValue(count);
            var shareMedium = r.GetValue(medium);
            if (Directory.Exists(target))
            {
                throw CliException.Usage($"--out {Text.Echo(r.GetValue(output))} is a folder; name a file such as codes.csv.");
            }
            if (!Directory.Exists(Path.GetDirectoryName(target)))
            {
                throw CliException.Usage($"--out {Text.Echo(r.GetValue(output))}: the folder {Path.GetDirectoryName(target)} does not exist; create it first.");
            }
            if (File.Exists(target) && !replace)
            {
                throw CliException.Refused($"{target} exists: it holds codes generated before, which may be printed already. Name another --out, or add --force to replace it (its codes stay in the store).");
            }

            await using var host = await app.StartAsync(r, ct, codeIndex: false);
            var programId = host.Program(r.GetRequiredValue(program));
            if (replace && File.Exists(partial))
            {
                File.Delete(partial);
            }
            int existing = File.Exists(partial) ? Partial.Recover(partial, programId, shareMedium, total) : 0;
            if (images is not null)
            {
                Directory.CreateDirectory(images);
            }
            var links = host.Get<ShareLinkService>();
            var qr = images is null ? null : host.Get<QrCodeRenderer>();
            bool asSvg = r.GetValue(svg);
            if (qr is not null && existing > 0)
            {
                // The images of rows written before the interruption: the one being written may have been cut off.
                foreach (var row in Partial.Rows(partial))
                {
                    WriteImage(qr, images!, asSvg, ReferralCode.Parse(row[0]), shareMedium, row[1], overwrite: false);
                }
            }

            var progress = new Progress(console, "codes", total, existing);
            int written = existing;
            bool complete = false;
            await using (var stream = new FileStream(partial, FileMode.Append, FileAccess.Write, FileShare.Read, 1 << 16))
            {
                await using var writer = new StreamWriter(stream, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false), 1 << 16);
                try
                {
                    if (existing == 0)
                    {
                        await writer.WriteLineAsync(Header.AsMemory(), ct);
                    }
                    if (total > existing)
                    {
                        var request = new CodeRequest { Program = programId, Medium = shareMedium };
                        // Not held in this process's code index: the tool prints the codes and exits, and its memory stays flat.
                        await foreach (var record in host.Get<ReferralCodeService>().GenerateBulkAsync(request, total - existing, index: false, ct))
                        {
                            string payload = links.BuildQrPayload(record.Code, record.Medium, record.Display);
                            await writer.WriteLineAsync($"{record.Code.Value},{Text.Csv(record.Display)},{Text.Csv(record.Program.Value)},{record.Medium.ToToken()},{Text.Csv(payload)}".AsMemory(), CancellationToken.None);
                            if (qr is not null)
                            {
                                WriteImage(qr, images!, asSvg, record.Code, record.Medium, record.Display, overwrite: true);
                            }
                            written++;
                            progress.Report(written);
                        }
                    }
                    complete = true;
                }
                finally
                {
                    // Whatever happens, the rows of stored codes reach the file, so a re-run resumes after them.
                    await writer.FlushAsync(CancellationToken.None);
                    stream.Flush(flushToDisk: true);
                    progress.Clear();
                    if (!complete)
                    {
                        console.Error.WriteLine($"Stopped after {CliApp.N(written)} of {CliApp.N(total)} codes; they are in {partial}. Run the same command again to finish it.");
                    }
                }
            }
            File.Move(partial, target, overwrite: replace);

            double seconds = progress.Elapsed.TotalSeconds;
            if (r.GetValue(app.Json))
            {
                CliOptions.WriteJson(console, new
                {
                    file = target,
                    program = programId.Value,
                    medium = shareMedium.ToToken(),
                    count = written,
                    resumedFrom = existing,
                    qrDir = images,
                    seconds = Math.Round(seconds, 3),
                });
            }
            else
            {
                string resumed = existing > 0 ? $" ({CliApp.N(existing)} of them from the interrupted run)" : string.Empty;
                string pictures = images is null ? string.Empty : $", a QR image each in {images}";
                console.Out.WriteLine($"Wrote {CliApp.N(written)} codes{resumed} (program {programId.Value}, medium {shareMedium.ToToken()}) to {target}{pictures}.");
                console.Out.WriteLine($"{CliApp.N(written - existing)} new codes stored in {Progress.Format(progress.Elapsed)} ({CliApp.N((long)progress.Rate(written))} codes/s).");
            }
            return ExitCodes.Ok;
        });
        return command;
    }

    private static void WriteImage(QrCodeRenderer qr, string folder, bool svg, ReferralCode code, ShareMedium medium, string display, bool overwrite)
    {
        string path = Path.Combine(folder, code.Value + (svg ? ".svg" : ".png"));
        if (!overwrite && File.Exists(path))
        {
            return;
        }
        var options = new QrRenderOptions { Caption = display };
        if (svg)
        {
            File.WriteAllText(path, qr.RenderCodeSvg(code, medium, display, options));
        }
        else
        {
            File.WriteAllBytes(path, qr.RenderCodePng(code, medium, display, options));
        }
    }

    /// <summary>The <c>.partial</c> file of an interrupted run.</summary>
    private static class Partial
    {
        /// <summary>Drops a line cut off by a crash, checks the file is this command's, and counts its codes.</summary>
        public static int Recover(string path, ProgramId program, ShareMedium medium, int total)
        {
            using (var stream = new FileStream(path, FileMode.Open, FileAccess.ReadWrite, FileShare.None))
            {
                long end = stream.Length;
                long keep = 0;
                var buffer = new byte[1 << 16];
                // The last line break: everything after it is a row whose writing was cut off.
                for (long pos = end; pos > 0 && keep == 0;)
                {
                    int n = (int)Math.Min(buffer.Length, pos);
                    pos -= n;
                    stream.Position = pos;
                    stream.ReadExactly(buffer, 0, n);
                    int at = Array.LastIndexOf(buffer, (byte)'\n', n - 1, n);
                    if (at >= 0)
                    {
                        keep = pos + at + 1;
                    }
                }
                stream.SetLength(keep);
            }
            using var reader = new StreamReader(path, Encoding.UTF8);
            string? header = reader.ReadLine();
            if (header is null)
            {
                File.Delete(path);
                return 0;
            }
            if (header != Header)
            {
                throw CliException.Refused($"{path} is not a file this command wrote (its header is not '{Header}'). Move it away, or add --force to start over.");
            }
            int rows = 0;
            string? line;
            while ((line = reader.ReadLine()) is not null)
            {
                // Every row, not the first only: a row this command did not write would be handed out as a code.
                var fields = Text.SplitCsvLine(line);
                if (fields.Count < 4 || fields[2] != program.Value || fields[3] != medium.ToToken())
                {
                    throw CliException.Refused($"{path} holds codes of another run (program {Text.Echo(fields.ElementAtOrDefault(2))}, medium {Text.Echo(fields.ElementAtOrDefault(3))}) at line {CliApp.N(rows + 2)}. Run that command again to finish it, or add --force to start over.");
                }
                if (!ReferralCode.TryParse(fields[0], out _))
                {
                    throw CliException.Refused($"{path} line {CliApp.N(rows + 2)}: {Text.Echo(fields[0])} is not a code this command wrote. Move the file away, or add --force to start over.");
                }
                rows++;
            }
            if (rows == 0)
            {
                // The header alone (stopped before the first chunk was committed): start the file again.
                reader.Dispose();
                File.Delete(path);
                return 0;
            }
            if (rows > total)
            {
                throw CliException.Refused($"{path} holds {CliApp.N(rows)} codes already, more than --count {CliApp.N(total)}. Use --count {CliApp.N(rows)} or more to finish it, or --force to start over.");
            }
            return rows;
        }

        public static IEnumerable<List<string>> Rows(string path)
        {
            using var reader = new StreamReader(path, Encoding.UTF8);
            reader.ReadLine();
            string? line;
            while ((line = reader.ReadLine()) is not null)
            {
                yield return Text.SplitCsvLine(line);
            }
        }
    }
}
