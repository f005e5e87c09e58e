using System.Globalization;
using System.Runtime.CompilerServices;
using NodaTime;
using NodaTime.Text;
using Referrals.Internal;

namespace Referrals.Attribution;

/// <summary>
/// Reads the CSV files in which a store's POS uploads the referral captures it recorded offline (a code scanned or typed
/// at the till, or the referrer looked up by the e-mail address or phone number the friend gave), hours or days later.
/// </summary>
/// <remarks>
/// <para>
/// <b>Format.</b> RFC 4180 CSV: comma separated; fields may be double-quoted, with <c>""</c> for a quote and with commas
/// and line breaks inside; CRLF, LF (or CR) line ends; a UTF-8 byte order mark and blank lines are ignored. The first
/// non-blank line is a header naming the columns, matched case-insensitively and in any order; other columns are
/// ignored. Every value is trimmed of surrounding white space, and an empty value counts as absent. A value with an
/// unpaired UTF-16 surrogate (text broken by a wrong encoding) is rejected, since it could not be stored as written; so
/// is an id (<c>capture_id</c>, <c>store_id</c>, <c>register_id</c>, <c>customer_id</c>, <c>order_id</c>) with U+FFFD,
/// the replacement character (a reader made with <c>Encoding.UTF8</c> turns every invalid byte into it, and two
/// different ids could be read as one), or with a control character (a line break, a tab, a NUL). A code may hold
/// anything: it is resolved, and what is no code of the program is reported as such.
/// </para>
/// <list type="table">
/// <listheader><term>Column</term><description>Content</description></listheader>
/// <item><term><c>capture_id</c></term><description>Required, 1 to 128 characters: the POS's own id, the idempotency key; unique within the file.</description></item>
/// <item><term><c>store_id</c></term><description>Required, 1 to 64 characters.</description></item>
/// <item><term><c>register_id</c></term><description>Optional, at most 64 characters.</description></item>
/// <item><term><c>event_time</c></term><description>Required, ISO 8601 with an offset or <c>Z</c>: <c>2026-11-20T17:45:00+01:00</c>, <c>2026-11-20T16:45:00.250Z</c>; seconds and the fraction are optional, a space may replace the <c>T</c>. A local time without offset is rejected, and so is a time outside 0001-01-01T00:00:00Z to 9997-12-31T23:59:59Z once its offset is applied.</description></item>
/// <item><term><c>code</c>, <c>referrer_email</c>, <c>referrer_phone</c></term><description>At least one is required (the header must have one of the columns, each row a value in one). Raw, not normalised.</description></item>
/// <item><term><c>customer_id</c>, <c>customer_email</c>, <c>customer_phone</c></term><description>Optional: the friend, if known. <c>customer_id</c> at most 128 characters.</description></item>
/// <item><term><c>order_id</c></term><description>Optional, at most 128 characters; when present, <c>amount</c> and <c>currency</c> are required (and the header must have them).</description></item>
/// <item><term><c>amount</c></term><description>A decimal number, zero or more, invariant culture: digits and an optional <c>.</c>, no sign, no thousands separator.</description></item>
/// <item><term><c>currency</c></term><description>Three ASCII letters, upper-cased on read.</description></item>
/// <item><term><c>new_customer</c></term><description>Optional: <c>true</c>/<c>false</c>/<c>1</c>/<c>0</c>/<c>yes</c>/<c>no</c>, any case; empty means unknown.</description></item>
/// </list>
/// <para>
/// E-mail addresses must have one <c>@</c> and a dotted domain; phone numbers 4 to 20 digits with spaces, <c>+</c>,
/// <c>-</c>, <c>.</c>, <c>/</c> or parentheses. Both are returned as written: hash them before storing.
/// </para>
/// <para>
/// <b>Errors.</b> A bad line yields one <see cref="PosBatchError"/> with its line number and reason and does not stop the
/// others, which come back in file order. A broken record (see <see cref="PosBatchErrorReason.MalformedCsv"/>) is reported
/// at the line where it starts, and reading resumes at the next physical line; when a rejected record spans several lines,
/// those lines are read again on their own, so a stray quote cannot swallow the rows after it. Only a header problem
/// (<see cref="PosBatchErrorReason.MissingHeader"/>, <see cref="PosBatchErrorReason.MissingColumn"/>, or a broken or duplicated
/// header) ends the reading, after one error at the header's line.
/// </para>
/// <para>
/// <b>Memory.</b> The file is streamed: the reader holds one buffer and the current record (at most 64 KiB), plus one entry
/// per row read (the capture id string and its line number) to detect a repeated <c>capture_id</c>: about 60 bytes plus
/// twice the id's length per row, so roughly 100 MB for a million rows with 20-character ids. Split bigger uploads.
/// </para>
/// </remarks>
internal static class PosBatchReader
{
    private const int MaxEcho = 40;
    private const int MaxCaptureIdLength = IdentifierRules.MaxCaptureIdLength;
    private const int MaxStoreIdLength = IdentifierRules.MaxStoreIdLength;
    private const int MaxRegisterIdLength = IdentifierRules.MaxRegisterIdLength;
    private const int MaxCustomerIdLength = ParticipantId.MaxLength;
    private const int MaxOrderIdLength = IdentifierRules.MaxOrderIdLength;
    private const int MaxEmailLength = 254;
    private const int MaxPhoneLength = 32;

