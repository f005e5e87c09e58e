using Microsoft.Extensions.DependencyInjection;
using Referrals.Codes;
using Referrals.Services;

namespace Referrals.Cli.Tests;

/// <summary><c>codes issue|vanity|pause|resume|revoke|show</c>.</summary>
public sealed class CodesTests
{
    [Fact]
    public async Task AnIssuedCodeIsTheOwnersAndShowSaysWhatATillSees()
    {
        using var shop = new Shop();
        var issued = await shop.RunAsync("codes", "issue", "--program", "customers", "--owner", "anna", "--medium", "sms", "--json");
        Assert.True(issued.Exit == 0, issued.ToString());
        string display = System.Text.Json.JsonDocument.Parse(issued.Out).RootElement.GetProperty("display").GetString()!;

        var shown = await shop.RunAsync("codes", "show", display.ToLowerInvariant().Replace('-', ' '));
        Assert.Equal(0, shown.Exit);
        var text = shown.Out.ReplaceLineEndings("\n");
        Assert.Contains("outcome  Found\n", text, StringComparison.Ordinal);
        Assert.Contains($"code     {display} (", text, StringComparison.Ordinal);
        Assert.Contains("state    Active\n", text, StringComparison.Ordinal);
        Assert.Contains("program  customers\n", text, StringComparison.Ordinal);
        Assert.Contains("owner    anna\n", text, StringComparison.Ordinal);
        Assert.Contains("medium   sms\n", text, StringComparison.Ordinal);

        await using var library = await shop.LibraryAsync();
        var found = library.GetRequiredService<ReferralCodeService>().Resolve(display);
        Assert.Equal(new ParticipantId("anna"), found.Owner);
    }

    [Fact]
    public async Task ATypoGetsDidYouMeanAndExitCode1()
    {
        using var shop = new Shop();
        var issued = await shop.RunAsync("codes", "issue", "--program", "customers", "--owner", "anna", "--json");
        string code = System.Text.Json.JsonDocument.Parse(issued.Out).RootElement.GetProperty("code").GetString()!;
        // The last symbol changed: the check character fails, and the library suggests the real code.
        string typo = code[..^1] + (code[^1] == '2' ? '3' : '2');
        var shown = await shop.RunAsync("codes", "show", typo, "--json");
        Assert.Equal(1, shown.Exit);
        var json = System.Text.Json.JsonDocument.Parse(shown.Out).RootElement;
        Assert.NotEqual("Found", json.GetProperty("outcome").GetString());
        Assert.Contains(json.GetProperty("didYouMean").EnumerateArray(), s => s.GetProperty("code").GetString() == code);

        var paused = await shop.RunAsync("codes", "pause", typo);
        Assert.Equal(1, paused.Exit);
        Assert.Contains("Did you mean", paused.Error, StringComparison.Ordinal);
    }

    [Fact]
    public async Task PauseResumeRevokeChangeTheStoredState()
    {
        using var shop = new Shop();
        var issued = await shop.RunAsync("codes", "issue", "--program", "customers", "--owner", "ben", "--json");
        string code = System.Text.Json.JsonDocument.Parse(issued.Out).RootElement.GetProperty("code").GetString()!;

        Assert.Contains(": Paused,", (await shop.RunAsync("codes", "pause", code)).Out, StringComparison.Ordinal);
        Assert.Contains("state    Paused", (await shop.RunAsync("codes", "show", code)).Out, StringComparison.Ordinal);
        Assert.Contains(": Active,", (await shop.RunAsync("codes", "resume", code)).Out, StringComparison.Ordinal);
        Assert.Contains(": Revoked,", (await shop.RunAsync("codes", "revoke", code)).Out, StringComparison.Ordinal);

        var resume = await shop.RunAsync("codes", "resume", code);
        Assert.Equal(1, resume.Exit);
        Assert.StartsWith($"error: Cannot resume the code '{code}': it is Revoked", resume.Error, StringComparison.Ordinal);

        await using var library = await shop.LibraryAsync();
        var record = await library.GetRequiredService<ReferralCodeService>().FindAsync(ReferralCode.Parse(code), TestContext.Current.CancellationToken);
        Assert.Equal(CodeStatus.Revoked, record!.Status);
    }

    [Fact]
    public async Task AVanityCodeIsIssuedOnceAndATakenOneIsRefused()
    {
        using var shop = new Shop();
        var first = await shop.RunAsync("codes", "vanity", "JANE20", "--program", "customers", "--owner", "jane");
        Assert.True(first.Exit == 0, first.ToString());
        Assert.StartsWith("Issued JANE20", first.Out, StringComparison.Ordinal);

        var taken = await shop.RunAsync("codes", "vanity", "jane 20", "--program", "customers", "--owner", "joe");
        Assert.Equal(1, taken.Exit);
        Assert.Contains("is taken", taken.Error, StringComparison.Ordinal);
        Assert.Contains("(Taken) Choose another code.", taken.Error, StringComparison.Ordinal);

        var bad = await shop.RunAsync("codes", "vanity", "JA\u202ENE", "--program", "customers", "--owner", "joe");
        Assert.Equal(1, bad.Exit);
        Assert.DoesNotContain('\u202E', bad.Error);
    }

    [Fact]
    public async Task ABadExpiryIsAUsageError()
    {
        using var shop = new Shop();
        var result = await shop.RunAsync("codes", "issue", "--program", "customers", "--expires", "tomorrow");
        Assert.Equal(2, result.Exit);
        Assert.Equal("error: --expires 'tomorrow' is no instant; write it in UTC like 2026-12-31T23:00:00Z.\n", result.Error.ReplaceLineEndings("\n"));
    }
}
