using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using NodaTime.Text;
using Referrals.Attribution;
using Referrals.Tests.Support;

namespace Referrals.Tests.Attribution;

public sealed class PosBatchReaderTests
{
    private const string FullHeader =
        "capture_id,store_id,register_id,event_time,code,referrer_email,referrer_phone,customer_id,customer_email,customer_phone,order_id,amount,currency,new_customer";

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    // ---------------------------------------------------------------- realistic files

    [Fact]
    public async Task Reads_a_realistic_upload_sent_the_next_day()
    {
        // Friday's sales in Berlin, uploaded on Saturday morning: two employee-code sales, a friend who gave the
        // referrer's e-mail address at the till, and a sale with an order and an amount.
        string csv = FullHeader + "\n" +
            "POS-BER01-000117,BER-01,R2,2026-11-20T17:45:00+01:00,EMP-JANE20,,,,,,,,,\n" +
            "POS-BER01-000118,BER-01,R2,2026-11-20T18:02:13.25+01:00,emp-jane20,,,C-1001,,,,,,yes\n" +
            "POS-BER01-000121,BER-01,R1,2026-11-20T16:45:00Z,,anna.schmidt@example.com,,,friend@example.org,,,,,TRUE\n" +
            "POS-BER01-000130,BER-01,R1,2026-11-20 19:10+01:00,7K4M-2QXP,,,,,+49 30 1234567,ORD-778,129.90,eur,0\n";

        var entries = await ReadAllAsync(csv);

        Assert.All(entries, e => Assert.False(e.IsError, e.Error?.Message));
        var rows = entries.Select(e => e.Row!).ToList();
        Assert.Equal([2, 3, 4, 5], rows.Select(r => r.LineNumber));

        var first = rows[0];
        Assert.Equal("POS-BER01-000117", first.CaptureId);
        Assert.Equal("BER-01", first.StoreId);
        Assert.Equal("R2", first.RegisterId);
        Assert.Equal(Instant.FromUtc(2026, 11, 20, 16, 45), first.EventTime);
        Assert.Equal("EMP-JANE20", first.Code);
        Assert.Null(first.ReferrerEmail);
        Assert.Null(first.ReferrerPhone);
        Assert.Null(first.CustomerId);
        Assert.Null(first.OrderId);
        Assert.Null(first.Amount);
        Assert.Null(first.Currency);
        Assert.Null(first.NewCustomer);

        Assert.Equal("emp-jane20", rows[1].Code); // raw, not folded
        Assert.Equal(Instant.FromUtc(2026, 11, 20, 17, 2, 13).PlusNanoseconds(250_000_000), rows[1].EventTime);
        Assert.Equal("C-1001", rows[1].CustomerId);
        Assert.True(rows[1].NewCustomer);

        Assert.Null(rows[2].Code);
        Assert.Equal("anna.schmidt@example.com", rows[2].ReferrerEmail);
        Assert.Equal("friend@example.org", rows[2].CustomerEmail);
        Assert.Equal(Instant.FromUtc(2026, 11, 20, 16, 45), rows[2].EventTime);
        Assert.True(rows[2].NewCustomer);

        var sale = rows[3];
        Assert.Equal(Instant.FromUtc(2026, 11, 20, 18, 10), sale.EventTime);
        Assert.Equal("+49 30 1234567", sale.CustomerPhone);
        Assert.Equal("ORD-778", sale.OrderId);
        Assert.Equal(129.90m, sale.Amount);
        Assert.Equal("EUR", sale.Currency);
        Assert.False(sale.NewCustomer);
    }

    [Fact]
    public async Task Columns_match_by_name_in_any_order_and_case_and_unknown_columns_are_ignored()
    {
        string csv =
            "Till_Operator,CODE,Event_Time,STORE_ID,Capture_Id,Referrer_Phone\n" +
            "jdoe,ABCD-1234,2026-11-20T08:00:00-05:00,NYC-7,P-1,\n" +
            "mary,,2026-11-20T08:05:00-05:00,NYC-7,P-2,(212) 555-0100\n";

        var rows = (await ReadAllAsync(csv)).Select(e => e.Row!).ToList();

        Assert.Equal(2, rows.Count);
        Assert.Equal(("P-1", "NYC-7", "ABCD-1234"), (rows[0].CaptureId, rows[0].StoreId, rows[0].Code));
        Assert.Equal(Instant.FromUtc(2026, 11, 20, 13, 0), rows[0].EventTime);
        Assert.Null(rows[0].RegisterId); // no such column
        Assert.Equal("(212) 555-0100", rows[1].ReferrerPhone);
    }

    [Fact]
    public async Task Quoted_fields_keep_commas_quotes_and_line_breaks_and_later_line_numbers_stay_right()
    {
        // The line breaks are in a code (an id may not hold one: see the control character test).
        string csv =
            "capture_id,store_id,event_time,customer_id,code\n" +               // 1
            "\"P-1\",\"Berlin, Mitte\",2026-11-20T10:00:00Z,\"JANE\"\"20\",\"a\n" + // 2
            "b\r\n" +                                                             // 3
            "c\"\n" +                                                             // 4
            "P-2,S,2026-11-20T11:00:00Z,, \"X,Y\" \n" +                          // 5
            "\n" +                                                                // 6
            "P-3,S,2026-11-20T12:00:00Z,\"\"\"quoted\"\"\",\"\"\n";               // 7 (no referrer: error)

        var entries = await ReadAllAsync(csv);

        Assert.Equal(3, entries.Count);
        var p1 = entries[0].Row!;
        Assert.Equal(2, p1.LineNumber);
        Assert.Equal("Berlin, Mitte", p1.StoreId);
        Assert.Equal("JANE\"20", p1.CustomerId);
        Assert.Equal("a\nb\r\nc", p1.Code);
        Assert.Equal((5, "X,Y"), (entries[1].Row!.LineNumber, entries[1].Row!.Code));
        Assert.Equal(7, entries[2].LineNumber);
        Assert.Equal(PosBatchErrorReason.MissingValue, entries[2].Error!.Reason);
    }

