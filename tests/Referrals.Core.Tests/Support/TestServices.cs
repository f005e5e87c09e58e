using NodaTime;
using NodaTime.Testing;
using Referrals.Codes;
using Referrals.Links;
using Referrals.Programs;
using Referrals.Services;
using Referrals.Storage;

namespace Referrals.Tests.Support;

/// <summary>Builds the services under test on a fake clock and the in-memory store.</summary>
internal sealed class TestServices
{
    public static readonly Instant Start = Instant.FromUtc(2026, 11, 23, 9, 0);

    public TestServices(Action<ReferralsOptions>? configure = null, IRandomSource? random = null)
    {
        Options = new ReferralsOptions();
        Options.Links.Template = "https://shop.example/r/{code}";
        // Codes are issued for configured programs only: the program the tests issue codes for, and a second one.
        Options.Programs[Program.Value] = new ProgramOptions();
        Options.Programs["employees"] = new ProgramOptions();
        configure?.Invoke(Options);
        Clock = new FakeClock(Start);
        Store = new InMemoryStore();
        Links = new ShareLinkService(Options.Links);
        Codes = new ReferralCodeService(Store, Microsoft.Extensions.Options.Options.Create(Options), Clock, random ?? CryptoRandomSource.Instance, Links);
    }

    public ReferralsOptions Options { get; }

    public FakeClock Clock { get; }

    /// <summary>The store the services run on (its reads through the contract, which it implements explicitly).</summary>
    public IReferralStore Store { get; }

    public ShareLinkService Links { get; }

    /// <summary>How many codes the store holds: its code change feed lists each once, at its latest version.</summary>
    public async Task<int> CodeCountAsync()
    {
        int count = 0;
        long after = 0;
        while (true)
        {
            var page = await Store.ListCodeChangesAsync(after, 1000, TestContext.Current.CancellationToken);
            count += page.Count;
            if (page.Count < 1000)
            {
                return count;
            }
            after = page[^1].Position;
        }
    }

    public ReferralCodeService Codes { get; }

    public static readonly ProgramId Program = new("customers");

    public static CodeRequest Request(string owner = "c-1", ShareMedium medium = ShareMedium.Receipt) =>
        new() { Program = Program, Owner = new ParticipantId(owner), Medium = medium };
}

/// <summary>A random source that replays given bytes, then repeats the last block forever.</summary>
internal sealed class ScriptedRandom(params byte[][] blocks) : IRandomSource
{
    private int _next;

    public int Calls => _next;

    public void Fill(Span<byte> destination)
    {
        var block = blocks[Math.Min(_next, blocks.Length - 1)];
        _next++;
        destination.Clear();
        block.AsSpan(0, Math.Min(block.Length, destination.Length)).CopyTo(destination);
    }

    /// <summary>The 5 bytes that the generator turns into the given 8 symbols.</summary>
    public static byte[] BytesFor(string eightSymbols)
    {
        ulong acc = 0;
        foreach (char c in eightSymbols)
        {
            acc = (acc << 5) | (uint)CodeAlphabet.Symbols.IndexOf(c, StringComparison.Ordinal);
        }
        var bytes = new byte[5];
        for (int i = 4; i >= 0; i--)
        {
            bytes[i] = (byte)(acc & 0xFF);
            acc >>= 8;
        }
        return bytes;
    }
}
