using System.Diagnostics;
using System.Globalization;

namespace Referrals.Cli;

/// <summary>
/// A one-line progress bar with rate and ETA on stderr, drawn only when stderr is a terminal (never into a log or a pipe)
/// and at most ten times a second.
/// </summary>
internal sealed class Progress
{
    private const int BarWidth = 24;
    private readonly CliConsole _console;
    private readonly string _unit;
    private readonly long _total;
    private readonly long _start;
    private readonly Stopwatch _clock = Stopwatch.StartNew();
    private long _lastDraw = -1_000; // not long.MinValue: now - _lastDraw is checked arithmetic
    private bool _drawn;

    /// <param name="console">Where the bar is drawn (its error writer).</param>
    /// <param name="unit">What is counted, plural ("codes", "bytes").</param>
    /// <param name="total">The amount at the end, in the unit counted.</param>
    /// <param name="start">What was done before this run (a resumed file): the rate counts only this run's work.</param>
    public Progress(CliConsole console, string unit, long total, long start = 0)
    {
        _console = console;
        _unit = unit;
        _total = Math.Max(1, total);
        _start = start;
    }

    public TimeSpan Elapsed => _clock.Elapsed;

    /// <summary>This run's work per second so far.</summary>
    public double Rate(long done) => (done - _start) / Math.Max(_clock.Elapsed.TotalSeconds, 1e-3);

    public void Report(long done, string? shown = null)
    {
        if (!_console.ErrorIsTerminal)
        {
            return;
        }
        long now = _clock.ElapsedMilliseconds;
        if (now - _lastDraw < 100 && done < _total)
        {
            return;
        }
        _lastDraw = now;
        double fraction = Math.Clamp((double)done / _total, 0, 1);
        int filled = (int)Math.Round(fraction * BarWidth);
        double rate = Rate(done);
        string eta = rate > 0 && done < _total ? Format(TimeSpan.FromSeconds((_total - done) / rate)) : Format(TimeSpan.Zero);
        string line = string.Create(CultureInfo.InvariantCulture,
            $"\r[{new string('#', filled)}{new string('-', BarWidth - filled)}] {(int)(fraction * 100),3}% {shown ?? CliApp.N(done) + " " + _unit} {rate,10:N0} {_unit}/s  ETA {eta}  ");
        _console.Error.Write(line);
        _console.Error.Flush();
        _drawn = true;
    }

    /// <summary>Clears the bar so the summary starts on a clean line.</summary>
    public void Clear()
    {
        if (_drawn)
        {
            _console.Error.Write("\r" + new string(' ', 100) + "\r");
            _console.Error.Flush();
            _drawn = false;
        }
    }

    /// <summary>A duration for people: <c>0.4 s</c>, <c>42 s</c>, <c>3:07</c>, <c>1:02:03</c>.</summary>
    public static string Format(TimeSpan t) => t.TotalHours >= 1
        ? string.Create(CultureInfo.InvariantCulture, $"{(int)t.TotalHours}:{t.Minutes:00}:{t.Seconds:00}")
        : t.TotalSeconds >= 60
            ? string.Create(CultureInfo.InvariantCulture, $"{t.Minutes}:{t.Seconds:00}")
            : string.Create(CultureInfo.InvariantCulture, $"{t.TotalSeconds:0.0} s");
}
