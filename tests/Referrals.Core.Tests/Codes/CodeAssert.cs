using Referrals.Codes;

namespace Referrals.Tests.Codes;

/// <summary>Assertions on what a resolution says of a code, against the record the code was issued as.</summary>
internal static class CodeAssert
{
    /// <summary>The resolution found <paramref name="record"/>: its code, display, program, owner, medium and state.</summary>
    public static void ResolvesTo(ReferralCodeRecord? record, CodeResolution resolution)
    {
        Assert.NotNull(record);
        Assert.Equal(CodeResolutionOutcome.Found, resolution.Outcome);
        Assert.Equal(record.Code, resolution.Code);
        Assert.Equal(record.Display, resolution.Display);
        Assert.Equal(record.Program, resolution.Program);
        Assert.Equal(record.Owner, resolution.Owner);
        Assert.Equal(record.Medium, resolution.Medium);
    }
}
