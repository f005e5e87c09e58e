namespace Referrals;

/// <summary>What happens to a friend's later conversions once one was attributed.</summary>
public enum StickyReferee
{
    /// <summary>Later conversions stay with the same referrer, marked as repeats (the default).</summary>
    SameReferrer = 1,

    /// <summary>Later conversions are not credited again.</summary>
    NotCreditedAgain = 2,

    /// <summary>Every conversion is decided on its own touches.</summary>
    Off = 3,
}
