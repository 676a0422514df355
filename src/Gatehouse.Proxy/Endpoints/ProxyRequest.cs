using Gatehouse.Core.Policy;
using Gatehouse.Core.Servers;
using Gatehouse.Proxy.Authentication;

namespace Gatehouse.Proxy.Endpoints;

/// <summary>A request that passed admission: who is calling which server.</summary>
/// <param name="Principal">The authenticated caller.</param>
/// <param name="Server">The server addressed.</param>
/// <param name="Policy">The policies in force for this principal on this server.</param>
public sealed record AdmittedRequest(GatewayPrincipal Principal, ServerDefinition Server, PolicySet Policy);
