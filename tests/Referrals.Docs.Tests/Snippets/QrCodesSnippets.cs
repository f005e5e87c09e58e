using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Referrals.QrCodes;

namespace Referrals.Docs;

/// <summary>The code Referrals.QrCodes' README shows.</summary>
public sealed class QrCodesSnippets
{
    [Fact]
    public void QrCodesRegistrationAndRendering()
    {
        var configuration = new ConfigurationBuilder().Build();
        var services = new ServiceCollection();
        #region QrCodes.Register
        services.AddReferrals(configuration).AddQrCodes();
        #endregion
        using var provider = services.BuildServiceProvider();
        var qr = provider.GetRequiredService<QrCodeRenderer>();
        var code = ReferralCode.Parse("K7QM-4XPD");
        var printedCode = "K7QM-4XPD";

        #region QrCodes.Render
        byte[] png = qr.RenderCodePng(code, ShareMedium.Receipt, printedCode, new QrRenderOptions { Caption = printedCode });
        #endregion
        Assert.True(png.AsSpan(1, 3).SequenceEqual("PNG"u8));
    }
}