    private static readonly string[] ColumnNames =
    [
        "capture_id", "store_id", "register_id", "event_time", "code", "referrer_email", "referrer_phone",
        "customer_id", "customer_email", "customer_phone", "order_id", "amount", "currency", "new_customer",
    ];

    private static readonly IPattern<OffsetDateTime>[] TimePatterns =
    [
        .. new[] { "T", " " }.SelectMany(sep => new[]
        {
            OffsetDateTimePattern.CreateWithInvariantCulture($"uuuu'-'MM'-'dd'{sep}'HH':'mm':'ss;FFFFFFFFFo<G>"),
            OffsetDateTimePattern.CreateWithInvariantCulture($"uuuu'-'MM'-'dd'{sep}'HH':'mmo<G>"),
        }),
    ];

    private static readonly IPattern<LocalDateTime>[] LocalTimePatterns =
    [
        .. new[] { "T", " " }.SelectMany(sep => new[]
        {
            LocalDateTimePattern.CreateWithInvariantCulture($"uuuu'-'MM'-'dd'{sep}'HH':'mm':'ss;FFFFFFFFF"),
            LocalDateTimePattern.CreateWithInvariantCulture($"uuuu'-'MM'-'dd'{sep}'HH':'mm"),
        }),
    ];

    /// <summary>
    /// Reads a POS batch file as it streams in, yielding one entry per non-blank record after the header: a
    /// <see cref="PosBatchRow"/> or a <see cref="PosBatchError"/>, in file order.
    /// </summary>
    /// <param name="reader">
    /// The file's text. For a file or upload stream use a <see cref="StreamReader"/> with UTF-8. It is read once, forward
    /// only, and not disposed.
    /// </param>
    /// <param name="cancellationToken">Stops the reading between records (and is passed to the reader).</param>
    /// <returns>
    /// The entries, produced lazily: nothing is read until enumeration starts, and enumerating twice reads the reader twice.
    /// Content never makes it throw: every problem with the file is an entry with <see cref="PosBatchEntry.Error"/> set.
    /// </returns>
    /// <exception cref="ArgumentNullException"><paramref name="reader"/> is null (thrown at once).</exception>
    /// <exception cref="OperationCanceledException">The token was cancelled (thrown by the enumeration).</exception>
    /// <remarks>Exceptions from <paramref name="reader"/> itself (an I/O error, an invalid UTF-8 byte with a throwing decoder) propagate.</remarks>
    public static IAsyncEnumerable<PosBatchEntry> ReadAsync(TextReader reader, CancellationToken cancellationToken = default)
    {
        Preconditions.CheckNotNull(reader);
        return ReadCoreAsync(reader, cancellationToken);
    }

