using System.Net;
using System.Net.Sockets;

namespace Gatehouse.UpstreamAuth.Tests.Infrastructure;

internal static class TestPorts
{
    /// <summary>A loopback port nothing listens on (bound briefly, then released), for connection-refused cases.</summary>
    public static int Closed()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }
}
