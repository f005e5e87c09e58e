using System.Globalization;
using Referrals.Attribution;
using Referrals.Internal;
using Referrals.Privacy;

namespace Referrals.Pipeline;

/// <summary>
/// The POS batch import (<c>AttributionService.ImportPosBatchAsync</c>): each row one unit of work of the
/// conversion pipeline (its touch, its conversion and the conversion's decision), then the late touches' customers
/// decided again. Thread-safe.
/// </summary>
internal sealed class PosBatchImport(ConversionFlow pipeline, Reevaluation reevaluation, Lazy<ContactHasher?> hasher)
{
    /// <summary>Imports a POS batch upload; see <c>AttributionService.ImportPosBatchAsync</c>.</summary>
    public async Task<BatchImportResult> ImportAsync(ProgramId program, TextReader csv, CancellationToken cancellationToken = default)
    {
        ArgumentNullException.ThrowIfNull(csv);
        int captured = 0, duplicates = 0, conversions = 0;
        var errors = new List<BatchImportError>();
        var touchedCustomers = new HashSet<ParticipantId>();
        var newOrders = new HashSet<string>(StringComparer.Ordinal);
        await foreach (var entry in PosBatchReader.ReadAsync(csv, cancellationToken).ConfigureAwait(false))
        {
            if (entry.IsError)
            {
                var e = entry.Error;
                errors.Add(new BatchImportError(e.LineNumber, BatchImportErrorReason.Unreadable, e.Column, e.Message, readReason: e.Reason));
                continue;
            }
            var row = entry.Row!;
            // Each row is one unit of work: its touch, its conversion and the conversion's decision commit together.
            var imported = await pipeline.RunUnitAsync(
                (Self: this, Program: program, Row: row, Touched: touchedCustomers, NewOrders: newOrders),
                static (unit, s, ct) => s.Self.ImportRowAsync(unit, s.Program, s.Row, s.Touched, s.NewOrders, ct),
                cancellationToken).ConfigureAwait(false);
            switch (imported.Outcome)
            {
                case CaptureOutcome.Captured:
                    captured++;
                    conversions += imported.Order ? 1 : 0;
                    break;
                case CaptureOutcome.Duplicate:
                    duplicates++;
                    break;
                default:
                    var p = imported.Problem;
                    errors.Add(new BatchImportError(
                        row.LineNumber,
                        p.Reason,
                        p.Column,
                        $"Line {row.LineNumber.ToString(CultureInfo.InvariantCulture)}: {p.Text}",
                        rejection: p.Rejection));
                    break;
            }
        }

        // Late touches: conversions recorded before this upload may now have a (better) referral.
        int reevaluated = 0;
        foreach (var customer in touchedCustomers.OrderBy(c => c.Value, StringComparer.Ordinal))
        {
            reevaluated += await reevaluation.CustomerAsync(program, customer, except: newOrders, cancellationToken).ConfigureAwait(false);
        }
        return new BatchImportResult(captured, duplicates, conversions, errors, reevaluated);
    }

    /// <summary>Why a row that was read could not be imported: the error's reason, column and sentence (without the line).</summary>
    private readonly record struct RowProblem(BatchImportErrorReason Reason, string? Column, string Text, CaptureRejection? Rejection = null);

    private static (CaptureOutcome Outcome, RowProblem Problem, bool Order) Refused(BatchImportErrorReason reason, string? column, string text) =>
        (CaptureOutcome.Rejected, new RowProblem(reason, column, text), false);