    private static async IAsyncEnumerable<PosBatchEntry> ReadCoreAsync(
        TextReader reader,
        [EnumeratorCancellation] CancellationToken cancellationToken)
    {
        var csv = new CsvRecordReader(reader);
        if (!await csv.ReadRecordAsync(cancellationToken).ConfigureAwait(false))
        {
            yield return Failure(1, PosBatchErrorReason.MissingHeader, null,
                "Line 1: the file is empty; it must start with a header line naming the columns (capture_id, store_id, event_time, code, ...).");
            yield break;
        }

        var layout = Layout.Read(csv, out var headerError);
        if (layout is null)
        {
            yield return new PosBatchEntry(headerError!);
            yield break;
        }

        // capture_id -> the line that first used it. One entry per row read: see the memory note on the class.
        var seen = new Dictionary<string, int>(StringComparer.Ordinal);
        while (await csv.ReadRecordAsync(cancellationToken).ConfigureAwait(false))
        {
            var entry = ReadRecord(csv, layout, seen);
            if (entry.Error is { Reason: not PosBatchErrorReason.DuplicateCaptureId } error && csv.SpansLines)
            {
                // A record that spans lines and is still wrong may be the work of a stray quote: read its lines again.
                csv.RewindToSecondLine();
                entry = new PosBatchEntry(new PosBatchError(error.LineNumber, error.Reason, error.Column, error.Message + Reread(csv)));
            }
            yield return entry;
        }
    }

    private static PosBatchEntry ReadRecord(CsvRecordReader csv, Layout layout, Dictionary<string, int> seen)
    {
        int line = csv.StartLine;
        if (csv.Fault != CsvFault.None)
        {
            return FaultEntry(csv, layout, header: false);
        }

        var fields = csv.Fields;
        if (fields.Count > layout.FieldCount)
        {
            for (int i = layout.FieldCount; i < fields.Count; i++)
            {
                if (!string.IsNullOrWhiteSpace(fields[i]))
                {
                    return Failure(line, PosBatchErrorReason.MalformedCsv, null,
                        $"Line {Num(line)} has {Num(fields.Count)} fields but the header names {Num(layout.FieldCount)} columns; quote values that contain a comma.");
                }
            }
        }

        var r = new RowReader(fields, layout, line);
        string? captureId = r.Required(Column.CaptureId, MaxCaptureIdLength);
        string? storeId = r.Required(Column.StoreId, MaxStoreIdLength);
        string? registerId = r.Optional(Column.RegisterId, MaxRegisterIdLength);
        Instant eventTime = r.Time(Column.EventTime);
        string? code = r.Optional(Column.Code, CsvRecordReader.MaxFieldLength);
        string? referrerEmail = r.Email(Column.ReferrerEmail);
        string? referrerPhone = r.Phone(Column.ReferrerPhone);
        if (r.Error is null && code is null && referrerEmail is null && referrerPhone is null)
        {
            r.Fail(PosBatchErrorReason.MissingValue, null,
                $"Line {Num(line)}: none of code, referrer_email and referrer_phone has a value; one is needed to find the referrer.");
        }
        string? customerId = r.Optional(Column.CustomerId, MaxCustomerIdLength);
        string? customerEmail = r.Email(Column.CustomerEmail);
        string? customerPhone = r.Phone(Column.CustomerPhone);
        string? orderId = r.Optional(Column.OrderId, MaxOrderIdLength);
        decimal? amount = r.Amount(Column.Amount, required: orderId is not null);
        string? currency = r.Currency(Column.Currency, required: orderId is not null || amount is not null);
        if (r.Error is null && currency is not null && amount is null)
        {
            r.Fail(PosBatchErrorReason.MissingValue, ColumnNames[(int)Column.Amount],
                $"Line {Num(line)}: amount is empty but currency is {Echo(currency)}; give both or neither.");
        }
        bool? newCustomer = r.Flag(Column.NewCustomer);
        if (r.Error is not null)
        {
            return new PosBatchEntry(r.Error);
        }

        if (!seen.TryAdd(captureId!, line))
        {
            return Failure(line, PosBatchErrorReason.DuplicateCaptureId, ColumnNames[(int)Column.CaptureId],
                $"Line {Num(line)}: capture_id {Echo(captureId!)} was already read from line {Num(seen[captureId!])}; the earlier row stands.");
        }

        return new PosBatchEntry(new PosBatchRow(line, captureId!, storeId!, eventTime)
        {
            RegisterId = registerId,
            Code = code,
            ReferrerEmail = referrerEmail,
            ReferrerPhone = referrerPhone,
            CustomerId = customerId,
            CustomerEmail = customerEmail,
            CustomerPhone = customerPhone,
            OrderId = orderId,
            Amount = amount,
            Currency = currency,
            NewCustomer = newCustomer,
        });
    }

