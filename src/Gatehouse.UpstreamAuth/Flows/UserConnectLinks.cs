using System.Buffers.Text;
using System.Globalization;
using System.Security.Cryptography;
using System.Text;
using Gatehouse.Core.Connections;
using Gatehouse.Core.Servers;
using Gatehouse.UpstreamAuth.Connections;

namespace Gatehouse.UpstreamAuth.Flows;

/// <summary>
/// The per-user connect link: <c>/oauth/connect/user/{server}?ticket=…</c>, where the ticket is sealed by the vault
/// (AES-GCM: nobody can read or forge it) and names the server, the user and an expiry.
/// </summary>
/// <remarks>
/// The URL carries no user name or e-mail, only ciphertext. It is not single-use itself: the page it opens accepts only
/// a browser signed in to Gatehouse as the same user, and the authorization flow it starts is single-use, so a copied
/// link is worthless to anyone else. Links are minted on every refused call, so keeping them stateless keeps the
/// database out of the error path.
/// </remarks>
public sealed class UserConnectLinks(UpstreamAuthServices services) : IUserConnectLinks
{
    private const string Purpose = "user-connect/v1";

    /// <summary>The page's path below <see cref="GatewayAddress.ConnectPath"/>.</summary>
    public const string Segment = "/user";

    /// <inheritdoc />
    public string? Create(ServerDefinition server, string userId)
    {
        if (services.PublicBaseUrl is not { } baseUrl)
        {
            return null;
        }

        var expires = (services.Time.GetUtcNow() + services.Options.FlowLifetime).ToUnixTimeSeconds();
        var sealedTicket = services.Vault.Protect(string.Join('|', Purpose, server.Id.ToString("N"), userId, expires.ToString(CultureInfo.InvariantCulture)));
        var ticket = Base64Url.EncodeToString(Encoding.UTF8.GetBytes(sealedTicket));
        return $"{GatewayAddress.Normalize(baseUrl)}{GatewayAddress.ConnectPath}{Segment}/{Uri.EscapeDataString(server.Name)}?ticket={ticket}";
    }

    /// <summary>The user a ticket was minted for, when it is genuine, unexpired and for <paramref name="serverId"/>.</summary>
    public string? Open(string? ticket, Guid serverId)
    {
        if (string.IsNullOrEmpty(ticket))
        {
            return null;
        }

        string[] parts;
        try
        {
            parts = services.Vault.Unprotect(Encoding.UTF8.GetString(Base64Url.DecodeFromChars(ticket))).Split('|');
        }
        catch (Exception ex) when (ex is CryptographicException or FormatException)
        {
            return null;
        }

        return parts is [Purpose, var server, var user, var expires]
            && server == serverId.ToString("N")
            && long.TryParse(expires, CultureInfo.InvariantCulture, out var at)
            && DateTimeOffset.FromUnixTimeSeconds(at) > services.Time.GetUtcNow()
                ? user
                : null;
    }
}