    private async ValueTask<(CaptureOutcome Outcome, RowProblem Problem, bool Order)> ImportRowAsync(
        ConversionFlow.Unit unit,
        ProgramId program,
        PosBatchRow row,
        HashSet<ParticipantId> touchedCustomers,
        HashSet<string> newOrders,
        CancellationToken ct)
    {
        ContactHash? customerContact = null;
        if (row.CustomerEmail is not null || row.CustomerPhone is not null || row.ReferrerEmail is not null || row.ReferrerPhone is not null)
        {
            if (hasher.Value is null)
            {
                return Refused(BatchImportErrorReason.ContactHashKeyMissing, null, "e-mail or phone columns need Referrals:Privacy:ContactHashKey to be configured.");
            }
        }
        if (row.CustomerEmail is { } ce)
        {
            if (!hasher.Value!.TryHashEmail(ce, out var h))
            {
                return Refused(BatchImportErrorReason.InvalidContact, "customer_email", "customer_email is not a valid e-mail address (not shown: personal data).");
            }
            customerContact = h;
        }
        else if (row.CustomerPhone is { } cp)
        {
            if (!hasher.Value!.TryHashPhone(cp, out var h))
            {
                return Refused(BatchImportErrorReason.InvalidContact, "customer_phone", "customer_phone is not a valid phone number (not shown: personal data).");
            }
            customerContact = h;
        }
        ParticipantId? customer = null;
        if (row.CustomerId is { } cid)
        {
            customer = new ParticipantId(cid);
        }
        if (customer is null && customerContact is null)
        {
            return Refused(BatchImportErrorReason.NoCustomer, null, "the row names no customer (customer_id, customer_email or customer_phone).");
        }
        if (row.OrderId is not null && customer is null)
        {
            return Refused(BatchImportErrorReason.OrderWithoutCustomerId, "customer_id", "a row with an order_id needs customer_id.");
        }
        if (row.OrderId is not null && row.Amount > AmountLimits.MaxAmount)
        {
            return Refused(BatchImportErrorReason.AmountTooLarge, "amount", $"the amount is above the largest order amount, {AmountLimits.MaxAmountText}.");
        }

        ParticipantId? referrer = null;
        if (row.Code is null)
        {
            ContactHash referrerContact;
            if (row.ReferrerEmail is { } re)
            {
                if (!hasher.Value!.TryHashEmail(re, out referrerContact))
                {
                    return Refused(BatchImportErrorReason.InvalidContact, "referrer_email", "referrer_email is not a valid e-mail address (not shown: personal data).");
                }
            }
            else if (!hasher.Value!.TryHashPhone(row.ReferrerPhone, out referrerContact))
            {
                return Refused(BatchImportErrorReason.InvalidContact, "referrer_phone", "referrer_phone is not a valid phone number (not shown: personal data).");
            }
            var matches = await unit.FindParticipantsByContactAsync(referrerContact, ct).ConfigureAwait(false);
            if (matches.Count != 1)
            {
                string column = row.ReferrerEmail is not null ? "referrer_email" : "referrer_phone";
                return matches.Count == 0
                    ? Refused(BatchImportErrorReason.ReferrerNotFound, column, $"no referrer has the {column} given.")
                    : Refused(BatchImportErrorReason.ReferrerAmbiguous, column, $"several referrers share the {column} given.");
            }
            referrer = matches[0].Id;
        }

        var request = new CaptureRequest
        {
            Program = program,
            Kind = TouchKind.PosBatchCapture,
            EventTime = row.EventTime,
            Input = row.Code,
            Referrer = referrer,
            Customer = customer,
            Contact = customerContact,
            StoreId = row.StoreId,
            RegisterId = row.RegisterId,
            CaptureId = row.CaptureId,
        };
        var built = await unit.Touches.BuildAsync(unit.Facts, request, row.OrderId, ct, limitGuessing: false).ConfigureAwait(false);
        if (built.Touch is null)
        {
            return (CaptureOutcome.Rejected, new RowProblem(
                BatchImportErrorReason.CaptureRefused,
                row.Code is not null ? "code" : row.ReferrerEmail is not null ? "referrer_email" : "referrer_phone",
                $"the capture was refused: {Describe(built.Rejection)}.",
                built.Rejection), false);
        }
        var stored = await unit.StoreTouchAsync(built.Touch, built.CodeOutcome, ct).ConfigureAwait(false);
        if (customer is { } c)
        {
            touchedCustomers.Add(c);
        }
        else if (customerContact is { } contact)
        {
            foreach (var p in await unit.FindParticipantsByContactAsync(contact, ct).ConfigureAwait(false))
            {
                touchedCustomers.Add(p.Id);
            }
        }
        bool order = false;
        if (row.OrderId is { } orderId && stored.Outcome == CaptureOutcome.Captured)
        {
            var conversion = new Conversion
            {
                Program = program,
                OrderId = orderId,
                Customer = customer!.Value,
                Amount = new Money(row.Amount!.Value, row.Currency!),
                EventTime = row.EventTime,
                Channel = Channel.Offline,
                StoreId = row.StoreId,
                RegisterId = row.RegisterId,
                Contacts = customerContact is { } cc ? [cc] : [],
                IsNewCustomer = row.NewCustomer,
            };
            if (await unit.RecordNewAsync(conversion, ct).ConfigureAwait(false))
            {
                newOrders.Add(orderId);
                order = true;
            }
        }
        return (stored.Outcome, default, order);
    }

    /// <summary>A capture rejection in words, for an import error's sentence.</summary>
    internal static string Describe(CaptureRejection? rejection) => rejection switch
    {
        CaptureRejection.CodeMalformed => "the code is neither a code nor a share link of ours",
        CaptureRejection.CodeNotFound => "no such code",
        CaptureRejection.CodeCheckFailed => "the code's check symbol does not match (a typo)",
        CaptureRejection.WrongProgram => "the code belongs to another program",
        CaptureRejection.CodeUnassigned => "the code is not handed to any referrer yet",
        CaptureRejection.LinkSignatureInvalid => "the link's signature does not hold",
        CaptureRejection.UnknownReferrer => "the referrer is not known",
        CaptureRejection.NoProspect => "nothing identifies the customer (no customer id, e-mail or phone)",
        CaptureRejection.TooManyFailedLookups => "too many failed look-ups from this store or register; try the rows again later",
        CaptureRejection.LinkSignatureMissing => "the link has no signature, and signed links are required (its signature was stripped, or it was never signed)",
        _ => rejection?.ToString() ?? "refused",
    };
}
