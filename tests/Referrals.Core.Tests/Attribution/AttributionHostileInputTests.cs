using System.Globalization;
using System.Text;
using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Tests.Support;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Attribution;

/// <summary>
/// Capturing a touch, recording a conversion with a presented code and importing a POS batch answer any text with a typed
/// result, never an exception; one bad row of an import is reported with its line, column and reason and every good row is
/// imported (issue 16).
/// </summary>
public sealed class AttributionHostileInputTests
{
    private const string Header = "capture_id,store_id,register_id,event_time,code,customer_id,order_id,amount,currency,new_customer";

    [Theory]
    [InlineData("shop.exampl\u0378/r/ABCD")]
    [InlineData("https://x.y\uFFFF/r/ABCD")]
    [InlineData("https://shop.example\u2028/r/ABCD")]
    public async Task A_presented_code_whose_link_host_IDNA_refuses_does_not_stop_the_order_being_recorded(string presented)
    {
        var w = new AttributionWorld();
        var friend = await w.ParticipantAsync("friend");

        var result = await w.Attribution.RecordConversionAsync(w.Order("web-1", friend, Monday) with { PresentedCode = presented }, Ct);

        Assert.Equal(NotAttributedReason.NoTouch, result.Reason);
        Assert.NotNull(await w.Attribution.FindAttributionAsync(Customers, "web-1", Ct));
    }

    [Theory]
    [InlineData("shop.exampl\u0378/r/ABCD")]
    [InlineData("x.y\uFFFF/ABCD")]
    public async Task Capturing_a_link_whose_host_IDNA_refuses_is_rejected_as_malformed(string input)
    {
        var w = new AttributionWorld();

        var result = await w.ClickAsync(input, "visitor-1", Monday);

        Assert.Equal(CaptureOutcome.Rejected, result.Outcome);
        Assert.Equal(CaptureRejection.CodeMalformed, result.Rejection);
        Assert.Equal(CodeResolutionOutcome.Malformed, result.CodeOutcome);
    }

    [Fact]
    public async Task A_share_link_longer_than_a_typed_code_may_be_is_captured()
    {
        var w = new AttributionWorld();
        var anna = await w.ParticipantAsync("anna");
        var code = await w.CodeAsync(anna, ShareMedium.Email);
        string url = w.Links.Build(code.Code, ShareMedium.Email, new Referrals.Links.UtmParameters(Source: "newsletter", Campaign: new string('c', 260))).Url;

        var result = await w.ClickAsync(url, "visitor-1", Monday);

        Assert.Equal(CaptureOutcome.Captured, result.Outcome);
        Assert.Equal(anna, result.Touch?.Referrer);
        Assert.Equal(ShareMedium.Email, result.Touch?.Medium);
    }

    [Fact]
    public async Task An_import_reports_each_bad_row_with_line_column_and_reason_and_imports_every_good_row()
    {
        var w = new AttributionWorld();
        w.Clock.Reset(Monday + Duration.FromDays(1));
        var emil = await w.ParticipantAsync("emil");
        var code = await w.CodeAsync(emil, ShareMedium.Employee);
        string csv = Header + "\n" +
            $"C-1,store-7,R2,2026-11-23T08:45:00+01:00,{code.Display},fay,pos-1,10.00,EUR,yes\n" +
            "C-2,store-7,R2,2026-11-23T08:46:00+01:00,shop.exampl\u0378/r/ABCD,gus,pos-2,10.00,EUR,yes\n" +
            $"C-3,store-7,R2,9999-12-31T23:59:59-18:00,{code.Display},hal,pos-3,10.00,EUR,yes\n" +
            $"C-4,store-7,R2,2026-11-23T08:48:00+01:00,{code.Display},ida,pos-4,10.00,EUR,yes\n";

        var import = await w.Attribution.ImportPosBatchAsync(Customers, new StringReader(csv), Ct);

        Assert.Equal(2, import.Captured);
        Assert.Equal(2, import.Conversions);
        Assert.Equal(2, import.Errors.Count);

        var refused = import.Errors[0];
        Assert.Equal(3, refused.LineNumber);
        Assert.Equal(BatchImportErrorReason.CaptureRefused, refused.Reason);
        Assert.Equal(CaptureRejection.CodeMalformed, refused.Rejection);
        Assert.Null(refused.ReadReason);
        Assert.Equal("code", refused.Column);
        Assert.StartsWith("Line 3: ", refused.Message, StringComparison.Ordinal);

        var unreadable = import.Errors[1];
        Assert.Equal(4, unreadable.LineNumber);
        Assert.Equal(BatchImportErrorReason.Unreadable, unreadable.Reason);
        Assert.Equal(PosBatchErrorReason.InvalidValue, unreadable.ReadReason);
        Assert.Null(unreadable.Rejection);
        Assert.Equal("event_time", unreadable.Column);
        Assert.StartsWith("Line 4: ", unreadable.Message, StringComparison.Ordinal);

        Assert.NotNull(await w.Attribution.FindAttributionAsync(Customers, "pos-1", Ct));
        Assert.NotNull(await w.Attribution.FindAttributionAsync(Customers, "pos-4", Ct));
    }

