using System.Security.Claims;
using System.Text;
using System.Text.Json;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Authentication.JwtBearer;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.IdentityModel.Tokens;

namespace Gatehouse.Testing.Hosting;

/// <summary>
/// The resource-server half of <see cref="UpstreamMode.OAuthProtected"/>: bearer-token checks in front of the
/// MCP endpoint, the RFC 9728 protected-resource metadata, and the <c>/_test/auth-stats</c> counters.
/// </summary>
/// <remarks>
/// Token validation is the stock JwtBearer handler (JWKS discovered from the issuer); the challenge is written
/// here rather than by the handler so its exact <c>WWW-Authenticate</c> form is under this class's control and
/// can carry <c>resource_metadata</c> and <c>scope</c> as MCP authorization expects. The resource URL is only
/// known once Kestrel has bound its port, so it is worked out on first use from the server's address.
/// </remarks>
internal sealed class OAuthProtection
{
    /// <summary>The root well-known location of the metadata (clients that ignore the resource path look here).</summary>
    public const string RootMetadataPath = "/.well-known/oauth-protected-resource";

    /// <summary>The path-specific location for the <c>/mcp</c> resource, the one named in challenges.</summary>
    public const string McpMetadataPath = RootMetadataPath + "/mcp";

    /// <summary>The JSON counters.</summary>
    public const string StatsPath = "/_test/auth-stats";

    /// <summary>Resets the counters.</summary>
    public const string ResetStatsPath = "/_test/reset-auth-stats";

    private const string ToolsCall = "tools/call";

    private readonly UpstreamOAuthOptions _options;
    private readonly UpstreamAuthStats _stats;
    private readonly Lazy<(Uri Resource, Uri Metadata)> _addresses;

    public OAuthProtection(UpstreamOAuthOptions options, UpstreamAuthStats stats, IServer server)
    {
        _options = options;
        _stats = stats;
        _addresses = new(() =>
        {
            // The same form TestUpstream.BaseUri has, so McpUri and the token audience agree to the character.
            var baseUri = new Uri($"http://127.0.0.1:{ServerAddresses.BoundPort(server)}/");
            return (options.Audience ?? new Uri(baseUri, "mcp"), new Uri(baseUri, McpMetadataPath.TrimStart('/')));
        });
    }

    /// <summary>The audience tokens must carry, and the metadata's <c>resource</c>.</summary>
    public Uri Resource => _addresses.Value.Resource;

    /// <summary>Registers the JwtBearer validation and this class.</summary>
    public static void AddServices(IServiceCollection services, UpstreamOAuthOptions options, UpstreamAuthStats stats)
    {
        services.AddSingleton(options);
        services.AddSingleton(stats);
        services.AddSingleton<OAuthProtection>();
        services.AddAuthentication().AddJwtBearer(jwt =>
        {
            var issuer = options.IssuerIdentifier;
            jwt.MetadataAddress = issuer + "/.well-known/openid-configuration";
            jwt.RequireHttpsMetadata = false;
            // Keep the JWT claim names (sub, client_id, scope) instead of the legacy WS-* URIs.
            jwt.MapInboundClaims = false;
            // Token lifetimes come from the authorization server's real clock; a fake clock injected for the
            // tools' simulated work must not decide whether a token has expired.
            jwt.TimeProvider = TimeProvider.System;
            jwt.BackchannelHttpHandler = new SocketsHttpHandler { UseProxy = false };
            jwt.TokenValidationParameters = new TokenValidationParameters
            {
                ValidIssuer = issuer,
                ValidateIssuer = true,
                ValidateAudience = true,
                ValidateLifetime = true,
                ValidateIssuerSigningKey = true,
                RequireExpirationTime = true,
                RequireSignedTokens = true,
                // Test access tokens live for seconds; any skew would hide the expiry a test waits for.
                ClockSkew = TimeSpan.Zero,
                NameClaimType = "sub",
            };
        });
        services.AddOptions<JwtBearerOptions>(JwtBearerDefaults.AuthenticationScheme)
            .Configure<OAuthProtection>((jwt, protection) => jwt.TokenValidationParameters.ValidAudience = protection.Resource.AbsoluteUri);
    }

