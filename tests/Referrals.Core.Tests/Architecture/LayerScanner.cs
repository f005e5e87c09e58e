using Mono.Cecil;
using Mono.Cecil.Cil;

namespace Referrals.Tests.Architecture;

/// <summary>One reference from a type of one namespace to a type of another, found in the IL.</summary>
/// <param name="SourceType">The top-level type holding the reference (nested and compiler-generated types count as their declaring type).</param>
/// <param name="Member">Where in it: a member name, or "(base type)", "(interface)", "(attribute)".</param>
/// <param name="TargetType">The referenced type, top-level.</param>
internal sealed record LayerReference(string SourceNamespace, string SourceType, string Member, string TargetNamespace, string TargetType)
{
    /// <summary>The allowlist key: the source type and the namespace it must not reference.</summary>
    public string Key => $"{SourceType} -> {TargetNamespace}";

    public override string ToString() => $"{SourceType}.{Member} references {TargetType} ({SourceNamespace} -> {TargetNamespace})";
}

/// <summary>
/// Reads an assembly with Mono.Cecil and lists every reference between types defined in it: base types, interfaces,
/// attributes (and typeof arguments), fields, properties, events, signatures, generic constraints, locals, catch types
/// and the operands of every instruction. Types defined elsewhere (System, NodaTime) are not listed.
/// </summary>
internal static class LayerScanner
{
    public static List<LayerReference> Scan(string assemblyPath)
    {
        using var assembly = AssemblyDefinition.ReadAssembly(assemblyPath);
        return Scan(assembly.MainModule);
    }

    public static List<LayerReference> Scan(ModuleDefinition module)
    {
        var found = new List<LayerReference>();
        foreach (var type in module.Types)
        {
            var top = type;
            var sink = new Sink(module, top, found);
            foreach (var t in WithNested(type))
            {
                ScanType(t, sink);
            }
        }
        return found;
    }

    /// <summary>The namespaces of the types defined in the module (top-level types only: nested ones have their declaring type's).</summary>
    public static SortedSet<string> Namespaces(string assemblyPath)
    {
        using var assembly = AssemblyDefinition.ReadAssembly(assemblyPath);
        return new SortedSet<string>(assembly.MainModule.Types.Select(t => t.Namespace), StringComparer.Ordinal);
    }

    private static IEnumerable<TypeDefinition> WithNested(TypeDefinition type)
    {
        yield return type;
        foreach (var nested in type.NestedTypes)
        {
            foreach (var t in WithNested(nested))
            {
                yield return t;
            }
        }
    }

    private static void ScanType(TypeDefinition t, Sink sink)
    {
        string prefix = t.DeclaringType is null ? "" : NestedPath(t) + ".";
        sink.Type(t.BaseType, prefix + "(base type)");
        foreach (var i in t.Interfaces)
        {
            sink.Type(i.InterfaceType, prefix + "(interface)");
            sink.Attributes(i.CustomAttributes, prefix + "(interface)");
        }
        sink.Attributes(t.CustomAttributes, prefix + "(attribute)");
        sink.GenericParameters(t.GenericParameters, prefix + "(generic constraint)");
        foreach (var f in t.Fields)
        {
            sink.Type(f.FieldType, prefix + f.Name);
            sink.Attributes(f.CustomAttributes, prefix + f.Name);
        }
        foreach (var p in t.Properties)
        {
            sink.Type(p.PropertyType, prefix + p.Name);
            sink.Attributes(p.CustomAttributes, prefix + p.Name);
        }
        foreach (var e in t.Events)
        {
            sink.Type(e.EventType, prefix + e.Name);
            sink.Attributes(e.CustomAttributes, prefix + e.Name);
        }
        foreach (var m in t.Methods)
        {
            string member = prefix + m.Name;
            sink.Type(m.ReturnType, member);
            sink.Attributes(m.CustomAttributes, member);
            sink.Attributes(m.MethodReturnType.CustomAttributes, member);
            sink.GenericParameters(m.GenericParameters, member);
            foreach (var p in m.Parameters)
            {
                sink.Type(p.ParameterType, member);
                sink.Attributes(p.CustomAttributes, member);
            }
            foreach (var o in m.Overrides)
            {
                sink.Method(o, member);
            }
            if (!m.HasBody)
            {
                continue;
            }
            foreach (var v in m.Body.Variables)
            {
                sink.Type(v.VariableType, member);
            }
            foreach (var h in m.Body.ExceptionHandlers)
            {
                sink.Type(h.CatchType, member);
            }
            foreach (var i in m.Body.Instructions)
            {
                switch (i.Operand)
                {
                    case TypeReference tr:
                        sink.Type(tr, member);
                        break;
                    case MethodReference mr:
                        sink.Method(mr, member);
                        break;
                    case FieldReference fr:
                        sink.Type(fr.DeclaringType, member);
                        sink.Type(fr.FieldType, member);
                        break;
                    case CallSite cs:
                        sink.Type(cs.ReturnType, member);
                        foreach (var p in cs.Parameters)
                        {
                            sink.Type(p.ParameterType, member);
                        }
                        break;
                }
            }
        }
    }

