using System.CommandLine;
using NodaTime;
using NodaTime.Text;
using Referrals.Codes;
using Referrals.Links;
using Referrals.Services;

namespace Referrals.Cli.Commands;

/// <summary><c>referrals codes ...</c>: bulk, issue, vanity, pause, resume, revoke, show.</summary>
internal static class CodesCommands
{
    public static Command Build(CliApp app)
    {
        var codes = new Command("codes", "Issue, generate in bulk, look up, pause, resume and revoke referral codes.");
        app.Example(codes, "referrals codes bulk --program customers --count 50000 --medium receipt --out codes.csv", "referrals codes show 2H72-ZTS5S");
        codes.Add(BulkCommand.Build(app));
        codes.Add(Issue(app));
        codes.Add(Vanity(app));
        codes.Add(Lifecycle(app, "pause", "Pauses a code: it stops resolving as usable until resumed.", (s, c, t) => s.PauseAsync(c, t)));
        codes.Add(Lifecycle(app, "resume", "Resumes a paused code.", (s, c, t) => s.ResumeAsync(c, t)));
        codes.Add(Lifecycle(app, "revoke", "Revokes a code for good.", (s, c, t) => s.RevokeAsync(c, t)));
        codes.Add(Show(app));
        return codes;
    }

    private static Command Issue(CliApp app)
    {
        var program = CliOptions.Program();
        var owner = new Option<string?>("--owner") { Description = "The referrer's customer id (leave out for an unassigned code).", HelpName = "id" };
        var medium = CliOptions.Medium(ShareMedium.Link);
        var expires = new Option<string?>("--expires") { Description = "When the code expires: an ISO 8601 instant (2026-12-31T23:00:00Z).", HelpName = "instant" };
        var maxUses = new Option<int?>("--max-uses") { Description = "How many conversions the code may earn (at least 1).", HelpName = "n", CustomParser = r => CliOptions.ParseWholeNumber(r, "--max-uses", 1, int.MaxValue) };
        var command = new Command("issue", "Issues one new random code to a referrer, and prints it with its QR payload.") { program, owner, medium, expires, maxUses };
        app.Example(command, "referrals codes issue --program customers --owner anna --medium sms");
        app.Action(command, async (r, ct) =>
        {
            var request = Request(r.GetRequiredValue(program), r.GetValue(owner), r.GetValue(medium), r.GetValue(expires), r.GetValue(maxUses));
            await using var host = await app.StartAsync(r, ct);
            var record = await host.Get<ReferralCodeService>().IssueAsync(request with { Program = host.Program(request.Program.Value) }, ct);
            WriteRecord(app, r, host, record, "Issued");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Vanity(CliApp app)
    {
        var text = new Argument<string>("code") { Description = "The code as it should be printed (JANE20): letters, digits, spaces and dashes." };
        var program = CliOptions.Program();
        var owner = new Option<string?>("--owner") { Description = "The referrer's customer id.", HelpName = "id" };
        var medium = CliOptions.Medium(ShareMedium.Social);
        var expires = new Option<string?>("--expires") { Description = "When the code expires: an ISO 8601 instant.", HelpName = "instant" };
        var maxUses = new Option<int?>("--max-uses") { Description = "How many conversions the code may earn (at least 1).", HelpName = "n", CustomParser = r => CliOptions.ParseWholeNumber(r, "--max-uses", 1, int.MaxValue) };
        var command = new Command("vanity", "Issues a vanity code a person chose, if it is valid and free.") { text, program, owner, medium, expires, maxUses };
        app.Example(command, "referrals codes vanity JANE20 --program influencers --owner jane --medium social");
        app.Action(command, async (r, ct) =>
        {
            var request = Request(r.GetRequiredValue(program), r.GetValue(owner), r.GetValue(medium), r.GetValue(expires), r.GetValue(maxUses));
            await using var host = await app.StartAsync(r, ct);
            var result = await host.Get<ReferralCodeService>().IssueVanityAsync(r.GetRequiredValue(text), request with { Program = host.Program(request.Program.Value) }, ct);
            if (!result.IsIssued)
            {
                if (r.GetValue(app.Json))
                {
                    CliOptions.WriteJson(app.Console, new { issued = false, rejection = result.Rejection.ToString(), message = result.Message });
                }
                throw CliException.Refused($"{result.Message} ({result.Rejection}) Choose another code.");
            }
            WriteRecord(app, r, host, result.Record!, "Issued");
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Lifecycle(CliApp app, string name, string description, Func<ReferralCodeService, ReferralCode, CancellationToken, Task<ReferralCodeRecord>> change)
    {
        var input = new Argument<string>("code") { Description = "The code as printed or typed (dashes, spaces and case do not matter)." };
        var command = new Command(name, description) { input };
        app.Example(command, $"referrals codes {name} 2H72-ZTS5S");
        app.Action(command, async (r, ct) =>
        {
            await using var host = await app.StartAsync(r, ct);
            var codes = host.Get<ReferralCodeService>();
            var code = FindCode(codes, r.GetRequiredValue(input));
            var record = await change(codes, code, ct);
            WriteRecord(app, r, host, record, name switch { "pause" => "Paused", "resume" => "Resumed", _ => "Revoked" });
            return ExitCodes.Ok;
        });
        return command;
    }

    private static Command Show(CliApp app)
    {
        var input = new Argument<string>("input") { Description = "What the till received: a typed or scanned code, QR text or a share link." };
        var command = new Command("show", "Shows what a till would see for an input: outcome, code, state, program, owner, medium; \"did you mean\" when not found. Exit code 0 only when found.") { input };
        app.Example(command, "referrals codes show \"2h72 zts5s\"", "referrals codes show https://shop.example/r/2H72ZTS5S?m=sms --json");
        app.Action(command, async (r, ct) =>
        {
            await using var host = await app.StartAsync(r, ct);
            var codes = host.Get<ReferralCodeService>();
            string raw = r.GetRequiredValue(input);
            var resolution = codes.Resolve(raw);
            var suggestions = resolution.Outcome is CodeResolutionOutcome.NotFound or CodeResolutionOutcome.CheckFailed
                ? resolution.GetSuggestions()
                : [];
            var console = app.Console;
            if (r.GetValue(app.Json))
            {
                CliOptions.WriteJson(console, new
                {
                    input = raw,
                    outcome = resolution.Outcome.ToString(),
                    malformed = resolution.MalformedReason?.ToString(),
                    code = resolution.Code?.Value,
                    display = resolution.Display,
                    state = resolution.Outcome == CodeResolutionOutcome.Found ? resolution.State.ToString() : null,
                    program = resolution.Program?.Value,
                    owner = resolution.Owner?.Value,
                    medium = resolution.Outcome == CodeResolutionOutcome.Found ? resolution.Medium.ToToken() : null,
                    usable = resolution.IsUsable,
                    link = resolution.Link is { } link ? new { status = link.Status.ToString(), signature = link.Signature.ToString() } : null,
                    didYouMean = suggestions.Select(s => new { code = s.Code?.Value, display = s.Display, program = s.Program?.Value, owner = s.Owner?.Value }),
                });
            }
            else
            {
                bool colors = console.OutColors;
                string outcome = resolution.Outcome == CodeResolutionOutcome.Found
                    ? console.Green(resolution.IsUsable ? "Found" : "Found (not usable)", colors)
                    : console.Red(resolution.Outcome.ToString(), colors);
                console.Out.WriteLine($"input    {Text.Echo(raw, 80)}");
                console.Out.WriteLine($"outcome  {outcome}");
                if (resolution.MalformedReason is not null)
                {
                    string at = resolution.InvalidCharacterIndex >= 0 ? $" at position {resolution.InvalidCharacterIndex + 1}" : string.Empty;
                    console.Out.WriteLine($"problem  {resolution.MalformedReason}{at}");
                }
                if (resolution.Link is { } link)
                {
                    console.Out.WriteLine($"link     {link.Status}, signature {link.Signature}");
                }
                if (resolution.Outcome == CodeResolutionOutcome.Found)
                {
                    console.Out.WriteLine($"code     {resolution.Display} ({resolution.Code?.Value})");
                    console.Out.WriteLine($"state    {resolution.State}");
                    console.Out.WriteLine($"program  {resolution.Program?.Value}");
                    console.Out.WriteLine($"owner    {resolution.Owner?.Value ?? "(unassigned)"}");
                    console.Out.WriteLine($"medium   {resolution.Medium.ToToken()}");
                }
                if (suggestions.Count > 0)
                {
                    console.Out.WriteLine("did you mean:");
                    foreach (var s in suggestions)
                    {
                        console.Out.WriteLine($"  {s.Display}  (program {s.Program?.Value}, owner {s.Owner?.Value ?? "(unassigned)"}, {s.State})");
                    }
                }
            }
            return resolution.Outcome == CodeResolutionOutcome.Found ? ExitCodes.Ok : ExitCodes.Refused;
        });
        return command;
    }

    /// <summary>The code a person typed, resolved as the till would; not found is a refusal with the suggestions.</summary>
    internal static ReferralCode FindCode(ReferralCodeService codes, string raw)
    {
        var resolution = codes.Resolve(raw);
        if (resolution.Outcome == CodeResolutionOutcome.Found && resolution.Code is { } code)
        {
            return code;
        }
        string hint = resolution.Outcome switch
        {
            CodeResolutionOutcome.Malformed => $"it is no code ({resolution.MalformedReason})",
            CodeResolutionOutcome.CheckFailed => "its check character does not match (a typo?)",
            _ => "no such code in the store",
        };
        var suggestions = resolution.Outcome is CodeResolutionOutcome.NotFound or CodeResolutionOutcome.CheckFailed ? resolution.GetSuggestions() : [];
        string didYouMean = suggestions.Count > 0 ? " Did you mean " + string.Join(", ", suggestions.Select(s => s.Display)) + "?" : " Check the code with 'referrals codes show'.";
        throw CliException.Refused($"{Text.Echo(raw)}: {hint}.{didYouMean}");
    }

    private static CodeRequest Request(string program, string? owner, ShareMedium medium, string? expires, int? maxUses)
    {
        if (program.Length is 0 or > ProgramId.MaxLength)
        {
            throw CliException.Usage($"--program {Text.Echo(program)}: a program name has 1 to {ProgramId.MaxLength} characters.");
        }
        if (owner is not null && (owner.Trim().Length == 0 || owner.Length > ParticipantId.MaxLength))
        {
            throw CliException.Usage($"--owner {Text.Echo(owner)}: a customer id has 1 to {ParticipantId.MaxLength} characters.");
        }
        Instant? expiresAt = null;
        if (expires is not null)
        {
            var parsed = InstantPattern.ExtendedIso.Parse(expires);
            if (!parsed.Success)
            {
                throw CliException.Usage($"--expires {Text.Echo(expires)} is no instant; write it in UTC like 2026-12-31T23:00:00Z.");
            }
            expiresAt = parsed.Value;
        }
        if (maxUses is < 1)
        {
            throw CliException.Usage($"--max-uses {maxUses} must be at least 1.");
        }
        return new CodeRequest
        {
            Program = new ProgramId(program),
            Owner = owner is null ? null : new ParticipantId(owner),
            Medium = medium,
            ExpiresAt = expiresAt,
            MaxUses = maxUses,
        };
    }

    private static void WriteRecord(CliApp app, System.CommandLine.ParseResult r, CliHost host, ReferralCodeRecord record, string verb)
    {
        string payload = host.Get<ShareLinkService>().BuildQrPayload(record.Code, record.Medium, record.Display);
        var state = record.GetState(host.Get<IClock>().GetCurrentInstant());
        if (r.GetValue(app.Json))
        {
            CliOptions.WriteJson(app.Console, new
            {
                code = record.Code.Value,
                display = record.Display,
                program = record.Program.Value,
                owner = record.Owner?.Value,
                medium = record.Medium.ToToken(),
                kind = record.Kind.ToString(),
                state = state.ToString(),
                expiresAt = record.ExpiresAt?.ToString(),
                maxUses = record.MaxUses,
                qrPayload = payload,
            });
            return;
        }
        var o = app.Console.Out;
        o.WriteLine($"{verb} {app.Console.Bold(record.Display, app.Console.OutColors)} (code {record.Code.Value}): {state}, program {record.Program.Value}, owner {record.Owner?.Value ?? "(unassigned)"}, medium {record.Medium.ToToken()}");
        o.WriteLine($"QR payload: {payload}");
    }
}
