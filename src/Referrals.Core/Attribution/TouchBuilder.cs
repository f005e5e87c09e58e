using System.IO.Hashing;
using System.Text;
using NodaTime;
using Referrals.Codes;

namespace Referrals.Attribution;

/// <summary>
/// Turns a capture (what a till, form, QR scanner or link handed over, or a referrer confirmed at the till) into a touch:
/// resolves the code or link under the code-guessing limit, checks program, owner and signature, and names the touch by
/// its natural id. Writes nothing. Thread-safe.
/// </summary>
/// <remarks>
/// The code's status (active, paused, revoked) and expiry are not checked here: a capture is recorded whatever they are
/// when it arrives, and the decision judges the code at the touch's own event time and the sale's (a POS batch row made
/// yesterday and uploaded after this morning's pause is evidence of a referral made while the code was active).
/// </remarks>
internal sealed class TouchBuilder(CodeResolver codes, IClock clock, bool requireLinkSignature)
{
    /// <summary>The code index and resolution that resolve what was presented.</summary>
    public CodeResolver Codes => codes;

    public async ValueTask<(Touch? Touch, CaptureRejection? Rejection, CodeResolutionOutcome? CodeOutcome)> BuildAsync(
        IAttributionFacts facts,
        CaptureRequest request,
        string? orderId,
        CancellationToken ct,
        bool limitGuessing = true,
        CodeResolution? resolved = null)
    {
        ParticipantId referrer;
        ReferralCode? code = null;
        ShareMedium medium;
        CodeResolutionOutcome? outcome = null;
        if (request.Kind == TouchKind.PosContactLookup || (request.Input is null && request.Referrer is not null))
        {
            if (request.Referrer is not { } r || await facts.FindParticipantAsync(r, ct).ConfigureAwait(false) is null)
            {
                return (null, CaptureRejection.UnknownReferrer, null);
            }
            referrer = r;
            medium = ShareMedium.Unknown;
        }
        else
        {
            // Rows of a POS batch come from the shop's own database, not from someone typing: they are not limited.
            var guard = limitGuessing ? codes.Guard : null;
            var now = clock.GetCurrentInstant();
            if (guard is not null && guard.IsRefused(request.Program, GuessingSource(request), now))
            {
                return (null, CaptureRejection.TooManyFailedLookups, null);
            }
            var resolution = resolved ?? codes.Resolve(request.Input);
            if (resolved is null && resolution.Outcome == CodeResolutionOutcome.NotFound && request.Input is { } input)
            {
                // Issued by another process since this index last caught up, or not loaded yet (the index loading in the
                // background at start): the store has it.
                foreach (var key in codes.MissedKeys(input, resolution))
                {
                    if (await facts.FindStoredCodeAsync(key, ct).ConfigureAwait(false) is { } stored)
                    {
                        codes.Index.Set(stored);
                        resolution = codes.Resolve(input);
                        break;
                    }
                }
            }
            outcome = resolution.Outcome;
            if (guard is not null && resolution.Outcome is CodeResolutionOutcome.NotFound or CodeResolutionOutcome.CheckFailed)
            {
                guard.CountFailures(request.Program, GuessingSource(request), now);
            }
            switch (resolution.Outcome)
            {
                case CodeResolutionOutcome.Malformed:
                    return (null, CaptureRejection.CodeMalformed, outcome);
                case CodeResolutionOutcome.NotFound:
                    return (null, CaptureRejection.CodeNotFound, outcome);
                case CodeResolutionOutcome.CheckFailed:
                    return (null, CaptureRejection.CodeCheckFailed, outcome);
            }
            var record = resolution.Found;
            if (record.Program != request.Program)
            {
                return (null, CaptureRejection.WrongProgram, outcome);
            }
            if (record.Owner is not { } owner)
            {
                return (null, CaptureRejection.CodeUnassigned, outcome);
            }
            if (resolution.Link is { Signature: Links.LinkSignatureStatus.Invalid })
            {
                return (null, CaptureRejection.LinkSignatureInvalid, outcome);
            }
            if (resolution.Link is { Signature: Links.LinkSignatureStatus.Absent } && requireLinkSignature)
            {
                return (null, CaptureRejection.LinkSignatureMissing, outcome);
            }
            referrer = owner;
            code = record.Code;
            // Only a signature vouches for a link's medium: an unsigned link's is whatever its sender typed.
            medium = resolution.Link is { Signature: Links.LinkSignatureStatus.Valid, Medium: not ShareMedium.Unknown } link ? link.Medium : record.Medium;
        }
        var touch = new Touch(
            id: TouchId(request, referrer, code),
            program: request.Program,
            kind: request.Kind,
            referrer: referrer,
            code: code,
            medium: medium,
            visitorId: request.VisitorId,
            customer: request.Customer,
            contact: request.Contact,
            storeId: request.StoreId,
            registerId: request.RegisterId,
            orderId: orderId,
            eventTime: request.EventTime,
            recordedAt: clock.GetCurrentInstant());
        return (touch, null, outcome);
    }

    /// <summary>
    /// Who is looking codes up, for the guessing limit: the host's source, else the till, else the visitor, the customer or
    /// the contact; with none of them, the program's shared unknown source.
    /// </summary>
    private static LookupSource GuessingSource(CaptureRequest r) =>
        r.Source is { Length: > 0 } s ? LookupSource.Host(s)
        : r.RegisterId is not null || r.StoreId is not null ? LookupSource.Till(r.StoreId, r.RegisterId)
        : r.VisitorId is { } v ? LookupSource.Visitor(v)
        : r.Customer is { } c ? LookupSource.Customer(c.Value)
        : r.Contact is { } h ? LookupSource.Contact(h.ToString())
        : LookupSource.Unknown;

    /// <summary>
    /// The natural id of a touch: the capture id where the capturing system gave one, otherwise a 128-bit hash of what
    /// makes the touch itself (kind, referrer, code, prospect, place, instant), so a re-sent capture is the same touch.
    /// </summary>
    private static string TouchId(CaptureRequest r, ParticipantId referrer, ReferralCode? code)
    {
        if (r.CaptureId is { } captureId)
        {
            return $"{(int)r.Kind}:{r.StoreId}:{captureId}";
        }
        var text = string.Join(
            '\u001F',
            (int)r.Kind,
            r.Program.Value,
            referrer.Value,
            code?.Value,
            r.VisitorId,
            r.Customer?.Value,
            r.Contact?.ToString(),
            r.StoreId,
            r.RegisterId,
            r.EventTime.ToUnixTimeTicks());
        Span<byte> hash = stackalloc byte[16];
        XxHash128.Hash(Encoding.UTF8.GetBytes(text), hash);
        return "h:" + Convert.ToHexStringLower(hash);
    }

}
