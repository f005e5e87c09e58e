namespace Referrals;

/// <summary>Which earlier touch earns the credit when no code was presented at the conversion itself.</summary>
public enum TouchPrecedence
{
    /// <summary>The most recent touch within the window (the default).</summary>
    LastTouch = 1,

    /// <summary>The earliest touch within the window.</summary>
    FirstTouch = 2,
}
