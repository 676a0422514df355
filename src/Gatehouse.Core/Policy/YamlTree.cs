using YamlDotNet.Core;
using YamlDotNet.Core.Events;

namespace Gatehouse.Core.Policy;

/// <summary>A node of a policy document with its 1-based position.</summary>
internal abstract class YNode(int line, int column)
{
    public int Line { get; } = line;

    public int Column { get; } = column;

    /// <summary>Nodes in this subtree with aliases expanded; bounds the work of validating aliased documents.</summary>
    public long Size { get; protected set; } = 1;

    /// <summary>Sizes saturate here so that sums of aliased subtrees cannot overflow.</summary>
    protected const long SizeCap = 1L << 40;

    /// <summary>How the node reads in a message: "a mapping", "a list", "the text 'x'".</summary>
    public abstract string Describe();
}

/// <summary>A scalar; <see cref="Plain"/> scalars are typed by the YAML 1.2 core schema, quoted ones are always strings.</summary>
internal sealed class YScalar(int line, int column, string value, bool plain) : YNode(line, column)
{
    public string Value { get; } = value;

    public bool Plain { get; } = plain;

    public bool IsNull => Plain && Value is "" or "~" or "null" or "Null" or "NULL";

    public override string Describe() => IsNull ? "nothing (null)" : $"'{Value}'";
}

/// <summary>A sequence (list).</summary>
internal sealed class YSequence(int line, int column, List<YNode> items) : YNode(line, column)
{
    public List<YNode> Items { get; } = items;

    public void ComputeSize() => Size = Math.Min(1 + Items.Sum(static i => i.Size), SizeCap);

    public override string Describe() => "a list";
}

/// <summary>A mapping; entries keep document order and duplicates, so duplicates can be reported with their lines.</summary>
internal sealed class YMapping(int line, int column, List<KeyValuePair<YNode, YNode>> entries) : YNode(line, column)
{
    public List<KeyValuePair<YNode, YNode>> Entries { get; } = entries;

    public void ComputeSize() => Size = Math.Min(1 + Entries.Sum(static e => e.Key.Size + e.Value.Size), SizeCap);

    public override string Describe() => "a mapping";
}

/// <summary>
/// Builds <see cref="YNode"/> trees from YamlDotNet's event parser. The representation model would stop at the first
/// duplicate key; reading events lets the policy validator report duplicates together with every other problem.
/// </summary>
internal static class YamlTree
{
    /// <summary>Reads every document of <paramref name="text"/>; throws <see cref="YamlException"/> on a syntax error.</summary>
    public static List<YNode> Read(string text)
    {
        var parser = new Parser(new StringReader(text));
        var anchors = new Dictionary<string, YNode>(StringComparer.Ordinal);
        var documents = new List<YNode>();
        parser.Consume<StreamStart>();
        while (parser.TryConsume<DocumentStart>(out _))
        {
            documents.Add(ReadNode(parser, anchors, 1));
            parser.Consume<DocumentEnd>();
        }

        parser.Consume<StreamEnd>();
        return documents;
    }

    /// <summary>How deep mappings and lists may nest; reading is recursive, so a deeper document would exhaust the stack.</summary>
    public const int MaxDepth = 64;

    private static YNode ReadNode(IParser parser, Dictionary<string, YNode> anchors, int depth)
    {
        if (depth > MaxDepth)
        {
            var at = parser.Current?.Start ?? Mark.Empty;
            throw new TooDeepException(at, parser.Current?.End ?? at);
        }

        if (parser.TryConsume<AnchorAlias>(out var alias))
        {
            return anchors.TryGetValue(alias.Value.Value, out var target)
                ? target
                : throw new YamlException(alias.Start, alias.End, $"The alias *{alias.Value.Value} refers to no anchor defined before it.");
        }

        YNode node;
        NodeEvent start;
        if (parser.TryConsume<Scalar>(out var scalar))
        {
            start = scalar;
            var plain = scalar.Style == ScalarStyle.Plain && (scalar.Tag.IsEmpty || scalar.Tag.IsNonSpecific);
            node = new YScalar(Line(scalar.Start), Column(scalar.Start), scalar.Value, plain);
        }
        else if (parser.TryConsume<SequenceStart>(out var sequenceStart))
        {
            start = sequenceStart;
            var items = new List<YNode>();
            while (!parser.TryConsume<SequenceEnd>(out _))
            {
                items.Add(ReadNode(parser, anchors, depth + 1));
            }

            var sequence = new YSequence(Line(sequenceStart.Start), Column(sequenceStart.Start), items);
            sequence.ComputeSize();
            node = sequence;
        }
        else
        {
            var mappingStart = parser.Consume<MappingStart>();
            start = mappingStart;
            var entries = new List<KeyValuePair<YNode, YNode>>();
            while (!parser.TryConsume<MappingEnd>(out _))
            {
                var key = ReadNode(parser, anchors, depth + 1);
                entries.Add(new KeyValuePair<YNode, YNode>(key, ReadNode(parser, anchors, depth + 1)));
            }

            var mapping = new YMapping(Line(mappingStart.Start), Column(mappingStart.Start), entries);
            mapping.ComputeSize();
            node = mapping;
        }

        if (!start.Anchor.IsEmpty)
        {
            anchors[start.Anchor.Value] = node;
        }

        return node;
    }

    private static int Line(Mark mark) => (int)Math.Min(mark.Line, int.MaxValue);

    private static int Column(Mark mark) => (int)Math.Min(mark.Column, int.MaxValue);

    /// <summary>The document nests deeper than <see cref="MaxDepth"/>.</summary>
    internal sealed class TooDeepException(Mark start, Mark end)
        : YamlException(start, end, $"The document nests deeper than {MaxDepth} levels.");
}