    private static PosBatchEntry FaultEntry(CsvRecordReader csv, Layout? layout, bool header)
    {
        int line = csv.StartLine;
        int index = csv.FaultField;
        string? column = layout is not null && index >= 0 && index < layout.FieldCount && layout.ColumnAt[index] is { } c
            ? ColumnNames[(int)c]
            : null;
        string where = column is not null
            ? $"column {column}"
            : index >= 0 ? $"field {Num(index + 1)}" : "the record";
        string hint = csv.WasRewound ? " (a quote left open?)" : string.Empty;
        (PosBatchErrorReason reason, string text) = csv.Fault switch
        {
            CsvFault.FieldTooLong => (PosBatchErrorReason.TooLong,
                $"{where} is longer than {Num(CsvRecordReader.MaxFieldLength)} characters{hint}"),
            CsvFault.RecordTooLong => (PosBatchErrorReason.TooLong,
                $"the record is longer than {Num(CsvRecordReader.MaxRecordLength)} characters{hint}"),
            CsvFault.UnterminatedQuote => (PosBatchErrorReason.MalformedCsv,
                $"{where} opens a quote that is never closed"),
            CsvFault.TextAfterQuote => (PosBatchErrorReason.MalformedCsv,
                $"{where} has text after its closing quote; write a quote inside a quoted value as \"\""),
            _ => (PosBatchErrorReason.MalformedCsv,
                $"{where} has a quote inside an unquoted value; quote the whole value and double the quote (\"\")"),
        };
        string next = header ? " Reading stopped." : csv.WasRewound ? Reread(csv) : " Reading resumed at the next line.";
        return Failure(line, reason, column, $"Line {Num(line)}: the {(header ? "header" : "line")} cannot be read: {text}.{next}");
    }

    private static string Reread(CsvRecordReader csv)
    {
        int from = csv.StartLine + 1, to = Math.Max(from, csv.EndLine);
        string lines = from == to ? $"line {Num(from)} is read again on its own" : $"lines {Num(from)} to {Num(to)} are read again on their own";
        return $" The record runs on to line {Num(to)}; in case a stray quote joined the lines, {lines}.";
    }

    private static PosBatchEntry Failure(int line, PosBatchErrorReason reason, string? column, string message) =>
        new(new PosBatchError(line, reason, column, message));

    private static string Num(int value) => value.ToString(CultureInfo.InvariantCulture);

    /// <summary>Quotes untrusted text for a message: at most 40 characters, invisible characters replaced.</summary>
    private static string Echo(string value) => UntrustedText.Echo(value, MaxEcho);

    private enum Column
    {
        CaptureId,
        StoreId,
        RegisterId,
        EventTime,
        Code,
        ReferrerEmail,
        ReferrerPhone,
        CustomerId,
        CustomerEmail,
        CustomerPhone,
        OrderId,
        Amount,
        Currency,
        NewCustomer,
    }

    /// <summary>Where each known column sits in the file, from the header.</summary>
    private sealed class Layout
    {
        private Layout(int[] indexOf, Column?[] columnAt)
        {
            IndexOf = indexOf;
            ColumnAt = columnAt;
        }

        /// <summary>The field index of each <see cref="Column"/>, or -1 when the header lacks it.</summary>
        public int[] IndexOf { get; }

        /// <summary>The known column at each field index, or null for an ignored column.</summary>
        public Column?[] ColumnAt { get; }

