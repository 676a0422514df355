using System.Text.Json;

namespace Gatehouse.Proxy.Envelope;

/// <summary>Reads the JSON-RPC envelope (method, id, name) with a forward-only reader; also proves the body is valid JSON.</summary>
public static class EnvelopeReader
{
    /// <summary>Outcome of reading a body.</summary>
    public enum Outcome
    {
        /// <summary>A JSON-RPC message or batch.</summary>
        Ok,

        /// <summary>Not JSON.</summary>
        MalformedJson,

        /// <summary>JSON, but not JSON-RPC.</summary>
        NotJsonRpc,

        /// <summary>JSON syntax, but a string is not text: invalid UTF-8, or a lone surrogate escape.</summary>
        InvalidText,
    }

    /// <summary>Reads <paramref name="body"/>; on <see cref="Outcome.NotJsonRpc"/>, <paramref name="problem"/> says why.</summary>
    public static Outcome TryRead(ReadOnlySpan<byte> body, out JsonRpcEnvelope envelope, out string? problem)
    {
        envelope = null!;
        problem = null;
        // The reader checks the UTF-8 of the strings it decodes only; the rest is forwarded, so the whole body must be text.
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            return Outcome.InvalidText;
        }

        var reader = new Utf8JsonReader(body, new JsonReaderOptions { MaxDepth = 128 });
        try
        {
            if (!reader.Read())
            {
                return Outcome.MalformedJson;
            }

            if (reader.TokenType == JsonTokenType.StartArray)
            {
                var anyRequest = false;
                var members = new List<JsonRpcEnvelope>();
                while (reader.Read() && reader.TokenType != JsonTokenType.EndArray)
                {
                    if (reader.TokenType != JsonTokenType.StartObject || !TryReadObject(ref reader, out var member, out problem))
                    {
                        problem ??= "a batch may only contain JSON-RPC message objects.";
                        Drain(ref reader);
                        return Outcome.NotJsonRpc;
                    }

                    members.Add(member);
                    anyRequest |= member.Kind == JsonRpcKind.Request;
                }

                Drain(ref reader);
                if (members.Count == 0)
                {
                    problem = "an empty batch is not allowed.";
                    return Outcome.NotJsonRpc;
                }

                envelope = members[0] with { IsBatch = true, BatchHasRequests = anyRequest, Members = members };
                return Outcome.Ok;
            }

            if (reader.TokenType != JsonTokenType.StartObject)
            {
                Drain(ref reader);
                problem = "the body must be a JSON object.";
                return Outcome.NotJsonRpc;
            }

            if (!TryReadObject(ref reader, out envelope, out problem))
            {
                Drain(ref reader);
                return Outcome.NotJsonRpc;
            }

            Drain(ref reader);
            return Outcome.Ok;
        }
        catch (JsonException)
        {
            return Outcome.MalformedJson;
        }
        catch (InvalidOperationException)
        {
            // GetString on a lone surrogate escape (\uD800): valid JSON syntax, but no Unicode string.
            return Outcome.InvalidText;
        }
    }

    private static void Drain(ref Utf8JsonReader reader)
    {
        // Reading to the end validates the rest of the document, so malformed trailing bytes are rejected here.
        while (reader.Read())
        {
        }
    }

    private static bool TryReadObject(ref Utf8JsonReader reader, out JsonRpcEnvelope envelope, out string? problem)
    {
        envelope = null!;
        problem = null;
        string? version = null, method = null, rawId = null, name = null;
        IReadOnlyList<string> argumentKeys = [];
        (int, int) argumentsRange = default;
        var hasResultOrError = false;
        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            if (reader.ValueTextEquals("jsonrpc"u8))
            {
                reader.Read();
                version = reader.TokenType == JsonTokenType.String ? reader.GetString() : null;
            }
            else if (reader.ValueTextEquals("method"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    problem = "'method' must be a string.";
                    reader.Skip();
                    return false;
                }

                method = reader.GetString();
            }
            else if (reader.ValueTextEquals("id"u8))
            {
                reader.Read();
                switch (reader.TokenType)
                {
                    case JsonTokenType.String:
                        rawId = JsonSerializer.Serialize(reader.GetString());
                        break;
                    case JsonTokenType.Number:
                        rawId = System.Text.Encoding.UTF8.GetString(reader.ValueSpan);
                        break;
                    case JsonTokenType.Null:
                        problem = "'id' must not be null in MCP.";
                        return false;
                    default:
                        problem = "'id' must be a string or a number.";
                        reader.Skip();
                        return false;
                }
            }
            else if (reader.ValueTextEquals("params"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    (name, argumentKeys, argumentsRange) = ReadParams(ref reader);
                }
                else
                {
                    reader.Skip();
                }
            }
            else if (reader.ValueTextEquals("result"u8) || reader.ValueTextEquals("error"u8))
            {
                hasResultOrError = true;
                reader.Read();
                reader.Skip();
            }
            else
            {
                reader.Read();
                reader.Skip();
            }
        }

        if (version != "2.0")
        {
            problem = "'jsonrpc' must be \"2.0\".";
            return false;
        }

        if (method is not null)
        {
            envelope = new JsonRpcEnvelope(rawId is null ? JsonRpcKind.Notification : JsonRpcKind.Request, method, rawId, name)
            {
                ArgumentKeys = argumentKeys,
                ArgumentsRange = argumentsRange,
            };
            return true;
        }

        if (hasResultOrError && rawId is not null)
        {
            envelope = new JsonRpcEnvelope(JsonRpcKind.Response, null, rawId, null);
            return true;
        }

        problem = "a message needs a 'method' (request or notification) or an 'id' with 'result' or 'error' (response).";
        return false;
    }

    private static (string? Name, IReadOnlyList<string> ArgumentKeys, (int, int) ArgumentsRange) ReadParams(ref Utf8JsonReader reader)
    {
        string? name = null, uri = null;
        List<string>? argumentKeys = null;
        (int, int) argumentsRange = default;
        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType != JsonTokenType.PropertyName)
            {
                continue;
            }

            var isName = reader.ValueTextEquals("name"u8);
            var isUri = reader.ValueTextEquals("uri"u8);
            var isArguments = reader.ValueTextEquals("arguments"u8);
            reader.Read();
            if (isArguments && reader.TokenType == JsonTokenType.StartObject)
            {
                var start = (int)reader.TokenStartIndex;
                argumentKeys = ReadTopLevelKeys(ref reader);
                argumentsRange = (start, (int)reader.BytesConsumed - start);
                continue;
            }

            if ((isName || isUri) && reader.TokenType == JsonTokenType.String)
            {
                if (isName)
                {
                    name = reader.GetString();
                }
                else
                {
                    uri = reader.GetString();
                }
            }
            else
            {
                reader.Skip();
            }
        }

        return (name ?? uri, (IReadOnlyList<string>?)argumentKeys ?? [], argumentsRange);
    }

    private static List<string> ReadTopLevelKeys(ref Utf8JsonReader reader)
    {
        var keys = new List<string>();
        var depth = reader.CurrentDepth;
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (reader.TokenType == JsonTokenType.PropertyName)
            {
                keys.Add(reader.GetString()!);
                reader.Read();
                reader.Skip();
            }
        }

        return keys;
    }
}
