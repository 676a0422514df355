using System.Security.Cryptography;
using System.Text.Json;
using System.Text.Json.Serialization;
using Gatehouse.Storage;
using Gatehouse.Storage.Entities;
using Microsoft.AspNetCore.Http;
using OpenIddict.Abstractions;
using static OpenIddict.Abstractions.OpenIddictConstants;

namespace Gatehouse.Identity.Registration;

/// <summary>RFC 7591 dynamic client registration at <c>/oauth2/register</c>, stored as OpenIddict applications.</summary>
/// <remarks>
/// OpenIddict has no registration endpoint of its own. Every registered client must use PKCE and may use only the
/// authorization code and refresh token grants; a confidential client's secret is returned once and stored hashed.
/// </remarks>
public sealed class ClientRegistrationEndpoint(IOpenIddictApplicationManager applications, AuthorizationServerOptions options, GatehouseDbContext db, TimeProvider time)
{
    /// <summary>The path of the endpoint.</summary>
    public const string Path = "/oauth2/register";

    private const string InvalidClientMetadata = ClientMetadataRules.InvalidClientMetadata;
    private const int MaxBodyBytes = 32 * 1024;

    /// <summary>Handles one registration request.</summary>
    public async Task<IResult> HandleAsync(HttpContext context)
    {
        context.Response.Headers.CacheControl = "no-store";
        if (context.Request.ContentLength > MaxBodyBytes || context.Request.ContentType?.StartsWith("application/json", StringComparison.OrdinalIgnoreCase) != true)
        {
            return Error(InvalidClientMetadata, "Send the client metadata as a JSON object (application/json, at most 32 KiB).");
        }

        ClientMetadata? metadata;
        try
        {
            metadata = await JsonSerializer.DeserializeAsync(new LimitedStream(context.Request.Body, MaxBodyBytes), RegistrationJsonContext.Default.ClientMetadata, context.RequestAborted);
        }
        catch (Exception ex) when (ex is JsonException or InvalidDataException)
        {
            return Error(InvalidClientMetadata, "The body is not valid client metadata JSON.");
        }

        if (metadata is null)
        {
            return Error(InvalidClientMetadata, "The body is not a JSON object.");
        }

        if (ClientMetadataRules.Check(metadata, options.AllowedRedirectSchemes) is { } refused)
        {
            return Error(refused.Error, refused.Description);
        }

        var authMethod = metadata.TokenEndpointAuthMethod ?? ClientAuthenticationMethods.ClientSecretBasic;
        if (authMethod is not (ClientAuthenticationMethods.None or ClientAuthenticationMethods.ClientSecretBasic or ClientAuthenticationMethods.ClientSecretPost))
        {
            return Error(InvalidClientMetadata, $"token_endpoint_auth_method '{authMethod}' is not supported; use none, client_secret_basic or client_secret_post.");
        }

        var redirectUris = metadata.RedirectUris!;
        var confidential = authMethod != ClientAuthenticationMethods.None;
        var clientId = "ghc_" + System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(18));
        var secret = confidential ? System.Buffers.Text.Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32)) : null;
        var descriptor = new OpenIddictApplicationDescriptor();
        ClientMetadataRules.Describe(descriptor, clientId, secret, ClientMetadataRules.Name(metadata) ?? "Unnamed client", redirectUris);
        await applications.CreateAsync(descriptor, context.RequestAborted);
        var now = time.GetUtcNow();
        db.AuditEvents.Add(new AuditEventRecord
        {
            At = now, Actor = "registration", Action = "client.register", Target = $"client:{clientId}",
            Details = $"{descriptor.DisplayName}; {authMethod}; redirect hosts: {ClientMetadataRules.RedirectHosts(redirectUris)}",
        });
        await db.SaveChangesAsync(context.RequestAborted);

        return Results.Json(new RegisteredClient
        {
            ClientId = clientId,
            ClientSecret = secret,
            ClientIdIssuedAt = now.ToUnixTimeSeconds(),
            ClientSecretExpiresAt = confidential ? 0 : null,
            ClientName = descriptor.DisplayName,
            RedirectUris = redirectUris,
            TokenEndpointAuthMethod = authMethod,
            GrantTypes = [GrantTypes.AuthorizationCode, GrantTypes.RefreshToken],
            ResponseTypes = [ResponseTypes.Code],
        }, RegistrationJsonContext.Default.RegisteredClient, statusCode: StatusCodes.Status201Created);
    }

    private static IResult Error(string error, string description) =>
        Results.Json(new RegistrationError(error, description), RegistrationJsonContext.Default.RegistrationError, statusCode: StatusCodes.Status400BadRequest);

    /// <summary>Stops reading after a limit, for bodies sent without a length.</summary>
    private sealed class LimitedStream(Stream inner, long limit) : Stream
    {
        private long _read;

        public override bool CanRead => true;
        public override bool CanSeek => false;
        public override bool CanWrite => false;
        public override long Length => throw new NotSupportedException();
        public override long Position { get => _read; set => throw new NotSupportedException(); }
        public override void Flush() { }
        public override int Read(byte[] buffer, int offset, int count) => throw new NotSupportedException();
        public override long Seek(long offset, SeekOrigin origin) => throw new NotSupportedException();
        public override void SetLength(long value) => throw new NotSupportedException();
        public override void Write(byte[] buffer, int offset, int count) => throw new NotSupportedException();

        public override async ValueTask<int> ReadAsync(Memory<byte> buffer, CancellationToken cancellationToken = default)
        {
            var n = await inner.ReadAsync(buffer, cancellationToken);
            _read += n;
            return _read > limit ? throw new InvalidDataException("The body is too large.") : n;
        }
    }
}

