using System.Net;
using System.Net.Http.Headers;
using System.Net.Sockets;
using System.Text;
using Gatehouse.Admin.Administration;
using Gatehouse.Host.Hosting;
using Gatehouse.Storage;
using Microsoft.AspNetCore.Builder;

namespace Gatehouse.Host.Tests.AdminApi;

/// <summary>The admin API checks the admin token before it reads anything a caller sends, and hides its OpenAPI document.</summary>
public sealed class AdminApiGateTests : IAsyncLifetime
{
    private readonly string _dir = Directory.CreateTempSubdirectory("gatehouse-admin-gate-").FullName;
    private WebApplication _app = null!;
    private string _adminToken = null!;
    private Uri _base = null!;

    public async Task InitializeAsync()
    {
        _app = await GatehouseApplication.BuildAsync(new ServeSettings { DataDirectory = _dir, Urls = "http://127.0.0.1:0" });
        _adminToken = (await AdminCredentials.EnsureAsync(new GatehouseStorage(_dir), TimeProvider.System))!;
        await _app.StartAsync();
        _base = new Uri(GatehouseApplication.ListeningAddresses(_app).Single());
    }

    public async Task DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }

    [Theory]
    [InlineData("POST", "/admin/api/servers")]
    [InlineData("PUT", "/admin/api/servers/gh")]
    [InlineData("PUT", "/admin/api/login-provider")]
    [InlineData("POST", "/admin/api/grants")]
    [InlineData("POST", "/admin/api/policies/detach")]
    [InlineData("POST", "/admin/api/apply")]
    [InlineData("POST", "/Admin/API/servers")]
    public async Task AnUnauthenticated100MBBody_Gets401_BeforeAnyOfItIsRead(string method, string path)
    {
        // Only the first bytes of a declared 100 MB body are ever sent: a server that read the body before checking the
        // token would sit waiting for the rest, and no answer would arrive within the bound below.
        using var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        using var bound = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        await socket.ConnectAsync(new IPEndPoint(IPAddress.Loopback, _base.Port), bound.Token);
        var head = $"{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{_base.Port}\r\nContent-Type: application/json\r\nContent-Length: {100 * 1024 * 1024}\r\n\r\n{{\"name\":\"gh\",";
        await socket.SendAsync(Encoding.ASCII.GetBytes(head), SocketFlags.None, bound.Token);

        var buffer = new byte[4096];
        var received = new StringBuilder();
        while (!received.ToString().Contains("\r\n\r\n", StringComparison.Ordinal))
        {
            int read;
            try
            {
                read = await socket.ReceiveAsync(buffer, SocketFlags.None, bound.Token);
            }
            catch (OperationCanceledException)
            {
                Assert.Fail($"No answer within 10 s while the body was incomplete: {method} {path} read the body before checking the admin token.");
                return;
            }

            if (read == 0)
            {
                break;
            }

            received.Append(Encoding.ASCII.GetString(buffer, 0, read));
        }

        Assert.StartsWith("HTTP/1.1 401", received.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheOpenApiDocument_IsServedOnlyToAdminCallers()
    {
        using var http = new HttpClient { BaseAddress = _base };
        using (var anonymous = await http.GetAsync("/admin/api/openapi/admin.json"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, anonymous.StatusCode);
            Assert.DoesNotContain("/admin/api/grants", await anonymous.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        }

        using (var wrong = new HttpRequestMessage(HttpMethod.Get, "/admin/api/openapi/admin.json"))
        {
            wrong.Headers.Authorization = new AuthenticationHeaderValue("Bearer", "gta_" + new string('x', 43));
            using var refused = await http.SendAsync(wrong);
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", _adminToken);
        using var document = await http.GetAsync("/admin/api/openapi/admin.json");
        Assert.Equal(HttpStatusCode.OK, document.StatusCode);
        Assert.Contains("/admin/api/grants", await document.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }
}