    [Theory]
    [InlineData("0001-01-01T00:00:00Z")]
    [InlineData("9997-12-31T23:59:59.999999999Z")]
    [InlineData("9997-12-31T23:59:59+18:00")]
    public async Task A_row_at_an_edge_of_the_supported_range_of_time_is_imported_and_decided_and_one_beyond_NodaTimes_refused(string time)
    {
        var w = new AttributionWorld(p => p.Rewards = new Referrals.Rewards.RewardOptions { Rules = [new Referrals.Rewards.RewardRuleOptions { Name = "ten", Amount = 10m, Currency = "EUR" }] });
        w.Clock.Reset(Monday + Duration.FromDays(1));
        var emil = await w.ParticipantAsync("emil");
        var code = await w.CodeAsync(emil, ShareMedium.Employee);
        string csv = Header + "\n" +
            $"C-0,store-7,R2,{time},{code.Display},fay,,,,\n" +
            $"C-1,store-7,R2,{time},{code.Display},fay,pos-1,10.00,EUR,yes\n" +
            $"C-2,store-7,R2,2026-11-23T08:48:00+01:00,{code.Display},ida,pos-2,10.00,EUR,yes\n" +
            $"C-3,store-7,R2,-9998-01-01T00:00:00Z,{code.Display},gus,pos-3,10.00,EUR,yes\n"; // NodaTime's first instant

        var import = await w.Attribution.ImportPosBatchAsync(Customers, new StringReader(csv), Ct);

        var error = Assert.Single(import.Errors);
        Assert.Equal((5, "event_time", PosBatchErrorReason.InvalidValue), (error.LineNumber, error.Column, error.ReadReason));
        Assert.Equal(3, import.Captured);
        var edge = await w.Attribution.FindAttributionAsync(Customers, "pos-1", Ct);
        Assert.NotNull(edge);
        Assert.True(edge.IsAttributed, edge.Explain());
        Assert.NotNull(await w.Attribution.FindAttributionAsync(Customers, "pos-2", Ct));
        var reward = Assert.Single(await w.Rewards.ListOrderRewardsAsync(Customers, "pos-1", Ct));
        Assert.Equal((emil, new Money(10m, "EUR")), (reward.Beneficiary, reward.Earned));
        await w.Rewards.ProcessDueAsync(Ct); // holds that end at the edge of time are computed without overflow
    }

    [Theory]
    [InlineData(1, 1, 1, -1)]
    [InlineData(9998, 1, 1, 0)]
    [InlineData(9999, 12, 31, 0)]
    public async Task An_order_outside_the_supported_range_of_time_is_refused_before_anything_is_recorded(int year, int month, int day, int nanos)
    {
        var w = new AttributionWorld();
        var friend = await w.ParticipantAsync("friend");
        var at = Instant.FromUtc(year, month, day, 0, 0).PlusNanoseconds(nanos);

        var ex = await Assert.ThrowsAsync<ArgumentException>(() => w.Attribution.RecordConversionAsync(w.Order("web-1", friend, at), Ct).AsTask());

        Assert.Contains("0001-01-01T00:00:00Z to 9997-12-31T23:59:59Z", ex.Message, StringComparison.Ordinal);
        Assert.Null(await w.Attribution.FindAttributionAsync(Customers, "web-1", Ct));
    }

    /// <summary>
    /// Any text in a capture's code input comes back as a typed outcome; an id that breaks the id rules (blank, too long,
    /// an unpaired surrogate or a control character) is refused with <see cref="ArgumentException"/> before anything is
    /// stored, and every other id is taken.
    /// </summary>
    [Property(MaxTest = 1500)]
    public Property Capture_answers_hostile_input_with_a_typed_outcome() =>
        Prop.ForAll(Captures().ToArbitrary(), c =>
        {
            bool idsValid = HostileText.IsId(c.VisitorId, 256) && (c.StoreId is null || HostileText.IsId(c.StoreId, 64))
                && (c.RegisterId is null || HostileText.IsId(c.RegisterId, 64)) && (c.CaptureId is null || HostileText.IsId(c.CaptureId, 128));
            if (!idsValid)
            {
                var refused = Record.Exception(() => Shared.Value.World.Attribution.CaptureAsync(c, Ct).AsTask().GetAwaiter().GetResult());
                return (refused is ArgumentException { ParamName: "request" } && HostileText.IsSafeMessage(refused.Message)).Label(refused?.ToString() ?? "not refused");
            }
            var result = Shared.Value.World.Attribution.CaptureAsync(c, Ct).AsTask().GetAwaiter().GetResult();
            bool typed = result.Outcome switch
            {
                CaptureOutcome.Rejected => result.Rejection is { } why && Enum.IsDefined(why) && result.Touch is null,
                CaptureOutcome.Captured or CaptureOutcome.Duplicate => result.Rejection is null && result.Touch is not null,
                _ => false,
            };
            return typed.Label(result.ToString());
        });

