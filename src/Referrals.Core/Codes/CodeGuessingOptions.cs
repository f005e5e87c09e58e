namespace Referrals.Codes;

/// <summary>
/// Rate limit on failed code look-ups (a code that does not exist or fails its check character, and each code a "did you
/// mean" list reveals), so that nobody can try codes until one hits: per source — an IP address, device or till — and per
/// program, whoever tries.
/// </summary>
/// <remarks>
/// <para>
/// Limited are the look-ups people can reach: <c>AttributionService.CaptureAsync</c>,
/// <c>AttributionService.RecordConversionAsync</c> (a presented code) and
/// <c>ReferralCodeService.Resolve(raw, program, source)</c> with its suggestions. A limited look-up is
/// refused before its input is read, found code or not. The source is the one the caller gives; without one, a capture
/// falls back to the till, the visitor, the customer, then the contact, and a resolve without one counts against the
/// program's single shared "unknown source", limited like one source — so pass the client's IP address or device id. POS
/// batch uploads and <c>ReferralCodeService.Resolve(raw)</c> (for input from your own systems) are not
/// limited.
/// </para>
/// <para>
/// <b>Per process.</b> The counts are kept in the memory of each process (fixed in size, never written anywhere) and are
/// not shared: <c>n</c> app instances behind a load balancer together allow up to <c>n</c> times the failures, and a
/// restart forgets them. A host running several instances should route each client to one instance (sticky sessions by
/// IP address) or divide <see cref="MaxFailures"/> and <see cref="MaxFailuresPerProgram"/> by the number of instances, and
/// put a shared rate limit in front of its code-entry endpoints (at the gateway or web application firewall, or ASP.NET
/// Core rate limiting backed by a shared store) when one process's view is not enough.
/// </para>
/// </remarks>
public sealed class CodeGuessingOptions
{
    /// <summary>Whether the limit applies. Default <see langword="true"/>.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>
    /// Failed look-ups within <see cref="Window"/> after which a source (or a program's shared unknown source) is refused.
    /// 1 to 10,000; default 10.
    /// </summary>
    public int MaxFailures { get; set; } = 10;

    /// <summary>
    /// Failed look-ups within <see cref="Window"/>, from all sources together, after which every look-up in the program is
    /// refused: this bounds guessing spread over many sources (rotating IP addresses or visitor ids). While it holds,
    /// genuine customers are refused too, so set it well above the failures (typos) your busiest window brings.
    /// 1 to 1,000,000; default 1,000.
    /// </summary>
    public int MaxFailuresPerProgram { get; set; } = 1_000;

    /// <summary>The sliding window the failures are counted in. 1 second to 1 day; default 10 minutes.</summary>
    public TimeSpan Window { get; set; } = TimeSpan.FromMinutes(10);

    /// <summary>
    /// Sources tracked at once: the limiter's memory is fixed at this many small slots (about 40 bytes each); idle sources
    /// are forgotten. 16 to 16,777,216; default 65,536.
    /// </summary>
    public int MaxSources { get; set; } = 65_536;

    /// <summary>Adds a message naming the setting by its path (<c>Referrals:Fraud:CodeGuessing:Window</c>) for every bad one.</summary>
    internal void Validate(string path, List<string> f)
    {
        if (MaxFailures is < 1 or > 10_000)
        {
            f.Add($"{path}:MaxFailures must be 1 to 10,000; got {MaxFailures}.");
        }
        if (Window < TimeSpan.FromSeconds(1) || Window > TimeSpan.FromDays(1))
        {
            f.Add($"{path}:Window must be 1 second to 1 day; got {Window}.");
        }
        if (MaxSources is < 16 or > 16_777_216)
        {
            f.Add($"{path}:MaxSources must be 16 to 16,777,216; got {MaxSources}.");
        }
        if (MaxFailuresPerProgram is < 1 or > 1_000_000)
        {
            f.Add($"{path}:MaxFailuresPerProgram must be 1 to 1,000,000; got {MaxFailuresPerProgram}.");
        }
    }
}
