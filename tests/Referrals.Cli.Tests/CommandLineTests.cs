namespace Referrals.Cli.Tests;

/// <summary>The conventions every command keeps: help with an example, exit codes, one-line errors that name the fix.</summary>
public sealed class CommandLineTests
{
    public static TheoryData<string> Commands() =>
    [
        "", "codes", "codes bulk", "codes issue", "codes vanity", "codes pause", "codes resume", "codes revoke", "codes show",
        "qr", "sheet", "import", "import pos", "review", "review list", "review approve", "review reject", "rewards",
        "rewards process", "forget", "report", "replay",
    ];

    [Theory]
    [MemberData(nameof(Commands))]
    public async Task EveryCommandHasHelpWithAnExample(string command)
    {
        using var shop = new Shop();
        var result = await shop.RunAsync([.. command.Split(' ', StringSplitOptions.RemoveEmptyEntries), "--help"]);
        Assert.Equal(0, result.Exit);
        Assert.Contains("Usage:", result.Out, StringComparison.Ordinal);
        Assert.Contains("Examples:\n  referrals " + (command.Length == 0 ? string.Empty : command.Split(' ')[0]), result.Out.ReplaceLineEndings("\n"), StringComparison.Ordinal);
        Assert.Equal(string.Empty, result.Error);
    }

    [Theory]
    [InlineData("0")]
    [InlineData("-5")]
    [InlineData("abc")]
    [InlineData("100000001")]
    // Thousands separators only in groups of three (found by fuzzing: "1,5" made 15 codes, "1,,,0" ten).
    [InlineData("1,5")]
    [InlineData("1,,,0")]
    [InlineData("5,")]
    [InlineData(",500")]
    [InlineData("1,0000")]
    public async Task ABadCountIsAUsageErrorNamingTheOption(string count)
    {
        using var shop = new Shop();
        var result = await shop.RunAsync("codes", "bulk", "--program", "customers", "--count", count, "--out", "codes.csv");
        Assert.Equal(2, result.Exit);
        Assert.Contains($"--count '{count}' is not a whole number from 1 to 100,000,000", result.Error, StringComparison.Ordinal);
        Assert.Contains("Run 'referrals codes bulk --help'", result.Error, StringComparison.Ordinal);
        Assert.False(File.Exists(shop.PathOf("codes.csv")));
    }

