using NodaTime;

namespace Referrals.Codes;

/// <summary>
/// The statuses a code had over time (<see cref="CodeStatus"/>: active, paused, revoked), so a touch and a conversion are
/// judged by the status in effect at their event time, whenever they arrive. Built from the code's versions, oldest first,
/// each with the instant it took effect; consecutive versions with the same status (an owner assigned) are one span.
/// Immutable and thread-safe.
/// </summary>
/// <remarks>
/// <para>
/// A change takes effect just after its instant: an event at exactly that instant sees the status before it. A change is
/// dated by the library's clock when it is made, and a sale dated that same instant may arrive before or after it; were
/// it judged by the new status, it would be credited when it arrived first (a pause decides no recorded order again) and
/// refused when it arrived second — or when re-evaluated. Judged by the status before, it is decided the same way
/// whatever the order (found by EventOrderPropertyTests: a sale and a pause at one instant). A version whose instant is earlier than the one before it (clocks of two processes
/// apart) takes effect when the one before it did, never earlier, so the history stays in the order of the versions.
/// </para>
/// <para>
/// Before the first version known, the code is judged by that first version: event times come from the host's clocks (a
/// till a minute behind the server that issued the code) and from imports of history older than the code's record here
/// (codes carried over from another system, a store upgraded from a format that kept only the latest version).
/// </para>
/// </remarks>
internal sealed class CodeStatusHistory
{
    private static readonly CodeStatusHistory AlwaysActive = new([Instant.MinValue], [CodeStatus.Active]);
    private static readonly CodeStatusHistory AlwaysPaused = new([Instant.MinValue], [CodeStatus.Paused]);
    private static readonly CodeStatusHistory AlwaysRevoked = new([Instant.MinValue], [CodeStatus.Revoked]);

    // _from[i] is the instant span i took effect (_from[0] is not read: the first span also holds before it); strictly
    // increasing, and _status[i] differs from _status[i - 1].
    private readonly Instant[] _from;
    private readonly CodeStatus[] _status;

    private CodeStatusHistory(Instant[] from, CodeStatus[] status)
    {
        _from = from;
        _status = status;
    }

    /// <summary>A code whose status never changed (a code never changed since it was issued).</summary>
    public static CodeStatusHistory Constant(CodeStatus status) => status switch
    {
        CodeStatus.Active => AlwaysActive,
        CodeStatus.Paused => AlwaysPaused,
        CodeStatus.Revoked => AlwaysRevoked,
        _ => new([Instant.MinValue], [status]),
    };

    /// <summary>
    /// The history of a code's versions, oldest first: each version's status and the instant it took effect. An empty list
    /// is a programmer error (a code has at least the version it was issued with).
    /// </summary>
    /// <exception cref="ArgumentException"><paramref name="versions"/> is empty.</exception>
    public static CodeStatusHistory FromVersions(IReadOnlyList<(Instant ChangedAt, CodeStatus Status)> versions)
    {
        ArgumentNullException.ThrowIfNull(versions);
        if (versions.Count == 0)
        {
            throw new ArgumentException("A code's history holds at least the version it was issued with; got none.", nameof(versions));
        }
        // Each version takes effect at its instant, but never before the version it replaced: versions are the order of
        // the changes, and their instants may come from the clocks of processes a little apart.
        var from = new List<Instant>(versions.Count);
        var status = new List<CodeStatus>(versions.Count);
        foreach (var (at, s) in versions)
        {
            int last = from.Count - 1;
            if (last < 0 || at > from[last])
            {
                from.Add(at);
                status.Add(s);
            }
            else
            {
                status[last] = s; // in effect no time at all: the later version replaces it
            }
        }
        // Spans with the same status run on (an owner assigned, a pause that lasted no time).
        int n = 1;
        for (int i = 1; i < status.Count; i++)
        {
            if (status[i] != status[n - 1])
            {
                from[n] = from[i];
                status[n] = status[i];
                n++;
            }
        }
        from.RemoveRange(n, from.Count - n);
        status.RemoveRange(n, status.Count - n);
        if (status.Count == 1)
        {
            return Constant(status[0]);
        }
        return new CodeStatusHistory([.. from], [.. status]);
    }

    /// <summary>True when the status was the same at every instant: judging the code needs no instant.</summary>
    public bool IsConstant => _status.Length == 1;

    /// <summary>The status in effect at <paramref name="at"/>.</summary>
    public CodeStatus StatusAt(Instant at)
    {
        // Histories are a handful of spans: a scan from the latest is quicker than a search.
        for (int i = _status.Length - 1; i > 0; i--)
        {
            if (at > _from[i])
            {
                return _status[i];
            }
        }
        return _status[0];
    }

    /// <summary>True when the code's status was active at <paramref name="at"/>.</summary>
    public bool IsActiveAt(Instant at) => StatusAt(at) == CodeStatus.Active;

    /// <inheritdoc/>
    public override string ToString()
    {
        var parts = new string[_status.Length];
        for (int i = 0; i < parts.Length; i++)
        {
            parts[i] = i == 0 ? _status[0].ToString() : $"{_status[i]} from {_from[i]}";
        }
        return string.Join(", ", parts);
    }
}

/// <summary>
/// The status histories read for the code index's codes, by code and version: a code's versions up to a given one never
/// change, so the history read for the version the index holds stays right until the index holds a newer version (which
/// reads it again, replacing this one). Only codes changed since they were issued and met by a conversion are kept.
/// Thread-safe; a look-up takes no lock.
/// </summary>
internal sealed class CodeStatusHistories
{
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, (long Version, CodeStatusHistory History)> _byCode = new(StringComparer.Ordinal);

    /// <summary>The history read before for this version of the code, if any.</summary>
    public bool TryGet(ReferralCode code, long version, [System.Diagnostics.CodeAnalysis.NotNullWhen(true)] out CodeStatusHistory? history)
    {
        if (_byCode.TryGetValue(code.Value, out var held) && held.Version == version)
        {
            history = held.History;
            return true;
        }
        history = null;
        return false;
    }

    /// <summary>Keeps the history read for this version of the code (a later version replaces an earlier one).</summary>
    public void Remember(ReferralCode code, long version, CodeStatusHistory history) =>
        _byCode.AddOrUpdate(code.Value, static (_, v) => v, static (_, held, v) => v.Version >= held.Version ? v : held, (Version: version, History: history));
}