        public int FieldCount => ColumnAt.Length;

        public static Layout? Read(CsvRecordReader csv, out PosBatchError? error)
        {
            int line = csv.StartLine;
            if (csv.Fault != CsvFault.None)
            {
                error = FaultEntry(csv, null, header: true).Error;
                return null;
            }

            var names = csv.Fields;
            int[] indexOf = new int[ColumnNames.Length];
            Array.Fill(indexOf, -1);
            var columnAt = new Column?[names.Count];
            bool any = false;
            for (int i = 0; i < names.Count; i++)
            {
                int known = Array.FindIndex(ColumnNames, n => string.Equals(n, names[i].Trim(), StringComparison.OrdinalIgnoreCase));
                if (known < 0)
                {
                    continue;
                }
                if (indexOf[known] >= 0)
                {
                    error = new PosBatchError(line, PosBatchErrorReason.MalformedCsv, ColumnNames[known],
                        $"Line {Num(line)}: the header names column {ColumnNames[known]} twice (columns {Num(indexOf[known] + 1)} and {Num(i + 1)}).");
                    return null;
                }
                indexOf[known] = i;
                columnAt[i] = (Column)known;
                any = true;
            }

            if (!any)
            {
                error = new PosBatchError(line, PosBatchErrorReason.MissingHeader, null,
                    $"Line {Num(line)} is not a header: it names none of the columns {string.Join(", ", ColumnNames)}. The first line must name the columns.");
                return null;
            }

            var missing = new List<string>();
            foreach (var required in new[] { Column.CaptureId, Column.StoreId, Column.EventTime })
            {
                if (indexOf[(int)required] < 0)
                {
                    missing.Add(ColumnNames[(int)required]);
                }
            }
            if (indexOf[(int)Column.Code] < 0 && indexOf[(int)Column.ReferrerEmail] < 0 && indexOf[(int)Column.ReferrerPhone] < 0)
            {
                missing.Add("code (or referrer_email or referrer_phone)");
            }
            if (indexOf[(int)Column.OrderId] >= 0)
            {
                foreach (var required in new[] { Column.Amount, Column.Currency })
                {
                    if (indexOf[(int)required] < 0)
                    {
                        missing.Add($"{ColumnNames[(int)required]} (required with order_id)");
                    }
                }
            }
            if (missing.Count > 0)
            {
                string first = missing[0];
                int space = first.IndexOf(' ', StringComparison.Ordinal);
                error = new PosBatchError(line, PosBatchErrorReason.MissingColumn, space < 0 ? first : first[..space],
                    $"Line {Num(line)}: the header lacks the column{(missing.Count > 1 ? "s" : "")} {string.Join(", ", missing)}.");
                return null;
            }

            error = null;
            return new Layout(indexOf, columnAt);
        }
    }

    /// <summary>Reads and checks the values of one record; keeps the first error and ignores the rest.</summary>
    private struct RowReader(IReadOnlyList<string> fields, Layout layout, int line)
    {
        public PosBatchError? Error { get; private set; }

        public void Fail(PosBatchErrorReason reason, string? column, string message) =>
            Error ??= new PosBatchError(line, reason, column, message);

