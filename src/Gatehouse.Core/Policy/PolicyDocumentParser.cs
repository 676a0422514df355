using System.Diagnostics.CodeAnalysis;
using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Gatehouse.Core.Configuration;
using YamlDotNet.Core;

namespace Gatehouse.Core.Policy;

/// <summary>
/// Reads a policy document (YAML, or JSON, which is read as YAML) and compiles it, or reports every problem found,
/// each with a JSON Pointer, a line, a column and what to do. Whatever could make a rule impossible to evaluate is
/// refused here, so that no rule can silently deny every call at run time.
/// </summary>
public static class PolicyDocumentParser
{
    /// <summary>Match timeout of a <c>matches</c> condition without <c>timeout_ms</c>.</summary>
    public const int DefaultRegexTimeoutMilliseconds = 50;

    /// <summary>Largest <c>timeout_ms</c> accepted: a slow pattern holds a request thread for this long.</summary>
    public const int MaxRegexTimeoutMilliseconds = 1000;

    /// <summary>Nodes a document may have once aliases are expanded; guards against alias bombs.</summary>
    private const long MaxNodes = 200_000;

    /// <summary>The condition operators, in documentation order.</summary>
    public static IReadOnlyList<string> Operators { get; } =
        ["equals", "not_equals", "in", "not_in", "lt", "lte", "gt", "gte", "matches", "prefix", "suffix", "contains", "max_length", "present"];

    /// <summary>Parses and compiles <paramref name="text"/>.</summary>
    public static PolicyParseResult Parse(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        List<YNode> documents;
        try
        {
            documents = YamlTree.Read(text);
        }
        catch (YamlTree.TooDeepException e)
        {
            return Failed(new PolicyError(string.Empty, ToInt(e.Start.Line), ToInt(e.Start.Column),
                $"The policy nests mappings and lists deeper than {YamlTree.MaxDepth} levels, which no policy needs. Flatten the document at this position."));
        }
        catch (YamlException e)
        {
            var hint = e.Message.Contains("flow", StringComparison.OrdinalIgnoreCase)
                ? " Inside { } and [ ], quote text that contains [ ] { } , or #, e.g. { arg: \"items[0].sku\", prefix: \"SKU-\" }."
                : string.Empty;
            return Failed(new PolicyError(string.Empty, ToInt(e.Start.Line), ToInt(e.Start.Column),
                $"The document is not valid YAML or JSON: {e.Message} Fix the syntax at this position.{hint}"));
        }

        if (documents.Count == 0 || documents[0] is YScalar { IsNull: true })
        {
            return Failed(new PolicyError(string.Empty, 1, 1,
                "The policy is empty. It needs at least 'version' and 'default', e.g. \"version: 1\" and \"default: deny\"."));
        }

        if (documents.Count > 1)
        {
            return Failed(new PolicyError(string.Empty, documents[1].Line, documents[1].Column,
                "A policy holds one YAML document; this is a second one. Remove the extra '---' or put it in its own policy."));
        }

        if (documents[0].Size > MaxNodes)
        {
            return Failed(new PolicyError(string.Empty, 1, 1,
                $"The policy has more than {MaxNodes} nodes once its aliases are expanded. Write it out without nested aliases."));
        }

        var reader = new Reader();
        var policy = reader.ReadPolicy(documents[0]);
        if (reader.Errors.Count > 0 || policy is null)
        {
            // Stable sort: errors on one node keep the order they were found in.
            return new PolicyParseResult(null, [.. reader.Errors.OrderBy(static e => e.Line).ThenBy(static e => e.Column)]);
        }

        return new PolicyParseResult(policy, []);
    }

    private static PolicyParseResult Failed(PolicyError error) => new(null, [error]);

    private static int ToInt(long value) => (int)Math.Clamp(value, 1, int.MaxValue);

    /// <summary>Escapes one reference token of a JSON Pointer (RFC 6901): '~' as ~0, '/' as ~1.</summary>
    internal static string Pointer(string parent, string token) =>
        parent + "/" + token.Replace("~", "~0", StringComparison.Ordinal).Replace("/", "~1", StringComparison.Ordinal);

    internal static string Pointer(string parent, int index) => parent + "/" + index.ToString(CultureInfo.InvariantCulture);

    /// <summary>Value kinds an argument may have, to find conditions of one rule that no value could satisfy together.</summary>
    [Flags]
    private enum Kinds
    {
        None = 0,
        String = 1,
        Number = 2,
        Boolean = 4,
        Object = 8,
        Array = 16,
        Any = String | Number | Boolean | Object | Array,
    }

