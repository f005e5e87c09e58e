using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Codes;

namespace Referrals.Tests.Codes;

public sealed class CodeStatusHistoryTests
{
    private static readonly Instant Issued = Instant.FromUtc(2026, 11, 23, 9, 0);

    private static Instant At(int hours) => Issued + Duration.FromHours(hours);

    [Fact]
    public void A_change_takes_effect_just_after_its_instant()
    {
        // An event at the change's own instant may arrive before or after the change: it sees the status before it.
        var history = CodeStatusHistory.FromVersions([(At(0), CodeStatus.Active), (At(10), CodeStatus.Paused), (At(20), CodeStatus.Active)]);

        Assert.Equal(CodeStatus.Active, history.StatusAt(At(10)));
        Assert.Equal(CodeStatus.Paused, history.StatusAt(At(10) + Duration.Epsilon));
        Assert.Equal(CodeStatus.Paused, history.StatusAt(At(20)));
        Assert.Equal(CodeStatus.Active, history.StatusAt(At(20) + Duration.Epsilon));
        Assert.False(history.IsConstant);
    }

    [Fact]
    public void Before_its_first_version_a_code_is_judged_as_it_was_issued()
    {
        // A till's clock a minute behind the server that issued the code, or history imported from before the code was here.
        var history = CodeStatusHistory.FromVersions([(At(0), CodeStatus.Active), (At(10), CodeStatus.Revoked)]);

        Assert.Equal(CodeStatus.Active, history.StatusAt(At(0) - Duration.FromMinutes(1)));
        Assert.Equal(CodeStatus.Active, history.StatusAt(Instant.MinValue));
        Assert.Equal(CodeStatus.Revoked, history.StatusAt(Instant.MaxValue));
    }

    [Fact]
    public void A_version_stamped_earlier_than_the_one_before_takes_effect_no_earlier_than_it()
    {
        // Two processes' clocks apart: the resume (version 3) is stamped before the pause (version 2) it undid.
        var history = CodeStatusHistory.FromVersions([(At(0), CodeStatus.Active), (At(10), CodeStatus.Paused), (At(9), CodeStatus.Active)]);

        Assert.Equal(CodeStatus.Active, history.StatusAt(At(9)));
        Assert.Equal(CodeStatus.Active, history.StatusAt(At(10)));
        Assert.True(history.IsConstant);
    }

    [Fact]
    public void Changes_that_keep_the_status_are_one_span()
    {
        // Issued unassigned, handed to a referrer, then assigned again: active all along.
        var history = CodeStatusHistory.FromVersions([(At(0), CodeStatus.Active), (At(3), CodeStatus.Active), (At(5), CodeStatus.Active)]);

        Assert.True(history.IsConstant);
        Assert.Same(CodeStatusHistory.Constant(CodeStatus.Active), history);
    }

    [Fact]
    public void A_history_needs_at_least_one_version()
    {
        var error = Assert.Throws<ArgumentException>(() => CodeStatusHistory.FromVersions([]));
        Assert.Equal("versions", error.ParamName);
    }

    private static readonly CodeStatus[] Statuses = [CodeStatus.Active, CodeStatus.Paused, CodeStatus.Revoked];

    // Versions with instants mostly increasing, some equal or earlier than the one before (skewed clocks).
    private static Arbitrary<(int Hour, CodeStatus Status)[]> Versions() =>
        Gen.Choose(-3, 6).Zip(Gen.Elements(Statuses)).NonEmptyListOf()
            .Select(steps =>
            {
                var versions = new (int, CodeStatus)[steps.Count];
                int hour = 0;
                for (int i = 0; i < versions.Length; i++)
                {
                    hour += i == 0 ? 0 : steps[i].Item1;
                    versions[i] = (hour, steps[i].Item2);
                }
                return versions;
            })
            .ToArbitrary();

    /// <summary>
    /// The reference: version i takes effect at the latest instant stamped on versions 0..i; at an instant, the last
    /// version in effect by then counts; before the first, the last version that took effect at the first instant.
    /// </summary>
    private static CodeStatus Reference((int Hour, CodeStatus Status)[] versions, int at)
    {
        var effective = new int[versions.Length];
        for (int i = 0; i < versions.Length; i++)
        {
            effective[i] = i == 0 ? versions[0].Hour : Math.Max(effective[i - 1], versions[i].Hour);
        }
        int found = -1;
        for (int i = 0; i < versions.Length; i++)
        {
            if (effective[i] <= at)
            {
                found = i;
            }
        }
        if (found < 0)
        {
            for (int i = 0; i < versions.Length && effective[i] == effective[0]; i++)
            {
                found = i;
            }
        }
        return versions[found].Status;
    }

    [Property(MaxTest = 2000)]
    public Property The_status_at_any_instant_is_the_last_version_in_effect_then() =>
        Prop.ForAll(
            Versions(),
            Gen.Choose(-5, 60).ToArbitrary(),
            (versions, hour) =>
            {
                var history = CodeStatusHistory.FromVersions([.. versions.Select(v => (At(v.Hour), v.Status))]);
                // Changes fall on whole hours and take effect just after: at an hour, the status is the one of the hour
                // before; just after it, the one of that hour.
                return history.StatusAt(At(hour) + Duration.Epsilon) == Reference(versions, hour)
                    && history.StatusAt(At(hour)) == Reference(versions, hour - 1);
            });
}
