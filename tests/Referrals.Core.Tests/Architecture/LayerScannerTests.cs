using Referrals.Tests.Architecture.PlantedHigh;
using Referrals.Tests.Architecture.PlantedLow;

namespace Referrals.Tests.Architecture
{
    /// <summary>The scanner behind <see cref="LayeringTests"/> finds a back-reference wherever the IL holds it.</summary>
    public sealed class LayerScannerTests
    {
        private static readonly string[][] PlantedLayers =
        [
            ["Referrals.Tests.Architecture.PlantedLow"],
            ["Referrals.Tests.Architecture.PlantedHigh"],
        ];

        private static List<LayerReference> Planted() =>
            LayeringTests.BackReferences(
                    LayerScanner.Scan(typeof(LayerScannerTests).Assembly.Location)
                        .Where(r => r.SourceNamespace.StartsWith("Referrals.Tests.Architecture.Planted", StringComparison.Ordinal)
                            && r.TargetNamespace.StartsWith("Referrals.Tests.Architecture.Planted", StringComparison.Ordinal)),
                    PlantedLayers)
                .ToList();

        [Fact]
        public void A_planted_back_reference_is_found_in_bodies_signatures_fields_attributes_lambdas_and_state_machines()
        {
            var found = Planted();
            Assert.All(found, r => Assert.Equal(typeof(Bottom).FullName, r.SourceType));
            var members = found.Select(r => r.Member).ToHashSet(StringComparer.Ordinal);
            Assert.Contains(nameof(Bottom.ViaBody), members);
            Assert.Contains(nameof(Bottom.ViaSignature), members);
            Assert.Contains(nameof(Bottom.Field), members);
            Assert.Contains(nameof(Bottom.ViaAttribute), members);
            Assert.Contains(members, m => m.Contains("<ViaLambda>", StringComparison.Ordinal)); // the closure class, counted as Bottom
            Assert.Contains(members, m => m.StartsWith("<ViaAsync>", StringComparison.Ordinal)); // the async state machine
            Assert.Contains(members, m => m.StartsWith("<ViaGeneric>", StringComparison.Ordinal) || m == nameof(Bottom.ViaGeneric));
            Assert.Equal(
                new[] { typeof(MarkerAttribute).FullName!, typeof(Top).FullName! },
                found.Select(r => r.TargetType).Distinct().Order(StringComparer.Ordinal));
        }

        [Fact]
        public void A_reference_down_the_layers_is_no_violation()
        {
            Assert.DoesNotContain(Planted(), r => r.SourceType == typeof(UsesBottom).FullName);
        }

        [Fact]
        public void A_violation_names_type_member_and_target()
        {
            var body = Planted().First(r => r.Member == nameof(Bottom.ViaBody));
            Assert.Equal(
                "Referrals.Tests.Architecture.PlantedLow.Bottom.ViaBody references Referrals.Tests.Architecture.PlantedHigh.Top "
                + "(Referrals.Tests.Architecture.PlantedLow -> Referrals.Tests.Architecture.PlantedHigh)",
                body.ToString());
        }
    }
}

// A planted lower layer that reaches up in every way the IL can hold a reference.
namespace Referrals.Tests.Architecture.PlantedLow
{
    internal sealed class Bottom
    {
        internal Top? Field = null;

        internal int ViaBody() => new Top().Value;

        internal static void ViaSignature(Top top) => GC.KeepAlive(top);

        [Marker]
        internal static void ViaAttribute()
        {
        }

        internal static Func<int> ViaLambda() => () => Top.Static;

        internal static async Task<int> ViaAsync()
        {
            await Task.Yield();
            return new Top().Value;
        }

        internal static int ViaGeneric() => new List<Top>().Count;
    }
}

namespace Referrals.Tests.Architecture.PlantedHigh
{
    internal sealed class Top
    {
        internal static int Static = 1;

        internal int Value = 2;
    }

    [AttributeUsage(AttributeTargets.Method)]
    internal sealed class MarkerAttribute : Attribute;

    internal sealed class UsesBottom
    {
        internal Bottom Bottom = new();
    }
}
