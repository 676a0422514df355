using System.Collections.Concurrent;
using System.Diagnostics;
using System.Text;
using Xunit.Abstractions;

namespace Gatehouse.Proxy.Tests.BadInput;

/// <summary>
/// Thousands of generated hostile requests at every surface of one real gateway: none may answer 500 or above, hang,
/// or show a stack trace or a secret. Each request is generated from (seed, index) alone, so a failure reproduces.
/// </summary>
public sealed class FuzzTests(BadInputWorld world, ITestOutputHelper output) : IClassFixture<BadInputWorld>
{
    private const int Seed = 20261204;
    private const int PerSurface = 900;
    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(10);

    /// <summary>One generated request and where it goes.</summary>
    private sealed record Case(string Surface, int Index, string Description, byte[] Bytes);

    [Fact]
    public async Task Thousands_of_hostile_requests_never_get_a_5xx_a_hang_a_stack_trace_or_a_secret()
    {
        var session = await OpenSessionAsync();
        var clientId = await world.ClientIdAsync();
        var surfaces = new (string Name, Func<Random, int, Case> Generate)[]
        {
            ("mcp-streamable", (r, i) => Mcp(r, i, "mcp-streamable", "echo", session)),
            ("mcp-sse", (r, i) => Mcp(r, i, "mcp-sse", "legacy", null)),
            ("mcp-stateless", (r, i) => Mcp(r, i, "mcp-stateless", "stateless", null)),
            ("oauth", (r, i) => OAuth(r, i, clientId)),
            ("admin", Admin),
            ("well-known", WellKnown),
            ("pages", Pages),
        };

        var cases = new List<Case>();
        for (var s = 0; s < surfaces.Length; s++)
        {
            for (var i = 0; i < PerSurface; i++)
            {
                // A fresh generator per request: the request depends on (seed, surface, index) only, not on the order run.
                cases.Add(surfaces[s].Generate(new Random(Seed + (s * 100_000) + i), i));
            }
        }

        var counts = new ConcurrentDictionary<(string Surface, int Status), int>();
        var failures = new ConcurrentQueue<string>();
        var secrets = new[] { world.MasterKey, world.AdminToken, world.Token, BadInputWorld.UpstreamSecret };
        var clock = Stopwatch.StartNew();
        await Parallel.ForEachAsync(cases, new ParallelOptions { MaxDegreeOfParallelism = 4 }, async (c, _) =>
        {
            RawResponse response;
            try
            {
                response = await RawHttp.SendAsync(world.Gateway.BaseUri, c.Bytes, RequestTimeout);
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
                failures.Enqueue($"{c.Surface}#{c.Index} {c.Description}: connection failed ({e.GetType().Name})");
                return;
            }

            counts.AddOrUpdate((c.Surface, response.Status), 1, (_, n) => n + 1);
            var problem = response switch
            {
                { TimedOut: true, Status: 0 } => "no answer within the timeout",
                { Status: 0 } => "no HTTP answer",
                { Status: >= 500 } => $"status {response.Status}",
                _ when response.Body.Contains("   at ", StringComparison.Ordinal) || response.Body.Contains("Exception", StringComparison.Ordinal) => "a stack trace or exception in the body",
                _ when secrets.Any(s => response.Body.Contains(s, StringComparison.Ordinal) || response.Headers.Any(h => h.Value.Contains(s, StringComparison.Ordinal))) => "a secret in the answer",
                _ => null,
            };
            if (problem is not null)
            {
                var body = response.Body.Length > 300 ? response.Body[..300] : response.Body;
                failures.Enqueue($"{c.Surface}#{c.Index} {c.Description}: {problem}: {body}");
            }
        });

        output.WriteLine($"{cases.Count} requests in {clock.Elapsed.TotalSeconds:0.0} s (seed {Seed})");
        foreach (var group in counts.OrderBy(k => k.Key.Surface, StringComparer.Ordinal).ThenBy(k => k.Key.Status).GroupBy(k => k.Key.Surface))
        {
            output.WriteLine($"{group.Key}: " + string.Join(", ", group.Select(k => $"{k.Key.Status}×{k.Value}")));
        }

        Assert.True(cases.Count >= 5000);
        Assert.True(failures.IsEmpty, $"{failures.Count} hostile requests were mishandled:\n" + string.Join('\n', failures.Take(25)));
        var alive = await RawHttp.SendAsync(world.Gateway.BaseUri, RawHttp.Build("GET", "/healthz", []), RequestTimeout);
        Assert.Equal(200, alive.Status);
    }

