using Referrals.Attribution;
using Referrals.Pipeline;

namespace Referrals.Tests.Pipeline;

/// <summary>A POS row refused at capture says why in words, for every reason a capture can be refused (not the enum's name).</summary>
public sealed class PosBatchImportMessageTests
{
    [Fact]
    public void Every_capture_rejection_is_described_in_words()
    {
        foreach (var rejection in Enum.GetValues<CaptureRejection>())
        {
            string words = PosBatchImport.Describe(rejection);
            Assert.NotEqual(rejection.ToString(), words);
            Assert.Contains(" ", words, StringComparison.Ordinal);
        }
    }
}