    /// <summary>Walks the node tree once, collecting errors and building compiled rules.</summary>
    private sealed class Reader
    {
        private static readonly string[] RootKeys = ["version", "default", "on_deny", "tools", "all_tools", "resources", "prompts", "$schema"];
        private static readonly string[] RuleKeys = ["action", "required", "require", "deny_if", "limits", "log_arguments", "on_deny"];
        private static readonly string[] ResourceRuleKeys = ["action", "limits", "on_deny"];
        private static readonly string[] AllToolsKeys = ["limits"];
        private static readonly string[] LimitKeys = ["calls", "per"];
        private static readonly string[] ConditionKeys = ["arg", "timeout_ms", .. Operators];
        private static readonly string[] ConditionExample = ["{ arg: amount, lte: 1000 }"];

        /// <summary>Where each compiled condition was written, for errors found after compiling (contradictions).</summary>
        private readonly Dictionary<ArgumentCondition, YNode> conditionNodes = new(ReferenceEqualityComparer.Instance);

        public List<PolicyError> Errors { get; } = [];

        public CompiledPolicy? ReadPolicy(YNode root)
        {
            if (root is not YMapping map)
            {
                Error(string.Empty, root, $"A policy is a mapping with 'version', 'default' and rules, but this document is {root.Describe()}. Start with \"version: 1\" and \"default: deny\".");
                return null;
            }

            var keys = ReadKeys(map, string.Empty, RootKeys, "at the top of a policy");
            var version = 0;
            if (!keys.TryGetValue("version", out var versionNode))
            {
                Error("/version", map, "'version' is missing: add the policy's revision as a positive whole number, e.g. \"version: 1\", and raise it on each change.");
            }
            else if (!TryInteger(versionNode.Value, out var v) || v < 1 || v > int.MaxValue)
            {
                Error("/version", versionNode.Value, $"'version' must be a positive whole number (e.g. 3), not {versionNode.Value.Describe()}.");
            }
            else
            {
                version = (int)v;
            }

            var defaultAction = PolicyAction.Deny;
            if (!keys.TryGetValue("default", out var defaultNode))
            {
                Error("/default", map, "'default' is missing: say what happens when no rule matches, \"default: allow\" or \"default: deny\".");
            }
            else if (defaultNode.Value is not YScalar { Value: "allow" or "deny" } defaultScalar)
            {
                Error("/default", defaultNode.Value, $"'default' must be allow or deny, not {defaultNode.Value.Describe()}. (hide applies to named entries: write a rule \"'*': hide\" instead.)");
            }
            else
            {
                defaultAction = defaultScalar.Value == "allow" ? PolicyAction.Allow : PolicyAction.Deny;
            }

            var onDeny = keys.TryGetValue("on_deny", out var onDenyNode) ? ReadMessage(onDenyNode.Value, "/on_deny") : null;
            var tools = keys.TryGetValue("tools", out var toolsNode) ? ReadRules(toolsNode.Value, "/tools", PolicyTarget.Tool) : [];
            var resources = keys.TryGetValue("resources", out var resourcesNode) ? ReadRules(resourcesNode.Value, "/resources", PolicyTarget.Resource) : [];
            var prompts = keys.TryGetValue("prompts", out var promptsNode) ? ReadRules(promptsNode.Value, "/prompts", PolicyTarget.Prompt) : [];
            var allTools = keys.TryGetValue("all_tools", out var allToolsNode) ? ReadAllTools(allToolsNode.Value) : [];

            if (Errors.Count > 0)
            {
                return null;
            }

            return new CompiledPolicy(version, defaultAction, onDeny, new RuleTable(tools), new RuleTable(resources), new RuleTable(prompts), allTools);
        }

        private LimitSpec[] ReadAllTools(YNode node)
        {
            if (node is not YMapping map)
            {
                Error("/all_tools", node, $"'all_tools' is a mapping such as \"all_tools: {{ limits: [{{ calls: 100, per: 1h }}] }}\", not {node.Describe()}.");
                return [];
            }

            var keys = ReadKeys(map, "/all_tools", AllToolsKeys, "in 'all_tools'");
            return keys.TryGetValue("limits", out var limits) ? ReadLimits(limits.Value, "/all_tools/limits") : [];
        }

