using System.Diagnostics;

namespace Referrals.QrCodes.Tests.Support;

/// <summary>
/// Reads QR codes with decoders we did not write: <c>zbarimg</c> (Debian's zbar-tools) for PNG, after
/// <c>rsvg-convert</c> (librsvg2-bin) for SVG. A missing tool fails the test with what to install, never skips it.
/// </summary>
internal static class Decoder
{
    /// <summary>The text of every QR code zbarimg finds in a PNG file's bytes.</summary>
    public static async Task<IReadOnlyList<string>> ReadPngAsync(byte[] png)
    {
        var dir = Directory.CreateTempSubdirectory("qr-decode-");
        try
        {
            string file = Path.Combine(dir.FullName, "code.png");
            await File.WriteAllBytesAsync(file, png, TestContext.Current.CancellationToken);
            return await ZbarAsync(file);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    /// <summary>The text of every QR code zbarimg finds in an SVG document rendered to PNG by rsvg-convert.</summary>
    public static async Task<IReadOnlyList<string>> ReadSvgAsync(string svg)
    {
        var dir = Directory.CreateTempSubdirectory("qr-decode-");
        try
        {
            string source = Path.Combine(dir.FullName, "code.svg");
            string png = Path.Combine(dir.FullName, "code.png");
            await File.WriteAllTextAsync(source, svg, TestContext.Current.CancellationToken);
            var (code, _, error) = await RunAsync("rsvg-convert", "librsvg2-bin", "--background-color=white", "-o", png, source);
            Assert.True(code == 0, $"rsvg-convert exited with {code}: {error}");
            return await ZbarAsync(png);
        }
        finally
        {
            dir.Delete(recursive: true);
        }
    }

    private static async Task<IReadOnlyList<string>> ZbarAsync(string file)
    {
        // QR codes only; --raw prints each symbol's text alone, one per line.
        var (code, output, error) = await RunAsync("zbarimg", "zbar-tools", "--quiet", "--raw", "-Sdisable", "-Sqrcode.enable", file);
        // zbarimg exits 4 when it found no symbol: an empty list, for the test to report.
        Assert.True(code is 0 or 4, $"zbarimg exited with {code}: {error}");
        return output.Split('\n', StringSplitOptions.RemoveEmptyEntries);
    }

    private static async Task<(int Code, string Output, string Error)> RunAsync(string tool, string package, params string[] arguments)
    {
        var start = new ProcessStartInfo(tool, arguments)
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        Process? process;
        try
        {
            process = Process.Start(start);
        }
        catch (System.ComponentModel.Win32Exception e)
        {
            Assert.Fail($"{tool} is not installed ({e.Message}): the QR tests read every image back with it. Install it with `apt-get install -y {package}` (.ci/run does).");
            throw;
        }
        using var running = process ?? throw new InvalidOperationException($"{tool} did not start.");
        var output = running.StandardOutput.ReadToEndAsync(TestContext.Current.CancellationToken);
        var error = running.StandardError.ReadToEndAsync(TestContext.Current.CancellationToken);
        await running.WaitForExitAsync(TestContext.Current.CancellationToken);
        return (running.ExitCode, await output, await error);
    }
}
