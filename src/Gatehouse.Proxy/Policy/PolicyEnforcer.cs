using System.Text;
using System.Text.Json;
using Gatehouse.Core.Decisions;
using Gatehouse.Core.Errors;
using Gatehouse.Core.Policy;
using Gatehouse.Proxy.Authentication;
using Gatehouse.Proxy.Envelope;
using Gatehouse.Proxy.Recording;

namespace Gatehouse.Proxy.Policy;

/// <summary>The policy step of the request path: decides each call, charges quotas, and says how to answer a refusal.</summary>
/// <remarks>
/// The decision itself is <see cref="PolicyEvaluator"/>'s (pure); this class adds what needs the request: parsing the
/// arguments only when a matching rule looks at them, the quota store, and the decision log's fields.
/// </remarks>
public sealed class PolicyEnforcer(IQuotaCounter quotas, TimeProvider time)
{
    /// <summary>The outcome for one request.</summary>
    /// <param name="Refusal">When set, the complete JSON-RPC error body to answer with (HTTP 200), instead of forwarding.</param>
    /// <param name="Reservations">Quota reservations to release if the call never reaches the upstream.</param>
    public readonly record struct Outcome(byte[]? Refusal, List<QuotaReservation>? Reservations);

    /// <summary>Decides a request (every member of a batch; the first refusal refuses the batch, answered with a batch).</summary>
    public Outcome Check(PolicySet set, GatewayPrincipal principal, JsonRpcEnvelope envelope, ReadOnlyMemory<byte> body, ProxyExchange? exchange)
    {
        if (ReferenceEquals(set, PolicySet.Empty))
        {
            if (exchange is not null)
            {
                exchange.Rule = PolicyDecision.NoPolicyRule;
                foreach (var member in exchange.Members)
                {
                    member.Rule = PolicyDecision.NoPolicyRule;
                }
            }

            return default;
        }

        List<QuotaReservation>? reservations = null;
        if (envelope.IsBatch)
        {
            // Every member is decided (and recorded) on its own; the first refusal refuses the batch.
            var refusals = new byte[]?[envelope.Members.Count];
            var refusedAt = -1;
            for (var i = 0; i < envelope.Members.Count; i++)
            {
                var memberExchange = exchange?.Members.Count == envelope.Members.Count ? exchange.Members[i] : null;
                refusals[i] = CheckOne(set, principal, envelope.Members[i], body, memberExchange, ref reservations);
                if (refusals[i] is not null && refusedAt < 0)
                {
                    refusedAt = i;
                    if (exchange is not null && memberExchange is not null)
                    {
                        exchange.Decision = memberExchange.Decision;
                        exchange.ErrorCode = memberExchange.ErrorCode;
                        exchange.Message = memberExchange.Message;
                    }
                }
            }

            if (refusedAt < 0)
            {
                return new Outcome(null, reservations);
            }

            Release(reservations);
            var notForwarded = GatewayErrors.BatchMemberNotForwarded(refusedAt + 1, IdForMessage(envelope.Members[refusedAt].RawId));
            for (var i = 0; i < (exchange?.Members.Count ?? 0); i++)
            {
                var member = exchange!.Members[i];
                if (member.Decision == DecisionKinds.Allow && member.ErrorCode is null)
                {
                    member.ErrorCode = notForwarded.Code;
                    member.Message = notForwarded.Message;
                }
            }

            return new Outcome(BatchAnswer(envelope, refusals, notForwarded), null);
        }

        var single = CheckOne(set, principal, envelope, body, exchange, ref reservations);
        return new Outcome(single, single is null ? reservations : null);
    }

    /// <summary>
    /// The answer to a refused batch: a batch (JSON-RPC 2.0, section 6) with one response per request member, in order,
    /// each refused member's own error and GH1340 for the rest; notifications get none.
    /// </summary>
    private static byte[] BatchAnswer(JsonRpcEnvelope batch, byte[]?[] refusals, GatewayError notForwarded)
    {
        using var buffer = new MemoryStream();
        buffer.WriteByte((byte)'[');
        var written = 0;
        for (var i = 0; i < batch.Members.Count; i++)
        {
            var member = batch.Members[i];
            if (member.Kind != JsonRpcKind.Request)
            {
                continue;
            }

            if (written++ > 0)
            {
                buffer.WriteByte((byte)',');
            }

            buffer.Write(refusals[i] ?? Errors.ErrorResponses.Body(notForwarded, member.RawId, null));
        }

        if (written == 0)
        {
            // Only notifications were refused: nothing may be answered for them, but an empty array is not a valid
            // answer either (JSON-RPC 2.0, section 6), so the first refusal stands alone, as for a single message.
            return refusals.First(r => r is not null)!;
        }

        buffer.WriteByte((byte)']');
        return buffer.ToArray();
    }

    /// <summary>A client's id as it may appear in a message: its JSON text, cut short so a huge id cannot swell every answer.</summary>
    private static string IdForMessage(string? rawId) => rawId switch
    {
        null => "null",
        { Length: > 64 } => string.Concat(rawId.AsSpan(0, 61), "..."),
        _ => rawId,
    };