    /// <summary>
    /// A conversion with any text in its presented code is recorded and decided; one whose order, store, visitor or
    /// register id breaks the id rules is refused with <see cref="ArgumentException"/> and nothing of it is stored (before,
    /// SQLite stored two order ids that differ in an unpaired surrogate half as one, and dropped the second order).
    /// </summary>
    [Property(MaxTest = 1000)]
    public Property A_conversion_with_hostile_text_is_recorded_and_decided() =>
        Prop.ForAll(
            (from presented in HostileText.CodeInputs
             from store in HostileText.Short
             from visitor in HostileText.Short
             from register in HostileText.Short
             from order in HostileText.Short.Where(o => !string.IsNullOrWhiteSpace(o) && o.Length <= 128)
             select (presented, store, visitor, register, order)).ToArbitrary(),
            c =>
            {
                var w = Shared.Value.World;
                string orderId = "o-" + Interlocked.Increment(ref _orders).ToString(CultureInfo.InvariantCulture) + c.order;
                var conversion = new Conversion
                {
                    Program = Customers,
                    OrderId = orderId.Length <= 128 ? orderId : orderId[..128],
                    Customer = Shared.Value.Friend,
                    Amount = new Money(20m, "EUR"),
                    EventTime = Monday,
                    Channel = Channel.Offline,
                    PresentedCode = c.presented,
                    StoreId = c.store,
                    VisitorId = c.visitor,
                    RegisterId = c.register,
                };
                bool idsValid = HostileText.IsId(conversion.OrderId, 128) && HostileText.IsId(c.store, 64)
                    && HostileText.IsId(c.visitor, 256) && HostileText.IsId(c.register, 64);
                if (!idsValid)
                {
                    var refused = Record.Exception(() => c.order.Length % 2 == 0
                        ? w.Attribution.RecordConversionAsync(conversion, Ct).AsTask().GetAwaiter().GetResult()
                        : w.Attribution.RecordConversionsAsync([conversion], Ct).AsTask().GetAwaiter().GetResult()[0]);
                    bool nothingStored = !HostileText.IsId(conversion.OrderId, 128)
                        || w.Attribution.FindAttributionAsync(Customers, conversion.OrderId, Ct).AsTask().GetAwaiter().GetResult() is null;
                    return (refused is ArgumentException { ParamName: "conversion" } && HostileText.IsSafeMessage(refused.Message) && nothingStored)
                        .Label(refused?.ToString() ?? "not refused");
                }
                // One at a time, or as a list of one (the batch path shares the checks and the recording).
                var result = c.order.Length % 2 == 0
                    ? w.Attribution.RecordConversionAsync(conversion, Ct).AsTask().GetAwaiter().GetResult()
                    : w.Attribution.RecordConversionsAsync([conversion], Ct).AsTask().GetAwaiter().GetResult()[0];
                var stored = w.Attribution.FindAttributionAsync(Customers, conversion.OrderId, Ct).AsTask().GetAwaiter().GetResult();
                return (result.OrderId == conversion.OrderId && (result.Reason is null) == result.IsAttributed && (result.Reason is not { } why || Enum.IsDefined(why)) && stored is not null)
                    .Label(result.Explain());
            });

