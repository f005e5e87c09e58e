using Referrals.QrCodes.Tests.Support;

namespace Referrals.QrCodes.Tests;

/// <summary>Misuse fails with an argument exception that names the problem, never inside QRCoder.</summary>
public sealed class BadInputTests
{
    private readonly QrCodeRenderer renderer = new(TestLinks.Service());

    [Fact]
    public void A_null_payload_is_refused()
    {
        Assert.Throws<ArgumentNullException>("payload", () => renderer.RenderPng(null!));
        Assert.Throws<ArgumentNullException>("payload", () => renderer.RenderSvg(null!));
    }

    [Fact]
    public void An_empty_payload_is_refused()
    {
        var e = Assert.Throws<ArgumentException>("payload", () => renderer.RenderSvg(""));
        Assert.Contains("empty", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_payload_with_an_unpaired_surrogate_is_refused_with_its_index()
    {
        var e = Assert.Throws<ArgumentException>("payload", () => renderer.RenderPng("https://shop.example/r/AB\uD800CD"));
        Assert.Contains("unpaired surrogate (U+D800) at index 25", e.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(QrErrorCorrection.Low, 2953)]
    [InlineData(QrErrorCorrection.Medium, 2331)]
    [InlineData(QrErrorCorrection.Quartile, 1663)]
    [InlineData(QrErrorCorrection.High, 1273)]
    public void A_payload_too_long_for_the_level_is_refused_naming_the_capacity(QrErrorCorrection level, int capacity)
    {
        // Lower-case letters: byte mode, one byte each. The capacity itself fits; one more byte does not.
        Assert.Equal(177, renderer.Encode(new string('x', capacity), level).Size);
        var e = Assert.Throws<ArgumentException>("payload", () => renderer.Encode(new string('x', capacity + 1), level));
        Assert.Contains($"is {capacity + 1} bytes", e.Message, StringComparison.Ordinal);
        Assert.Contains($"level {level}, which holds at most {capacity} bytes", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Every_bad_option_is_named_in_one_message()
    {
        var options = new QrRenderOptions { ModuleSize = 0, QuietZone = -1, ErrorCorrection = (QrErrorCorrection)7, Caption = new string('A', 65) };
        var e = Assert.Throws<ArgumentException>("options", () => renderer.RenderPng("ABCD", options));
        Assert.Contains("ModuleSize must be 1 to 100 (pixels per module); got 0.", e.Message, StringComparison.Ordinal);
        Assert.Contains("QuietZone must be 0 to 40 modules; got -1.", e.Message, StringComparison.Ordinal);
        Assert.Contains("ErrorCorrection must be Low, Medium, Quartile or High; got 7.", e.Message, StringComparison.Ordinal);
        Assert.Contains("Caption must be at most 64 characters; got 65.", e.Message, StringComparison.Ordinal);
        Assert.Throws<ArgumentException>("options", () => renderer.RenderSvg("ABCD", options));
    }

    [Theory]
    [InlineData(101)]
    [InlineData(int.MaxValue)]
    public void A_module_size_beyond_the_maximum_is_refused(int moduleSize)
    {
        var e = Assert.Throws<ArgumentException>("options", () => renderer.RenderSvg("ABCD", new QrRenderOptions { ModuleSize = moduleSize }));
        Assert.Contains($"got {moduleSize}.", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void An_undefined_level_is_refused_by_Encode()
    {
        Assert.Throws<ArgumentOutOfRangeException>("errorCorrection", () => renderer.Encode("ABCD", (QrErrorCorrection)(-1)));
    }

    [Fact]
    public void A_png_caption_outside_the_bitmap_font_is_refused_naming_the_character()
    {
        var e = Assert.Throws<ArgumentException>("options", () => renderer.RenderPng("ABCD", new QrRenderOptions { Caption = "JANE-ä20" }));
        Assert.Contains("U+00E4 at index 5", e.Message, StringComparison.Ordinal);
        Assert.Contains("Render SVG", e.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void A_code_overload_refuses_the_default_code()
    {
        Assert.Throws<ArgumentException>("code", () => renderer.RenderCodePng(default, ShareMedium.Receipt));
    }

    [Fact]
    public void The_matrix_refuses_indexes_outside_it()
    {
        var m = renderer.Encode("ABCD", QrErrorCorrection.Low);
        Assert.Throws<ArgumentOutOfRangeException>("row", () => m.IsDark(-1, 0));
        Assert.Throws<ArgumentOutOfRangeException>("column", () => m.IsDark(0, m.Size));
    }
}
