using System.Text.Json;
using Gatehouse.Core.Errors;

namespace Gatehouse.Proxy.Envelope;

/// <summary>Reads the JSON-RPC envelope (method, id, target) with a forward-only reader; also proves the body is valid JSON.</summary>
/// <remarks>
/// Policy must decide on exactly what the upstream will execute, and parsers disagree on ambiguous JSON (first or
/// last of a repeated key, or keys matched without regard to case, as Go's <c>encoding/json</c> does). So a message in
/// which any object, at any depth, repeats a key is refused, and so is a key at the envelope or <c>params</c> level
/// that differs only by case from one Gatehouse decides on. The target is method-specific: <c>params.uri</c> for
/// <c>resources/read</c>, <c>params.name</c> for <c>tools/call</c> and <c>prompts/get</c>; a message of those methods
/// without a readable target is refused too. String values and keys are compared after JSON unescaping.
/// </remarks>
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

        /// <summary>An object repeats a key (the problem names it).</summary>
        DuplicateKey,

        /// <summary>A key differs only by case from one Gatehouse decides on (the problem names both).</summary>
        CaseVariantKey,

        /// <summary>A tools/call, resources/read or prompts/get without a string target.</summary>
        UnreadableTarget,

        /// <summary>JSON syntax, but a string is not text: invalid UTF-8, or a lone surrogate escape.</summary>
        InvalidText,
    }

    private static readonly string[] EnvelopeKeys = ["jsonrpc", "method", "id", "params"];
    private static readonly string[] ParamsKeys = ["name", "uri", "arguments"];

    /// <summary>Reads <paramref name="body"/>; unless <see cref="Outcome.Ok"/> or <see cref="Outcome.MalformedJson"/>, <paramref name="problem"/> says why.</summary>
    public static Outcome TryRead(ReadOnlySpan<byte> body, out JsonRpcEnvelope envelope, out string? problem)
    {
        envelope = null!;
        problem = null;
        // The reader checks the UTF-8 of the strings it decodes only; the rest is forwarded, so the whole body must be text.
        if (!System.Text.Unicode.Utf8.IsValid(body))
        {
            return Outcome.InvalidText;
        }

        var keys = KeyTracker.Rent();
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
                    if (reader.TokenType != JsonTokenType.StartObject)
                    {
                        problem = "a batch may only contain JSON-RPC message objects.";
                        Drain(ref reader);
                        return Outcome.NotJsonRpc;
                    }

                    var memberOutcome = TryReadObject(ref reader, keys, out var member, out problem);
                    if (memberOutcome != Outcome.Ok)
                    {
                        problem ??= "a batch may only contain JSON-RPC message objects.";
                        Drain(ref reader);
                        return memberOutcome;
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

            var outcome = TryReadObject(ref reader, keys, out envelope, out problem);
            Drain(ref reader);
            return outcome;
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
        finally
        {
            KeyTracker.Return(keys);
        }
    }

    /// <summary>The error a client gets for an outcome other than <see cref="Outcome.Ok"/>.</summary>
    public static GatewayError ErrorFor(Outcome outcome, string? problem) => outcome switch
    {
        Outcome.MalformedJson => GatewayErrors.MalformedJson(),
        Outcome.InvalidText => BadInputErrors.InvalidText(),
        Outcome.DuplicateKey => GatewayErrors.DuplicateKey(problem ?? "?"),
        Outcome.CaseVariantKey when problem?.Split('\n') is [var key, var decided] => GatewayErrors.CaseVariantKey(key, decided),
        Outcome.UnreadableTarget when problem?.Split('\n') is [var method, var field] => GatewayErrors.UnreadableTarget(method, field),
        _ => GatewayErrors.InvalidJsonRpc(problem ?? "it could not be read."),
    };

    private static void Drain(ref Utf8JsonReader reader)
    {
        // Reading to the end validates the rest of the document, so malformed trailing bytes are rejected here.
        while (reader.Read())
        {
        }
    }

    private static Outcome TryReadObject(ref Utf8JsonReader reader, KeyTracker keys, out JsonRpcEnvelope envelope, out string? problem)
    {
        envelope = null!;
        problem = null;
        string? version = null, method = null, rawId = null;
        var parameters = default(ParamsRead);
        var hasResultOrError = false;
        var depth = reader.CurrentDepth;
        keys.Enter();
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (KeyProblem(ref reader, keys, EnvelopeKeys, out problem) is { } keyOutcome)
            {
                return keyOutcome;
            }

            if (reader.ValueTextEquals("jsonrpc"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.String)
                {
                    version = reader.GetString();
                }
                else if (SkipChecked(ref reader, keys, out problem) is { } skipped)
                {
                    return skipped;
                }
            }
            else if (reader.ValueTextEquals("method"u8))
            {
                reader.Read();
                if (reader.TokenType != JsonTokenType.String)
                {
                    problem = "'method' must be a string.";
                    return Outcome.NotJsonRpc;
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
                        return Outcome.NotJsonRpc;
                    default:
                        problem = "'id' must be a string or a number.";
                        return Outcome.NotJsonRpc;
                }
            }
            else if (reader.ValueTextEquals("params"u8))
            {
                reader.Read();
                if (reader.TokenType == JsonTokenType.StartObject)
                {
                    parameters = ReadParams(ref reader, keys, out problem, out var paramsOutcome);
                    if (paramsOutcome != Outcome.Ok)
                    {
                        return paramsOutcome;
                    }
                }
                else if (SkipChecked(ref reader, keys, out problem) is { } skipped)
                {
                    return skipped;
                }
            }
            else
            {
                hasResultOrError |= reader.ValueTextEquals("result"u8) || reader.ValueTextEquals("error"u8);
                reader.Read();
                if (SkipChecked(ref reader, keys, out problem) is { } skipped)
                {
                    return skipped;
                }
            }
        }

        keys.Exit();
        if (version != "2.0")
        {
            problem = "'jsonrpc' must be \"2.0\".";
            return Outcome.NotJsonRpc;
        }

        if (method is not null)
        {
            var field = method switch
            {
                "resources/read" => "uri",
                "tools/call" or "prompts/get" => "name",
                _ => null,
            };
            var target = field == "uri" ? parameters.Uri : field == "name" ? parameters.Name : null;
            if (field is not null && target is null)
            {
                problem = method + "\n" + field;
                return Outcome.UnreadableTarget;
            }

            envelope = new JsonRpcEnvelope(rawId is null ? JsonRpcKind.Notification : JsonRpcKind.Request, method, rawId, target)
            {
                ArgumentKeys = parameters.ArgumentKeys ?? [],
                ArgumentsRange = parameters.ArgumentsRange,
            };
            return Outcome.Ok;
        }

        if (hasResultOrError && rawId is not null)
        {
            envelope = new JsonRpcEnvelope(JsonRpcKind.Response, null, rawId, null);
            return Outcome.Ok;
        }

        problem = "a message needs a 'method' (request or notification) or an 'id' with 'result' or 'error' (response).";
        return Outcome.NotJsonRpc;
    }

    private struct ParamsRead
    {
        public string? Name;
        public string? Uri;
        public List<string>? ArgumentKeys;
        public (int, int) ArgumentsRange;
    }

    private static ParamsRead ReadParams(ref Utf8JsonReader reader, KeyTracker keys, out string? problem, out Outcome outcome)
    {
        var read = default(ParamsRead);
        problem = null;
        outcome = Outcome.Ok;
        var depth = reader.CurrentDepth;
        keys.Enter();
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (KeyProblem(ref reader, keys, ParamsKeys, out problem) is { } keyOutcome)
            {
                outcome = keyOutcome;
                return read;
            }

            var isName = reader.ValueTextEquals("name"u8);
            var isUri = !isName && reader.ValueTextEquals("uri"u8);
            var isArguments = !isName && !isUri && reader.ValueTextEquals("arguments"u8);
            reader.Read();
            if (isArguments && reader.TokenType == JsonTokenType.StartObject)
            {
                var start = (int)reader.TokenStartIndex;
                read.ArgumentKeys = ReadTopLevelKeys(ref reader, keys, out problem, out outcome);
                if (outcome != Outcome.Ok)
                {
                    return read;
                }

                read.ArgumentsRange = (start, (int)reader.BytesConsumed - start);
                continue;
            }

            if ((isName || isUri) && reader.TokenType == JsonTokenType.String)
            {
                if (isName)
                {
                    read.Name = reader.GetString();
                }
                else
                {
                    read.Uri = reader.GetString();
                }
            }
            else if (SkipChecked(ref reader, keys, out problem) is { } skipped)
            {
                outcome = skipped;
                return read;
            }
        }

        keys.Exit();
        return read;
    }

    private static List<string> ReadTopLevelKeys(ref Utf8JsonReader reader, KeyTracker keys, out string? problem, out Outcome outcome)
    {
        var found = new List<string>();
        problem = null;
        outcome = Outcome.Ok;
        var depth = reader.CurrentDepth;
        keys.Enter();
        while (reader.Read() && !(reader.TokenType == JsonTokenType.EndObject && reader.CurrentDepth == depth))
        {
            if (keys.Add(ref reader) is { } duplicate)
            {
                problem = duplicate;
                outcome = Outcome.DuplicateKey;
                return found;
            }

            found.Add(reader.GetString()!);
            reader.Read();
            if (SkipChecked(ref reader, keys, out problem) is { } skipped)
            {
                outcome = skipped;
                return found;
            }
        }

        keys.Exit();
        return found;
    }

    /// <summary>Registers the property name the reader is on; a repeated key or a case variant of a decided key is a problem.</summary>
    private static Outcome? KeyProblem(ref Utf8JsonReader reader, KeyTracker keys, string[] decided, out string? problem)
    {
        if (keys.Add(ref reader) is { } duplicate)
        {
            problem = duplicate;
            return Outcome.DuplicateKey;
        }

        if (CaseVariant(keys.LastKey, decided) is { } variantOf)
        {
            problem = Printable(keys.LastKey) + "\n" + variantOf;
            return Outcome.CaseVariantKey;
        }

        problem = null;
        return null;
    }

    /// <summary>Skips the value the reader is on (after its property name), checking every object inside for repeated keys.</summary>
    private static Outcome? SkipChecked(ref Utf8JsonReader reader, KeyTracker keys, out string? problem)
    {
        problem = null;
        if (reader.TokenType is not (JsonTokenType.StartObject or JsonTokenType.StartArray))
        {
            return null;
        }

        var depth = reader.CurrentDepth;
        if (reader.TokenType == JsonTokenType.StartObject)
        {
            keys.Enter();
        }

        while (reader.Read())
        {
            switch (reader.TokenType)
            {
                case JsonTokenType.StartObject:
                    keys.Enter();
                    break;
                case JsonTokenType.EndObject:
                    keys.Exit();
                    break;
                case JsonTokenType.PropertyName when keys.Add(ref reader) is { } duplicate:
                    problem = duplicate;
                    return Outcome.DuplicateKey;
            }

            if (reader.CurrentDepth == depth && reader.TokenType is JsonTokenType.EndObject or JsonTokenType.EndArray)
            {
                return null;
            }
        }

        return null;
    }

    /// <summary>The decided key <paramref name="key"/> folds to without being it, or null.</summary>
    /// <remarks>Folds as Go's <c>encoding/json</c> does (Unicode simple folding), so <c>ſ</c> is an <c>s</c> and the Kelvin sign a <c>k</c>.</remarks>
    private static string? CaseVariant(ReadOnlySpan<byte> key, string[] decided)
    {
        if (key.Length > 64 || IsExactly(key, decided))
        {
            return null;
        }

        Span<char> chars = stackalloc char[64];
        var text = chars[..System.Text.Encoding.UTF8.GetChars(key, chars)];
        foreach (var candidate in decided)
        {
            if (text.Length != candidate.Length)
            {
                continue;
            }

            var same = true;
            for (var i = 0; i < text.Length && same; i++)
            {
                same = Fold(text[i]) == candidate[i];
            }

            if (same)
            {
                return candidate;
            }
        }

        return null;
    }

    private static bool IsExactly(ReadOnlySpan<byte> key, string[] decided)
    {
        foreach (var candidate in decided)
        {
            if (key.Length != candidate.Length)
            {
                continue;
            }

            var same = true;
            for (var i = 0; i < key.Length && same; i++)
            {
                same = key[i] == candidate[i];
            }

            if (same)
            {
                return true;
            }
        }

        return false;
    }

    private static char Fold(char c) => c switch
    {
        '\u017F' => 's',
        '\u212A' => 'k',
        _ => char.ToLowerInvariant(c),
    };

    private static string Printable(ReadOnlySpan<byte> key)
    {
        var text = System.Text.Encoding.UTF8.GetString(key[..Math.Min(key.Length, 64)]);
        return string.Concat(text.Select(c => char.IsControl(c) ? '?' : c));
    }

    /// <summary>
    /// The keys seen so far in each open object, as unescaped UTF-8 in one reused buffer: a new key is compared with the
    /// earlier keys of its own object, so small objects cost no allocation; objects with many keys switch to a hash set
    /// so a hostile body cannot make the check quadratic.
    /// </summary>
    private sealed class KeyTracker
    {
        private const int LinearLimit = 32;

        [ThreadStatic]
        private static KeyTracker? t_cached;

        private byte[] _bytes = new byte[1024];
        private (int Start, int Length)[] _keys = new (int, int)[64];
        private (int Keys, int Bytes, HashSet<string>? Set)[] _frames = new (int, int, HashSet<string>?)[16];
        private int _keyCount;
        private int _byteCount;
        private int _depth;
        private (int Start, int Length) _last;

        public ReadOnlySpan<byte> LastKey => _bytes.AsSpan(_last.Start, _last.Length);

        public static KeyTracker Rent()
        {
            var tracker = t_cached ?? new KeyTracker();
            t_cached = null;
            tracker._keyCount = tracker._byteCount = tracker._depth = 0;
            return tracker;
        }

        public static void Return(KeyTracker tracker)
        {
            // Buffers grown for a huge body are dropped rather than kept per thread.
            if (tracker._bytes.Length <= 64 * 1024 && tracker._keys.Length <= 4096)
            {
                Array.Clear(tracker._frames, 0, tracker._frames.Length);
                t_cached = tracker;
            }
        }

        public void Enter()
        {
            if (_depth == _frames.Length)
            {
                Array.Resize(ref _frames, _frames.Length * 2);
            }

            _frames[_depth++] = (_keyCount, _byteCount, null);
        }

        public void Exit()
        {
            var frame = _frames[--_depth];
            _keyCount = frame.Keys;
            _byteCount = frame.Bytes;
            _frames[_depth] = default;
        }

        /// <summary>Adds the property name the reader is on to the innermost object; returns it (printable) when it was already there.</summary>
        public string? Add(ref Utf8JsonReader reader)
        {
            var raw = reader.ValueSpan;
            if (_byteCount + raw.Length > _bytes.Length)
            {
                Array.Resize(ref _bytes, Math.Max(_bytes.Length * 2, _byteCount + raw.Length));
            }

            var written = reader.ValueIsEscaped ? reader.CopyString(_bytes.AsSpan(_byteCount)) : Copy(raw, _bytes.AsSpan(_byteCount));
            var key = _bytes.AsSpan(_byteCount, written);
            _last = (_byteCount, written);
            ref var frame = ref _frames[_depth - 1];
            var earlier = _keyCount - frame.Keys;
            if (frame.Set is null && earlier >= LinearLimit)
            {
                frame.Set = new HashSet<string>(StringComparer.Ordinal);
                for (var i = frame.Keys; i < _keyCount; i++)
                {
                    frame.Set.Add(System.Text.Encoding.UTF8.GetString(_bytes.AsSpan(_keys[i].Start, _keys[i].Length)));
                }
            }

            if (frame.Set is not null)
            {
                if (!frame.Set.Add(System.Text.Encoding.UTF8.GetString(key)))
                {
                    return Printable(key);
                }
            }
            else
            {
                for (var i = frame.Keys; i < _keyCount; i++)
                {
                    if (key.SequenceEqual(_bytes.AsSpan(_keys[i].Start, _keys[i].Length)))
                    {
                        return Printable(key);
                    }
                }
            }

            if (_keyCount == _keys.Length)
            {
                Array.Resize(ref _keys, _keys.Length * 2);
            }

            _keys[_keyCount++] = (_byteCount, written);
            _byteCount += written;
            return null;
        }

        private static int Copy(ReadOnlySpan<byte> from, Span<byte> to)
        {
            from.CopyTo(to);
            return from.Length;
        }
    }
}