    [Property(MaxTest = 200)]
    public Property An_import_with_hostile_rows_imports_every_good_row_and_reports_every_bad_one() =>
        Prop.ForAll(Files().ToArbitrary(), file =>
        {
            var w = new AttributionWorld();
            w.Clock.Reset(Monday + Duration.FromDays(1));
            var emil = w.ParticipantAsync("emil").GetAwaiter().GetResult();
            var code = w.CodeAsync(emil, ShareMedium.Employee).GetAwaiter().GetResult();
            string text = file.Text.Replace("{CODE}", code.Display, StringComparison.Ordinal);

            var import = w.Attribution.ImportPosBatchAsync(Customers, new StringReader(text), Ct).GetAwaiter().GetResult();

            foreach (var (line, order) in file.GoodRows)
            {
                Assert.True(
                    w.Attribution.FindAttributionAsync(Customers, order, Ct).AsTask().GetAwaiter().GetResult() is not null,
                    $"good row at line {line} ({order}) was not imported; errors: {string.Join(" | ", import.Errors.Select(e => e.Message))}");
            }
            // Every line is accounted for: imported, or refused with its line.
            Assert.Equal(file.Lines, import.Captured + import.Duplicates + import.Errors.Count);
            foreach (var error in import.Errors)
            {
                Assert.DoesNotContain(error.LineNumber, file.GoodRows.Select(g => g.Line));
                Assert.True(Enum.IsDefined(error.Reason), error.Reason.ToString());
                Assert.Equal(error.Reason == BatchImportErrorReason.Unreadable, error.ReadReason is not null);
                Assert.Equal(error.Reason == BatchImportErrorReason.CaptureRefused, error.Rejection is not null);
                Assert.StartsWith($"Line {error.LineNumber.ToString(CultureInfo.InvariantCulture)}", error.Message, StringComparison.Ordinal);
            }
        });

    private static int _orders;

    private static readonly Lazy<(AttributionWorld World, ParticipantId Friend)> Shared = new(() =>
    {
        var w = new AttributionWorld();
        var anna = w.ParticipantAsync("anna").GetAwaiter().GetResult();
        _ = w.CodeAsync(anna, ShareMedium.Sms).GetAwaiter().GetResult();
        var friend = w.ParticipantAsync("friend").GetAwaiter().GetResult();
        return (w, friend);
    });

    private static Gen<CaptureRequest> Captures() =>
        from kind in Gen.Elements(TouchKind.LinkClick, TouchKind.CodeEnteredOnline, TouchKind.PosCodeScan, TouchKind.KioskSignup, TouchKind.PosBatchCapture)
        from input in HostileText.CodeInputs
        from visitor in HostileText.Short
        from store in HostileText.Short.OrNull()
        from register in HostileText.Short.OrNull()
        from capture in HostileText.Short.OrNull()
        from source in HostileText.Short.OrNull()
        from minutes in Gen.Choose(-100_000, 100_000)
        select new CaptureRequest
        {
            Program = Customers,
            Kind = kind,
            Input = input,
            VisitorId = visitor,
            StoreId = store,
            RegisterId = register,
            CaptureId = capture,
            Source = source,
            EventTime = Monday + Duration.FromMinutes(minutes),
        };

    /// <summary>A file with the code written as <c>{CODE}</c>, and the line and order id of each good row.</summary>
    public sealed record HostileFile(string Text, int Lines, IReadOnlyList<(int Line, string Order)> GoodRows)
    {
        public override string ToString() => Text.Length > 2000 ? Text[..2000] + "…" : Text;
    }

    private static Gen<HostileFile> Files()
    {
        string[] columns = Header.Split(',');
        var oneBadValue =
            from column in Gen.Choose(0, columns.Length - 1)
            from value in Gen.Frequency((3, HostileText.Strings), (2, HostileText.CodeInputs), (2, HostileText.EventTimes))
            select (column, value);
        var line = Gen.Frequency(
            (3, Gen.Constant<object?>(null)),
            (1, HostileText.CsvCells.ArrayOf(columns.Length).Select(cells => (object?)string.Join(",", cells))),
            (3, oneBadValue.Select(v => (object?)v)));
        return line.ListOf().Select(lines =>
        {
            var sb = new StringBuilder(Header).Append('\n');
            var good = new List<(int, string)>();
            int n = 0;
            foreach (var l in lines.Take(8))
            {
                n++;
                string[] cells = [$"C-{n}", "store-7", "R2", "2026-11-23T08:45:00+01:00", "{CODE}", $"friend-{n}", $"pos-{n}", "10.00", "EUR", "yes"];
                switch (l)
                {
                    case null:
                        good.Add((n + 1, $"pos-{n}"));
                        sb.Append(string.Join(",", cells));
                        break;
                    case string hostile:
                        // Written on one line, so that the good rows' line numbers stay known.
                        sb.Append(hostile.Replace('\r', ' ').Replace('\n', ' ').Replace("\"", "", StringComparison.Ordinal));
                        break;
                    case ValueTuple<int, string>(int column, string value):
                        cells[column] = "\"" + value.Replace("\r", "", StringComparison.Ordinal).Replace("\n", "", StringComparison.Ordinal).Replace("\"", "\"\"", StringComparison.Ordinal) + "\"";
                        if (column != 6)
                        {
                            cells[6] = $"bad-{n}";
                        }
                        sb.Append(string.Join(",", cells));
                        break;
                }
                sb.Append('\n');
            }
            return new HostileFile(sb.ToString(), n, good);
        });
    }
}