    private async Task<string> OpenSessionAsync()
    {
        var response = await RawHttp.SendAsync(world.Gateway.BaseUri, RawHttp.Build("POST", "/mcp/echo",
            [("Authorization", "Bearer " + world.Token), ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")],
            Encoding.UTF8.GetBytes(Infrastructure.GatewayHarness.InitializeBody)), RequestTimeout);
        return response.Header("Mcp-Session-Id") ?? throw new InvalidOperationException($"initialize gave no session: {response.Status} {response.Body}");
    }

    // ---- the proxy, in each era ----

    private static readonly string[] Versions = ["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28", "", "2025-13-45", "latest", "2025-11-25\u0001", "9999-99-99"];

    private static readonly string[] Methods = ["initialize", "tools/list", "tools/call", "resources/read", "prompts/get", "ping", "notifications/initialized", "resources/list", "x/unknown", ""];

    private Case Mcp(Random r, int index, string surface, string server, string? session)
    {
        if (r.Next(3) == 0)
        {
            return NearlyValidMcp(r, index, surface, server, session);
        }

        var method = Pick(r, "POST", "POST", "POST", "POST", "GET", "DELETE", "PUT", "OPTIONS", "PATCH");
        var path = r.Next(12) switch
        {
            0 => "/mcp/" + server + "/sse",
            1 => "/mcp/" + server + "/message?session=" + Pick(r, "", "abc", new string('A', 300), "%00", session ?? "x"),
            2 => "/mcp/" + HostileSegment(r),
            3 => "/mcp/" + server + "?" + HostileText(r, 20),
            _ => "/mcp/" + server,
        };
        var headers = new List<(string, string)>();
        headers.Add(("Authorization", r.Next(8) switch
        {
            0 => "",
            1 => "Bearer gth_" + RandomAscii(r, 40),
            2 => "Bearer a.b.c",
            3 => "Bearer " + RandomAscii(r, 2, 8) + "." + RandomAscii(r, 2, 30) + "." + RandomAscii(r, 2, 30),
            4 => "Basic " + RandomAscii(r, 10),
            _ => "Bearer " + world.Token,
        }));
        if (r.Next(4) > 0)
        {
            headers.Add(("Content-Type", Pick(r, "application/json", "application/json", "application/json; charset=utf-8", "text/plain", "application/x+json", "", "application/json;;;")));
        }

        headers.Add(("Accept", Pick(r, "application/json, text/event-stream", "application/json", "text/event-stream", "*/*", "")));
        var version = Pick(r, Versions);
        if (surface == "mcp-stateless" && r.Next(3) > 0)
        {
            version = "2026-07-28";
        }

        if (version.Length > 0)
        {
            headers.Add(("MCP-Protocol-Version", version));
        }

        var rpcMethod = Pick(r, Methods);
        var name = Pick(r, "echo", "add", "unknown", "", "caf\u00e9", "a\"b", "\\uD800");
        if (r.Next(3) == 0)
        {
            headers.Add(("Mcp-Method", r.Next(2) == 0 ? rpcMethod : Pick(r, Methods)));
            headers.Add(("Mcp-Name", r.Next(3) switch { 0 => name, 1 => "=?base64?" + RandomAscii(r, 8) + "?=", _ => Pick(r, "echo", "x", "") }));
        }

        if (r.Next(4) == 0)
        {
            headers.Add(("Mcp-Session-Id", r.Next(3) switch { 0 => "", 1 => session ?? RandomAscii(r, 30), _ => RandomAscii(r, 1, 200) }));
        }

        AddHostileHeader(r, headers);
        var body = method is "POST" or "PUT" or "PATCH" ? JsonRpcBody(r, rpcMethod, name) : (r.Next(10) == 0 ? JsonRpcBody(r, rpcMethod, name) : null);
        var chunked = body is not null && r.Next(15) == 0;
        if (chunked)
        {
            headers.Add(("Transfer-Encoding", "chunked"));
            body = r.Next(2) == 0
                ? Encoding.ASCII.GetBytes(Pick(r, "FFFFFFFFFFFFFFFFFFFF", "zz", "-1", "1;" + new string('x', 5000), "8000000000000000") + "\r\n{}\r\n0\r\n\r\n")
                : [.. Encoding.ASCII.GetBytes($"{body!.Length:X}\r\n"), .. body, .. "\r\n0\r\n\r\n"u8.ToArray()];
        }

        return new Case(surface, index, $"{method} {path} [{string.Join("; ", headers.Select(h => h.Item1))}] {Preview(body)}", RawHttp.Build(method, path, headers, body, chunked));
    }

    /// <summary>A request that passes every check but one thing: it reaches the policy and the upstream with hostile arguments.</summary>
    private Case NearlyValidMcp(Random r, int index, string surface, string server, string? session)
    {
        var stateless = surface == "mcp-stateless";
        var version = stateless ? "2026-07-28" : "2025-11-25";
        var tool = Pick(r, "echo", "add", "echo", "nope");
        var arguments = r.Next(8) switch
        {
            0 => "{\"a\":" + Pick(r, "1", "1001", "1e400", "-0", "\"7\"", "null", "[1]", "99999999999999999999999") + ",\"b\":2}",
            1 => "{\"text\":" + Pick(r, "\"forbidden words\"", "5", "null", "{}", "\"" + new string('x', 2500) + "\"", "\"\\uD800\"", "\"ok\"") + "}",
            2 => "{\"text\":\"a\",\"text\":\"forbidden\"}",
            3 => "{\"a\":1,\"b\":2,\"a\":5000}",
            4 => "[]",
            5 => "{\"text\":" + string.Concat(Enumerable.Repeat("[", r.Next(10, 200))) + "1" + string.Concat(Enumerable.Repeat("]", r.Next(10, 200))) + "}",
            6 => "{\"TEXT\":\"forbidden\",\"Text\":\"x\"}",
            _ => "{\"text\":\"hello " + RandomAscii(r, 5) + "\"}",
        };
        var id = r.Next(1, 10_000).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var (method, body) = r.Next(6) switch
        {
            0 => ("tools/list", $"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"tools/list\",\"params\":{{\"cursor\":\"{RandomAscii(r, 8)}\"}}}}"),
            1 => ("ping", $"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"ping\"}}"),
            _ => ("tools/call", $"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":\"tools/call\",\"params\":{{\"name\":\"{tool}\",\"arguments\":{arguments}}}}}"),
        };
        var headers = new List<(string, string)>
        {
            ("Authorization", "Bearer " + world.Token), ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream"), ("MCP-Protocol-Version", version),
        };
        if (stateless)
        {
            headers.Add(("Mcp-Method", r.Next(6) == 0 ? "tools/list" : method));
            if (method == "tools/call")
            {
                headers.Add(("Mcp-Name", r.Next(6) == 0 ? "other" : tool));
            }
        }
        else if (session is not null && r.Next(6) > 0)
        {
            headers.Add(("Mcp-Session-Id", session));
        }

        if (r.Next(8) == 0)
        {
            AddHostileHeader(r, headers);
        }

        var path = surface == "mcp-sse" && r.Next(2) == 0 ? "/mcp/" + server + "/message?session=" + RandomAscii(r, 40) : "/mcp/" + server;
        var bytes = Encoding.UTF8.GetBytes(body);
        return new Case(surface, index, $"POST {path} (nearly valid) {Preview(bytes)}", RawHttp.Build("POST", path, headers, bytes));
    }

    private static byte[] JsonRpcBody(Random r, string method, string name)
    {
        var id = r.Next(8) switch { 0 => "null", 1 => "{\"a\":1}", 2 => "[1]", 3 => "\"s\"", 4 => "1e999", 5 => "true", _ => r.Next(1000).ToString(System.Globalization.CultureInfo.InvariantCulture) };
        var paramsJson = r.Next(8) switch
        {
            0 => "\"text\"",
            1 => "[]",
            2 => "null",
            3 => $"{{\"name\":{Quote(name)},\"name\":\"other\",\"arguments\":{{\"a\":1,\"a\":2}}}}",
            4 => $"{{\"name\":5,\"arguments\":\"x\"}}",
            5 => $"{{\"uri\":{Quote(name)},\"name\":{Quote(name)}}}",
            6 => "{\"protocolVersion\":\"2025-11-25\",\"capabilities\":{},\"clientInfo\":{\"name\":\"fuzz\",\"version\":\"1\"}}",
            _ => $"{{\"name\":{Quote(name)},\"arguments\":{{\"text\":{Quote(HostileText(r, 30))}}}}}",
        };
        var message = r.Next(10) switch
        {
            0 => $"{{\"jsonrpc\":\"1.0\",\"id\":{id},\"method\":{Quote(method)}}}",
            1 => $"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":5}}",
            2 => $"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"result\":{{}}}}",
            3 => $"{{\"jsonrpc\":\"2.0\",\"method\":{Quote(method)},\"method\":\"tools/call\",\"id\":{id},\"params\":{paramsJson}}}",
            _ => $"{{\"jsonrpc\":\"2.0\",\"id\":{id},\"method\":{Quote(method)},\"params\":{paramsJson}}}",
        };
        var text = r.Next(14) switch
        {
            0 => "[" + message + "," + message + "]",
            1 => "[]",
            2 => new string('[', r.Next(100, 5000)) + new string(']', r.Next(0, 5000)),
            3 => "{\"a\":" + string.Concat(Enumerable.Repeat("{\"a\":", r.Next(100, 3000))) + "1",
            4 => message[..r.Next(message.Length)],
            5 => "",
            6 => "\"just a string\"",
            7 => message + "garbage",
            _ => message,
        };
        var bytes = Encoding.UTF8.GetBytes(text);
        if (bytes.Length > 0 && r.Next(6) == 0)
        {
            // Bad UTF-8: a stray continuation byte, a truncated sequence, an encoded surrogate, an overlong form.
            var bad = Pick(r, new byte[] { 0x80 }, new byte[] { 0xC3 }, new byte[] { 0xED, 0xA0, 0x80 }, new byte[] { 0xC0, 0xAF }, new byte[] { 0xFF });
            var at = r.Next(bytes.Length);
            bytes = [.. bytes[..at], .. bad, .. bytes[at..]];
        }