        private List<CompiledRule> ReadRules(YNode node, string path, PolicyTarget target)
        {
            var rules = new List<CompiledRule>();
            if (node is YScalar { IsNull: true })
            {
                return rules;
            }

            var noun = target switch
            {
                PolicyTarget.Tool => "tool name",
                PolicyTarget.Resource => "resource URI",
                _ => "prompt name",
            };
            if (node is not YMapping map)
            {
                Error(path, node, $"'{path[1..]}' maps {noun} patterns to rules, e.g. \"{path[1..]}: {{ '{(target == PolicyTarget.Resource ? "file:///secrets/*" : "issues_*")}': allow }}\", not {node.Describe()}.");
                return rules;
            }

            var seen = new Dictionary<string, YNode>(StringComparer.Ordinal);
            var order = 0;
            foreach (var (keyNode, valueNode) in map.Entries)
            {
                if (keyNode is not YScalar { IsNull: false } keyScalar || keyScalar.Value.Length == 0)
                {
                    Error(path, keyNode, $"Each key of '{path[1..]}' is a {noun} pattern (text with optional * and ? wildcards), not {keyNode.Describe()}.");
                    continue;
                }

                var pattern = keyScalar.Value;
                var rulePath = Pointer(path, pattern);
                if (pattern.Any(char.IsControl))
                {
                    Error(rulePath, keyNode, $"The pattern contains a control character; {noun}s never do. Remove it.");
                    continue;
                }

                var normalized = NamePattern.Normalize(pattern);
                if (target == PolicyTarget.Resource)
                {
                    // Resource URIs are decided in normal form (ResourceUri), so patterns are stored in it too.
                    if (ResourceUri.HasDotSegment(normalized))
                    {
                        Error(rulePath, keyNode, $"The pattern '{pattern}' has a '.' or '..' path segment, which resource URIs lose when Gatehouse normalizes them, so it would never match. Write the path without it.");
                        continue;
                    }

                    normalized = ResourceUri.NormalizePattern(normalized);
                }

                if (seen.TryGetValue(normalized, out var first))
                {
                    Error(rulePath, keyNode, $"The pattern '{pattern}' is listed twice in '{path[1..]}' (first on line {first.Line}). Merge the two rules into one.");
                    continue;
                }

                seen[normalized] = keyNode;
                var rule = ReadRule(valueNode, rulePath, normalized, target, order++);
                if (rule is not null)
                {
                    rules.Add(rule);
                }
            }

            return rules;
        }

        private CompiledRule? ReadRule(YNode node, string path, string pattern, PolicyTarget target, int order)
        {
            if (node is YScalar scalar)
            {
                return TryAction(scalar, path, out var shortAction)
                    ? new CompiledRule(pattern, path, shortAction, order, [], [], [], null, null)
                    : null;
            }

            if (node is not YMapping map)
            {
                Error(path, node, "A rule is allow, deny or hide, or a mapping such as \"{ action: allow, deny_if: [{ arg: amount, gt: 1000 }] }\", not a list.");
                return null;
            }

            var errorsBefore = Errors.Count;
            var keys = target == PolicyTarget.Resource
                ? ReadKeys(map, path, ResourceRuleKeys, "in a resource rule", "Resources have no arguments: conditions and log_arguments apply to tools and prompts only.")
                : ReadKeys(map, path, RuleKeys, "in a rule");

            PolicyAction? action = null;
            if (keys.TryGetValue("action", out var actionNode))
            {
                if (actionNode.Value is not YScalar actionScalar)
                {
                    Error(Pointer(path, "action"), actionNode.Value, $"'action' must be allow, deny or hide, not {actionNode.Value.Describe()}.");
                }
                else if (TryAction(actionScalar, Pointer(path, "action"), out var explicitAction))
                {
                    action = explicitAction;
                }
            }

            var require = new List<ArgumentCondition>();
            if (keys.TryGetValue("required", out var requiredNode))
            {
                ReadRequired(requiredNode.Value, Pointer(path, "required"), require);
            }

            if (keys.TryGetValue("require", out var requireNode))
            {
                ReadConditions(requireNode.Value, Pointer(path, "require"), "require", require);
            }

            var denyIf = new List<ArgumentCondition>();
            if (keys.TryGetValue("deny_if", out var denyIfNode))
            {
                ReadConditions(denyIfNode.Value, Pointer(path, "deny_if"), "deny_if", denyIf);
            }

            var limits = keys.TryGetValue("limits", out var limitsNode) ? ReadLimits(limitsNode.Value, Pointer(path, "limits")) : [];
            bool? logArguments = null;
            if (keys.TryGetValue("log_arguments", out var logNode))
            {
                if (TryBoolean(logNode.Value, out var log))
                {
                    logArguments = log;
                }
                else
                {
                    Error(Pointer(path, "log_arguments"), logNode.Value, $"'log_arguments' must be true or false, not {logNode.Value.Describe()}.");
                }
            }

            var onDeny = keys.TryGetValue("on_deny", out var ruleOnDeny) ? ReadMessage(ruleOnDeny.Value, Pointer(path, "on_deny")) : null;

            if (!keys.ContainsKey("action"))
            {
                // Any setting besides on_deny implies allow; unknown keys count too, so a typo gets one error, not two.
                if (map.Entries.Any(static e => e.Key is not YScalar { Value: "on_deny" }))
                {
                    action = PolicyAction.Allow;
                }
                else
                {
                    Error(path, map, "The rule has no 'action': add \"action: allow\", \"action: deny\" or \"action: hide\".");
                }
            }

            if (action is PolicyAction.Hide or PolicyAction.Deny)
            {
                string[] meaningless = action == PolicyAction.Hide
                    ? ["required", "require", "deny_if", "limits", "log_arguments", "on_deny"]
                    : ["required", "require", "deny_if", "limits"];
                foreach (var (key, entry) in keys)
                {
                    if (!meaningless.Contains(key))
                    {
                        continue;
                    }

                    Error(Pointer(path, key), entry.Key, action == PolicyAction.Hide
                        ? $"A hide rule takes no '{key}': a hidden entry is answered as if it did not exist, so nothing else of the rule is ever used. Remove '{key}', or use \"action: allow\" (or deny) instead of hide."
                        : $"A deny rule takes no '{key}': it denies every call whatever the arguments. Remove '{key}', or use \"action: allow\" with deny_if to deny only some calls.");
                }
            }

            if (action == PolicyAction.Allow)
            {
                CheckSatisfiable(require);
            }

            if (Errors.Count > errorsBefore || action is not { } resolved)
            {
                return null;
            }

            return new CompiledRule(pattern, path, resolved, order, [.. require], [.. denyIf], limits, logArguments, onDeny);
        }

        /// <summary>
        /// Refuses require conditions of one rule that no single call could satisfy together (an argument that must
        /// be both a number and a string, present and absent, an object and an array): such a rule would deny every
        /// call, and nobody writes that on purpose.
        /// </summary>
        private void CheckSatisfiable(List<ArgumentCondition> require)
        {
            var kinds = new Dictionary<string, (Kinds Allowed, ArgumentCondition By)>(StringComparer.Ordinal);
            var absent = require.Where(static c => c.Operator == ConditionOperator.Present && !c.Operand.Boolean).ToList();
            foreach (var condition in require)
            {
                if (condition.Operator == ConditionOperator.Present && !condition.Operand.Boolean)
                {
                    continue;
                }

                foreach (var gone in absent)
                {
                    if (gone.Path.Contains(condition.Path))
                    {
                        Error(gone,
                            $"This condition needs argument '{gone.Path.Text}' absent, but {condition.Pointer} needs '{condition.Path.Text}' present: together they deny every call. Remove one of them.");
                    }
                }

                foreach (var (container, isArray) in condition.Path.Containers())
                {
                    if (container.Length > 0 && !Narrow(kinds, container, isArray ? Kinds.Array : Kinds.Object, condition))
                    {
                        return;
                    }
                }

                if (!Narrow(kinds, condition.Path.Text, AcceptedKinds(condition), condition))
                {
                    return;
                }
            }
        }

        private bool Narrow(Dictionary<string, (Kinds Allowed, ArgumentCondition By)> kinds, string path, Kinds accepted, ArgumentCondition condition)
        {
            if (!kinds.TryGetValue(path, out var known))
            {
                kinds[path] = (accepted, condition);
                return true;
            }

            if ((known.Allowed & accepted) == Kinds.None)
            {
                Error(condition,
                    $"This condition and {known.By.Pointer} cannot both hold: argument '{path}' cannot have both kinds of value they need, so together they deny every call. Fix or remove one of them.");
                return false;
            }

            kinds[path] = (known.Allowed & accepted, known.By);
            return true;
        }

        private static Kinds AcceptedKinds(ArgumentCondition condition) => condition.Operator switch
        {
            ConditionOperator.Present => Kinds.Any,
            ConditionOperator.Lt or ConditionOperator.Lte or ConditionOperator.Gt or ConditionOperator.Gte => Kinds.Number,
            ConditionOperator.Matches or ConditionOperator.Prefix or ConditionOperator.Suffix => Kinds.String,
            ConditionOperator.MaxLength => Kinds.String | Kinds.Array,
            ConditionOperator.Contains => condition.Operand.Kind == ScalarKind.String ? Kinds.String | Kinds.Array : Kinds.Array,
            ConditionOperator.In or ConditionOperator.NotIn => ToKinds(condition.ListKind),
            _ => ToKinds(condition.Operand.Kind),
        };

        private static Kinds ToKinds(ScalarKind kind) => kind switch
        {
            ScalarKind.String => Kinds.String,
            ScalarKind.Number => Kinds.Number,
            _ => Kinds.Boolean,
        };

        private void ReadRequired(YNode node, string path, List<ArgumentCondition> into)
        {
            if (node is not YSequence list)
            {
                Error(path, node, $"'required' is a list of argument paths, e.g. \"required: [customer.id, amount]\", not {node.Describe()}.");
                return;
            }

            for (var i = 0; i < list.Items.Count; i++)
            {
                var itemPath = Pointer(path, i);
                if (TryPath(list.Items[i], itemPath, out var argument))
                {
                    var condition = new ArgumentCondition(itemPath, argument, ConditionOperator.Present, new Operand(ScalarKind.Boolean, "true", 0, true));
                    conditionNodes[condition] = list.Items[i];
                    into.Add(condition);
                }
            }
        }

        private void ReadConditions(YNode node, string path, string name, List<ArgumentCondition> into)
        {
            if (node is not YSequence list)
            {
                Error(path, node, $"'{name}' is a list of conditions, e.g. \"{name}: [{ConditionExample[0]}]\", not {node.Describe()}.");
                return;
            }

            for (var i = 0; i < list.Items.Count; i++)
            {
                var condition = ReadCondition(list.Items[i], Pointer(path, i));
                if (condition is not null)
                {
                    conditionNodes[condition] = list.Items[i];
                    into.Add(condition);
                }
            }
        }

        private ArgumentCondition? ReadCondition(YNode node, string path)
        {
            if (node is not YMapping map)
            {
                Error(path, node, $"A condition is a mapping such as \"{ConditionExample[0]}\", not {node.Describe()}.");
                return null;
            }

            var errorsBefore = Errors.Count;
            var keys = ReadKeys(map, path, ConditionKeys, "in a condition");
            var unknownKeys = Errors.Count > errorsBefore;
            ArgumentPath? argument = null;
            if (!keys.TryGetValue("arg", out var argNode))
            {
                Error(path, map, "The condition does not say which argument it reads: add 'arg' with a path such as customer.id or items[0].sku.");
            }
            else
            {
                TryPath(argNode.Value, Pointer(path, "arg"), out argument);
            }

            var operators = map.Entries
                .Where(e => e.Key is YScalar k && Operators.Contains(k.Value))
                .Select(static e => (Name: ((YScalar)e.Key).Value, e.Key, e.Value))
                .ToList();
            if (operators.Count == 0)
            {
                // A misspelt operator was just reported with a suggestion; saying "no operator" as well adds nothing.
                if (unknownKeys)
                {
                    return null;
                }

                Error(path, map, $"The condition has no operator: add one of {string.Join(", ", Operators)}.");
                return null;
            }

            if (operators.Count > 1)
            {
                Error(Pointer(path, operators[1].Name), operators[1].Key,
                    $"A condition takes one operator, but this one has '{operators[0].Name}' and '{operators[1].Name}'. Put each comparison in its own condition.");
                return null;
            }

            var (op, _, operandNode) = operators[0];
            var operandPath = Pointer(path, op);
            var timeout = TimeSpan.FromMilliseconds(DefaultRegexTimeoutMilliseconds);
            if (keys.TryGetValue("timeout_ms", out var timeoutNode))
            {
                if (op != "matches")
                {
                    Error(Pointer(path, "timeout_ms"), timeoutNode.Key, "'timeout_ms' only applies to 'matches'. Remove it.");
                }
                else if (!TryInteger(timeoutNode.Value, out var ms) || ms < 1 || ms > MaxRegexTimeoutMilliseconds)
                {
                    Error(Pointer(path, "timeout_ms"), timeoutNode.Value,
                        $"'timeout_ms' must be a whole number of milliseconds from 1 to {MaxRegexTimeoutMilliseconds}, not {timeoutNode.Value.Describe()}.");
                }
                else
                {
                    timeout = TimeSpan.FromMilliseconds(ms);
                }
            }

            var condition = op switch
            {
                "equals" or "not_equals" or "contains" => ReadScalarCondition(op, operandNode, operandPath, path, argument),
                "in" or "not_in" => ReadListCondition(op, operandNode, operandPath, path, argument),
                "lt" or "lte" or "gt" or "gte" => ReadNumberCondition(op, operandNode, operandPath, path, argument),
                "matches" => ReadRegexCondition(operandNode, operandPath, path, argument, timeout),
                "prefix" or "suffix" => ReadAffixCondition(op, operandNode, operandPath, path, argument),
                "max_length" => ReadMaxLengthCondition(operandNode, operandPath, path, argument),
                _ => ReadPresentCondition(operandNode, operandPath, path, argument),
            };
            return Errors.Count > errorsBefore ? null : condition;
        }

        private ArgumentCondition? ReadScalarCondition(string op, YNode node, string operandPath, string path, ArgumentPath? argument)
        {
            if (!TryOperand(node, out var operand))
            {
                Error(operandPath, node, $"'{op}' takes one text, number or true/false value (quote text that looks like a number, e.g. \"42\"), not {node.Describe()}.");
                return null;
            }

            if (op == "contains" && operand.Kind == ScalarKind.String && operand.Text.Length == 0)
            {
                Error(operandPath, node, "'contains' with empty text holds for every text value. Give the text to look for.");
                return null;
            }

            var kind = op switch
            {
                "equals" => ConditionOperator.Equals,
                "not_equals" => ConditionOperator.NotEquals,
                _ => ConditionOperator.Contains,
            };
            return argument is null ? null : new ArgumentCondition(path, argument, kind, operand);
        }

        private ArgumentCondition? ReadListCondition(string op, YNode node, string operandPath, string path, ArgumentPath? argument)
        {
            if (node is not YSequence list)
            {
                Error(operandPath, node, $"'{op}' takes a list of values, e.g. \"{op}: [usd, eur]\", not {node.Describe()}.");
                return null;
            }

            if (list.Items.Count == 0)
            {
                Error(operandPath, node, op == "in"
                    ? "'in' has an empty list, which no value is in. List the allowed values."
                    : "'not_in' has an empty list, which excludes nothing. List the values to exclude, or remove the condition.");
                return null;
            }

            var operands = new List<Operand>();
            ScalarKind? kind = null;
            for (var i = 0; i < list.Items.Count; i++)
            {
                var item = list.Items[i];
                if (!TryOperand(item, out var operand))
                {
                    Error(Pointer(operandPath, i), item, $"Each value of '{op}' is text, a number or true/false, not {item.Describe()}.");
                    continue;
                }

                if (kind is { } k && k != operand.Kind)
                {
                    Error(Pointer(operandPath, i), item,
                        $"The values of '{op}' must all be of one kind; this one is {ArgumentCondition.KindText(operand.Kind)} but the first is {ArgumentCondition.KindText(k)}. Quote numbers that are meant as text.");
                    continue;
                }

                kind = operand.Kind;
                operands.Add(operand);
            }

            return argument is null || operands.Count != list.Items.Count
                ? null
                : new ArgumentCondition(path, argument, op == "in" ? ConditionOperator.In : ConditionOperator.NotIn, operands[0], [.. operands]);
        }

        private ArgumentCondition? ReadNumberCondition(string op, YNode node, string operandPath, string path, ArgumentPath? argument)
        {
            if (!TryNumber(node, out var number))
            {
                Error(operandPath, node, $"'{op}' compares numbers, so it takes a number such as 1000 (without quotes), not {node.Describe()}.");
                return null;
            }

            var kind = op switch
            {
                "lt" => ConditionOperator.Lt,
                "lte" => ConditionOperator.Lte,
                "gt" => ConditionOperator.Gt,
                _ => ConditionOperator.Gte,
            };
            return argument is null ? null : new ArgumentCondition(path, argument, kind, new Operand(ScalarKind.Number, ((YScalar)node).Value, number, false));
        }

        private ArgumentCondition? ReadRegexCondition(YNode node, string operandPath, string path, ArgumentPath? argument, TimeSpan timeout)
        {
            if (node is not YScalar { IsNull: false } scalar || scalar.Value.Length == 0)
            {
                Error(operandPath, node, $"'matches' takes a .NET regular expression as text, e.g. \"^[a-z-]+$\", not {node.Describe()}.");
                return null;
            }

            Regex regex;
            try
            {
                regex = new Regex(scalar.Value, RegexOptions.CultureInvariant, timeout);
            }
            catch (ArgumentException e)
            {
                Error(operandPath, node, $"'matches' is not a valid .NET regular expression: {e.Message} Fix the pattern (in double quotes, write a backslash as \\\\).");
                return null;
            }

            return argument is null ? null : new ArgumentCondition(path, argument, ConditionOperator.Matches, StringOperand(scalar.Value), regex: regex);
        }

        private ArgumentCondition? ReadAffixCondition(string op, YNode node, string operandPath, string path, ArgumentPath? argument)
        {
            if (node is not YScalar { IsNull: false } scalar || scalar.Value.Length == 0)
            {
                Error(operandPath, node, $"'{op}' takes non-empty text (an empty one holds for every text value), not {node.Describe()}.");
                return null;
            }

            var kind = op == "prefix" ? ConditionOperator.Prefix : ConditionOperator.Suffix;
            return argument is null ? null : new ArgumentCondition(path, argument, kind, StringOperand(scalar.Value));
        }

        private ArgumentCondition? ReadMaxLengthCondition(YNode node, string operandPath, string path, ArgumentPath? argument)
        {
            if (!TryInteger(node, out var max) || max < 0 || max > int.MaxValue)
            {
                Error(operandPath, node, $"'max_length' takes a whole number of characters (or list items), 0 or more, not {node.Describe()}.");
                return null;
            }

            return argument is null ? null : new ArgumentCondition(path, argument, ConditionOperator.MaxLength, new Operand(ScalarKind.Number, ((YScalar)node).Value, max, false));
        }

        private ArgumentCondition? ReadPresentCondition(YNode node, string operandPath, string path, ArgumentPath? argument)
        {
            if (!TryBoolean(node, out var present))
            {
                Error(operandPath, node, $"'present' takes true (the argument must be given) or false (it must not be), not {node.Describe()}.");
                return null;
            }

            return argument is null ? null : new ArgumentCondition(path, argument, ConditionOperator.Present, new Operand(ScalarKind.Boolean, present ? "true" : "false", 0, present));
        }

        private LimitSpec[] ReadLimits(YNode node, string path)
        {
            if (node is not YSequence list)
            {
                Error(path, node, $"'limits' is a list of quotas, e.g. \"limits: [{{ calls: 10, per: 1m }}]\", not {node.Describe()}.");
                return [];
            }

            var limits = new List<LimitSpec>();
            for (var i = 0; i < list.Items.Count; i++)
            {
                var itemPath = Pointer(path, i);
                if (list.Items[i] is not YMapping map)
                {
                    Error(itemPath, list.Items[i], $"A quota is a mapping such as \"{{ calls: 10, per: 1m }}\", not {list.Items[i].Describe()}.");
                    continue;
                }

                var keys = ReadKeys(map, itemPath, LimitKeys, "in a quota");
                var calls = 0;
                if (!keys.TryGetValue("calls", out var callsNode))
                {
                    Error(Pointer(itemPath, "calls"), map, "The quota has no 'calls': add how many calls each window allows, e.g. \"calls: 10\".");
                }
                else if (!TryInteger(callsNode.Value, out var c) || c < 1 || c > 1_000_000_000)
                {
                    Error(Pointer(itemPath, "calls"), callsNode.Value, $"'calls' must be a whole number from 1 to 1000000000, not {callsNode.Value.Describe()}.");
                }
                else
                {
                    calls = (int)c;
                }

                TimeSpan window = default;
                string? windowText = null;
                if (!keys.TryGetValue("per", out var perNode))
                {
                    Error(Pointer(itemPath, "per"), map, "The quota has no 'per': add the window length, e.g. \"per: 1m\" (s, m, h, d or w).");
                }
                else if (perNode.Value is not YScalar { IsNull: false } perScalar)
                {
                    Error(Pointer(itemPath, "per"), perNode.Value, $"'per' must be a duration such as 1m (s, m, h, d or w), not {perNode.Value.Describe()}.");
                }
                else if (TryInteger(perScalar, out _))
                {
                    Error(Pointer(itemPath, "per"), perNode.Value, $"'per' needs a unit: write {perScalar.Value}s for seconds, or use m, h, d or w (e.g. 1m).");
                }
                else if (!DurationParser.TryParse(perScalar.Value, out window, out var problem))
                {
                    Error(Pointer(itemPath, "per"), perNode.Value, $"'per': {problem}");
                }
                else
                {
                    windowText = perScalar.Value.Trim();
                }

                if (calls > 0 && windowText is not null)
                {
                    limits.Add(new LimitSpec(itemPath, calls, window, windowText));
                }
            }

            return [.. limits];
        }

        private string? ReadMessage(YNode node, string path)
        {
            if (node is not YScalar { IsNull: false } scalar || string.IsNullOrWhiteSpace(scalar.Value))
            {
                Error(path, node, $"'on_deny' is the text shown when a call is denied, e.g. \"on_deny: Ask #platform for access\", not {node.Describe()}.");
                return null;
            }

            return scalar.Value.Trim();
        }

        private bool TryAction(YScalar scalar, string path, out PolicyAction action)
        {
            switch (scalar.Value)
            {
                case "allow":
                    action = PolicyAction.Allow;
                    return true;
                case "deny":
                    action = PolicyAction.Deny;
                    return true;
                case "hide":
                    action = PolicyAction.Hide;
                    return true;
                default:
                    action = default;
                    Error(path, scalar, $"Unknown action {scalar.Describe()}: use allow, deny or hide.");
                    return false;
            }
        }

        private bool TryPath(YNode node, string path, [NotNullWhen(true)] out ArgumentPath? argument)
        {
            argument = null;
            if (node is not YScalar { IsNull: false } scalar)
            {
                Error(path, node, $"An argument path is text such as customer.id or items[0].sku, not {node.Describe()}.");
                return false;
            }

            if (!ArgumentPath.TryParse(scalar.Value, out argument, out var problem))
            {
                Error(path, node, problem);
                return false;
            }

            return true;
        }

        /// <summary>
        /// Reads a mapping's keys: reports non-text keys, duplicates and unknown keys (suggesting the nearest known
        /// one), and returns the known keys with their key and value nodes.
        /// </summary>
        private Dictionary<string, (YNode Key, YNode Value)> ReadKeys(YMapping map, string path, string[] allowed, string where, string? unknownHint = null)
        {
            var keys = new Dictionary<string, (YNode Key, YNode Value)>(StringComparer.Ordinal);
            foreach (var (keyNode, valueNode) in map.Entries)
            {
                if (keyNode is not YScalar { IsNull: false } key)
                {
                    Error(path, keyNode, $"Keys {where} are names such as {allowed[0]}, not {keyNode.Describe()}.");
                    continue;
                }

                var keyPath = Pointer(path, key.Value);
                if (!allowed.Contains(key.Value))
                {
                    var suggestion = Nearest(key.Value, allowed);
                    Error(keyPath, key, $"Unknown key '{key.Value}' {where}."
                        + (suggestion is null ? string.Empty : $" Did you mean '{suggestion}'?")
                        + (unknownHint is null ? string.Empty : " " + unknownHint)
                        + $" Allowed: {string.Join(", ", allowed.Where(static a => a != "$schema"))}.");
                    continue;
                }

                if (keys.TryGetValue(key.Value, out var first))
                {
                    Error(keyPath, key, $"'{key.Value}' appears twice (first on line {first.Key.Line}). Keep one.");
                    continue;
                }

                keys[key.Value] = (key, valueNode);
            }

            return keys;
        }

        private void Error(string path, YNode node, string message) => Errors.Add(new PolicyError(path, node.Line, node.Column, message));

        /// <summary>Reports a problem found on compiled conditions, at the position of the condition's node.</summary>
        private void Error(ArgumentCondition at, string message) => Error(at.Pointer, conditionNodes[at], message);

        private static string? Nearest(string key, string[] allowed)
        {
            string? best = null;
            var bestDistance = 3;
            foreach (var candidate in allowed)
            {
                var distance = EditDistance(key, candidate);
                if (distance < bestDistance)
                {
                    best = candidate;
                    bestDistance = distance;
                }
            }

            return best;
        }

        private static int EditDistance(string a, string b)
        {
            var previous = new int[b.Length + 1];
            var current = new int[b.Length + 1];
            for (var j = 0; j <= b.Length; j++)
            {
                previous[j] = j;
            }

            for (var i = 1; i <= a.Length; i++)
            {
                current[0] = i;
                for (var j = 1; j <= b.Length; j++)
                {
                    var cost = char.ToLowerInvariant(a[i - 1]) == char.ToLowerInvariant(b[j - 1]) ? 0 : 1;
                    current[j] = Math.Min(Math.Min(current[j - 1] + 1, previous[j] + 1), previous[j - 1] + cost);
                }

                (previous, current) = (current, previous);
            }

            return previous[b.Length];
        }
    }