    [Theory]
    [InlineData("capture_id", @"C\u00001")]
    [InlineData("store_id", @"S\u0009S")]
    [InlineData("customer_id", @"e\uFFFD\uFFFD2")]
    [InlineData("order_id", @"o\u0085x")]
    [InlineData("register_id", @"R\uFFFD")]
    public async Task An_id_with_a_control_or_replacement_character_is_refused_on_its_line_and_the_rows_around_it_read(string column, string escaped)
    {
        string value = HostileText.Unescape(escaped);
        string[] columns = ["capture_id", "store_id", "register_id", "event_time", "code", "customer_id", "order_id", "amount", "currency"];
        string Row(int n, string? replace = null) => string.Join(',', columns.Select(c => c switch
        {
            _ when c == column && replace is not null => "\"" + replace + "\"",
            "capture_id" => $"C-{n}",
            "store_id" => "S",
            "register_id" => "R",
            "event_time" => "2026-11-20T10:00:00Z",
            "code" => "ABCD",
            "customer_id" => $"cust-{n}",
            "order_id" => $"o-{n}",
            "amount" => "10.00",
            _ => "EUR",
        }));
        string csv = string.Join(',', columns) + "\n" + Row(1) + "\n" + Row(2, value) + "\n" + Row(3) + "\n";

        var entries = await ReadAllAsync(csv);

        Assert.Equal(3, entries.Count);
        Assert.Equal(["C-1", "C-3"], new[] { entries[0].Row!.CaptureId, entries[2].Row!.CaptureId });
        var error = entries[1].Error!;
        Assert.Equal((3, PosBatchErrorReason.InvalidValue, column), (error.LineNumber, error.Reason, error.Column));
        Assert.StartsWith("Line 3: ", error.Message, StringComparison.Ordinal);
        Assert.True(HostileText.IsSafeMessage(error.Message), error.Message);
    }

    [Fact]
    public async Task A_byte_order_mark_CRLF_lone_CR_and_blank_lines_are_handled()
    {
        string csv =
            "\uFEFFcapture_id,store_id,event_time,code\r\n" + // 1
            "P-1,S,2026-11-20T10:00:00Z,A\r\n" +             // 2
            "\r\n" +                                          // 3
            "   \r\n" +                                       // 4
            "P-2,S,2026-11-20T10:00:00Z,B\r" +               // 5 (old Mac line end)
            "P-3,S,2026-11-20T10:00:00Z,C";                  // 6 (no final line break)

        var rows = (await ReadAllAsync(csv)).Select(e => e.Row!).ToList();

        Assert.Equal(["P-1", "P-2", "P-3"], rows.Select(r => r.CaptureId));
        Assert.Equal([2, 5, 6], rows.Select(r => r.LineNumber));
        Assert.Equal("A", rows[0].Code); // not "A\r"
    }

    [Fact]
    public async Task Reads_from_a_StreamReader_over_UTF8_with_BOM()
    {
        byte[] bytes = Encoding.UTF8.GetPreamble().Concat(Encoding.UTF8.GetBytes("capture_id,store_id,event_time,code\r\nP-1,Köln,2026-11-20T10:00:00Z,Ä1\r\n")).ToArray();
        using var reader = new StreamReader(new MemoryStream(bytes), Encoding.UTF8);

        var entries = await ReadAllAsync(reader);

        Assert.Equal(("Köln", "Ä1"), (entries.Single().Row!.StoreId, entries.Single().Row!.Code));
    }

    [Theory]
    [InlineData("2026-11-20T17:45:00+01:00", "2026-11-20T16:45:00Z")]
    [InlineData("2026-11-20T16:45:00Z", "2026-11-20T16:45:00Z")]
    [InlineData("2026-11-20T16:45:00.123456789Z", "2026-11-20T16:45:00.123456789Z")]
    [InlineData("2026-11-20T22:15:00+05:30", "2026-11-20T16:45:00Z")]
    [InlineData("2026-11-20 11:45-05:00", "2026-11-20T16:45:00Z")]
    [InlineData("  2026-11-20T16:45:00Z  ", "2026-11-20T16:45:00Z")]
    public async Task Event_time_needs_an_offset_and_is_read_exactly(string written, string expected)
    {
        var row = (await ReadAllAsync("capture_id,store_id,event_time,code\nP,S," + written + ",C\n")).Single().Row!;

        Assert.Equal(InstantPattern.ExtendedIso.Parse(expected).Value, row.EventTime);
    }

    // ---------------------------------------------------------------- errors, one line at a time

    private const string ErrorHeader = "capture_id,store_id,event_time,code,referrer_email,order_id,amount,currency,new_customer";