/// <summary>The RFC 7591 client metadata Gatehouse reads.</summary>
internal sealed record ClientMetadata
{
    [JsonPropertyName("client_id")] public string? ClientId { get; init; }
    [JsonPropertyName("redirect_uris")] public List<string>? RedirectUris { get; init; }
    [JsonPropertyName("token_endpoint_auth_method")] public string? TokenEndpointAuthMethod { get; init; }
    [JsonPropertyName("grant_types")] public List<string>? GrantTypes { get; init; }
    [JsonPropertyName("response_types")] public List<string>? ResponseTypes { get; init; }
    [JsonPropertyName("client_name")] public string? ClientName { get; init; }
    [JsonPropertyName("scope")] public string? Scope { get; init; }
    [JsonPropertyName("jwks_uri")] public string? JwksUri { get; init; }
    [JsonPropertyName("client_secret")] public string? ClientSecret { get; init; }
}

/// <summary>The RFC 7591 registration response.</summary>
internal sealed record RegisteredClient
{
    [JsonPropertyName("client_id")] public required string ClientId { get; init; }
    [JsonPropertyName("client_secret")] public string? ClientSecret { get; init; }
    [JsonPropertyName("client_id_issued_at")] public long ClientIdIssuedAt { get; init; }
    [JsonPropertyName("client_secret_expires_at")] public long? ClientSecretExpiresAt { get; init; }
    [JsonPropertyName("client_name")] public string? ClientName { get; init; }
    [JsonPropertyName("redirect_uris")] public required List<string> RedirectUris { get; init; }
    [JsonPropertyName("token_endpoint_auth_method")] public required string TokenEndpointAuthMethod { get; init; }
    [JsonPropertyName("grant_types")] public required List<string> GrantTypes { get; init; }
    [JsonPropertyName("response_types")] public required List<string> ResponseTypes { get; init; }
}

/// <summary>An RFC 7591 error response.</summary>
internal sealed record RegistrationError([property: JsonPropertyName("error")] string Error, [property: JsonPropertyName("error_description")] string ErrorDescription);

[JsonSourceGenerationOptions(DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull)]
[JsonSerializable(typeof(ClientMetadata))]
[JsonSerializable(typeof(RegisteredClient))]
[JsonSerializable(typeof(RegistrationError))]
[JsonSerializable(typeof(long))]
internal sealed partial class RegistrationJsonContext : JsonSerializerContext;
