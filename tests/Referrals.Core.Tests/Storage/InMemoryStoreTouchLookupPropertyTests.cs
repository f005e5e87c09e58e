using FsCheck;
using FsCheck.Fluent;
using FsCheck.Xunit;
using NodaTime;
using Referrals.Attribution;
using Referrals.Privacy;
using Referrals.Storage;

namespace Referrals.Tests.Storage;

/// <summary>
/// The in-memory store finds a prospect's touches through its indexes by customer, visitor and contact. Whatever the
/// order of touches and links, a lookup must find exactly what a plain filter over every stored touch finds, latest first.
/// </summary>
public sealed class InMemoryStoreTouchLookupPropertyTests
{
    private static readonly ProgramId[] Programs = [new("customers"), new("employees")];
    private static readonly Instant Start = Instant.FromUtc(2026, 11, 23, 9, 0);
    private static readonly ContactHash[] Contacts = [Hash("e:AAAAAAAAAAAAAAAAAAAAAA"), Hash("p:AAAAAAAAAAAAAAAAAAAAAA"), Hash("e:BAAAAAAAAAAAAAAAAAAAAA")];

    /// <summary>A touch (Customer, Visitor, Contact: -1 for none) or a visitor link; the same touch may be sent twice.</summary>
    public abstract record Step;

    public sealed record Touched(int Id, int Program, int Customer, int Visitor, int Contact, int Minute) : Step;

    public sealed record Linked(int Visitor, int Customer) : Step;

    private static Arbitrary<Step[]> Steps()
    {
        var touched =
            from id in Gen.Choose(0, 30)
            from program in Gen.Choose(0, 1)
            from customer in Gen.Choose(-1, 3)
            from visitor in Gen.Choose(-1, 4)
            from contact in Gen.Choose(-1, 2)
            from minute in Gen.Choose(0, 5)
            select (Step)new Touched(id, program, customer, visitor, contact, minute);
        var linked = Gen.Choose(0, 4).Zip(Gen.Choose(0, 3)).Select(t => (Step)new Linked(t.Item1, t.Item2));
        return Gen.Frequency((3, touched), (1, linked)).ArrayOf().ToArbitrary();
    }

    [Property(MaxTest = 200)]
    public Property Lookups_by_customer_linked_and_other_visitors_and_contacts_match_a_plain_filter() =>
        Prop.ForAll(Steps(), steps =>
        {
            IReferralStore store = new InMemoryStore();
            var stored = new Dictionary<(ProgramId, string), Touch>();
            foreach (var step in steps)
            {
                switch (step)
                {
                    case Touched t:
                        // The id does not follow the time: ties at one minute are broken by id, ordinally. Ids are
                        // keyed per program.
                        var touch = new Touch(
                            id: $"t{t.Id}",
                            program: Programs[t.Program],
                            kind: TouchKind.LinkClick,
                            referrer: new ParticipantId("ref"),
                            code: null,
                            medium: ShareMedium.Unknown,
                            visitorId: t.Visitor < 0 ? null : Visitor(t.Visitor),
                            customer: t.Customer < 0 ? null : Customer(t.Customer),
                            contact: t.Contact < 0 ? null : Contacts[t.Contact],
                            storeId: null,
                            registerId: null,
                            orderId: null,
                            eventTime: Start + Duration.FromMinutes(t.Minute),
                            recordedAt: Start);
                        bool added = Write(store, new UnitOfWork(touches: [touch])) == WriteStatus.Written;
                        if (added != stored.TryAdd((touch.Program, touch.Id), touch))
                        {
                            return false;
                        }
                        break;
                    case Linked l:
                        if (Write(store, new UnitOfWork(visitorLinks: [new VisitorLink(Visitor(l.Visitor), Customer(l.Customer))])) != WriteStatus.Written)
                        {
                            return false;
                        }
                        break;
                }
            }
            foreach (var program in Programs)
            {
                for (int c = 0; c < 5; c++)
                {
                    var customer = Customer(c);
                    var linked = store.ListVisitorsAsync(customer).AsTask().GetAwaiter().GetResult();
                    // As a decision asks (linked visitors, the order's own visitor, contacts), and a few other shapes.
                    IReadOnlyList<string>[] visitorQueries = [[], linked, [.. linked, Visitor(c)], [Visitor(4), Visitor(4)]];
                    IReadOnlyList<ContactHash>[] contactQueries = [[], [Contacts[c % 3]], Contacts];
                    foreach (var visitors in visitorQueries)
                    {
                        foreach (var contacts in contactQueries)
                        {
                            var expected = stored.Values
                                .Where(t => t.Program == program
                                    && (t.Customer == customer
                                        || (t.VisitorId is { } v && visitors.Contains(v))
                                        || (t.Contact is { } h && contacts.Contains(h))))
                                .OrderByDescending(t => t.EventTime)
                                .ThenByDescending(t => t.Id, StringComparer.Ordinal)
                                .Select(t => t.Id);
                            var found = store.FindTouchesAsync(program, customer, visitors, contacts, Start, Start + Duration.FromMinutes(6), 1000).AsTask().GetAwaiter().GetResult();
                            if (!expected.SequenceEqual(found.Select(t => t.Id)))
                            {
                                return false;
                            }
                        }
                    }
                }
            }
            return true;
        });

    private static WriteStatus Write(IReferralStore store, UnitOfWork unit)
    {
        var session = store.BeginAsync().AsTask().GetAwaiter().GetResult();
        try
        {
            var outcome = session.WriteAsync(unit).AsTask().GetAwaiter().GetResult();
            session.CommitAsync().AsTask().GetAwaiter().GetResult();
            return outcome.Status;
        }
        finally
        {
            session.DisposeAsync().AsTask().GetAwaiter().GetResult();
        }
    }

    private static ParticipantId Customer(int n) => new($"c{n}");

    private static string Visitor(int n) => $"v{n}";

    private static ContactHash Hash(string text) =>
        ContactHash.TryParse(text, out var hash) ? hash : throw new ArgumentException(text);
}