    public static TheoryData<string, PosBatchErrorReason, string?, string> BadLines => new()
    {
        { "P-9,,2026-11-20T10:00:00Z,ABC,,,,,", PosBatchErrorReason.MissingValue, "store_id", "store_id is empty" },
        { " ,S1,2026-11-20T10:00:00Z,ABC,,,,,", PosBatchErrorReason.MissingValue, "capture_id", "capture_id is empty" },
        { "P-9,S1,,ABC,,,,,", PosBatchErrorReason.MissingValue, "event_time", "event_time is empty" },
        { "P-9,S1,2026-11-20T10:00:00Z,,,,,,", PosBatchErrorReason.MissingValue, null, "none of code, referrer_email and referrer_phone" },
        { "P-9,S1,2026-11-20T10:00:00Z,ABC,,ORD-1,,EUR,", PosBatchErrorReason.MissingValue, "amount", "amount is empty" },
        { "P-9,S1,2026-11-20T10:00:00Z,ABC,,ORD-1,10.00,,", PosBatchErrorReason.MissingValue, "currency", "currency is empty" },
        { "P-9,S1,2026-11-20T10:00:00Z,ABC,,,10.00,,", PosBatchErrorReason.MissingValue, "currency", "currency is empty" },
        { "P-9,S1,2026-11-20T17:45:00,ABC,,,,,", PosBatchErrorReason.InvalidValue, "event_time", "event_time '2026-11-20T17:45:00' has no UTC offset" },
        { "P-9,S1,20.11.2026 17:45,ABC,,,,,", PosBatchErrorReason.InvalidValue, "event_time", "event_time '20.11.2026 17:45' is not an ISO 8601 time" },
        { "P-9,S1,2026-02-30T10:00:00Z,ABC,,,,,", PosBatchErrorReason.InvalidValue, "event_time", "'2026-02-30T10:00:00Z'" },
        { "P-9,S1,2026-11-20T10:00:00Z,ABC,,ORD-1,-5.00,EUR,", PosBatchErrorReason.InvalidValue, "amount", "amount '-5.00' is not a decimal number" },
        { "P-9,S1,2026-11-20T10:00:00Z,ABC,,ORD-1,\"1,50\",EUR,", PosBatchErrorReason.InvalidValue, "amount", "amount '1,50'" },
        { "P-9,S1,2026-11-20T10:00:00Z,ABC,,ORD-1,1e3,EUR,", PosBatchErrorReason.InvalidValue, "amount", "amount '1e3'" },
        { "P-9,S1,2026-11-20T10:00:00Z,ABC,,ORD-1,10,EURO,", PosBatchErrorReason.InvalidValue, "currency", "currency 'EURO' is not three letters" },
        { "P-9,S1,2026-11-20T10:00:00Z,ABC,,,,,maybe", PosBatchErrorReason.InvalidValue, "new_customer", "new_customer 'maybe'" },
        { "P-9,S1,2026-11-20T10:00:00Z,,jane.doe@example,,,,", PosBatchErrorReason.InvalidValue, "referrer_email", "referrer_email holds an invalid e-mail" },
        { "P-9," + new string('S', 65) + ",2026-11-20T10:00:00Z,ABC,,,,,", PosBatchErrorReason.InvalidValue, "store_id", "store_id '" + new string('S', 40) + "…' is 65 characters long" },
        { "P-9,S1,2026-11-20T10:00:00Z,AB\"C,,,,,", PosBatchErrorReason.MalformedCsv, "code", "quote inside an unquoted value" },
        { "P-9,S1,\"2026-11-20T10:00:00Z\"x,ABC,,,,,", PosBatchErrorReason.MalformedCsv, "event_time", "text after its closing quote" },
        { "P-9,S1,2026-11-20T10:00:00Z,ABC,,,,,,surplus", PosBatchErrorReason.MalformedCsv, null, "has 10 fields but the header names 9 columns" },
        { "P-9,S1,2026-11-20T10:00:00Z," + new string('C', 5000) + ",,,,,", PosBatchErrorReason.TooLong, "code", "longer than 4096 characters" },
        { string.Join(",", Enumerable.Repeat(new string('x', 4000), 17)), PosBatchErrorReason.TooLong, null, "record is longer than 65536 characters" },
        { "P-1,S1,2026-11-20T12:00:00Z,XYZ,,,,,", PosBatchErrorReason.DuplicateCaptureId, "capture_id", "capture_id 'P-1' was already read from line 2" },
    };

    [Theory]
    [MemberData(nameof(BadLines))]
    public async Task A_bad_line_is_reported_with_its_line_and_reason_and_the_rows_around_it_survive(
        string badLine, PosBatchErrorReason reason, string? column, string messagePart)
    {
        string csv = ErrorHeader + "\n" +
            "P-1,S1,2026-11-20T10:00:00Z,ABC,,,,,\n" +
            badLine + "\n" +
            "P-2,S1,2026-11-20T11:00:00Z,DEF,,ORD-2,0,usd,no\n";

        var entries = await ReadAllAsync(csv);

        Assert.Equal(3, entries.Count);
        Assert.Equal(("P-1", 2), (entries[0].Row?.CaptureId, entries[0].LineNumber));
        var error = entries[1].Error;
        Assert.NotNull(error);
        Assert.Null(entries[1].Row);
        Assert.Equal((3, reason, column), (error.LineNumber, error.Reason, error.Column));
        Assert.StartsWith("Line 3", error.Message, StringComparison.Ordinal);
        Assert.Contains(messagePart, error.Message, StringComparison.Ordinal);
        Assert.True(error.Message.Length < 400, error.Message);
        Assert.Equal(("P-2", 4), (entries[2].Row?.CaptureId, entries[2].LineNumber));
    }