    /// <summary>Every number option names itself, its range and the value escaped (found by fuzzing: an escape sequence was echoed raw, with the parser's type name).</summary>
    [Theory]
    [InlineData("--max-uses", "\u001b[31mX", "codes issue -p customers")]
    [InlineData("--max-uses", "0", "codes issue -p customers")]
    [InlineData("--module-size", "101", "qr ABCD --out a.png")]
    [InlineData("--quiet-zone", "-1", "qr ABCD --out a.png")]
    [InlineData("--count", "100001", "sheet -p customers --out s.svg")]
    public async Task ANumberOptionOutOfItsRangeIsNamedWithTheValueEscaped(string option, string value, string command)
    {
        using var shop = new Shop();
        var result = await shop.RunAsync([.. command.Split(' '), option, value]);
        Assert.Equal(2, result.Exit);
        Assert.Contains($"{option} '", result.Error, StringComparison.Ordinal);
        Assert.Contains("is not a whole number from", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("\u001b", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("System.", result.Error, StringComparison.Ordinal);
    }

    /// <summary>An error quoting a path the user gave cannot steer the terminal (found by fuzzing: an escape sequence in --out was printed raw).</summary>
    [Fact]
    public async Task AnErrorQuotingUserTextCannotSteerTheTerminal()
    {
        using var shop = new Shop();
        var result = await shop.RunAsync("import", "pos", "up\u001b[31mload\u202E.csv", "-p", "customers");
        Assert.Equal(2, result.Exit);
        Assert.DoesNotContain("\u001b", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("\u202E", result.Error, StringComparison.Ordinal);
        Assert.Contains("\\u{202E}", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnErrorCorrectionLevelIsReadByNameAnyCase()
    {
        using var shop = new Shop();
        var bad = await shop.RunAsync("qr", "ABCD", "--out", "a.png", "--error-correction", "2");
        Assert.Equal(2, bad.Exit);
        Assert.Contains("--error-correction '2' is not one of Low, Medium, Quartile, High", bad.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ACountInGroupsOfThreeIsRead()
    {
        using var shop = new Shop();
        var result = await shop.RunAsync("codes", "bulk", "--program", "customers", "--count", "1,000", "--out", "codes.csv");
        Assert.Equal(0, result.Exit);
        Assert.Equal(1_001, File.ReadAllLines(shop.PathOf("codes.csv")).Length);
    }

    /// <summary>
    /// An argument starting with @ is a value, never a response file to read in its place (found by fuzzing: "@/etc" crashed
    /// the tool with a stack trace, and an owner "@anna" was "response file not found").
    /// </summary>
    [Theory]
    [InlineData("@/etc")]
    [InlineData("@anna")]
    [InlineData("@")]
    public async Task AnArgumentStartingWithAtIsAValueNotAResponseFile(string value)
    {
        using var shop = new Shop();
        var result = await shop.RunAsync("codes", "show", value);
        Assert.NotEqual(0, result.Exit);
        Assert.DoesNotContain("Unhandled", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("Response file", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownOptionOrCommandIsAUsageError()
    {
        using var shop = new Shop();
        var unknownOption = await shop.RunAsync("codes", "show", "X", "--colour");
        Assert.Equal(2, unknownOption.Exit);
        Assert.Contains("--colour", unknownOption.Error, StringComparison.Ordinal);
        var noSubcommand = await shop.RunAsync("codes");
        Assert.Equal(2, noSubcommand.Exit);
        Assert.Contains("Run 'referrals codes --help'", noSubcommand.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnUnknownProgramIsAUsageErrorListingTheConfiguredOnes()
    {
        using var shop = new Shop();
        var result = await shop.RunAsync("codes", "bulk", "--program", "custmers", "--count", "10", "--out", "codes.csv");
        Assert.Equal(2, result.Exit);
        Assert.Equal("error: --program 'custmers': no such program; configured: customers, employees.\n", result.Error.ReplaceLineEndings("\n"));
        Assert.False(File.Exists(shop.PathOf("codes.csv")));
        Assert.False(File.Exists(shop.PathOf("codes.csv.partial")));
    }

    [Fact]
    public async Task AnUnknownMediumListsTheMedia()
    {
        using var shop = new Shop();
        var result = await shop.RunAsync("codes", "bulk", "-p", "customers", "-n", "10", "-m", "billboard", "-o", "codes.csv");
        Assert.Equal(2, result.Exit);
        Assert.Contains("--medium 'billboard' is no share medium; use one of link, email, sms, social, messaging, receipt, card, sign, kiosk, employee.", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task WithoutAStoreConfiguredTheMessageSaysWhereToSetIt()
    {
        using var shop = new Shop(withSettings: false);
        var result = await shop.RunAsync("codes", "show", "ABCD-EFGH");
        Assert.Equal(1, result.Exit);
        Assert.StartsWith("error: No store is configured: set ConnectionStrings:Referrals", result.Error, StringComparison.Ordinal);
        Assert.Contains("ConnectionStrings__Referrals", result.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task EnvironmentVariablesAndConfigFilesConfigureTheLibrary()
    {
        using var shop = new Shop(withSettings: false);
        File.WriteAllText(shop.PathOf("shop.json"), """{ "Referrals": { "Programs": { "staff": { } } } }""");
        var environment = new Dictionary<string, string> { ["ConnectionStrings__Referrals"] = "Data Source=env.db", ["Referrals__Codes__Prefix"] = "SHOP" };
        var result = await shop.RunAsync(environment, "codes", "issue", "--program", "staff", "--owner", "anna", "--config", "shop.json", "--json");
        Assert.True(result.Exit == 0, result.ToString());
        Assert.Contains("\"display\": \"SHOP-", result.Out, StringComparison.Ordinal);
        Assert.True(File.Exists(shop.PathOf("env.db")));

        var missing = await shop.RunAsync(environment, "codes", "show", "X", "--config", "nope.json");
        Assert.Equal(2, missing.Exit);
        Assert.StartsWith("error: --config 'nope.json': no such file", missing.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABadSettingIsNamedWithoutAStackTrace()
    {
        using var shop = new Shop();
        var environment = new Dictionary<string, string> { ["Referrals__Codes__Length"] = "2" };
        var result = await shop.RunAsync(environment, "codes", "show", "ABCD");
        Assert.Equal(1, result.Exit);
        Assert.Contains("Referrals:Codes:Length", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain("   at ", result.Error, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("\u202Ecustomers", "\\u{202E}customers")]                 // a right-to-left override
    [InlineData("cust\u0000omers\u001b[31m", "cust\\u{0000}omers\\u{001B}[31m")] // NUL and an escape sequence
    [InlineData("cus\u200Btomers", "cus\\u{200B}tomers")]                  // a zero-width space
    public async Task HostileUnicodeInArgumentsIsEchoedVisiblyAndRefused(string program, string shown)
    {
        using var shop = new Shop();
        var result = await shop.RunAsync("codes", "bulk", "--program", program, "--count", "5", "--out", "codes.csv");
        Assert.Equal(2, result.Exit);
        Assert.Contains($"--program '{shown}': no such program", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Error, c => c is '\u202E' or '\u0000' or '\u001b' or '\u200B' || char.IsSurrogate(c));
    }

    [Fact]
    public async Task ALoneSurrogateIsEchoedVisibly()
    {
        // Not theory data: xunit's serialisation of test cases replaces a lone surrogate.
        using var shop = new Shop();
        var result = await shop.RunAsync("codes", "bulk", "--program", "\uD800customers", "--count", "5", "--out", "codes.csv");
        Assert.Equal(2, result.Exit);
        Assert.Contains("--program '\\u{D800}customers': no such program", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Error, char.IsSurrogate);
    }

    [Fact]
    public async Task HostileUnicodeInACodeIsATillOutcomeNotACrash()
    {
        using var shop = new Shop();
        var result = await shop.RunAsync("codes", "show", "AB\u202ECD\u0007EF");
        Assert.Equal(1, result.Exit);
        Assert.Contains("outcome  Malformed", result.Out, StringComparison.Ordinal);
        Assert.Contains("'AB\\u{202E}CD\\u{0007}EF'", result.Out, StringComparison.Ordinal);
        Assert.DoesNotContain(result.Out, c => c is '\u202E' or '\u0007');
        Assert.Equal(string.Empty, result.Error);
    }

    [Fact]
    public async Task OutputToAFileHasNoColours()
    {
        using var shop = new Shop();
        var result = await shop.RunAsync("codes", "show", "ABCD-EFGH-J");
        Assert.DoesNotContain('\u001b', result.Out);
        Assert.DoesNotContain('\u001b', result.Error);
    }
}
