using Microsoft.Extensions.DependencyInjection.Extensions;
using Referrals.Links;
using Referrals.QrCodes;

namespace Microsoft.Extensions.DependencyInjection;

/// <summary>Registers the QR code renderer with dependency injection.</summary>
public static class QrCodesReferralsBuilderExtensions
{
    /// <summary>
    /// Registers a singleton <see cref="QrCodeRenderer"/> on the registered <see cref="ShareLinkService"/> (so codes' QR
    /// payloads are the host's share links, signed with its active key), unless the host registered its own renderer.
    /// </summary>
    /// <param name="builder">The builder <c>AddReferrals</c> returned.</param>
    /// <exception cref="ArgumentNullException"><paramref name="builder"/> is <see langword="null"/>.</exception>
    public static ReferralsBuilder AddQrCodes(this ReferralsBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.TryAddSingleton(sp => new QrCodeRenderer(sp.GetRequiredService<ShareLinkService>()));
        return builder;
    }
}