    /// <summary>Gives back reservations of a call that never reached the upstream.</summary>
    public void Release(List<QuotaReservation>? reservations)
    {
        if (reservations is null)
        {
            return;
        }

        foreach (var reservation in reservations)
        {
            quotas.Release(reservation);
        }

        reservations.Clear();
    }

    /// <summary>A filter that removes hidden entries from list results, or null when no policy applies.</summary>
    /// <remarks>
    /// Every message relayed to the client under a policy passes through it (a cheap scan first, so only what may hold a
    /// list is parsed); a list it cannot filter is replaced by a GH1610 error with the message's id, never relayed.
    /// </remarks>
    /// <param name="set">The policies in force.</param>
    /// <param name="server">The server, for the error message.</param>
    /// <param name="expected">What the answered request lists, when known (a POST of a list method).</param>
    /// <param name="requestId">The request's id, for an error when the message's own id cannot be read.</param>
    /// <param name="privateScope">True for a 2026-07-28 client: a filtered list is marked <c>cacheScope: "private"</c>.</param>
    /// <param name="exchange">Where a withheld list is noted for the decision log.</param>
    public static Func<ReadOnlyMemory<byte>, byte[]?>? ListFilter(
        PolicySet set, string? server = null, ListedKind? expected = null, string? requestId = null, bool privateScope = false, ProxyExchange? exchange = null)
    {
        if (ReferenceEquals(set, PolicySet.Empty))
        {
            return null;
        }

        return message =>
        {
            if (expected is null && !ListResultFilter.MayHoldList(message.Span))
            {
                return null;
            }

            var outcome = ListResultFilter.Apply(message.Span, (kind, name) => IsListedHidden(set, kind, name), expected, privateScope);
            if (outcome.Problem is not { } problem)
            {
                return outcome.Replacement;
            }

            var error = GatewayErrors.UnfilterableListResult(server ?? "(unknown)", problem);
            if (exchange is not null)
            {
                exchange.Decision = DecisionKinds.Error;
                exchange.ErrorCode = error.Code;
                exchange.Message = error.Message;
            }

            return Errors.ErrorResponses.Body(error, TopLevelId(message.Span) ?? requestId, server);
        };
    }

    /// <summary>The top-level id of a message Gatehouse could not filter, read as far as it can be.</summary>
    private static string? TopLevelId(ReadOnlySpan<byte> json)
    {
        var reader = new Utf8JsonReader(json, new JsonReaderOptions { MaxDepth = 4096 });
        try
        {
            if (!reader.Read() || reader.TokenType != JsonTokenType.StartObject)
            {
                return null;
            }

            while (reader.Read() && reader.CurrentDepth >= 1)
            {
                if (reader.TokenType == JsonTokenType.PropertyName && reader.CurrentDepth == 1 && reader.ValueTextEquals("id"u8))
                {
                    reader.Read();
                    return reader.TokenType switch
                    {
                        JsonTokenType.String => JsonSerializer.Serialize(reader.GetString()),
                        JsonTokenType.Number => Encoding.UTF8.GetString(reader.ValueSpan),
                        _ => null,
                    };
                }

                if (reader.TokenType is JsonTokenType.StartObject or JsonTokenType.StartArray)
                {
                    reader.Skip();
                }
            }
        }
        catch (JsonException)
        {
        }

        return null;
    }

