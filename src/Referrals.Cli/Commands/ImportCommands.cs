using System.CommandLine;
using System.Text;
using Referrals.Services;

namespace Referrals.Cli.Commands;

/// <summary><c>referrals import pos FILE.csv</c>: a POS batch upload through <see cref="AttributionService.ImportPosBatchAsync"/>.</summary>
internal static class ImportCommands
{
    public const string RefusedHeader = "line,column,reason,detail,message";

    public static Command Build(CliApp app)
    {
        var import = new Command("import", "Imports files from other systems.");
        var file = new Argument<string>("file") { Description = "The POS batch CSV (docs/pos-batch-csv.md): capture_id, store_id, event_time, code or referrer contact, order columns." };
        var program = CliOptions.Program();
        var refused = new Option<string?>("--refused")
        {
            Description = "Where to write the refused rows (line, column, reason, message); default FILE.refused.csv beside the input. Written only when rows are refused.",
            HelpName = "file",
        };
        var pos = new Command("pos", "Imports a POS batch upload: every row a touch, rows with an order a conversion. Idempotent: "
            + "importing the same file again records nothing twice. Exit code 1 when rows were refused.")
        {
            file, program, refused,
        };
        app.Example(import, "referrals import pos berlin-mitte-2026-11-22.csv --program customers");
        app.Example(pos, "referrals import pos berlin-mitte-2026-11-22.csv --program customers", "referrals import pos upload.csv -p customers --refused refused.csv --json");
        import.Add(pos);
        app.Action(pos, async (r, ct) =>
        {
            var console = app.Console;
            string input = console.Resolve(r.GetRequiredValue(file));
            if (!File.Exists(input))
            {
                throw CliException.Usage($"{Text.Echo(r.GetRequiredValue(file))}: no such file ({input}). Name the POS upload to import.");
            }
            string refusedPath = r.GetValue(refused) is { } given
                ? console.Resolve(given)
                : Path.Combine(Path.GetDirectoryName(input)!, Path.GetFileNameWithoutExtension(input) + ".refused.csv");
            if (string.Equals(refusedPath, input, StringComparison.Ordinal))
            {
                throw CliException.Usage("--refused names the input file itself; name another file.");
            }
            // Checked before the import: after it the rows are stored, and a refused file that cannot be written would lose
            // the list of rows to fix. (A folder that does not exist yet is made when there are refused rows to write.)
            if (Directory.Exists(refusedPath))
            {
                throw CliException.Usage($"--refused {Text.Echo(refusedPath)} is a folder; name a file to write the refused rows to.");
            }

            await using var host = await app.StartAsync(r, ct);
            var programId = host.Program(r.GetRequiredValue(program));
            long length = new FileInfo(input).Length;
            var progress = new Progress(console, "bytes", length);
            await using var stream = new CountingStream(new FileStream(input, FileMode.Open, FileAccess.Read, FileShare.Read, 1 << 16), n => progress.Report(n, $"{CliApp.N(n >> 10)} of {CliApp.N(length >> 10)} KiB"));
            using var reader = new StreamReader(stream, Encoding.UTF8);
            Referrals.Attribution.BatchImportResult result;
            try
            {
                result = await host.Get<AttributionService>().ImportPosBatchAsync(programId, reader, ct);
            }
            finally
            {
                progress.Clear();
            }

            int rows = result.Captured + result.Duplicates + result.Errors.Count;
            if (result.Errors.Count > 0)
            {
                if (Path.GetDirectoryName(refusedPath) is { Length: > 0 } refusedFolder)
                {
                    Directory.CreateDirectory(refusedFolder);
                }
                await using var writer = new StreamWriter(refusedPath, append: false, new UTF8Encoding(encoderShouldEmitUTF8Identifier: false));
                await writer.WriteLineAsync(RefusedHeader);
                foreach (var error in result.Errors)
                {
                    string detail = error.ReadReason?.ToString() ?? (error.Rejection?.ToString() ?? string.Empty);
                    await writer.WriteLineAsync($"{error.LineNumber},{Text.Csv(error.Column)},{error.Reason},{detail},{Text.Csv(error.Message)}");
                }
            }
            if (r.GetValue(app.Json))
            {
                CliOptions.WriteJson(console, new
                {
                    file = input,
                    program = programId.Value,
                    rows,
                    captured = result.Captured,
                    conversions = result.Conversions,
                    duplicates = result.Duplicates,
                    reevaluated = result.Reevaluated,
                    refused = result.Errors.Count,
                    refusedFile = result.Errors.Count > 0 ? refusedPath : null,
                });
            }
            else
            {
                var o = console.Out;
                o.WriteLine($"Imported {input} into program {programId.Value} in {Progress.Format(progress.Elapsed)}:");
                o.WriteLine($"  rows         {CliApp.N(rows),10}");
                o.WriteLine($"  captured     {CliApp.N(result.Captured),10}");
                o.WriteLine($"  conversions  {CliApp.N(result.Conversions),10}");
                o.WriteLine($"  duplicates   {CliApp.N(result.Duplicates),10}  (imported before)");
                o.WriteLine($"  re-decided   {CliApp.N(result.Reevaluated),10}  (earlier orders whose decision changed)");
                string refusedText = console.OutColors && result.Errors.Count > 0 ? console.Red($"{CliApp.N(result.Errors.Count),10}", true) : $"{CliApp.N(result.Errors.Count),10}";
                o.WriteLine($"  refused      {refusedText}{(result.Errors.Count > 0 ? $"  -> {refusedPath}" : string.Empty)}");
                foreach (var error in result.Errors.Take(5))
                {
                    o.WriteLine($"    {error.Message}");
                }
                if (result.Errors.Count > 5)
                {
                    o.WriteLine($"    ... and {CliApp.N(result.Errors.Count - 5)} more in {refusedPath}");
                }
            }
            return result.Errors.Count == 0 ? ExitCodes.Ok : ExitCodes.Refused;
        });
        return import;
    }

    /// <summary>Reports the bytes read so far, for the progress bar of a reader the library consumes.</summary>
    private sealed class CountingStream(Stream inner, Action<long> report) : Stream
    {
        private long _read;

        public override bool CanRead => true;

        public override bool CanSeek => false;

        public override bool CanWrite => false;

        public override long Length => inner.Length;

        public override long Position { get => _read; set => throw new NotSupportedException(); }

        public override int Read(byte[] buffer, int offset, int count) => Count(inner.Read(buffer, offset, count));

        public override int Read(Span<byte> buffer) => Count(inner.Read(buffer));

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default) =>
            Count(await inner.ReadAsync(buffer, cancellationToken).ConfigureAwait(false));

        public override async Task<int> ReadAsync(byte[] buffer, int offset, int count, CancellationToken cancellationToken) =>
            Count(await inner.ReadAsync(buffer.AsMemory(offset, count), cancellationToken).ConfigureAwait(false));

        public override void Flush()
        {
        }

        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();

        public override void SetLength(long value) => throw new NotSupportedException();

        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        protected override void Dispose(bool disposing)
        {
            if (disposing)
            {
                inner.Dispose();
            }
            base.Dispose(disposing);
        }

        public override async ValueTask DisposeAsync()
        {
            await inner.DisposeAsync().ConfigureAwait(false);
            await base.DisposeAsync().ConfigureAwait(false);
        }

        private int Count(int n)
        {
            _read += n;
            report(_read);
            return n;
        }
    }
}
