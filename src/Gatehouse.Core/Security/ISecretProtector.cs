namespace Gatehouse.Core.Security;

/// <summary>Seals and opens secrets (upstream header values, later OAuth tokens) for storage.</summary>
/// <remarks>
/// Implemented by the vault with AES-256-GCM envelope encryption. A sealed value records the id of the key that
/// sealed it, so keys can rotate without losing anything. Callers keep an opened value only for as long as the
/// outgoing request that carries it.
/// </remarks>
public interface ISecretProtector
{
    /// <summary>Seals a secret; the result is safe to store.</summary>
    string Protect(string plaintext);

    /// <summary>Opens a sealed secret.</summary>
    /// <exception cref="System.Security.Cryptography.CryptographicException">The value was tampered with or its key is unknown.</exception>
    string Unprotect(string protectedValue);
}