    private byte[]? CheckOne(PolicySet set, GatewayPrincipal principal, JsonRpcEnvelope message, ReadOnlyMemory<byte> body, ProxyExchange? exchange, ref List<QuotaReservation>? reservations)
    {
        if (message.Name is not { } name || TargetOf(message.Method) is not { } target)
        {
            // Lists are filtered on the way back; other methods (initialize, ping, notifications) carry no target.
            return null;
        }

        if (target == PolicyTarget.Resource)
        {
            // Decided (and logged) in normal form, so spellings a lenient upstream reads alike get one decision.
            if (!ResourceUri.TryNormalize(name, out var normalized, out var problem))
            {
                if (exchange is not null)
                {
                    exchange.Decision = DecisionKinds.Deny;
                    exchange.Rule = UnnormalizableRule;
                }

                return Refuse(exchange, GatewayErrors.UnnormalizableResourceUri(problem!), message.RawId, UnnormalizableRule);
            }

            name = normalized;
            if (exchange is not null)
            {
                exchange.Target = name;
            }
        }

        var (offset, length) = message.ArgumentsRange;
        JsonDocument? arguments = null;
        try
        {
            if (length > 0 && PolicyEvaluator.NeedsArguments(set, target, name))
            {
                arguments = JsonDocument.Parse(body.Slice(offset, length));
            }

            var decision = PolicyEvaluator.Evaluate(set, target, name, arguments?.RootElement);
            if (exchange is not null)
            {
                exchange.Rule = decision.Rule;
                exchange.PolicyVersion = decision.PolicyVersion;
                exchange.Decision = decision.Outcome switch
                {
                    PolicyAction.Deny => DecisionKinds.Deny,
                    PolicyAction.Hide => DecisionKinds.Hide,
                    _ => DecisionKinds.Allow,
                };
                if (decision.ArgumentsMayBeLogged && length > 0)
                {
                    exchange.ArgumentValuesJson = Encoding.UTF8.GetString(body.Span.Slice(offset, length));
                }
            }

            switch (decision.Outcome)
            {
                case PolicyAction.Hide:
                    return UnknownEntry(message.RawId, target, name);
                case PolicyAction.Deny:
                    return Refuse(exchange, GatewayErrors.PolicyDenied(decision.Message ?? $"Denied by policy rule {decision.Rule}."), message.RawId, decision.Rule);
            }

            if (decision.Quotas.Count == 0)
            {
                return null;
            }

            reservations ??= [];
            if (!PolicyQuotas.TryReserveAll(quotas, decision.Quotas, principal.Id, time.GetUtcNow(), reservations, out var exhausted, out var resetsAt))
            {
                if (exchange is not null)
                {
                    exchange.Decision = DecisionKinds.Deny;
                    exchange.Rule = exhausted!.Rule;
                }

                return Refuse(exchange, GatewayErrors.QuotaExhausted(PolicyQuotas.ExhaustedMessage(exhausted!, resetsAt)), message.RawId, exhausted!.Rule, resetsAt);
            }

            return null;
        }
        catch (JsonException)
        {
            // The envelope reader already proved the body is JSON; this is unreachable short of a bug, and fails closed.
            return Refuse(exchange, GatewayErrors.PolicyDenied("The call's arguments could not be read for the policy check."), message.RawId, "(unreadable arguments)");
        }
        finally
        {
            arguments?.Dispose();
        }
    }

    private static byte[] Refuse(ProxyExchange? exchange, GatewayError error, string? rawId, string rule, DateTimeOffset? resetsAt = null)
    {
        if (exchange is not null)
        {
            exchange.ErrorCode = error.Code;
            exchange.Message = error.Message;
        }

        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer, new JsonWriterOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping }))
        {
            writer.WriteStartObject();
            writer.WriteString("jsonrpc", "2.0");
            WriteId(writer, rawId);
            writer.WriteStartObject("error");
            writer.WriteNumber("code", error.JsonRpcCode);
            writer.WriteString("message", error.Message);
            writer.WriteStartObject("data");
            writer.WriteString("gatehouseError", error.Code);
            writer.WriteString("rule", rule);
            if (resetsAt is { } resets)
            {
                writer.WriteString("resetsAt", resets.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture));
            }

            writer.WriteEndObject();
            writer.WriteEndObject();
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>The answer for a hidden entry: what an upstream says for one that does not exist (the C# SDK's wording).</summary>
    private static byte[] UnknownEntry(string? rawId, PolicyTarget target, string name)
    {
        using var buffer = new MemoryStream();
        using (var writer = new Utf8JsonWriter(buffer))
        {
            writer.WriteStartObject();
            writer.WriteStartObject("error");
            writer.WriteNumber("code", -32602);
            writer.WriteString("message", target switch
            {
                PolicyTarget.Resource => $"Unknown resource: '{name}'",
                PolicyTarget.Prompt => $"Unknown prompt: '{name}'",
                _ => $"Unknown tool: '{name}'",
            });
            writer.WriteEndObject();
            WriteId(writer, rawId);
            writer.WriteString("jsonrpc", "2.0");
            writer.WriteEndObject();
        }

        return buffer.ToArray();
    }

    private static void WriteId(Utf8JsonWriter writer, string? rawId)
    {
        writer.WritePropertyName("id");
        if (rawId is null)
        {
            writer.WriteNullValue();
        }
        else
        {
            writer.WriteRawValue(rawId, skipInputValidation: true);
        }
    }

    private static PolicyTarget? TargetOf(string? method) => method switch
    {
        "tools/call" => PolicyTarget.Tool,
        "resources/read" => PolicyTarget.Resource,
        "prompts/get" => PolicyTarget.Prompt,
        _ => null,
    };

    private const string UnnormalizableRule = "(unnormalizable resource URI)";

    /// <summary>Whether a listed entry is hidden; listed resource URIs are compared in normal form, and one without it is dropped.</summary>
    private static bool IsListedHidden(PolicySet set, ListedKind kind, string name) => kind switch
    {
        ListedKind.Resource => !ResourceUri.TryNormalize(name, out var normalized, out _) || PolicyEvaluator.IsHidden(set, PolicyTarget.Resource, normalized),
        ListedKind.ResourceTemplate => PolicyEvaluator.IsHidden(set, PolicyTarget.Resource, ResourceUri.NormalizePattern(name)),
        _ => PolicyEvaluator.IsHidden(set, ToTarget(kind), name),
    };

    private static PolicyTarget ToTarget(ListedKind kind) => kind switch
    {
        ListedKind.Tool => PolicyTarget.Tool,
        ListedKind.Prompt => PolicyTarget.Prompt,
        _ => PolicyTarget.Resource,
    };
}
