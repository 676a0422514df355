using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Gatehouse.UpstreamAuth.Protocol;

/// <summary>Proof Key for Code Exchange with the S256 method (RFC 7636), which OAuth 2.1 and MCP require.</summary>
public static class Pkce
{
    /// <summary>The only method Gatehouse uses.</summary>
    public const string MethodS256 = "S256";

    /// <summary>A fresh verifier (base64url of 32 random bytes: 43 characters) and its S256 challenge.</summary>
    public static (string Verifier, string Challenge) CreateS256()
    {
        var verifier = Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
        return (verifier, ComputeS256Challenge(verifier));
    }

    /// <summary>The S256 challenge of a verifier: base64url(SHA-256(ASCII(verifier))).</summary>
    public static string ComputeS256Challenge(string verifier) =>
        Base64Url.EncodeToString(SHA256.HashData(Encoding.ASCII.GetBytes(verifier)));
}

/// <summary>Values that bind an authorization response to the request Gatehouse made.</summary>
public static class OAuthState
{
    /// <summary>A fresh, unguessable <c>state</c>: base64url of 32 random bytes.</summary>
    public static string Create() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(32));
}