    /// <summary>Serves the metadata and test endpoints, and lets only valid tokens through to <c>/mcp</c> and <c>/raw</c>.</summary>
    public async Task InvokeAsync(HttpContext context, Func<Task> next)
    {
        var request = context.Request;
        var path = request.Path;
        if (HttpMethods.IsGet(request.Method) && (path == RootMetadataPath || path == McpMetadataPath))
        {
            await WriteJsonAsync(context, StatusCodes.Status200OK, MetadataJson()).ConfigureAwait(false);
            return;
        }

        if (HttpMethods.IsGet(request.Method) && path == StatsPath)
        {
            await WriteJsonAsync(context, StatusCodes.Status200OK, _stats.ToJson()).ConfigureAwait(false);
            return;
        }

        if (HttpMethods.IsPost(request.Method) && path == ResetStatsPath)
        {
            _stats.Reset();
            await WriteJsonAsync(context, StatusCodes.Status200OK, _stats.ToJson()).ConfigureAwait(false);
            return;
        }

        if (!path.StartsWithSegments("/mcp") && !path.StartsWithSegments("/raw"))
        {
            await next().ConfigureAwait(false);
            return;
        }

        var result = await context.AuthenticateAsync(JwtBearerDefaults.AuthenticationScheme).ConfigureAwait(false);
        var revoked = result.Succeeded && _stats.IsRevoked(result.Principal);
        if (!result.Succeeded || revoked)
        {
            // No token at all gets a plain challenge (RFC 6750 §3); a token that failed validation (or was revoked) says so.
            var presented = revoked || result.Failure is not null;
            _stats.OnRejected(revoked ? "the token was revoked" : presented ? result.Failure!.Message : "no bearer token");
            var challenge = presented
                ? $"Bearer error=\"invalid_token\", resource_metadata=\"{_addresses.Value.Metadata.AbsoluteUri}\"{ScopeParameter()}"
                : $"Bearer resource_metadata=\"{_addresses.Value.Metadata.AbsoluteUri}\"{ScopeParameter()}";
            context.Response.Headers.WWWAuthenticate = challenge;
            await UpstreamMiddleware.WriteJsonRpcErrorAsync(
                context,
                StatusCodes.Status401Unauthorized,
                presented ? "Unauthorized: the bearer token is not valid here." : "Unauthorized: a bearer token is required.").ConfigureAwait(false);
            return;
        }

        var user = result.Principal;
        context.User = user;
        _stats.OnAccepted(user);

        if (_options.RequiredScope is { } required && !HasScope(user, required) && await IsToolCallAsync(request, context.RequestAborted).ConfigureAwait(false))
        {
            _stats.OnInsufficientScope();
            context.Response.Headers.WWWAuthenticate =
                $"Bearer error=\"insufficient_scope\", scope=\"{required}\", resource_metadata=\"{_addresses.Value.Metadata.AbsoluteUri}\"";
            await UpstreamMiddleware.WriteJsonRpcErrorAsync(
                context, StatusCodes.Status403Forbidden, $"Forbidden: tools/call needs the scope {required}.").ConfigureAwait(false);
            return;
        }

        await next().ConfigureAwait(false);
    }

    private string ScopeParameter() => _options.RequiredScope is { } scope ? $", scope=\"{scope}\"" : string.Empty;

    private string MetadataJson() => JsonSerializer.Serialize(new Dictionary<string, object>
    {
        ["resource"] = Resource.AbsoluteUri,
        ["authorization_servers"] = new[] { _options.IssuerIdentifier },
        ["scopes_supported"] = _options.ScopesSupported,
        ["bearer_methods_supported"] = new[] { "header" },
        ["resource_name"] = "Gatehouse test upstream (oauth-protected)",
    });

    private static bool HasScope(ClaimsPrincipal user, string scope) =>
        user.FindAll("scope").Any(claim => claim.Value.Split(' ', StringSplitOptions.RemoveEmptyEntries).Contains(scope, StringComparer.Ordinal));

    /// <summary>Whether the JSON-RPC body is (or, for a batch, contains) a <c>tools/call</c> request.</summary>
    private static async Task<bool> IsToolCallAsync(HttpRequest request, CancellationToken cancellationToken)
    {
        if (!HttpMethods.IsPost(request.Method))
        {
            return false;
        }

        // Buffering lets the MCP handler read the same bytes after we looked at them.
        request.EnableBuffering();
        try
        {
            using var document = await JsonDocument.ParseAsync(request.Body, cancellationToken: cancellationToken).ConfigureAwait(false);
            var root = document.RootElement;
            return root.ValueKind switch
            {
                JsonValueKind.Object => IsToolCall(root),
                JsonValueKind.Array => root.EnumerateArray().Any(IsToolCall),
                _ => false,
            };
        }
        catch (JsonException)
        {
            // Not JSON: the MCP handler answers with its own parse error.
            return false;
        }
        finally
        {
            request.Body.Position = 0;
        }

        static bool IsToolCall(JsonElement message) =>
            message.ValueKind == JsonValueKind.Object
            && message.TryGetProperty("method", out var method)
            && method.ValueKind == JsonValueKind.String
            && method.ValueEquals(ToolsCall);
    }

    private static async Task WriteJsonAsync(HttpContext context, int statusCode, string json)
    {
        context.Response.StatusCode = statusCode;
        context.Response.ContentType = "application/json";
        context.Response.Headers.CacheControl = "no-store";
        var bytes = Encoding.UTF8.GetBytes(json);
        context.Response.ContentLength = bytes.Length;
        await context.Response.Body.WriteAsync(bytes, context.RequestAborted).ConfigureAwait(false);
    }
}