    [Theory]
    [InlineData("referrer_email", "jane doe@example.com")]
    [InlineData("referrer_email", "jane.doe@@example.com")]
    [InlineData("customer_email", "jane.doe@example.")]
    [InlineData("referrer_phone", "+49 30 12x4567")]
    [InlineData("customer_phone", "12")]
    public async Task Messages_never_repeat_an_e_mail_address_or_phone_number(string column, string value)
    {
        string csv = $"capture_id,store_id,event_time,code,{column}\nP-1,S,2026-11-20T10:00:00Z,ABC,\"{value}\"\n";

        var error = (await ReadAllAsync(csv)).Single().Error!;

        Assert.Equal((PosBatchErrorReason.InvalidValue, column), (error.Reason, error.Column));
        Assert.Contains(column.EndsWith("email", StringComparison.Ordinal) ? "invalid e-mail" : "invalid phone number", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(value, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(value[..Math.Min(4, value.Length)], error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Several_bad_lines_are_each_reported_in_file_order_between_the_good_rows()
    {
        string csv = ErrorHeader + "\n" +                            // 1
            "P-1,S1,2026-11-20T10:00:00Z,A,,,,,\n" +                 // 2
            "P-2,S1,2026-11-20T10:00:00,A,,,,,\n" +                  // 3 no offset
            "P-3,S1,2026-11-20T10:00:00Z,A,,,,,\n" +                 // 4
            "P-1,S1,2026-11-20T10:00:00Z,A,,,,,\n" +                 // 5 duplicate
            "P-4,S1,2026-11-20T10:00:00Z,\"A\"B,,,,,\n" +            // 6 malformed
            "\n" +                                                    // 7
            "P-5,S1,2026-11-20T10:00:00Z,A,,,,,\n";                  // 8

        var entries = await ReadAllAsync(csv);

        Assert.Equal([2, 3, 4, 5, 6, 8], entries.Select(e => e.LineNumber));
        Assert.Equal(
            [null, PosBatchErrorReason.InvalidValue, null, PosBatchErrorReason.DuplicateCaptureId, PosBatchErrorReason.MalformedCsv, null],
            entries.Select(e => e.Error?.Reason));
        Assert.Equal(["P-1", "P-3", "P-5"], entries.Where(e => !e.IsError).Select(e => e.Row!.CaptureId));
    }

    [Fact]
    public async Task A_stray_opening_quote_does_not_swallow_the_rows_after_it()
    {
        string csv = ErrorHeader + "\n" +                              // 1
            "P-1,S1,2026-11-20T10:00:00Z,A,,,,,\n" +                   // 2
            "P-2,S1,\"2026-11-20T10:00:00Z,A,,,,,\n" +                 // 3 the quote never closes on this line
            "P-3,S1,2026-11-20T10:00:00Z,B,,,,,\n" +                   // 4
            "P-4,S1,2026-11-20T10:00:00Z,\"C,D\",,,,,\n" +             // 5 this quote closes line 3's
            "P-5,S1,2026-11-20T10:00:00Z,E,,,,,\n";                    // 6

        var entries = await ReadAllAsync(csv);

        Assert.Equal([2, 3, 4, 5, 6], entries.Select(e => e.LineNumber));
        Assert.Equal(PosBatchErrorReason.MalformedCsv, entries[1].Error?.Reason);
        Assert.Equal(["P-1", "P-3", "P-4", "P-5"], entries.Where(e => !e.IsError).Select(e => e.Row!.CaptureId));
        Assert.Equal("C,D", entries[3].Row!.Code);
    }

    [Fact]
    public async Task A_quote_left_open_to_the_end_of_the_file_costs_only_its_line()
    {
        string csv = ErrorHeader + "\n" +
            "\"P-1,S1,2026-11-20T10:00:00Z,A,,,,,\n" +
            "P-2,S1,2026-11-20T10:00:00Z,B,,,,,\n" +
            "P-3,S1,2026-11-20T10:00:00Z,C,,,,,";

        var entries = await ReadAllAsync(csv);

        Assert.Equal([2, 3, 4], entries.Select(e => e.LineNumber));
        Assert.Equal(PosBatchErrorReason.MalformedCsv, entries[0].Error?.Reason);
        Assert.Contains("never closed", entries[0].Error!.Message, StringComparison.Ordinal);
        Assert.Contains("lines 3 to 4 are read again", entries[0].Error!.Message, StringComparison.Ordinal);
        Assert.Equal(["P-2", "P-3"], entries.Skip(1).Select(e => e.Row?.CaptureId));
    }

    // ---------------------------------------------------------------- header problems stop the reading

    [Theory]
    [InlineData("capture_id,store_id,code\nP-1,S,ABC\n", PosBatchErrorReason.MissingColumn, "event_time")]
    [InlineData("store_id,event_time,code\nS,2026-11-20T10:00:00Z,ABC\n", PosBatchErrorReason.MissingColumn, "capture_id")]
    [InlineData("capture_id,store_id,event_time,customer_id\nP,S,2026-11-20T10:00:00Z,C\n", PosBatchErrorReason.MissingColumn, "code")]
    [InlineData("capture_id,store_id,event_time,code,order_id,currency\nP,S,2026-11-20T10:00:00Z,C,O,EUR\n", PosBatchErrorReason.MissingColumn, "amount")]
    [InlineData("P-1,S,2026-11-20T10:00:00Z,ABC\nP-2,S,2026-11-20T10:00:00Z,ABC\n", PosBatchErrorReason.MissingHeader, null)]
    [InlineData("", PosBatchErrorReason.MissingHeader, null)]
    [InlineData("\n\r\n  \n", PosBatchErrorReason.MissingHeader, null)]
    [InlineData("capture_id,store_id,event_time,code,CODE\nP,S,2026-11-20T10:00:00Z,C,D\n", PosBatchErrorReason.MalformedCsv, "code")]
    [InlineData("capture_id,store_id,event_\"time,code\nP,S,2026-11-20T10:00:00Z,C\n", PosBatchErrorReason.MalformedCsv, null)]
    public async Task A_header_problem_yields_one_error_at_line_1_and_stops(string csv, PosBatchErrorReason reason, string? column)
    {
        var entries = await ReadAllAsync(csv);

        var error = Assert.Single(entries).Error;
        Assert.NotNull(error);
        Assert.Equal((1, reason, column), (error.LineNumber, error.Reason, error.Column));
        Assert.StartsWith("Line 1", error.Message, StringComparison.Ordinal);
        if (column is not null && reason == PosBatchErrorReason.MissingColumn)
        {
            Assert.Contains(column, error.Message, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task A_file_with_only_a_header_yields_nothing()
    {
        Assert.Empty(await ReadAllAsync(FullHeader + "\r\n\r\n"));
    }

    // ---------------------------------------------------------------- arguments, cancellation, streaming

    [Fact]
    public void A_null_reader_throws_at_once() =>
        Assert.Throws<ArgumentNullException>(() => PosBatchReader.ReadAsync(null!, Ct));

    [Fact]
    public async Task Cancellation_stops_the_enumeration()
    {
        using var cts = CancellationTokenSource.CreateLinkedTokenSource(Ct);
        using var source = new GeneratedCsvReader(10_000, invalidEvery: 0);
        int read = 0;

        await Assert.ThrowsAnyAsync<OperationCanceledException>(async () =>
        {
            await foreach (var _ in PosBatchReader.ReadAsync(source, cts.Token))
            {
                if (++read == 10)
                {
                    await cts.CancelAsync();
                }
            }
        });
        Assert.Equal(10, read);
    }

    [Fact]
    public async Task A_huge_upload_streams_through_without_being_held_in_memory()
    {
        const int Rows = 200_000;
        const int InvalidEvery = 10_000;
        using var source = new GeneratedCsvReader(Rows, InvalidEvery);
        int rows = 0, errors = 0, expectedLine = 1, producedAtFirstEntry = -1;

        await foreach (var entry in PosBatchReader.ReadAsync(source, Ct))
        {
            if (producedAtFirstEntry < 0)
            {
                producedAtFirstEntry = source.RowsProduced;
            }
            expectedLine++;
            Assert.Equal(expectedLine, entry.LineNumber);
            if (entry.IsError)
            {
                errors++;
                Assert.Equal(0, (expectedLine - 1) % InvalidEvery);
                Assert.Equal(PosBatchErrorReason.InvalidValue, entry.Error.Reason);
            }
            else
            {
                rows++;
            }
        }

        Assert.Equal(Rows / InvalidEvery, errors);
        Assert.Equal(Rows - (Rows / InvalidEvery), rows);
        Assert.Equal(Rows, source.RowsProduced);
        // The first entry came out after one buffer of text, not after the whole file.
        Assert.InRange(producedAtFirstEntry, 1, 2_000);
    }

    // ---------------------------------------------------------------- properties

    [Property(MaxTest = 300)]
    public Property Valid_rows_written_as_CSV_read_back_equal() =>
        Prop.ForAll(PosArbitraries.ValidFile(), file =>
        {
            var entries = ReadAllSync(file.Text);
            Assert.Equal(file.Rows.Count, entries.Count);
            for (int i = 0; i < entries.Count; i++)
            {
                Assert.False(entries[i].IsError, entries[i].Error?.Message);
                AssertSameRow(file.Rows[i], file.Lines[i], entries[i].Row!);
            }
        });

    [Property(MaxTest = 300)]
    public Property Arbitrary_text_never_throws_and_yields_rows_or_errors_in_line_order(string? raw) =>
        Prop.ForAll(PosArbitraries.CsvLikeText(), text =>
        {
            AssertWellFormedEntries(raw ?? string.Empty);
            AssertWellFormedEntries(text);
            AssertWellFormedEntries("capture_id,store_id,event_time,code,amount,currency,order_id\n" + text);
        });

    [Property(MaxTest = 300)]
    public Property One_corrupt_line_costs_exactly_that_line() =>
        Prop.ForAll(PosArbitraries.FileWithCorruptLine(), file =>
        {
            var entries = ReadAllSync(file.Text);
            Assert.Equal(file.Rows.Count + 1, entries.Count);
            int at = file.CorruptIndex;
            var error = entries[at].Error;
            Assert.True(error is not null, $"expected an error at line {file.CorruptLine}, got a row");
            Assert.Equal(file.CorruptLine, error.LineNumber);
            if (file.ExpectedReason is { } reason)
            {
                Assert.Equal(reason, error.Reason);
            }
            for (int i = 0, r = 0; i < entries.Count; i++)
            {
                if (i == at)
                {
                    continue;
                }
                Assert.False(entries[i].IsError, entries[i].Error?.Message);
                AssertSameRow(file.Rows[r], file.Lines[r], entries[i].Row!);
                r++;
            }
        });

    // ---------------------------------------------------------------- helpers

    private static void AssertWellFormedEntries(string text)
    {
        var entries = ReadAllSync(text);
        int previous = 0;
        foreach (var entry in entries)
        {
            Assert.True(entry.Row is null != entry.Error is null, "exactly one of Row and Error");
            Assert.True(entry.LineNumber > previous, $"line {entry.LineNumber} after {previous}");
            previous = entry.LineNumber;
            if (entry.Error is { } error)
            {
                Assert.StartsWith($"Line {error.LineNumber.ToString(CultureInfo.InvariantCulture)}", error.Message, StringComparison.Ordinal);
            }
        }
    }

    private static void AssertSameRow(PosArbitraries.TestRow expected, int line, PosBatchRow actual)
    {
        Assert.Equal(line, actual.LineNumber);
        Assert.Equal(expected.CaptureId, actual.CaptureId);
        Assert.Equal(expected.StoreId, actual.StoreId);
        Assert.Equal(expected.RegisterId, actual.RegisterId);
        Assert.Equal(expected.EventTime.ToInstant(), actual.EventTime);
        Assert.Equal(expected.Code, actual.Code);
        Assert.Equal(expected.ReferrerEmail, actual.ReferrerEmail);
        Assert.Equal(expected.ReferrerPhone, actual.ReferrerPhone);
        Assert.Equal(expected.CustomerId, actual.CustomerId);
        Assert.Equal(expected.CustomerEmail, actual.CustomerEmail);
        Assert.Equal(expected.CustomerPhone, actual.CustomerPhone);
        Assert.Equal(expected.OrderId, actual.OrderId);
        Assert.Equal(expected.Amount, actual.Amount);
        Assert.Equal(expected.Currency?.ToUpperInvariant(), actual.Currency);
        Assert.Equal(expected.NewCustomer, actual.NewCustomer);
    }

    private static Task<List<PosBatchEntry>> ReadAllAsync(string text) => ReadAllAsync(new StringReader(text));

    private static async Task<List<PosBatchEntry>> ReadAllAsync(TextReader reader)
    {
        var entries = new List<PosBatchEntry>();
        await foreach (var entry in PosBatchReader.ReadAsync(reader, Ct))
        {
            entries.Add(entry);
        }
        return entries;
    }

    /// <summary>A <see cref="StringReader"/> completes every read synchronously, so properties can drain the reader without blocking.</summary>
    private static List<PosBatchEntry> ReadAllSync(string text)
    {
        var entries = new List<PosBatchEntry>();
        var enumerator = PosBatchReader.ReadAsync(new StringReader(text), Ct).GetAsyncEnumerator(Ct);
        while (true)
        {
            var next = enumerator.MoveNextAsync();
            Assert.True(next.IsCompletedSuccessfully, "a StringReader should never make the reader wait");
            if (!next.Result)
            {
                break;
            }
            entries.Add(enumerator.Current);
        }
        Assert.True(enumerator.DisposeAsync().IsCompletedSuccessfully);
        return entries;
    }

    /// <summary>Produces a header and then generated rows one at a time, as they are read; never the whole text.</summary>
    private sealed class GeneratedCsvReader(int rows, int invalidEvery) : TextReader
    {
        private string _current = "capture_id,store_id,register_id,event_time,code,order_id,amount,currency\r\n";
        private int _offset;

        public int RowsProduced { get; private set; }

        public override int Read(Span<char> buffer)
        {
            int written = 0;
            while (written < buffer.Length)
            {
                if (_offset == _current.Length)
                {
                    if (RowsProduced == rows)
                    {
                        break;
                    }
                    _current = MakeRow(++RowsProduced);
                    _offset = 0;
                }
                int n = Math.Min(buffer.Length - written, _current.Length - _offset);
                _current.AsSpan(_offset, n).CopyTo(buffer[written..]);
                written += n;
                _offset += n;
            }
            return written;
        }

        public override int Read(char[] buffer, int index, int count) => Read(buffer.AsSpan(index, count));

        public override ValueTask<int> ReadAsync(Memory<char> buffer, CancellationToken cancellationToken = default)
        {
            cancellationToken.ThrowIfCancellationRequested();
            return ValueTask.FromResult(Read(buffer.Span));
        }

        private string MakeRow(int i)
        {
            var inv = CultureInfo.InvariantCulture;
            string time = invalidEvery > 0 && i % invalidEvery == 0
                ? "2026-11-20T10:00:00" // no offset
                : $"2026-11-{(i % 28) + 1:00}T{i % 24:00}:{i % 60:00}:00+01:00";
            return i % 3 == 0
                ? string.Create(inv, $"POS-{i},S-{i % 50},R{i % 4},{time},\"EMP-{i % 997}\",ORD-{i},{i % 1000}.{i % 100:00},EUR\r\n")
                : string.Create(inv, $"POS-{i},S-{i % 50},,{time},CODE{i % 997},,,\r\n");
        }
    }
}

internal static class PosArbitraries
{
    private static readonly OffsetDateTimePattern TimeWriter =
        OffsetDateTimePattern.CreateWithInvariantCulture("uuuu'-'MM'-'dd'T'HH':'mm':'ss;FFFFFFFFFo<G>");

    private static readonly string[] Columns =
    [
        "capture_id", "store_id", "register_id", "event_time", "code", "referrer_email", "referrer_phone",
        "customer_id", "customer_email", "customer_phone", "order_id", "amount", "currency", "new_customer",
    ];

    public sealed record TestRow(
        string CaptureId,
        string StoreId,
        string? RegisterId,
        OffsetDateTime EventTime,
        string? Code,
        string? ReferrerEmail,
        string? ReferrerPhone,
        string? CustomerId,
        string? CustomerEmail,
        string? CustomerPhone,
        string? OrderId,
        decimal? Amount,
        string? Currency,
        bool? NewCustomer,
        string NewCustomerText,
        int QuoteMask);

    /// <summary>A CSV text, the rows it holds and the line where each starts.</summary>
    public sealed record CsvFile(string Text, IReadOnlyList<TestRow> Rows, IReadOnlyList<int> Lines)
    {
        public override string ToString() => Text;
    }

    public sealed record CorruptFile(string Text, IReadOnlyList<TestRow> Rows, IReadOnlyList<int> Lines, int CorruptIndex, int CorruptLine, PosBatchErrorReason? ExpectedReason)
    {
        public override string ToString() => $"corrupt line {CorruptLine} ({ExpectedReason}):\n{Text}";
    }

    /// <summary>Text with the characters that make CSV hard: commas, quotes, line breaks of every kind, spaces, non-ASCII.</summary>
    private static Gen<string> Text(int maxLength) =>
        Gen.Elements("a", "b", "Z", "7", "-", "_", " ", ",", "\"", "\n", "\r\n", "\r", "é", "€", "#", ";", "\t", "''")
            .ArrayOf()
            .Select(parts =>
            {
                string s = string.Concat(parts).Trim();
                s = s.Length == 0 ? "x" : s;
                return s.Length > maxLength ? s[..maxLength].TrimEnd() : s;
            })
            .Where(s => s.Length > 0);

    /// <summary>As <see cref="Text"/> without line breaks and tabs: an id holds no control character (the codes keep them).</summary>
    private static Gen<string> IdText(int maxLength) =>
        Text(maxLength).Select(s => s.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal).Replace("\t", "", StringComparison.Ordinal).Trim())
            .Where(s => s.Length > 0);

    private static Gen<string> Email() =>
        from local in Gen.Elements("jane", "j.doe", "a+b", "x_y", "o'neil", "Z9")
        from domain in Gen.Elements("example.com", "mail.example.org", "xn--bcher-kva.example")
        select local + "@" + domain;

    private static Gen<string> Phone() =>
        from plus in Gen.Elements("", "+")
        from first in Gen.Choose(1000, 9999)
        from groups in Gen.Choose(10, 9999).ArrayOf().Where(a => a.Length <= 3)
        from sep in Gen.Elements(" ", "-", ".", "")
        select plus + string.Join(sep, groups.Prepend(first).Select(g => g.ToString(CultureInfo.InvariantCulture)));

    private static Gen<OffsetDateTime> Time() =>
        from days in Gen.Choose(0, 365 * 80)
        from seconds in Gen.Choose(0, 86_399)
        from nanos in Gen.OneOf(Gen.Constant(0), Gen.Choose(0, 999) .Select(ms => ms * 1_000_000), Gen.Choose(0, 999_999_999))
        from offsetMinutes in Gen.OneOf(Gen.Constant(0), Gen.Choose(-14 * 60, 14 * 60))
        select Instant.FromUtc(2000, 1, 1, 0, 0).Plus(Duration.FromDays(days) + Duration.FromSeconds(seconds) + Duration.FromNanoseconds(nanos))
            .WithOffset(Offset.FromSeconds(offsetMinutes * 60));

    private static Gen<decimal> Amount() =>
        from units in Gen.Choose(0, int.MaxValue)
        from scale in Gen.Choose(0, 4)
        select new decimal(units, 0, 0, false, (byte)scale);

    private static Gen<TestRow> Row(int index) =>
        from captureId in IdText(100)
        from storeId in IdText(64)
        from registerId in IdText(64).OrNull()
        from time in Time()
        from referrerMask in Gen.Choose(1, 7)
        from code in Text(40)
        from referrerEmail in Email()
        from referrerPhone in Phone()
        from customerId in IdText(128).OrNull()
        from customerEmail in Email().OrNull()
        from customerPhone in Phone().OrNull()
        from orderId in IdText(128).OrNull()
        from amount in Gen.OneOf(Gen.Constant<decimal?>(null), Amount().Select(a => (decimal?)a))
        from currency in Gen.Elements("EUR", "usd", "Gbp", "chf")
        from flag in Gen.Elements<(bool?, string)>((null, ""), (true, "true"), (false, "FALSE"), (true, "1"), (false, "0"), (true, "Yes"), (false, "no"))
        from quoteMask in Gen.Choose(0, int.MaxValue)
        let amountValue = orderId is not null ? amount ?? 0m : amount
        select new TestRow(
            // Unique within the file: a repeat would rightly be rejected.
            captureId.TrimEnd() + "#" + index.ToString(CultureInfo.InvariantCulture),
            storeId,
            registerId,
            time,
            (referrerMask & 1) != 0 ? code : null,
            (referrerMask & 2) != 0 ? referrerEmail : null,
            (referrerMask & 4) != 0 ? referrerPhone : null,
            customerId,
            customerEmail,
            customerPhone,
            orderId,
            amountValue,
            amountValue is null ? null : currency,
            flag.Item1,
            flag.Item2,
            quoteMask);

    private static Gen<TestRow[]> Rows() =>
        Gen.Sized(size => Gen.Choose(0, Math.Max(1, size / 4)))
            .SelectMany(n => Gen.CollectToArray(Enumerable.Range(0, n), Row));

    /// <summary>The column order, header spelling and line end of a file.</summary>
    private sealed record Layout(string[] Order, bool UpperCase, bool WithNotes, string LineEnd);

    private static Gen<Layout> FileLayout() =>
        from order in Gen.Shuffle(Columns)
        from upper in Gen.Elements(false, true)
        from notes in Gen.Elements(false, true)
        from lineEnd in Gen.Elements("\n", "\r\n")
        select new Layout(order, upper, notes, lineEnd);

    public static Arbitrary<CsvFile> ValidFile() =>
        (from layout in FileLayout()
         from rows in Rows()
         select Write(layout, rows, corruptAt: -1, corrupt: null, out _)).ToArbitrary();

    public static Arbitrary<CorruptFile> FileWithCorruptLine() =>
        (from layout in FileLayout()
         from rows in Rows()
         from at in Gen.Choose(0, rows.Length)
         from kind in Gen.Choose(0, 10)
         from junk in Text(30)
         select MakeCorrupt(layout, rows, at, kind, junk)).ToArbitrary();

    /// <summary>Text built from CSV's own pieces, so the reader's every path gets exercised, not only "not a header".</summary>
    public static Arbitrary<string> CsvLikeText() =>
        Gen.Elements(
                "\"", "\"\"", ",", ",,", "\n", "\r", "\r\n", " ", "a", "P-1", "S", "é", "\uFEFF", "x\"y",
                "2026-11-20T17:45:00Z", "2026-11-20T17:45:00", "12.50", "-1", "EUR", "yes",
                "capture_id,store_id,event_time,code\n", new string('w', 5000))
            .ArrayOf()
            .Select(string.Concat)
            .ToArbitrary();

    /// <summary>A valid file with one bad line inserted before row <paramref name="at"/> (or at the end).</summary>
    private static CorruptFile MakeCorrupt(Layout layout, TestRow[] rows, int at, int kind, string junk)
    {
        string Line(Func<string, string?> value)
        {
            string line = string.Join(",", layout.Order.Select(c => value(c) ?? c switch
            {
                "capture_id" => "corrupt-row",
                "store_id" => "S1",
                "event_time" => "2026-11-20T10:00:00Z",
                "code" => "CODE",
                _ => "",
            }));
            return layout.WithNotes ? line + "," : line;
        }

        string oneLineJunk = junk.Replace("\"", "", StringComparison.Ordinal).Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal);
        (string corrupt, PosBatchErrorReason? reason) = kind switch
        {
            // An opening quote that never closes on its line: it runs into the rows below until some quote ends it. The
            // record that results is usually malformed, but may happen to end cleanly and then fail on a value instead.
            0 => ("\"" + oneLineJunk + ",unterminated", (PosBatchErrorReason?)null),
            1 => (Line(c => c == "store_id" ? "\"S1\"x" : null), PosBatchErrorReason.MalformedCsv),
            2 => (Line(c => c == "store_id" ? "S\"1" : null), PosBatchErrorReason.MalformedCsv),
            3 => (Line(c => c == "event_time" ? "2026-11-20T10:00:00" : null), PosBatchErrorReason.InvalidValue),
            4 => (Line(c => c == "capture_id" ? "" : null), PosBatchErrorReason.MissingValue),
            5 => (Line(c => c switch { "order_id" => "O-1", "amount" => "-5", "currency" => "EUR", _ => null }), PosBatchErrorReason.InvalidValue),
            6 => (Line(c => c == "code" ? new string('C', 5000) : null), PosBatchErrorReason.TooLong),
            7 => (Line(_ => null) + ",surplus,fields", PosBatchErrorReason.MalformedCsv),
            8 when at > 0 => (Line(c => c == "capture_id" ? Quote(rows[0].CaptureId, true) : null), PosBatchErrorReason.DuplicateCaptureId),
            8 => (Line(c => c switch { "currency" => "EURO", "amount" => "1", _ => null }), PosBatchErrorReason.InvalidValue),
            9 => (string.Join(",", Enumerable.Repeat(new string('x', 4000), 17)), PosBatchErrorReason.TooLong),
            _ => (Line(c => c == "event_time" ? Quote("at " + oneLineJunk, true) : null), PosBatchErrorReason.InvalidValue),
        };

        var file = Write(layout, rows, at, corrupt, out int corruptLine);
        return new CorruptFile(file.Text, rows, file.Lines, at, corruptLine, reason);
    }

    /// <summary>Writes the header and rows; when <paramref name="corrupt"/> is given, it goes in as a line before row <paramref name="corruptAt"/>.</summary>
    private static CsvFile Write(Layout layout, TestRow[] rows, int corruptAt, string? corrupt, out int corruptLine)
    {
        var sb = new StringBuilder();
        sb.AppendJoin(',', layout.Order.Select(c => layout.UpperCase ? c.ToUpperInvariant() : c));
        if (layout.WithNotes)
        {
            sb.Append(",Notes");
        }
        sb.Append(layout.LineEnd);

        int line = 2;
        corruptLine = -1;
        var lines = new List<int>();
        for (int i = 0; i <= rows.Length; i++)
        {
            if (i == corruptAt)
            {
                corruptLine = line;
                sb.Append(corrupt).Append(layout.LineEnd);
                line += 1 + LineBreaks(corrupt!);
            }
            if (i == rows.Length)
            {
                break;
            }
            string text = RowText(rows[i], layout);
            lines.Add(line);
            sb.Append(text).Append(layout.LineEnd);
            line += 1 + LineBreaks(text);
        }
        return new CsvFile(sb.ToString(), rows, lines);
    }

    private static string RowText(TestRow row, Layout layout)
    {
        var values = layout.Order.Select((column, i) => Quote(Value(row, column), (row.QuoteMask >> (i % 31) & 1) != 0));
        string line = string.Join(",", values);
        return layout.WithNotes ? line + "," + Quote("note, with \"quotes\"", row.QuoteMask % 2 == 0) : line;
    }

    private static string Value(TestRow row, string column) => column switch
    {
        "capture_id" => row.CaptureId,
        "store_id" => row.StoreId,
        "register_id" => row.RegisterId ?? "",
        "event_time" => TimeWriter.Format(row.EventTime),
        "code" => row.Code ?? "",
        "referrer_email" => row.ReferrerEmail ?? "",
        "referrer_phone" => row.ReferrerPhone ?? "",
        "customer_id" => row.CustomerId ?? "",
        "customer_email" => row.CustomerEmail ?? "",
        "customer_phone" => row.CustomerPhone ?? "",
        "order_id" => row.OrderId ?? "",
        "amount" => row.Amount?.ToString(CultureInfo.InvariantCulture) ?? "",
        "currency" => row.Currency ?? "",
        "new_customer" => row.NewCustomerText,
        _ => throw new ArgumentOutOfRangeException(nameof(column), column, null),
    };

    /// <summary>Quotes when the value needs it, and otherwise when asked to.</summary>
    private static string Quote(string value, bool always) =>
        always || value.AsSpan().IndexOfAny(",\"\r\n") >= 0
            ? "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\""
            : value;

    /// <summary>Physical line breaks inside a written row: CRLF, LF and a lone CR each count once.</summary>
    private static int LineBreaks(string text)
    {
        int n = 0;
        for (int i = 0; i < text.Length; i++)
        {
            if (text[i] == '\n' || (text[i] == '\r' && (i + 1 == text.Length || text[i + 1] != '\n')))
            {
                n++;
            }
        }
        return n;
    }
}