    private static Operand StringOperand(string text) => new(ScalarKind.String, text, 0, false) { Utf8 = Encoding.UTF8.GetBytes(text) };

    /// <summary>A condition operand: plain scalars are typed (true/false, numbers), quoted ones are text; null is refused.</summary>
    private static bool TryOperand(YNode node, out Operand operand)
    {
        operand = default;
        if (node is not YScalar { IsNull: false } scalar)
        {
            return false;
        }

        if (TryBoolean(scalar, out var boolean))
        {
            operand = new Operand(ScalarKind.Boolean, scalar.Value, 0, boolean);
        }
        else if (TryNumber(scalar, out var number))
        {
            operand = new Operand(ScalarKind.Number, scalar.Value, number, false);
        }
        else
        {
            operand = StringOperand(scalar.Value);
        }

        return true;
    }

    private static bool TryBoolean(YNode node, out bool value)
    {
        value = false;
        if (node is not YScalar { Plain: true } scalar)
        {
            return false;
        }

        switch (scalar.Value)
        {
            case "true" or "True" or "TRUE":
                value = true;
                return true;
            case "false" or "False" or "FALSE":
                return true;
            default:
                return false;
        }
    }

    private static bool TryInteger(YNode node, out long value)
    {
        value = 0;
        return node is YScalar { Plain: true } scalar
            && scalar.Value.Length is > 0 and < 19
            && scalar.Value.AsSpan(scalar.Value[0] is '-' or '+' ? 1 : 0).ContainsAnyExcept("0123456789") is false
            && long.TryParse(scalar.Value, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out value);
    }

    private static bool TryNumber(YNode node, out double value)
    {
        value = 0;
        return node is YScalar { Plain: true } scalar
            && scalar.Value.AsSpan().ContainsAnyInRange('0', '9')
            && !scalar.Value.AsSpan().ContainsAnyExcept("0123456789+-.eE")
            && double.TryParse(scalar.Value, NumberStyles.Float, CultureInfo.InvariantCulture, out value)
            && double.IsFinite(value);
    }
}