        public string? Optional(Column column, int maxLength)
        {
            string? value = Value(column);
            if (value is not null && value.Length > maxLength)
            {
                Fail(PosBatchErrorReason.InvalidValue, Name(column),
                    $"Line {Num(line)}: {Name(column)} {Echo(value)} is {Num(value.Length)} characters long; at most {Num(maxLength)} are allowed.");
            }
            else if (value is not null && UntrustedText.IndexOfUnpairedSurrogate(value) is int bad and >= 0)
            {
                // Text broken by a wrong encoding on the way. Stored as UTF-8 it would become U+FFFD, and two different
                // ids would be stored as one: refuse it here, where the line can still be named.
                Fail(PosBatchErrorReason.InvalidValue, Name(column),
                    $"Line {Num(line)}: {Name(column)} {Echo(value)} has an unpaired surrogate ({UntrustedText.CharacterAt(value, bad)} at index {Num(bad)}): the text was broken in transit (check the file's encoding).");
            }
            else if (value is not null && column != Column.Code && value.IndexOf('\uFFFD') is int replaced and >= 0)
            {
                // What a UTF-8 decoder puts in place of bytes it could not read: the file is not UTF-8 (or was read as
                // another encoding), and ids that differed in those bytes would be stored as one.
                Fail(PosBatchErrorReason.InvalidValue, Name(column),
                    $"Line {Num(line)}: {Name(column)} {Echo(value)} has U+FFFD, the replacement character, at index {Num(replaced)}: bytes that were not valid UTF-8 (save the file as UTF-8, or read it with its own encoding).");
            }
            else if (value is not null && column != Column.Code && UntrustedText.IndexOfControl(value) is int control and >= 0)
            {
                Fail(PosBatchErrorReason.InvalidValue, Name(column),
                    $"Line {Num(line)}: {Name(column)} {Echo(value)} has a control character ({UntrustedText.CodePoint(value[control])} at index {Num(control)}).");
            }
            return value;
        }

        public string? Required(Column column, int maxLength)
        {
            string? value = Optional(column, maxLength);
            if (value is null)
            {
                Missing(column);
            }
            return value;
        }

        public Instant Time(Column column)
        {
            string? value = Value(column);
            if (value is null)
            {
                Missing(column);
                return default;
            }
            foreach (var pattern in TimePatterns)
            {
                var result = pattern.Parse(value);
                if (result.Success)
                {
                    if (!TryToInstant(result.Value, out Instant instant) || !EventTimes.IsSupported(instant))
                    {
                        Fail(PosBatchErrorReason.InvalidValue, Name(column),
                            $"Line {Num(line)}: {Name(column)} {Echo(value)} is outside the range of supported event times, {EventTimes.RangeText}.");
                        return default;
                    }
                    return instant;
                }
            }
            foreach (var pattern in LocalTimePatterns)
            {
                if (pattern.Parse(value).Success)
                {
                    Fail(PosBatchErrorReason.InvalidValue, Name(column),
                        $"Line {Num(line)}: {Name(column)} {Echo(value)} has no UTC offset; write it like 2026-11-20T17:45:00+01:00 or 2026-11-20T16:45:00Z.");
                    return default;
                }
            }
            Fail(PosBatchErrorReason.InvalidValue, Name(column),
                $"Line {Num(line)}: {Name(column)} {Echo(value)} is not an ISO 8601 time with an offset, like 2026-11-20T17:45:00+01:00 or 2026-11-20T16:45:00Z.");
            return default;
        }

        public string? Email(Column column)
        {
            string? value = Value(column);
            if (value is not null && !IsPlausibleEmail(value))
            {
                Fail(PosBatchErrorReason.InvalidValue, Name(column),
                    $"Line {Num(line)}: {Name(column)} holds an invalid e-mail address (not shown: personal data); it needs one @ and a dotted domain, at most {Num(MaxEmailLength)} characters.");
            }
            return value;
        }

        public string? Phone(Column column)
        {
            string? value = Value(column);
            if (value is not null && !IsPlausiblePhone(value))
            {
                Fail(PosBatchErrorReason.InvalidValue, Name(column),
                    $"Line {Num(line)}: {Name(column)} holds an invalid phone number (not shown: personal data); it needs 4 to 20 digits and only spaces, +, -, ., / or parentheses besides.");
            }
            return value;
        }

        public decimal? Amount(Column column, bool required)
        {
            string? value = Value(column);
            if (value is null)
            {
                if (required)
                {
                    Fail(PosBatchErrorReason.MissingValue, Name(column),
                        $"Line {Num(line)}: {Name(column)} is empty; a row with an order_id needs amount and currency.");
                }
                return null;
            }
            // No sign, no exponent, no thousands separator, no white space: only digits and one '.'.
            if (!decimal.TryParse(value, NumberStyles.AllowDecimalPoint, CultureInfo.InvariantCulture, out decimal amount))
            {
                Fail(PosBatchErrorReason.InvalidValue, Name(column),
                    $"Line {Num(line)}: {Name(column)} {Echo(value)} is not a decimal number of zero or more, written with digits and a '.' (like 19.99).");
                return null;
            }
            return amount;
        }

