using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Attribution;
using Referrals.Codes;
using Referrals.Links;
using Referrals.Programs;
using Referrals.Storage;
using Referrals.Tests.Links;
using Referrals.Tests.Support;
using Referrals.Services;
using static Referrals.Tests.Support.AttributionWorld;

namespace Referrals.Tests.Attribution;

/// <summary>
/// What a conversion keeps of the code presented with it (<see cref="Conversion.PresentedCode"/>): only what the input
/// resolved to — never an e-mail address, phone number or name typed into the code box, nor a link's tracking values.
/// </summary>
public sealed class PresentedCodeTests
{
    /// <summary>Code points that break naive text handling: lone surrogates, separators, non-characters, unassigned, IDN-invalid.</summary>
    private static readonly string[] Hostile =
    [
        "\uD800", "\uDC00", "a\uDBFFb", "\u2028", "\u2029", "\uFFFF", "\uFFFE", "\u0378", "\u00AD", "\u3002", "\uFF0E", "\u2488",
        "\u0000", "\u202E", "\u200D", "\uFEFF", "\u0130", "ß", "ＡＢＣＤ", "xn--", "\U0001F600", "\u0301",
    ];

    private static Gen<string> HostileText { get; } =
        Gen.ListOf(Gen.Frequency(
                (3, Gen.Elements(Hostile)),
                (2, Gen.Elements("a", "Z", "0", "7", " ", "-", "@", ".", "+", "/", "?", "=", "&", "%", "%40", "://"))))
            .Select(parts => string.Concat(parts));

    private static Gen<string> PersonalData { get; } =
        Gen.OneOf(
            from user in Gen.Elements("jane.doe", "j", "Max.Mustermann+shop", "o'brien", "ANA")
            from domain in Gen.Elements("example.com", "gmail.com", "bücher.example", "xn--bcher-kva.example")
            select user + "@" + domain,
            from prefix in Gen.Elements("+49 ", "0049 ", "0", "(030) ", "+1-", "")
            from digits in Gen.ArrayOf(Gen.Choose(0, 9), 6)
            select prefix + string.Concat(digits),
            Gen.Elements("Janet Doughnut", "Ana Lyse", "Müller", "O'Neil", "Zoë", "李小龍", "Jane"));

    /// <summary>Arbitrary inputs, personal data, hostile text, real codes typed sloppily, and links with odd tracking values.</summary>
    private static Gen<Input> Inputs { get; } =
        Gen.Frequency(
            (2, ArbMap.Default.GeneratorFor<string>().Where(s => s is not null).Select(Input.Text)),
            (3, PersonalData.Select(Input.Text)),
            (2, HostileText.Select(Input.Text)),
            (2, from which in Gen.Choose(0, 1)
                from noise in Gen.Elements(" ", "  ", "-", " - ", "\t")
                from lower in ArbMap.Default.GeneratorFor<bool>()
                select new Input($"code {which} with '{noise}'{(lower ? ", lower case" : "")}", f =>
                {
                    string display = f.Codes[which].Display.Replace("-", noise, StringComparison.Ordinal);
                    return lower ? display.ToLowerInvariant() : display;
                })),
            (3, from which in Gen.Choose(0, 1)
                from medium in LinkArbitraries.Media
                from utm in LinkArbitraries.Utm
                from strip in ArbMap.Default.GeneratorFor<bool>()
                from extra in HostileText.Select(Uri.EscapeDataString)
                select new Input($"link to code {which}, {medium}, {utm}, stripped {strip}, email={extra}", f =>
                {
                    string url = f.World.Links.Build(f.Codes[which].Code, medium, utm).Url;
                    if (strip)
                    {
                        int kid = url.IndexOf("kid=", StringComparison.Ordinal); // the signature removed: kid and sig come last
                        url = url[..(kid - 1)];
                    }
                    return url + (url.Contains('?', StringComparison.Ordinal) ? "&" : "?") + "email=" + extra;
                })),
            (1, from prefix in PersonalData
                from which in Gen.Choose(0, 1)
                select new Input($"'{prefix}' then code {which}", f => prefix + " " + f.Codes[which].Display)));

