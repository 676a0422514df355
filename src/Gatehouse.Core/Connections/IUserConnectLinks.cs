using Gatehouse.Core.Servers;

namespace Gatehouse.Core.Connections;

/// <summary>Links to Gatehouse's own connect page, bound to one user, for per-user servers.</summary>
public interface IUserConnectLinks
{
    /// <summary>
    /// An absolute, short-lived URL where <paramref name="userId"/> connects their own account of <paramref name="server"/>;
    /// null when Gatehouse does not know its public URL yet.
    /// </summary>
    string? Create(ServerDefinition server, string userId);
}