        public string? Currency(Column column, bool required)
        {
            string? value = Value(column);
            if (value is null)
            {
                if (required)
                {
                    Fail(PosBatchErrorReason.MissingValue, Name(column),
                        $"Line {Num(line)}: {Name(column)} is empty; an amount needs its currency (like EUR).");
                }
                return null;
            }
            if (value.Length != 3 || !char.IsAsciiLetter(value[0]) || !char.IsAsciiLetter(value[1]) || !char.IsAsciiLetter(value[2]))
            {
                Fail(PosBatchErrorReason.InvalidValue, Name(column),
                    $"Line {Num(line)}: {Name(column)} {Echo(value)} is not three letters (like EUR).");
                return null;
            }
            return value.ToUpperInvariant();
        }

        public bool? Flag(Column column)
        {
            string? value = Value(column);
            if (value is null)
            {
                return null;
            }
            if (value is "1" || value.Equals("true", StringComparison.OrdinalIgnoreCase) || value.Equals("yes", StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
            if (value is "0" || value.Equals("false", StringComparison.OrdinalIgnoreCase) || value.Equals("no", StringComparison.OrdinalIgnoreCase))
            {
                return false;
            }
            Fail(PosBatchErrorReason.InvalidValue, Name(column),
                $"Line {Num(line)}: {Name(column)} {Echo(value)} is not one of true, false, 1, 0, yes, no (or empty for unknown).");
            return null;
        }

        private void Missing(Column column) =>
            Fail(PosBatchErrorReason.MissingValue, Name(column), $"Line {Num(line)}: {Name(column)} is empty; it is required.");

        private readonly string? Value(Column column)
        {
            int i = layout.IndexOf[(int)column];
            if (i < 0 || i >= fields.Count)
            {
                return null;
            }
            string value = fields[i].Trim();
            return value.Length == 0 ? null : value;
        }

        private static string Name(Column column) => ColumnNames[(int)column];
    }

    /// <summary>
    /// The instant of a parsed time, or false when its offset carries it past either end of <see cref="Instant"/>'s range
    /// (<c>9999-12-31T23:59:59-18:00</c>), where <see cref="OffsetDateTime.ToInstant"/> would throw.
    /// </summary>
    private static bool TryToInstant(OffsetDateTime time, out Instant instant)
    {
        // Every local date and time is an instant in UTC: LocalDateTime's range lies within Instant's.
        Instant asUtc = time.LocalDateTime.InUtc().ToInstant();
        Duration offset = Duration.FromSeconds(time.Offset.Seconds);
        bool inRange = offset < Duration.Zero ? asUtc <= Instant.MaxValue + offset : asUtc >= Instant.MinValue + offset;
        instant = inRange ? asUtc - offset : default;
        return inRange;
    }

    private static bool IsPlausibleEmail(string value)
    {
        if (value.Length > MaxEmailLength)
        {
            return false;
        }
        int at = value.IndexOf('@', StringComparison.Ordinal);
        if (at <= 0 || at != value.LastIndexOf('@') || at > 64)
        {
            return false;
        }
        string domain = value[(at + 1)..];
        int dot = domain.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || domain[^1] == '.')
        {
            return false;
        }
        foreach (char c in value)
        {
            if (char.IsWhiteSpace(c) || char.IsControl(c) || c is ',' or ';' or '<' or '>' or '"')
            {
                return false;
            }
        }
        return true;
    }

    private static bool IsPlausiblePhone(string value)
    {
        if (value.Length > MaxPhoneLength)
        {
            return false;
        }
        int digits = 0;
        for (int i = 0; i < value.Length; i++)
        {
            char c = value[i];
            if (char.IsAsciiDigit(c))
            {
                digits++;
            }
            else if (!(c is ' ' or '-' or '.' or '/' or '(' or ')' || (c == '+' && i == 0)))
            {
                return false;
            }
        }
        return digits is >= 4 and <= 20;
    }
}