    [Property(MaxTest = 400)]
    public Property A_conversion_keeps_only_the_code_or_canonical_link_its_input_resolved_to_and_that_resolves_the_same()
    {
        var f = new Fixture();
        return Prop.ForAll(Inputs.ToArbitrary(), make =>
        {
            string raw = make.Make(f);
            string order = $"o-{++f.Orders}";
            f.World.Attribution.RecordConversionAsync(
                f.World.Order(order, new ParticipantId($"friend-{f.Orders}"), Monday) with { PresentedCode = raw }, Ct).AsTask().GetAwaiter().GetResult();
            string? kept = f.World.Reads.FindOrderAsync(Customers, order, Ct).AsTask().GetAwaiter().GetResult()!.Conversion.PresentedCode;

            var before = f.World.Codes.Resolve(raw);
            if (kept is null)
            {
                Assert.True(
                    before.Outcome != CodeResolutionOutcome.Found || before.Link?.Signature == LinkSignatureStatus.Invalid,
                    $"'{raw}' resolved to {before} but nothing was kept.");
                return;
            }
            Assert.Contains(kept, f.Allowed);
            var after = f.World.Codes.Resolve(kept);
            Assert.Equal(CodeResolutionOutcome.Found, before.Outcome);
            Assert.Equal(before.Code, after.Code);
            Assert.Equal(before.Owner, after.Owner);
            Assert.Equal(before.Link?.Medium, after.Link?.Medium);
            Assert.Equal(before.Link?.Signature, after.Link?.Signature);
        });
    }

    /// <summary>
    /// A conversion's capture of its presented code is written with its decision, in one unit; when a touch of the same
    /// natural id is recorded already (a host captured the order's code itself, with the capture id the conversion uses),
    /// that touch decides and the conversion writes no second one.
    /// </summary>
    [Fact]
    public async Task A_presented_code_captured_before_under_the_same_id_is_not_captured_twice_and_still_credits()
    {
        var world = new AttributionWorld();
        var ana = await world.ParticipantAsync("ana");
        var code = await world.CodeAsync(ana, ShareMedium.Receipt);
        var bob = new ParticipantId("bob");
        var captured = await world.Attribution.CaptureAsync(new CaptureRequest
        {
            Program = Customers,
            Kind = TouchKind.CodeEnteredOnline,
            EventTime = Monday,
            Input = code.Display,
            Customer = bob,
            CaptureId = "order:o-1",
        }, Ct);
        Assert.Equal(CaptureOutcome.Captured, captured.Outcome);
        int told = world.Notifier.Captured.Count;

        var result = await world.Attribution.RecordConversionAsync(world.Order("o-1", bob, Monday) with { PresentedCode = code.Display }, Ct);

        Assert.True(result.IsAttributed);
        Assert.Equal(ana, result.Referrer);
        var touches = await world.Reads.FindTouchesAsync(Customers, bob, [], [], Instant.MinValue, Instant.MaxValue, 10, Ct);
        Assert.Equal(captured.Touch!.Id, Assert.Single(touches).Id);
        Assert.Equal(told, world.Notifier.Captured.Count);

        // A new order with the code: its capture is written with it, once, and told once.
        var second = await world.Attribution.RecordConversionAsync(world.Order("o-2", new ParticipantId("carl"), Monday + Duration.FromMinutes(1)) with { PresentedCode = code.Display }, Ct);
        Assert.Equal(ana, second.Referrer);
        Assert.Single(await world.Reads.FindTouchesAsync(Customers, new ParticipantId("carl"), [], [], Instant.MinValue, Instant.MaxValue, 10, Ct));
        Assert.Equal(told + 1, world.Notifier.Captured.Count);
    }

    /// <summary>How to make one input for the shop of a <see cref="Fixture"/>, described for a failing case.</summary>
    internal sealed record Input(string Description, Func<Fixture, string> Make)
    {
        public static Input Text(string text) => new($"'{text}'", _ => text);

        public override string ToString() => Description;
    }

    /// <summary>A shop with two codes, and every form a kept presented code may take for them.</summary>
    internal sealed class Fixture
    {
        public Fixture()
        {
            // Unsigned links are refused at capture by default here (keys are configured); they are kept all the same.
            World = AttributionWorld.WithOptions(o => o.Fraud.CodeGuessing.Enabled = false);
            var ana = World.ParticipantAsync("ana").GetAwaiter().GetResult();
            Codes = [World.CodeAsync(ana, ShareMedium.Link).GetAwaiter().GetResult(), World.CodeAsync(ana, ShareMedium.Receipt).GetAwaiter().GetResult()];
            var unsignedOptions = new ReferralsOptions { Links = { Template = World.Options.Links.Template } };
            var unsigned = new ShareLinkService(unsignedOptions.Links);
            Allowed = [.. Codes.Select(c => c.Code.Value)];
            foreach (var c in Codes)
            {
                foreach (var medium in Enum.GetValues<ShareMedium>())
                {
                    Allowed.Add(World.Links.Build(c.Code, medium).Url);
                    Allowed.Add(unsigned.Build(c.Code, medium).Url);
                }
            }
        }

        public AttributionWorld World { get; }

        public ReferralCodeRecord[] Codes { get; }

        public HashSet<string> Allowed { get; }

        public int Orders { get; set; }
    }

}