        if (r.Next(40) == 0)
        {
            bytes = [.. bytes, .. Encoding.ASCII.GetBytes(new string(' ', 5 * 1024 * 1024))];
        }

        return bytes;
    }

    // ---- OAuth endpoints ----

    private static readonly string[] OAuthParameters =
        ["response_type", "client_id", "redirect_uri", "code_challenge", "code_challenge_method", "state", "nonce", "scope", "resource", "prompt", "grant_type", "code", "code_verifier", "refresh_token", "token", "token_type_hint", "client_secret", "client_assertion", "request", "request_uri"];

    private Case OAuth(Random r, int index, string clientId)
    {
        if (r.Next(3) == 0)
        {
            return NearlyValidOAuth(r, index, clientId);
        }

        var path = Pick(r, "/oauth2/authorize", "/oauth2/authorize", "/oauth2/token", "/oauth2/token", "/oauth2/register", "/oauth2/revoke", "/oauth2/jwks", "/oauth2/" + HostileSegment(r));
        var method = Pick(r, "GET", "POST", "POST", "PUT", "DELETE");
        var parameters = new List<string>();
        var valid = new Dictionary<string, string>
        {
            ["response_type"] = "code", ["client_id"] = clientId, ["redirect_uri"] = "http://127.0.0.1/cb", ["code_challenge"] = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM",
            ["code_challenge_method"] = "S256", ["resource"] = world.Gateway.McpUri("echo").ToString(), ["scope"] = "mcp offline_access", ["grant_type"] = "authorization_code",
        };
        foreach (var name in OAuthParameters.Where(_ => r.Next(3) == 0))
        {
            var value = r.Next(5) switch
            {
                0 => HostileText(r, 40),
                1 => valid.GetValueOrDefault(name, RandomAscii(r, 10)),
                2 => "",
                3 => new string('x', r.Next(500, 6_000)),
                _ => valid.GetValueOrDefault(name, "%00"),
            };
            parameters.Add(name + "=" + (value == "%00" ? value : Uri.EscapeDataString(value)));
            if (r.Next(6) == 0)
            {
                parameters.Add(name + "=" + Uri.EscapeDataString(RandomAscii(r, 5)));
            }
        }

        if (r.Next(15) == 0)
        {
            parameters.AddRange(Enumerable.Range(0, r.Next(1000, 1500)).Select(i => $"f{i}=v"));
        }

        var query = string.Join('&', parameters);
        var headers = new List<(string, string)>();
        byte[]? body = null;
        var target = path;
        if (path == "/oauth2/register" && method == "POST")
        {
            headers.Add(("Content-Type", Pick(r, "application/json", "application/json", "text/plain")));
            body = Encoding.UTF8.GetBytes(r.Next(7) switch
            {
                0 => "{\"redirect_uris\":\"http://127.0.0.1/cb\"}",
                1 => "{\"redirect_uris\":[5,null,{}],\"token_endpoint_auth_method\":7}",
                2 => new string('[', 3000),
                3 => "{\"redirect_uris\":[\"javascript:alert(1)\"],\"client_name\":" + Quote(HostileText(r, 50)) + "}",
                4 => "{\"redirect_uris\":[\"http://127.0.0.1/cb\"],\"client_name\":\"a\",\"client_name\":\"b\",\"grant_types\":[\"password\"]}",
                5 => "{\"redirect_uris\":[\"http://127.0.0.1/\\uD800\"],\"client_uri\":\"\\u0000\"}",
                _ => "",
            });
        }
        else if (method == "POST" && r.Next(3) > 0)
        {
            headers.Add(("Content-Type", Pick(r, "application/x-www-form-urlencoded", "application/x-www-form-urlencoded", "multipart/form-data; boundary=x", "application/json")));
            body = Encoding.UTF8.GetBytes(query);
        }
        else if (query.Length > 0)
        {
            target += "?" + query;
        }

        if (r.Next(4) == 0)
        {
            headers.Add(("Authorization", Pick(r, "Basic " + Convert.ToBase64String(Encoding.UTF8.GetBytes(clientId + ":x")), "Basic !!!", "Bearer x", "Basic " + Convert.ToBase64String(Encoding.Latin1.GetBytes("\u00e9:\u0001")))));
        }

        AddHostileHeader(r, headers);
        return new Case("oauth", index, $"{method} {Shorten(target)} {Preview(body)}", RawHttp.Build(method, target, headers, body));
    }

    /// <summary>A well-formed OAuth request with one or two hostile values, so it gets past the first checks.</summary>
    private Case NearlyValidOAuth(Random r, int index, string clientId)
    {
        string Hostile() => r.Next(4) switch
        {
            0 => Uri.EscapeDataString(HostileText(r, 30)),
            1 => RandomAscii(r, 1, 300),
            2 => "",
            _ => Uri.EscapeDataString(Pick(r, "https://evil.example/cb", "http://127.0.0.1:1/cb", "cursor://x", "S512", "plain", "token", "code id_token", "openid mcp", "x" + new string('y', 2000))),
        };

        var resource = Uri.EscapeDataString(Pick(r, world.Gateway.McpUri("echo").ToString(), world.Gateway.McpUri("nope").ToString(), "http://evil.example/mcp/echo", world.Gateway.BaseUri + "mcp/%C3%A9"));
        var fields = new List<(string Name, string Value)>();
        string path;
        var method = "POST";
        switch (r.Next(4))
        {
            case 0:
                path = "/oauth2/authorize";
                method = Pick(r, "GET", "POST");
                fields.AddRange([("response_type", "code"), ("client_id", Uri.EscapeDataString(clientId)), ("redirect_uri", Uri.EscapeDataString("http://127.0.0.1/cb")),
                    ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), ("code_challenge_method", "S256"), ("resource", resource), ("scope", "mcp%20offline_access"), ("state", RandomAscii(r, 12))]);
                break;
            case 1:
                path = "/oauth2/token";
                fields.AddRange(r.Next(2) == 0
                    ? [("grant_type", "authorization_code"), ("client_id", Uri.EscapeDataString(clientId)), ("code", RandomAscii(r, 40)), ("redirect_uri", Uri.EscapeDataString("http://127.0.0.1/cb")), ("code_verifier", RandomAscii(r, 43)), ("resource", resource)]
                    : [("grant_type", "refresh_token"), ("client_id", Uri.EscapeDataString(clientId)), ("refresh_token", RandomAscii(r, 10, 600))]);
                break;
            case 2:
                path = "/oauth2/revoke";
                fields.AddRange([("client_id", Uri.EscapeDataString(clientId)), ("token", RandomAscii(r, 10, 600)), ("token_type_hint", Pick(r, "access_token", "refresh_token", "x"))]);
                break;
            default:
                path = "/oauth2/authorize";
                method = "GET";
                // A client id that is an https URL: a Client ID Metadata Document, which must never be fetched from anywhere but loopback-refused public hosts.
                fields.AddRange([("response_type", "code"), ("client_id", Uri.EscapeDataString(Pick(r, "https://127.0.0.1:1/client.json", "https://evil.example", "https://[::1]/c", "http://127.0.0.1/c.json"))),
                    ("redirect_uri", Uri.EscapeDataString("http://127.0.0.1/cb")), ("code_challenge", "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"), ("code_challenge_method", "S256"), ("resource", resource)]);
                break;
        }

        for (var n = r.Next(1, 3); n > 0; n--)
        {
            var at = r.Next(fields.Count + 1);
            if (at == fields.Count || r.Next(3) == 0)
            {
                fields.Add((Pick(r, OAuthParameters), Hostile()));
            }
            else
            {
                fields[at] = (fields[at].Name, Hostile());
            }
        }

        var query = string.Join('&', fields.Select(f => f.Name + "=" + f.Value));
        var headers = new List<(string, string)>();
        byte[]? body = null;
        var target = path;
        if (method == "POST")
        {
            headers.Add(("Content-Type", "application/x-www-form-urlencoded"));
            body = Encoding.ASCII.GetBytes(query);
        }
        else
        {
            target += "?" + query;
        }

        return new Case("oauth", index, $"{method} {Shorten(target)} (nearly valid) {Preview(body)}", RawHttp.Build(method, target, headers, body));
    }

    // ---- admin API ----

    private static readonly string[] AdminPaths =
    [
        "/admin/api/servers", "/admin/api/servers/{x}", "/admin/api/grants", "/admin/api/grants/{x}/revoke", "/admin/api/grants/{x}/rotate", "/admin/api/login-provider",
        "/admin/api/users", "/admin/api/apply", "/admin/api/policies", "/admin/api/policies/{x}", "/admin/api/policies/{x}/attach", "/admin/api/policies/detach",
        "/admin/api/decisions", "/admin/api/audit", "/admin/api/consents", "/admin/api/consents/{x}", "/admin/api/servers/{x}/connect", "/admin/api/servers/{x}/disconnect",
        "/admin/api/users/{x}/offboard", "/admin/api/openapi/admin.json", "/admin/api/" + "nothing",
    ];

    private Case Admin(Random r, int index)
    {
        // Names never hit the fixture's own servers or grant: the rest of the run must keep working.
        var name = Pick(r, "fz-" + RandomAscii(r, 6).ToLowerInvariant(), "%00", "%C3%A9", "a%0db", new string('n', 300), "..", "fz");
        var path = Pick(r, AdminPaths).Replace("{x}", name, StringComparison.Ordinal);
        if (r.Next(4) == 0)
        {
            path += "?" + Pick(r, "limit=-1", "limit=abc", "since=notadate", "prune=maybe", "server=%00", "limit=99999999999999999999", "grant=" + HostileText(r, 10));
        }

        var method = Pick(r, "GET", "GET", "POST", "PUT", "DELETE", "PATCH");
        var headers = new List<(string, string)>();
        if (r.Next(4) > 0)
        {
            headers.Add(("Authorization", r.Next(5) == 0 ? "Bearer gta_" + RandomAscii(r, 40) : "Bearer " + world.AdminToken));
        }

        byte[]? body = null;
        if (method is "POST" or "PUT" or "PATCH")
        {
            headers.Add(("Content-Type", Pick(r, "application/json", "application/json", "application/yaml", "text/plain", "application/x-www-form-urlencoded")));
            body = Encoding.UTF8.GetBytes(r.Next(16) switch
            {
                0 => "{}",
                1 => "[]",
                2 => "{\"name\":5,\"url\":[],\"headers\":{\"a\":1}}",
                3 => $"{{\"name\":\"fz-{RandomAscii(r, 5).ToLowerInvariant()}\",\"url\":\"http://127.0.0.1:1/mcp\",\"headers\":{{\"X-A\":\"caf\u00e9\",\"Bad Name\":\"v\"}}}}",
                4 => "{\"label\":null,\"servers\":null,\"expires\":\"forever\"}",
                5 => $"{{\"label\":\"fz-{RandomAscii(r, 5)}\",\"servers\":[\"nope\",5],\"expires\":\"-1d\"}}",
                6 => "{\"issuer\":" + Pick(r, "\"http://127.0.0.1:1\"", "\"not a url\"", "5", "\"https://\"", "\"\"") + ",\"clientId\":\"x\",\"clientSecret\":\"y\",\"allowLoopback\":" + Pick(r, "true", "false", "\"yes\"") + "}",
                7 => new string('[', r.Next(100, 20_000)) + new string(']', r.Next(0, 100)),
                8 => string.Concat(Enumerable.Repeat("- ", r.Next(50, 20_000))) + "x",
                9 => "version: 1\ndefault: " + Pick(r, "deny", "allow", "maybe", "[]") + "\ntools:\n  " + HostileText(r, 10) + ":\n    deny_if: {arg: \"" + HostileText(r, 8) + "\", matches: \"(a+)+$\"}",
                10 => "servers:\n  - name: " + HostileText(r, 10) + "\n    url: " + HostileText(r, 20) + "\n    transport: [1]\n",
                11 => "{\"server\":\"echo\",\"grant\":\"fuzz\",\"user\":\"x\",\"group\":\"y\"}",
                12 => "&a: [*a]\n",
                13 => "a: &a [1]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: &d [*c,*c,*c,*c,*c,*c,*c,*c,*c]\ne: [*d,*d,*d,*d,*d,*d,*d,*d,*d]",
                14 => HostileText(r, 200),
                _ => "{\"a\":1,\"a\":2",
            });
        }

        AddHostileHeader(r, headers);
        return new Case("admin", index, $"{method} {Shorten(path)} {Preview(body)}", RawHttp.Build(method, path, headers, body));
    }

    // ---- well-known documents ----

    private Case WellKnown(Random r, int index)
    {
        var path = Pick(r,
            "/.well-known/oauth-authorization-server", "/.well-known/openid-configuration", "/.well-known/oauth-protected-resource/mcp/echo",
            "/.well-known/oauth-protected-resource/mcp/" + HostileSegment(r), "/.well-known/oauth-protected-resource", "/.well-known/oauth-authorization-server/mcp/echo",
            "/.well-known/" + HostileSegment(r), "/oauth/client-metadata.json", "/healthz", "/metrics", "/" + HostileSegment(r));
        if (r.Next(4) == 0)
        {
            path += "?" + HostileText(r, 30);
        }

        var headers = new List<(string, string)>();
        if (r.Next(3) == 0)
        {
            headers.Add(("Origin", Pick(r, "http://evil.example", "null", "http://127.0.0.1", "\u00e9")));
        }

        AddHostileHeader(r, headers);
        var method = Pick(r, "GET", "GET", "GET", "HEAD", "POST", "OPTIONS");
        var host = r.Next(8) == 0 ? Pick(r, "evil.example", "127.0.0.1:1", "[::1", "a b", "") : null;
        return new Case("well-known", index, $"{method} {Shorten(path)} host={host}", RawHttp.Build(method, path, headers, method == "POST" ? "{}"u8.ToArray() : null, host: host));
    }

    // ---- pages ----

    private Case Pages(Random r, int index)
    {
        var path = Pick(r,
            "/oauth2/login", "/oauth2/login?returnUrl=" + Uri.EscapeDataString(Pick(r, "https://evil.example/", "//evil.example", "/oauth2/authorize?x=1", "\\\\evil", HostileText(r, 20))),
            "/account", "/account?notice=" + Uri.EscapeDataString(HostileText(r, 20)), "/oauth/connect/server/echo", "/oauth/connect/server/" + HostileSegment(r),
            "/oauth/connect/" + RandomAscii(r, 30), "/oauth/callback?state=" + RandomAscii(r, 20) + "&code=" + RandomAscii(r, 20) + "&iss=" + HostileText(r, 10),
            "/oauth/callback?error=" + HostileText(r, 10), "/oauth2/login/oidc", "/oauth2/login/oidc/callback?state=x&code=y", "/oauth/connect/user/echo?ticket=" + RandomAscii(r, 40));
        var method = Pick(r, "GET", "GET", "POST", "POST", "PUT");
        var headers = new List<(string, string)>();
        if (r.Next(3) == 0)
        {
            headers.Add(("Cookie", Pick(r, ".AspNetCore.Antiforgery.x=" + RandomAscii(r, 40), "gatehouse.login=" + RandomAscii(r, 80), "a=" + HostileText(r, 20), RandomAscii(r, 2000))));
        }

        byte[]? body = null;
        if (method != "GET")
        {
            headers.Add(("Content-Type", Pick(r, "application/x-www-form-urlencoded", "multipart/form-data", "application/json")));
            body = Encoding.UTF8.GetBytes(Pick(r,
                "token=" + Uri.EscapeDataString(Pick(r, "gta_" + RandomAscii(r, 40), "gtu_x", "", HostileText(r, 20))) + "&returnUrl=" + Uri.EscapeDataString(HostileText(r, 20)),
                "__RequestVerificationToken=" + RandomAscii(r, 40) + "&action=" + Pick(r, "withdraw", "revoke", "disconnect") + "&id=" + HostileText(r, 10),
                "admin_token=" + RandomAscii(r, 10) + "&csrf=" + RandomAscii(r, 10),
                string.Join('&', Enumerable.Range(0, r.Next(1, 1500)).Select(i => $"k{i}=v")),
                HostileText(r, 100)));
        }

        AddHostileHeader(r, headers);
        return new Case("pages", index, $"{method} {Shorten(path)} {Preview(body)}", RawHttp.Build(method, path, headers, body));
    }

    // ---- building blocks ----

    private static void AddHostileHeader(Random r, List<(string, string)> headers)
    {
        // One request in four: a hostile header is mostly refused by Kestrel itself, hiding what lies behind it.
        switch (r.Next(24))
        {
            case 0:
                headers.Add(("X-Note", "caf\u00c3\u00a9")); // UTF-8 é, as the bytes go out
                break;
            case 1:
                headers.Add(("X-Note", "a\u0001b")); // a control character
                break;
            case 2:
                headers.Add(("X-Big", new string('h', r.Next(8_000, 80_000))));
                break;
            case 3:
                headers.Add(("X-Latin", "\u00e9\u00ff"));
                break;
            case 4:
                headers.Add(("Bad Header", "v"));
                break;
            case 5:
                headers.Add(("Content-Length", Pick(r, "-1", "abc", "99999999999999999999")));
                break;
        }
    }

    private static string HostileSegment(Random r) => Pick(r,
        "a%0db", "%C3%A9", "a%22b", "%00", "a%0d%0aSet-Cookie:%20x=1", "..%2f..%2fetc", new string('a', 70), "UPPER", "-x", "%FF%FE", "%ED%A0%80", "a%20b", "%", "a%2", RandomAscii(r, 1, 20).ToLowerInvariant());

    private static string HostileText(Random r, int length)
    {
        var builder = new StringBuilder();
        var count = r.Next(1, length + 1);
        for (var i = 0; i < count; i++)
        {
            builder.Append(r.Next(10) switch
            {
                0 => (char)r.Next(0, 32),
                1 => '\u007f',
                2 => (char)r.Next(0xD800, 0xE000), // a lone surrogate
                3 => '"',
                4 => '\\',
                5 => (char)r.Next(0x80, 0x800),
                6 => '<',
                _ => (char)r.Next(0x21, 0x7F),
            });
        }

        return builder.ToString();
    }

    private static string RandomAscii(Random r, int length) => RandomAscii(r, length, length);

    private static string RandomAscii(Random r, int min, int max)
    {
        const string alphabet = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_";
        return string.Create(r.Next(min, max + 1), r, static (span, random) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = alphabet[random.Next(alphabet.Length)];
            }
        });
    }

    // JSON string syntax for arbitrary text, except that hostile text goes in raw: control characters and quotes break it on purpose.
    private static string Quote(string text) => "\"" + text + "\"";

    private static T Pick<T>(Random r, params T[] options) => options[r.Next(options.Length)];

    private static string Preview(byte[]? body) => body is null ? "(no body)" : $"({body.Length} bytes) " + Shorten(Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 80)));

    private static string Shorten(string text) => (text.Length > 120 ? text[..120] + "…" : text).ReplaceLineEndings("⏎");
}
