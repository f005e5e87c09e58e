using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using NodaTime;
using Referrals.Codes;
using Referrals.Internal;
using Referrals.Participants;
using Referrals.Privacy;

namespace Referrals.Fraud;

/// <summary>
/// The flat facts of one credited conversion that the fraud checks judge (stage 2 of the conversion pipeline, after the
/// attribution decided the credit); built by the pipeline, so this folder needs nothing of attribution or storage.
/// A struct: the context the checks see is the one object an assessment allocates for it.
/// </summary>
internal readonly struct FraudCase
{
    public required ProgramId Program { get; init; }

    public required string OrderId { get; init; }

    public required ParticipantId Customer { get; init; }

    public required ParticipantId Referrer { get; init; }

    public required Money Amount { get; init; }

    public required Instant EventTime { get; init; }

    public required IReadOnlyList<ParticipantId> Chain { get; init; }

    public ReferralCode? Code { get; init; }

    public Participant? CustomerParticipant { get; init; }

    public Participant? ReferrerParticipant { get; init; }

    public required IReadOnlyList<ContactHash> CustomerContacts { get; init; }

    /// <summary>The conversion's fingerprints; the registration's are added by the assessor.</summary>
    public required IReadOnlyList<Fingerprint> ConversionFingerprints { get; init; }

    public IReadOnlyList<Fingerprint> CustomerFingerprints => Union(ConversionFingerprints, CustomerParticipant?.Fingerprints);

    /// <summary>Who referred the referrer first, when the caller read it already; <see langword="null"/> when not read.</summary>
    public System.Runtime.CompilerServices.StrongBox<ParticipantId?>? ReferrersFirstReferrer { get; init; }

    internal static IReadOnlyList<T> Union<T>(IReadOnlyList<T> first, IReadOnlyList<T>? second)
    {
        if (second is null || second.Count == 0)
        {
            return first;
        }
        if (first.Count == 0)
        {
            return second;
        }
        var all = new List<T>(first.Count + second.Count);
        all.AddRange(first);
        foreach (var x in second)
        {
            if (!all.Contains(x))
            {
                all.Add(x);
            }
        }
        return all;
    }
}
