using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Attribution;
using Referrals.Tests.Support;

namespace Referrals.Tests.Attribution;

/// <summary>
/// <see cref="PosBatchReader"/> and the CSV reader under it answer any file with rows and line errors, never an exception,
/// and a bad line never costs the good lines around it (issue 16): event times beyond NodaTime's range, hostile text in
/// every cell, quoted or not.
/// </summary>
public sealed class PosBatchHostileInputTests
{
    private const string Header = "capture_id,store_id,register_id,event_time,code,customer_id,order_id,amount,currency,new_customer";

    private static readonly string[] Columns = Header.Split(',');

    private static CancellationToken Ct => TestContext.Current.CancellationToken;

    [Theory]
    [InlineData("9999-12-31T23:59:59-18:00")]            // beyond the end of NodaTime's range once the offset is applied
    [InlineData("9999-12-31T23:59:59.999999999-00:01")]
    [InlineData("9999-12-31 23:59-01")]
    [InlineData("-9998-01-01T00:00:00+00:01")]           // before its start
    [InlineData("9999-12-31T23:59:59Z")]                 // within NodaTime's range, beyond the supported one
    [InlineData("9998-01-01T00:00:00Z")]
    [InlineData("9997-12-31T23:59:59-00:01")]
    [InlineData("0001-01-01T00:00:00+00:01")]
    [InlineData("-0001-06-01T00:00:00Z")]
    public void An_event_time_outside_the_supported_range_is_an_invalid_value_and_the_other_rows_are_read(string time)
    {
        string csv = Header + "\n" +
            "P-1,S1,R1,2026-11-20T10:00:00Z,ABCD,,,,,\n" +
            $"P-2,S1,R1,{time},ABCD,,,,,\n" +
            "P-3,S1,R1,2026-11-20T11:00:00Z,ABCD,,,,,\n";

        var entries = ReadAll(csv);

        Assert.Equal(3, entries.Count);
        Assert.Equal(["P-1", "P-3"], entries.Where(e => !e.IsError).Select(e => e.Row!.CaptureId));
        var error = entries[1].Error;
        Assert.NotNull(error);
        Assert.Equal(3, error.LineNumber);
        Assert.Equal(PosBatchErrorReason.InvalidValue, error.Reason);
        Assert.Equal("event_time", error.Column);
        Assert.Contains("outside the range of supported event times, 0001-01-01T00:00:00Z to 9997-12-31T23:59:59Z", error.Message, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("0001-01-01T00:00:00Z", "0001-01-01T00:00:00Z", "0001-01-01T00:00:00+00:01")]
    [InlineData("0001-01-01T00:00:00-18:00", "0001-01-01T18:00:00Z", "0000-12-31T23:59:59.999999999Z")]
    [InlineData("9997-12-31T23:59:59.999999999Z", "9997-12-31T23:59:59.999999999Z", "9998-01-01T00:00:00Z")]
    [InlineData("9997-12-31T23:59:59+18:00", "9997-12-31T05:59:59Z", "9997-12-31T23:59:59-00:01")]
    [InlineData("9998-01-01T17:59:59+18:00", "9997-12-31T23:59:59Z", "9998-01-01T17:59:59+17:59")]
    public void An_event_time_just_inside_an_edge_of_the_supported_range_is_read_and_one_just_outside_refused(string inside, string expected, string outside)
    {
        var entries = ReadAll(Header + "\n" + $"P-1,S1,R1,{inside},ABCD,,,,,\n" + $"P-2,S1,R1,{outside},ABCD,,,,,\n");

        Assert.Equal(2, entries.Count);
        Assert.Equal(NodaTime.Text.InstantPattern.ExtendedIso.Parse(expected).Value, entries[0].Row?.EventTime);
        Assert.Equal("event_time", entries[1].Error?.Column);
    }

    [Theory]
    [InlineData("capture_id", @"twin\uD800", "U+D800 at index 4", @"twin\uD800\uDC00")]
    [InlineData("store_id", @"\uDC00S1", "U+DC00 at index 0", @"\uD83D\uDC00S1")]
    [InlineData("register_id", @"R\uDFFF\uD800", "U+DFFF at index 1", @"R\uD800\uDFFF")]
    [InlineData("customer_id", @"C-\uD83D", "U+D83D at index 2", @"C-\uD83D\uDE00")]
    [InlineData("order_id", @"O-\uDE00\uD83D", "U+DE00 at index 2", @"O-\uD83D\uDE00")]
    public void A_value_with_an_unpaired_surrogate_is_an_invalid_value_naming_it_and_paired_it_is_read(string column, string escaped, string named, string escapedPaired)
    {
        string value = HostileText.Unescape(escaped);
        Assert.Contains(value, char.IsSurrogate);
        var cells = new Dictionary<string, string>
        {
            ["capture_id"] = "P-1", ["store_id"] = "S1", ["register_id"] = "R1", ["event_time"] = "2026-11-20T10:00:00Z", ["code"] = "ABCD",
            ["customer_id"] = "C-1", ["order_id"] = "O-1", ["amount"] = "1.00", ["currency"] = "EUR", ["new_customer"] = "",
        };
        cells[column] = value;
        string csv = Header + "\n" + string.Join(",", Columns.Select(c => cells[c])) + "\n" + "P-2,S1,R1,2026-11-20T11:00:00Z,ABCD,,,,,\n";

        var entries = ReadAll(csv);

        var error = entries[0].Error;
        Assert.NotNull(error);
        Assert.Equal(PosBatchErrorReason.InvalidValue, error.Reason);
        Assert.Equal(column, error.Column);
        Assert.Contains($"unpaired surrogate ({named})", error.Message, StringComparison.Ordinal);
        Assert.True(HostileText.IsSafeMessage(error.Message), error.Message);
        Assert.Equal("P-2", entries[1].Row?.CaptureId);

        // The same value with its surrogates paired is text like any other, read as written.
        string paired = HostileText.Unescape(escapedPaired);
        cells[column] = paired;
        var row = Assert.Single(ReadAll(Header + "\n" + string.Join(",", Columns.Select(c => cells[c])) + "\n")).Row;
        Assert.NotNull(row);
        Assert.Equal(paired, column switch
        {
            "capture_id" => row.CaptureId,
            "store_id" => row.StoreId,
            "register_id" => row.RegisterId,
            "customer_id" => row.CustomerId,
            _ => row.OrderId,
        });
    }

    [Property(MaxTest = 2000)]
    public Property Any_event_time_text_gives_a_row_or_an_event_time_error() =>
        Prop.ForAll(HostileText.EventTimes.ToArbitrary(), time =>
        {
            // Line breaks kept out, so that the second row stays on line 3.
            string cell = Quote(time.Replace('\r', ' ').Replace('\n', ' '));
            var entries = ReadAll(Header + "\n" + $"P-1,S1,R1,{cell},ABCD,,,,,\n" + "P-2,S1,R1,2026-11-20T11:00:00Z,ABCD,,,,,\n");
            var last = entries[^1].Row;
            return (entries.Count == 2
                    && last is { CaptureId: "P-2", LineNumber: 3 }
                    && (entries[0].Row is not null || entries[0].Error is { Reason: PosBatchErrorReason.InvalidValue or PosBatchErrorReason.MissingValue, Column: "event_time" }))
                .Label(string.Join(" | ", entries.Select(e => e.Error?.Message ?? "row")));
        });

    [Property(MaxTest = 500)]
    public Property Hostile_rows_between_good_ones_cost_only_their_own_lines_and_quoted_cells_read_back_exactly() =>
        Prop.ForAll(Files().ToArbitrary(), QuotedCells().ToArbitrary(), (file, cells) =>
        {
            AssertQuotedCellsReadBack(cells);

            var entries = ReadAll(file.Text);
            int previous = 0;
            foreach (var entry in entries)
            {
                Assert.True(entry.Row is null != entry.Error is null, "exactly one of Row and Error");
                Assert.True(entry.LineNumber > previous, $"line {entry.LineNumber} after {previous}");
                previous = entry.LineNumber;
                if (entry.Error is { } error)
                {
                    Assert.True(Enum.IsDefined(error.Reason), error.Reason.ToString());
                    Assert.True(error.Column is null || Columns.Contains(error.Column), error.Column);
                    Assert.StartsWith($"Line {error.LineNumber.ToString(CultureInfo.InvariantCulture)}", error.Message, StringComparison.Ordinal);
                    Assert.True(HostileText.IsSafeMessage(error.Message), error.Message);
                }
            }
            var rows = entries.Where(e => e.Row is not null).ToDictionary(e => e.Row!.LineNumber, e => e.Row!);
            foreach (var (line, id) in file.GoodRows)
            {
                Assert.True(rows.TryGetValue(line, out var row), $"good row {id} at line {line} was lost");
                Assert.Equal(id, row.CaptureId);
                Assert.Equal("ABCD", row.Code);
            }
        });

    private static Gen<string[]> QuotedCells() =>
        HostileText.Short.ListOf().Select(l => l.Take(6).ToArray()).Where(l => l.Length > 0);

    /// <summary>The CSV reader under <see cref="PosBatchReader"/> gives back any text quoted in a record, exactly.</summary>
    private static void AssertQuotedCellsReadBack(string[] cells)
    {
        string record = string.Join(",", cells.Select(Quote));
        var csv = new CsvRecordReader(new StringReader("a,b\n" + record + "\n" + "after,line\n"));
        Assert.True(csv.ReadRecordAsync(Ct).AsTask().GetAwaiter().GetResult());
        Assert.True(csv.ReadRecordAsync(Ct).AsTask().GetAwaiter().GetResult());
        Assert.Equal(CsvFault.None, csv.Fault);
        Assert.Equal(cells, csv.Fields);
        Assert.True(csv.ReadRecordAsync(Ct).AsTask().GetAwaiter().GetResult());
        Assert.Equal(["after", "line"], csv.Fields);
        Assert.False(csv.ReadRecordAsync(Ct).AsTask().GetAwaiter().GetResult());
    }

    /// <summary>A file, and the line and capture id of each good row in it.</summary>
    public sealed record HostileFile(string Text, IReadOnlyList<(int Line, string Id)> GoodRows)
    {
        public override string ToString() => Text.Length > 2000 ? Text[..2000] + "…" : Text;
    }

    private static Gen<HostileFile> Files()
    {
        var hostileRow = HostileText.CsvCells.ArrayOf(Columns.Length).Select(cells => string.Join(",", cells));
        // A row that is well formed but for one hostile value (quoted, so the record stays one record).
        var oneBadValue =
            from column in Gen.Choose(0, Columns.Length - 1)
            from value in HostileText.Strings
            select (column, value);
        var line = Gen.Frequency(
            (3, Gen.Constant<object>("good")),
            (2, hostileRow.Select(r => (object)r)),
            (2, oneBadValue.Select(v => (object)v)));
        return line.ListOf().Select(lines =>
        {
            var sb = new StringBuilder(Header).Append("\r\n");
            var good = new List<(int, string)>();
            int n = 0;
            foreach (var l in lines.Take(12))
            {
                n++;
                switch (l)
                {
                    case "good":
                        good.Add((LineOf(sb), $"good-{n}"));
                        sb.Append(CultureInfo.InvariantCulture, $"good-{n},S1,R1,2026-11-20T10:00:00Z,ABCD,C-{n},O-{n},12.50,EUR,yes");
                        break;
                    case string hostile:
                        sb.Append(hostile);
                        break;
                    case ValueTuple<int, string>(int column, string value):
                        string[] cells = [$"bad-{n}", "S1", "R1", "2026-11-20T10:00:00Z", "ABCD", $"C-{n}", $"O-{n}", "12.50", "EUR", "yes"];
                        cells[column] = Quote(value);
                        sb.Append(string.Join(",", cells));
                        break;
                }
                sb.Append(n % 2 == 0 ? "\n" : "\r\n");
            }
            return new HostileFile(sb.ToString(), good);
        });
    }

    /// <summary>The 1-based line the next character of <paramref name="sb"/> is on (CRLF, LF and CR each end a line).</summary>
    private static int LineOf(StringBuilder sb)
    {
        int line = 1;
        for (int i = 0; i < sb.Length; i++)
        {
            if (sb[i] == '\n' || (sb[i] == '\r' && (i + 1 == sb.Length || sb[i + 1] != '\n')))
            {
                line++;
            }
        }
        return line;
    }

    private static string Quote(string value) => "\"" + value.Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";

    private static List<PosBatchEntry> ReadAll(string text)
    {
        var entries = new List<PosBatchEntry>();
        var enumerator = PosBatchReader.ReadAsync(new StringReader(text), Ct).GetAsyncEnumerator(Ct);
        while (enumerator.MoveNextAsync().AsTask().GetAwaiter().GetResult())
        {
            entries.Add(enumerator.Current);
        }
        return entries;
    }
}