    private static string NestedPath(TypeDefinition t) =>
        t.DeclaringType is null ? "" : (t.DeclaringType.DeclaringType is null ? "" : NestedPath(t.DeclaringType) + ".") + t.Name;

    private static TypeReference Top(TypeReference t)
    {
        while (t.DeclaringType is not null)
        {
            t = t.DeclaringType;
        }
        return t;
    }

    private sealed class Sink(ModuleDefinition module, TypeDefinition source, List<LayerReference> found)
    {
        public void Type(TypeReference? t, string member)
        {
            switch (t)
            {
                case null:
                case GenericParameter:
                    return;
                case GenericInstanceType g:
                    Type(g.ElementType, member);
                    foreach (var a in g.GenericArguments)
                    {
                        Type(a, member);
                    }
                    return;
                case RequiredModifierType r:
                    Type(r.ModifierType, member);
                    Type(r.ElementType, member);
                    return;
                case OptionalModifierType o:
                    Type(o.ModifierType, member);
                    Type(o.ElementType, member);
                    return;
                case FunctionPointerType f:
                    Type(f.ReturnType, member);
                    foreach (var p in f.Parameters)
                    {
                        Type(p.ParameterType, member);
                    }
                    return;
                case TypeSpecification s:
                    Type(s.ElementType, member);
                    return;
            }
            if (t.Scope is not ModuleDefinition m || m != module)
            {
                return; // defined in another assembly
            }
            var top = Top(t);
            if (top.FullName == source.FullName)
            {
                return;
            }
            found.Add(new LayerReference(source.Namespace, source.FullName, member, top.Namespace, top.FullName));
        }

        public void Method(MethodReference m, string member)
        {
            Type(m.DeclaringType, member);
            Type(m.ReturnType, member);
            foreach (var p in m.Parameters)
            {
                Type(p.ParameterType, member);
            }
            if (m is GenericInstanceMethod g)
            {
                foreach (var a in g.GenericArguments)
                {
                    Type(a, member);
                }
            }
        }

        public void GenericParameters(IEnumerable<GenericParameter> parameters, string member)
        {
            foreach (var p in parameters)
            {
                foreach (var c in p.Constraints)
                {
                    Type(c.ConstraintType, member);
                }
            }
        }

        public void Attributes(IEnumerable<CustomAttribute> attributes, string member)
        {
            foreach (var a in attributes)
            {
                Type(a.AttributeType, member);
                foreach (var arg in a.ConstructorArguments)
                {
                    Argument(arg, member);
                }
                foreach (var n in a.Fields.Concat(a.Properties))
                {
                    Argument(n.Argument, member);
                }
            }
        }

        private void Argument(CustomAttributeArgument arg, string member)
        {
            Type(arg.Type, member);
            switch (arg.Value)
            {
                case TypeReference tr:
                    Type(tr, member);
                    break;
                case CustomAttributeArgument inner:
                    Argument(inner, member);
                    break;
                case CustomAttributeArgument[] many:
                    foreach (var x in many)
                    {
                        Argument(x, member);
                    }
                    break;
            }
        }
    }
}
